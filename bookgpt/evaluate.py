"""`bookgpt eval`: routing accuracy, per-book and merged Q&A scores, beside an extractive baseline."""

from __future__ import annotations

import asyncio
import time

from bookgpt.merge import exact_match, token_f1
from bookgpt.messages import AskRequest
from bookgpt.answer.book import book_answer
from bookgpt.answer.route import route_request
from bookgpt.orchestrator import Orchestrator
from bookgpt.paths import BookPaths
from bookgpt.qa.pairs import read_jsonl
from bookgpt.qa.spans import answer_candidates, best_sentence

OFF_TOPIC = [
    "What is the best recipe for chocolate cake with butter?",
    "Which football team won the league last season?",
    "How do I reset the password of my wireless router?",
    "What time does the pharmacy on Main Street open?",
]


def first_phrase(question: str, passage: str) -> str:
    """A model-free control for extract decoding: the first candidate phrase of that sentence."""
    return (answer_candidates(passage, question)[1] or [""])[0]


def _mean(xs: list[float]) -> float:
    return round(sum(xs) / len(xs), 4) if xs else 0.0


def evaluate(orch: Orchestrator, per_book: int = 30) -> dict:
    """Scores on up to `per_book` validation pairs of every trained book."""
    cfg = orch.cfg
    top_k = cfg.router.top_k
    start = time.perf_counter()
    rows = {"route_top1": [], "route_topk": [], "route_top1_all_books": [], "book_em": [],
            "book_f1": [], "book_f1_generate": [], "merged_em": [], "merged_f1": [],
            "baseline_em": [], "baseline_f1": [], "first_phrase_f1": [], "abstained": []}
    books: dict[str, dict] = {}
    kinds: dict[str, dict[str, list[float]]] = {}  # question kind -> scores, to see where models help
    for book_id in orch.book_ids:
        pairs = read_jsonl(BookPaths(orch.artifacts, book_id).qa_dir / "val.jsonl")[:per_book]
        own = {"book_f1": [], "book_em": [], "merged_f1": [], "route_top1": []}
        for pair in pairs:
            req = AskRequest(question=pair.question, top_k=top_k)
            routing = route_request(orch.router, req, orch.book_ids, top_k,
                                    cfg.router.abstain_threshold)
            ids = [r.book_id for r in routing]
            rows["abstained"].append(float(not routing))
            rows["route_top1"].append(float(ids[:1] == [book_id]))
            rows["route_topk"].append(float(book_id in ids))
            own["route_top1"].append(rows["route_top1"][-1])
            # the same question against every indexed book, trained or not (the router's own test)
            every = orch.router.route(pair.question, top_k=1, abstain_threshold=0.0).books
            rows["route_top1_all_books"].append(float(every[0].book_id == book_id))
            # the book's own model, shown the passage the router found in its book
            mine = route_request(orch.router, AskRequest(question=pair.question,
                                                         book_ids=[book_id]),
                                 orch.book_ids, 1, cfg.router.abstain_threshold)[0]
            ans = book_answer(orch.model(book_id), mine, pair.question, cfg.serve.max_new_tokens,
                              decoding=cfg.serve.decoding)
            for key, value in (("book_em", float(exact_match(ans.answer, pair.answer))),
                               ("book_f1", token_f1(ans.answer, pair.answer))):
                rows[key].append(value)
                own[key].append(value)
            if cfg.serve.decoding == "generate":
                rows["book_f1_generate"].append(rows["book_f1"][-1])
            else:  # free writing beside it, so that the two decodings are compared in one run
                free = book_answer(orch.model(book_id), mine, pair.question,
                                   cfg.serve.max_new_tokens, decoding="generate")
                rows["book_f1_generate"].append(token_f1(free.answer, pair.answer))
            merged = asyncio.run(orch.ask(req))
            rows["merged_em"].append(float(exact_match(merged.answer, pair.answer)))
            rows["merged_f1"].append(token_f1(merged.answer, pair.answer))
            own["merged_f1"].append(rows["merged_f1"][-1])
            # the baseline: the routed passage's sentence that best matches the question, whole
            base = best_sentence(routing[0].passage, pair.question) if routing else ""
            rows["baseline_em"].append(float(exact_match(base, pair.answer)))
            rows["baseline_f1"].append(token_f1(base, pair.answer))
            first = first_phrase(pair.question, routing[0].passage) if routing else ""
            rows["first_phrase_f1"].append(token_f1(first, pair.answer))
            kind = kinds.setdefault(pair.kind, {"book_f1": [], "merged_f1": [], "baseline_f1": [],
                                                "first_phrase_f1": []})
            for key in kind:
                kind[key].append(rows[key][-1])
        books[book_id] = {k: _mean(v) for k, v in own.items()} | {"questions": len(pairs)}
    off = [not r for q in OFF_TOPIC
           for r in [route_request(orch.router, AskRequest(question=q), orch.book_ids, top_k,
                                   cfg.router.abstain_threshold)]]
    out = {k: _mean(v) for k, v in rows.items()}
    out["abstained_on_book_questions"] = out.pop("abstained")
    out["abstained_off_topic"] = _mean([float(x) for x in off])
    out["questions"] = len(rows["route_top1"])
    out["top_k"] = top_k
    out["decoding"] = cfg.serve.decoding
    out["books"] = books
    out["by_kind"] = {k: {m: _mean(v) for m, v in d.items()} | {"questions": len(d["book_f1"])}
                      for k, d in sorted(kinds.items())}
    out["seconds"] = round(time.perf_counter() - start, 1)
    return out


def book_f1(paths: BookPaths, n: int = 20, max_new_tokens: int = 32,
            decoding: str = "extract") -> float:
    """Mean token F1 of a fine-tuned book model on up to n validation pairs, shown each pair's own
    passage, answering with `decoding` (a quick per-book score for training summaries)."""
    from bookgpt.inference import BookModel
    from bookgpt.messages import AnswerJob
    from bookgpt.answer.book import answer_batch

    pairs = read_jsonl(paths.qa_dir / "val.jsonl")[:n]
    if not pairs:
        return 0.0
    model = BookModel.load(paths, device_pref="cpu")
    jobs = [AnswerJob(book_id=paths.book_id, question=p.question, passage=p.passage,
                      max_new_tokens=max_new_tokens, decoding=decoding) for p in pairs]
    answers = answer_batch(model, jobs)
    return _mean([token_f1(a.answer, p.answer) for a, p in zip(answers, pairs)])
