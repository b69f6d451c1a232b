"""One book model's answers to a batch of jobs: candidates cut from the router's evidence and
chosen (`bookgpt.answer.choose`), the likeliest phrase of a passage, or free generation. The
in-process backend and the book actors both answer through `answer_batch`."""

from __future__ import annotations

import math
import time
from collections.abc import Callable

from bookgpt.answer.choose import MAX_SCORED_TOKENS, Choice, choose, shortlist
from bookgpt.answer.extract import Candidate
from bookgpt.inference import BookModel
from bookgpt.messages import AnswerJob, BookAnswer, RoutedBook
from bookgpt.qa.format import best_window, prompt_ids
from bookgpt.qa.spans import answer_candidates

MAX_ERROR_CHARS = 300  # a failed book's error, as its candidate carries it

TokenSink = Callable[[int], None]  # hears one generated token id (called from the model's thread)


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
                                  confidence=conf, calibrated=choice is not None,
                                  mean_logprob=mean, weight=j.weight,
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


def failed(routed: RoutedBook, error: str) -> BookAnswer:
    """A failed book's place among the candidates: what went wrong, not an answer. The merge
    passes over it and marks the answer degraded."""
    return BookAnswer(book_id=routed.book_id, title=routed.title, weight=routed.weight,
                      passage=routed.passage, error=error[:MAX_ERROR_CHARS])
