"""`bookgpt bench answer`: routing and extractive answering in one process, questions per second.

The questions are a JSONL file's (`--questions`, e.g. ../shared/questions/dev.jsonl) whose book is
trained. Each round routes a batch of questions in one pass (the router actor's path) and answers
each book's share in one `answer_batch` call (the book actor's path), as a loaded server does.
"""

from __future__ import annotations

import time
from pathlib import Path

import torch

from bookgpt.answer.readers import read_questions
from bookgpt.errors import AskError
from bookgpt.messages import AskRequest
from bookgpt.answer.book import answer_batch, job_for
from bookgpt.answer.route import route_requests
from bookgpt.orchestrator import Orchestrator
from bookgpt.train.runtime import cpu_info


def bench_answer(orch: Orchestrator, questions: Path, batch: int = 16, rounds: int = 5) -> dict:
    asked = [q["question"] for q in read_questions(questions) if q["book_id"] in orch.book_ids]
    if not asked:
        raise AskError(f"none of the questions in {questions} is about a trained book "
                       f"({', '.join(orch.book_ids)})")
    batches = [[asked[(i * batch + k) % len(asked)] for k in range(batch)]
               for i in range(max(1, len(asked) // batch))]
    cfg = orch.cfg
    scoring = [0.0]  # seconds the book models spend scoring candidates (model_weight > 0)

    def timed(model):
        if "score_answers" not in vars(model):  # once per model: its own scoring, timed
            plain = model.score_answers

            def score_answers(*args, **kwargs):
                t0 = time.perf_counter()
                try:
                    return plain(*args, **kwargs)
                finally:
                    scoring[0] += time.perf_counter() - t0
            model.score_answers = score_answers
        return model

    def one_round() -> tuple[float, float, int]:
        route_s = answer_s = 0.0
        n = 0
        for qs in batches:
            t0 = time.perf_counter()
            routed = route_requests(orch.router, [AskRequest(question=q) for q in qs],
                                    orch.book_ids, [cfg.router.top_k] * len(qs),
                                    cfg.router.abstain_threshold)
            t1 = time.perf_counter()
            jobs: dict[str, list] = {}
            for q, books in zip(qs, routed):
                for r in books if isinstance(books, list) else []:
                    jobs.setdefault(r.book_id, []).append(
                        job_for(r, q, 16, decoding="extract",
                                model_weight=cfg.serve.model_weight))
            for book_id, js in jobs.items():
                answer_batch(timed(orch.model(book_id)), js)
            route_s += t1 - t0
            answer_s += time.perf_counter() - t1
            n += len(qs)
        return route_s, answer_s, n

    one_round()  # loads the models and warms the caches
    scoring[0] = 0.0
    route_s = answer_s = 0.0
    n = 0
    for _ in range(rounds):
        r, a, k = one_round()
        route_s, answer_s, n = route_s + r, answer_s + a, n + k
    dtype = orch.model(orch.book_ids[0]).score_dtype
    return {"cpu": cpu_info(), "questions": n, "batch": batch, "top_k": cfg.router.top_k,
            "books": len(orch.book_ids), "model_weight": cfg.serve.model_weight,
            "score_dtype": "bf16" if dtype == torch.bfloat16 else "fp32",
            "route_ms_per_question": round(route_s / n * 1e3, 3),
            "answer_ms_per_question": round(answer_s / n * 1e3, 3),
            "score_ms_per_question": round(scoring[0] / n * 1e3, 3),
            "questions_per_s": round(n / (route_s + answer_s), 1)}
