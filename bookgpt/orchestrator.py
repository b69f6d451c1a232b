"""The in-process query path: route a question, ask the top-K book models concurrently, merge."""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable
from pathlib import Path

from bookgpt.config import Config
from bookgpt.errors import AskError, UnknownBookError
from bookgpt.inference import BookModel
from bookgpt.merge import merge_answers
from bookgpt.fsio import read_json
from bookgpt.messages import Answer, AnswerJob, AskRequest, BookAnswer, BookInfo, RoutedBook
from bookgpt.paths import BookPaths, router_dir
from bookgpt.qa.format import best_window, prompt_ids
from bookgpt.qa.spans import answer_candidates
from bookgpt.answer.choose import MAX_SCORED_TOKENS, Choice, choose, shortlist
from bookgpt.answer.extract import Candidate
from bookgpt.answer.retrieve import evidence
from bookgpt.router import BookRouter

WINDOWS = 3  # best windows of sentences sent to each book model
RERANKED = 3  # books ranked again by their best window (top-1 on dev.jsonl's 86: 0.895 -> 0.93)
WINDOW_SHARE = 1.0  # the best window's score against the router's (relative) book score


TokenSink = Callable[[int], None]  # hears one generated token id (called from the model's thread)


def trained_books(artifacts: Path) -> list[str]:
    root = artifacts / "models"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "finetune" / "best.pt").is_file())


def _prompts(model: BookModel, jobs: list[AnswerJob], budget: int) -> list[list[int]]:
    """Prompts in the format the model was fine-tuned with (open-book: the best window of
    sentences the router found, or else the part of its passage that matches the question, comes
    before the question)."""
    if model.meta.get("prompt_format", "closed") != "open":
        return [prompt_ids(model.tokenizer, model.special, j.question, None, budget) for j in jobs]
    chars = model.meta.get("config", {}).get("finetune", {}).get("passage_chars", 600)

    def shown(j: AnswerJob) -> str:
        window = " ".join(e.text for e in j.evidence if e.window == 0)
        return window[:chars] if window else best_window(j.passage, j.question, chars)

    return [prompt_ids(model.tokenizer, model.special, j.question, shown(j), budget)
            for j in jobs]


