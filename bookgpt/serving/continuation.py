"""A book model continuing a prompt as text (OpenAI's /v1/completions naming one book), and the
token counts that go into an answer's `usage`. Both backends (in process, the Ray book actors)
call these, so the two count alike."""

from __future__ import annotations

import time
from collections.abc import Callable

import msgspec

from bookgpt.errors import AskError
from bookgpt.inference import BookModel
from bookgpt.messages import BookAnswer, ContinueJob, Continuation

TokenSink = Callable[[int], None]  # hears one generated token id (from the model's thread)


def prompt_ids(model: BookModel, job: ContinueJob) -> list[int]:
    """The prompt's tokens, if they and the tokens asked for fit the model's context; else an
    AskError (400) that says by how much and what to change."""
    if job.max_new_tokens is None:
        raise AskError("a continuation needs max_new_tokens (the backend fills it from config)")
    ids = model.encode(job.prompt)
    if not ids:
        raise AskError("invalid request: `$.prompt` is empty; give text to continue")
    room = model.context_length - job.max_new_tokens
    if len(ids) > room:
        raise AskError(f"invalid request: `$.prompt` is {len(ids)} tokens of book "
                       f"'{job.book_id}' and max_tokens is {job.max_new_tokens}; its model reads "
                       f"{model.context_length} tokens in all, so the prompt may have at most "
                       f"{max(room, 0)}: shorten the prompt or lower max_tokens")
    return ids


def continue_batch(model: BookModel, jobs: list[ContinueJob],
                   sinks: list[TokenSink | None] | None = None) -> list[Continuation]:
    """Each job's prompt continued by the model (free generation, greedy at temperature 0), one
    batched run per (temperature, max_new_tokens); `sinks[i]` hears job i's tokens as made.
    Jobs are checked with `prompt_ids` first (a job that does not fit raises)."""
    sinks = sinks or [None] * len(jobs)
    start = time.perf_counter()
    ids = [prompt_ids(model, j) for j in jobs]
    out: list = [None] * len(jobs)
    for temp, max_new in sorted({(j.temperature, j.max_new_tokens) for j in jobs}):
        idx = [i for i, j in enumerate(jobs) if (j.temperature, j.max_new_tokens) == (temp, max_new)]

        def on_token(row: int, tok: int, lp: float, idx=idx) -> None:
            if (sink := sinks[idx[row]]) is not None:
                sink(tok)

        res = model.complete([ids[i] for i in idx], max_new_tokens=max_new, temperature=temp,
                             on_token=on_token if any(sinks[i] for i in idx) else None)
        for i, r in zip(idx, res):
            out[i] = r
    ms = (time.perf_counter() - start) * 1e3
    return [Continuation(book_id=j.book_id, text=model.decode(r.tokens), prompt_tokens=len(p),
                         completion_tokens=len(r.tokens),
                         finish_reason="stop" if r.stopped else "length", latency_ms=ms)
            for j, p, r in zip(jobs, ids, out)]


def counted(model: BookModel, questions: list[str], answers: list[BookAnswer]) -> list[BookAnswer]:
    """The answers with their question's and their own length in the book's tokens (what an
    OpenAI client reads as usage)."""
    return [msgspec.structs.replace(a, prompt_tokens=len(model.encode(q)),
                                    answer_tokens=len(model.encode(a.answer)) if a.answer else 0)
            for q, a in zip(questions, answers)]