def _generated(model: BookModel, jobs: list[AnswerJob],
               sinks: list[TokenSink | None]) -> list[tuple[str, list[float], str]]:
    """(answer, token log-probs, support) of free generation, one batched run per temperature;
    each job's sink, if any, hears of its tokens as they are made (up to its max_new_tokens)."""
    # an answer may take at most half the context, so that the prompt always keeps room
    max_new = min(max(j.max_new_tokens for j in jobs), model.context_length // 2)
    prompts = _prompts(model, jobs, model.context_length - max_new)
    outs: list = [None] * len(jobs)
    for temp in sorted({j.temperature for j in jobs}):
        idx = [i for i, j in enumerate(jobs) if j.temperature == temp]
        heard = [0] * len(jobs)

        def on_token(row: int, tok: int, lp: float, idx=idx, heard=heard) -> None:
            i = idx[row]
            if sinks[i] is not None and heard[i] < jobs[i].max_new_tokens:
                heard[i] += 1
                sinks[i](tok)

        res = model.complete([prompts[i] for i in idx], max_new_tokens=max_new, temperature=temp,
                             on_token=on_token if any(sinks[i] for i in idx) else None)
        for i, r in zip(idx, res):
            outs[i] = r
    return [(model.decode(o.tokens[: j.max_new_tokens]).strip(), o.logprobs[: j.max_new_tokens], "")
            for j, o in zip(jobs, outs)]


def _extracted(model: BookModel, jobs: list[AnswerJob],
               found: list[tuple[str, list[str]]]) -> list[tuple[str, list[float], str]]:
    """(answer, token log-probs, sentence): each job's most likely phrase of its passage sentence,
    all candidates of all jobs scored in one batched forward pass (jobs without evidence)."""
    prompts = _prompts(model, jobs, model.context_length // 2)
    out = []
    for (sentence, cands), lps in zip(found, model.score_answers(prompts, [c for _, c in found])):
        best = max(range(len(cands)), key=lambda i: sum(lps[i]) / len(lps[i]))
        out.append((cands[best], lps[best], sentence))
    return out


def _chosen(model: BookModel, jobs: list[AnswerJob],
            shortlists: list[list[Candidate]]) -> list[Choice]:
    """Each evidence job's answer (bookgpt.answer.choose); the shortlists of jobs that give the
    model a say are scored by it in one batched pass."""
    judged = [i for i, j in enumerate(jobs) if j.model_weight > 0]
    scored: list = [None] * len(jobs)
    if judged:
        prompts = _prompts(model, [jobs[i] for i in judged], model.context_length // 2)
        for i, lps in zip(judged, model.score_answers(
                prompts, [[c.text for c in shortlists[i]] for i in judged],
                max_tokens=MAX_SCORED_TOKENS)):
            scored[i] = lps
    return [choose(j, cs, lps, j.model_weight) for j, cs, lps in zip(jobs, shortlists, scored)]


def answer_batch(model: BookModel, jobs: list[AnswerJob],
                 sinks: list[TokenSink | None] | None = None) -> list[BookAnswer]:
    """Answer several questions at once. Extract-decoding jobs with the router's evidence choose
    among candidates cut from it (bookgpt.answer); those without pick the likeliest phrase of
    their passage's best sentence; the others (and extract jobs offering no candidate) generate.
    `sinks[i]`, if given, hears of job i's generated tokens as they are made (for streaming)."""
    sinks = sinks or [None] * len(jobs)
    start = time.perf_counter()
    extract = [j.decoding == "extract" for j in jobs]
    lists = [shortlist(j) if x and j.evidence else [] for j, x in zip(jobs, extract)]
    found = [answer_candidates(j.passage, j.question) if x and not j.evidence and j.passage
             else ("", []) for j, x in zip(jobs, extract)]
    chosen = [i for i, c in enumerate(lists) if c]
    ext = [i for i, f in enumerate(found) if f[1]]
    gen = [i for i in range(len(jobs)) if not lists[i] and not found[i][1]]
    results: list = [None] * len(jobs)
    choices: dict[int, Choice] = {}
    if chosen:
        choices = dict(zip(chosen, _chosen(model, [jobs[i] for i in chosen],
                                           [lists[i] for i in chosen])))
        for i, c in choices.items():
            results[i] = (c.answer, c.logprobs, c.support)
    if ext:
        for i, r in zip(ext, _extracted(model, [jobs[i] for i in ext], [found[i] for i in ext])):
            results[i] = r
    if gen:
        for i, r in zip(gen, _generated(model, [jobs[i] for i in gen], [sinks[i] for i in gen])):
            results[i] = r
    ms = (time.perf_counter() - start) * 1e3
    answers = []
    for i, (j, (text, lps, support)) in enumerate(zip(jobs, results)):
        mean = sum(lps) / len(lps) if lps else None
        choice = choices.get(i)
        # a chosen answer says how sure the retrieval is; the others, how likely the model's tokens
        conf = (choice.confidence if choice else math.exp(mean) if mean is not None else 0.0)
        answers.append(BookAnswer(book_id=j.book_id, title=j.title, answer=text,
                                  confidence=conf, mean_logprob=mean, weight=j.weight,
                                  passage=choice.passage if choice else j.passage,
                                  support=support, tokens=len(lps), latency_ms=ms))
    return answers


def job_for(routed: RoutedBook, question: str, max_new_tokens: int, temperature: float = 0.0,
            decoding: str = "generate", model_weight: float = 0.0) -> AnswerJob:
    return AnswerJob(book_id=routed.book_id, question=question, passage=routed.passage,
                     title=routed.title, weight=routed.weight, max_new_tokens=max_new_tokens,
                     temperature=temperature, decoding=decoding, evidence=routed.evidence,
                     coverage=routed.coverage, model_weight=model_weight)


def book_answer(model: BookModel, routed: RoutedBook, question: str, max_new_tokens: int,
                temperature: float = 0.0, decoding: str = "generate",
                model_weight: float = 0.0) -> BookAnswer:
    return answer_batch(model, [job_for(routed, question, max_new_tokens, temperature,
                                        decoding, model_weight)])[0]


def route_request(router: BookRouter, req: AskRequest, eligible: list[str], top_k: int,
                  threshold: float) -> list[RoutedBook]:
    """The top-K eligible books for a question, weights renormalised over them ([] = abstain),
    each with its best sentences for the question (`bookgpt.answer.retrieve`)."""
    result = route_requests(router, [req], eligible, [top_k], threshold)[0]
    if isinstance(result, Exception):
        raise result
    return result


def route_requests(router: BookRouter, reqs: list[AskRequest], eligible: list[str],
                   top_ks: list[int], threshold: float) -> list[list[RoutedBook] | Exception]:
    """`route_request` for several questions, scored together in one pass over the index; a
    question that cannot be routed (empty, unknown book) gets its exception in its place."""
    out: list[list[RoutedBook] | Exception | None] = [None] * len(reqs)
    todo = []
    for i, req in enumerate(reqs):
        if not req.question.strip():
            out[i] = AskError("the question is empty; ask something, e.g. \"What is a square?\"")
        elif unknown := [b for b in req.book_ids or [] if b not in eligible]:
            out[i] = UnknownBookError(f"unknown or untrained book(s): {', '.join(unknown)}; "
                                      f"trained: {', '.join(eligible) or 'none'}")
        else:
            todo.append(i)
    if todo:
        try:
            scores, where = router.scores_many([reqs[i].question for i in todo])
        except Exception as exc:  # noqa: BLE001 - each question hears of it, as when asked alone
            for i in todo:
                out[i] = exc
        else:
            for row, i in enumerate(todo):
                try:
                    out[i] = _routed(router, reqs[i], eligible, top_ks[i], threshold,
                                     scores[row], where[row])
                except Exception as exc:  # noqa: BLE001 - one question's failure stays its own
                    out[i] = exc
    return out  # type: ignore[return-value]


def _routed(router: BookRouter, req: AskRequest, eligible: list[str], top_k: int,
            threshold: float, score, where) -> list[RoutedBook]:
    eligible = list(req.book_ids) if req.book_ids else eligible
    # books named by the caller are asked even when the router would abstain
    result = router.ranked(score, where, top_k=len(router.book_ids),
                           abstain_threshold=0.0 if req.book_ids else threshold,
                           unknown=router.unknown_share(req.question))
    if result.abstained:
        return []
    hits = [h for h in result.books if h.book_id in eligible][:max(top_k, RERANKED)]
    # the best few books are ranked again with their best window of sentences: a book that
    # holds a sentence answering the question beats one that only shares its vocabulary
    found = [evidence(router.sentence_index(h.book_id), req.question, WINDOWS) for h in hits]
    top = max((h.score for h in hits), default=0.0)
    fit = [(h.score / top if top > 0 else 0.0) + WINDOW_SHARE * (best.score if best else 0.0)
           for h, (best, _) in zip(hits, found)]
    order = sorted(range(len(hits)), key=lambda i: -fit[i])[:top_k]
    total = sum(fit[i] for i in order)
    # named books that share no word with the question still get a say, in equal shares
    return [RoutedBook(book_id=hits[i].book_id, title=hits[i].title,
                       weight=fit[i] / total if total > 0 else 1.0 / len(order),
                       score=hits[i].score, passage=hits[i].passage,
                       coverage=found[i][0].coverage if found[i][0] else 0.0,
                       evidence=found[i][1]) for i in order]


def merged(question: str, routing: list[RoutedBook], cands: list[BookAnswer],
           timings: dict[str, float]) -> Answer:
    chosen, confidence = merge_answers(cands)
    degraded = any(c.error for c in cands)
    if chosen is None:
        return Answer(question=question, answer="", book_id=None, title=None, confidence=0.0,
                      abstained=True, degraded=degraded, candidates=cands, routing=routing,
                      timings_ms=timings)
    return Answer(question=question, answer=chosen.answer, book_id=chosen.book_id,
                  title=chosen.title, confidence=confidence, abstained=False, degraded=degraded,
                  passage=chosen.passage, support=chosen.support, candidates=cands,
                  routing=routing, timings_ms=timings)


class Orchestrator:
    """Routes and answers in one process; book models load lazily and stay loaded."""

    def __init__(self, cfg: Config, artifacts: Path):
        self.cfg, self.artifacts = cfg, artifacts
        self.router = BookRouter.load(router_dir(artifacts))
        self.book_ids = [b for b in trained_books(artifacts) if b in self.router.book_ids]
        if not self.book_ids:
            raise AskError(f"no fine-tuned book models under {artifacts}/models; run `bookgpt "
                           f"pipeline --all` (or tokenize, pretrain, qa, finetune) first")
        self._models: dict[str, BookModel] = {}

    def model(self, book_id: str) -> BookModel:
        if book_id not in self._models:
            self._models[book_id] = BookModel.load(BookPaths(self.artifacts, book_id),
                                                   device_pref=self.cfg.device)
        return self._models[book_id]

    async def ask(self, req: AskRequest) -> Answer:
        t0 = time.perf_counter()
        # an empty question or an unknown book raises AskError here
        routing = route_request(self.router, req, self.book_ids, req.top_k or self.cfg.router.top_k,
                                self.cfg.router.abstain_threshold)
        t_route = (time.perf_counter() - t0) * 1e3
        max_new = req.max_new_tokens or self.cfg.serve.max_new_tokens

        async def one(r: RoutedBook) -> BookAnswer:
            try:
                model = await asyncio.to_thread(self.model, r.book_id)
                return await asyncio.wait_for(
                    asyncio.to_thread(book_answer, model, r, req.question, max_new, req.temperature,
                                      req.decoding or self.cfg.serve.decoding,
                                      self.cfg.serve.model_weight),
                    timeout=self.cfg.serve.request_timeout_s)
            except Exception as exc:  # a failing book degrades the answer, never the whole query
                return BookAnswer(book_id=r.book_id, title=r.title, weight=r.weight,
                                  passage=r.passage, error=f"{type(exc).__name__}: {exc}"[:300])

        cands = list(await asyncio.gather(*(one(r) for r in routing)))
        timings = {"route": round(t_route, 2), "total": round((time.perf_counter() - t0) * 1e3, 2)}
        return merged(req.question, routing, cands, timings)

    async def books(self) -> list[BookInfo]:
        out = []
        for book_id in self.book_ids:
            meta = read_json(BookPaths(self.artifacts, book_id).book_meta)
            out.append(BookInfo(book_id=book_id, title=meta.get("title", book_id),
                                author=meta.get("author", ""), ready=book_id in self._models))
        return out

    async def ready(self) -> tuple[bool, dict]:
        return True, {"books": len(self.book_ids), "loaded": len(self._models)}

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        return {"bookgpt_models_loaded": [({}, float(len(self._models)))]}
