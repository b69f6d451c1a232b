"""The OpenAI-compatible endpoints.

- /v1/chat/completions answers the conversation's last user message, routed (model "bookgpt") or
  by one book ("bookgpt/<book_id>"); the earlier user messages route a follow-up that cannot
  choose its books alone (bookgpt/serving/followup.py).
- /v1/completions with one book's model continues the prompt as text, written freely by that
  book's model; with the routed "bookgpt" it answers the prompt as a question.

OpenAI parameters BookGPT does not implement are refused by name (400) unless they carry their
neutral value (`n: 1`, `top_p: 1`, `logprobs: false`...); fields OpenAI does not have either are a
400 too (the request types forbid unknown fields).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
import uuid
from collections.abc import Callable
from typing import Any

from aiohttp import web

from bookgpt.errors import AskError, OverloadedError, UnknownBookError
from bookgpt.messages import (Answer, AskRequest, ChatCompletionRequest, CompletionRequest,
                              ContinueJob, Continuation)
from bookgpt.serving.access import USER
from bookgpt.serving.followup import EARLIER_TURNS
from bookgpt.serving.front import BACKEND, LIMITS, METRICS, check_limits, check_text, decode
from bookgpt.serving.replies import ENCODER, json_response

MODEL_PREFIX = "bookgpt"


def _never(v: Any) -> bool:
    return False


def _number(x: float) -> Callable[[Any], bool]:
    return lambda v: type(v) in (int, float) and v == x


# OpenAI's parameters that BookGPT does not implement: which values ask nothing of them (null, or
# absent, always does), and what to do instead
UNSUPPORTED: dict[str, tuple[Callable[[Any], bool], str]] = {
    "n": (lambda v: type(v) is int and v == 1, "one choice per request: send several requests"),
    "best_of": (lambda v: type(v) is int and v == 1, "one choice per request"),
    "stop": (lambda v: v in ([], ""), "text ends at the book model's own end or at max_tokens"),
    "logprobs": (lambda v: v is False, "the answer's confidence is in `bookgpt.confidence`"),
    "top_logprobs": (lambda v: type(v) is int and v == 0, "no log-probabilities are returned"),
    "echo": (lambda v: v is False, "the prompt is not repeated"),
    "suffix": (lambda v: v == "", "text is only continued, never filled in"),
    "presence_penalty": (_number(0), "no penalties"),
    "frequency_penalty": (_number(0), "no penalties"),
    "logit_bias": (lambda v: v == {}, "no token biases"),
    "seed": (_never, "for the same text every time use temperature 0 (greedy)"),
    "top_p": (_number(1), "sampling draws from the whole distribution; lower temperature instead"),
    "tools": (lambda v: v == [], "book models call no tools"),
    "tool_choice": (lambda v: v == "none", "book models call no tools"),
    "parallel_tool_calls": (_never, "book models call no tools"),
    "functions": (lambda v: v == [], "book models call no functions"),
    "function_call": (lambda v: v == "none", "book models call no functions"),
    "response_format": (lambda v: v == {"type": "text"}, "answers are plain text"),
    "service_tier": (lambda v: v in ("auto", "default"), "there is one tier"),
    "store": (lambda v: v is False, "nothing is stored"),
    "metadata": (lambda v: v == {}, "nothing is stored"),
    "modalities": (lambda v: v == ["text"], "text only"),
    "audio": (_never, "text only"),
    "prediction": (_never, "no predicted outputs"),
    "reasoning_effort": (_never, "book models do not reason step by step"),
    "web_search_options": (_never, "answers come from the books alone"),
}


def refuse_unsupported(r: ChatCompletionRequest | CompletionRequest) -> None:
    """A 400 naming every OpenAI parameter of `r` that would be ignored."""
    bad = [(name, why) for name, (neutral, why) in UNSUPPORTED.items()
           if (v := getattr(r, name)) is not None and not neutral(v)]
    if bad:
        raise AskError("invalid request: BookGPT does not implement " + "; ".join(
            f"`{name}` ({why})" for name, why in bad) + ". Leave them out (README, 'Serving')")
    if r.stream_options is not None and not r.stream:
        raise AskError("invalid request: `stream_options` goes with `\"stream\": true`")


def book_of_model(model: str, book_ids: list[str] | None = None) -> list[str] | None:
    """The books a model name asks: None (routed among all) or `book_ids` for "bookgpt", the one
    book of "bookgpt/<book_id>"."""
    if model == MODEL_PREFIX:
        return book_ids  # BookGPT's own `book_ids` narrow the routed model; None: every book
    if model.startswith(MODEL_PREFIX + "/") and len(model) > len(MODEL_PREFIX) + 1:
        if book_ids is not None:
            raise AskError(f"invalid request: `$.book_ids` goes with model '{MODEL_PREFIX}'; "
                           f"'{model}' names its book already")
        return [model[len(MODEL_PREFIX) + 1:]]
    raise UnknownBookError(f"unknown model '{model}'; use 'bookgpt' (routed) or "
                           f"'bookgpt/<book_id>' (see GET /v1/models)")


def usage(ans: Answer) -> dict[str, int]:
    """Tokens as the answering book's tokenizer counts them: the question, and the answer. An
    answer declined counts the question in the best routed book's tokens (0 if no book read it)."""
    read = [c for c in ans.candidates if not c.error]
    by = next((c for c in read if c.book_id == ans.book_id), None) if not ans.abstained else None
    prompt = by.prompt_tokens if by else (read[0].prompt_tokens if read else 0)
    completion = by.answer_tokens if by else 0
    return {"prompt_tokens": prompt, "completion_tokens": completion,
            "total_tokens": prompt + completion}


def _words(text: str) -> list[str]:
    """A whole answer in stream-sized pieces: word by word, spaces kept."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


class _Events:
    """One server-sent event stream of OpenAI chunks."""

    def __init__(self, request: web.Request, ident: str, chat: bool, model: str):
        self.request, self.ident, self.chat, self.model = request, ident, chat, model
        self.obj = "chat.completion.chunk" if chat else "text_completion"
        self.created = int(time.time())
        self.resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                                "Cache-Control": "no-cache"})

    async def open(self) -> None:
        await self.resp.prepare(self.request)

    async def send(self, body: dict) -> None:
        await self.resp.write(b"data: " + ENCODER.encode(body) + b"\n\n")

    async def chunk(self, piece: str | None, finish: str | None = None, **extra: Any) -> None:
        if finish is not None:
            choice = {"index": 0, "finish_reason": finish,
                      **({"delta": {}} if self.chat else {"text": ""})}
        elif self.chat:
            delta = {"role": "assistant"} if piece is None else {"content": piece}
            choice = {"index": 0, "delta": delta, "finish_reason": None}
        else:
            choice = {"index": 0, "text": piece, "finish_reason": None}
        await self.send({"id": self.ident, "object": self.obj, "created": self.created,
                         "model": self.model, "choices": [choice], **extra})

    async def usage(self, counts: dict[str, int]) -> None:
        """OpenAI's `stream_options.include_usage`: a last chunk with no choice and the usage."""
        await self.send({"id": self.ident, "object": self.obj, "created": self.created,
                         "model": self.model, "choices": [], "usage": counts})

    async def fail(self, exc: Exception) -> None:
        """A failure after the 200: told in the stream, which still ends properly."""
        self.request.app[METRICS].stream_errors.inc()
        kind = "overloaded" if isinstance(exc, OverloadedError) else "internal"
        await self.send({"error": {"message": f"{type(exc).__name__}: {exc}"[:300], "type": kind}})

    @contextlib.asynccontextmanager
    async def telling(self):
        """The status line is sent: from here on a failure is told in the stream (a client that
        left has nobody to tell)."""
        try:
            yield
        except (ConnectionResetError, asyncio.CancelledError):
            raise
        except Exception as exc:
            await self.fail(exc)

    async def close(self) -> web.StreamResponse:
        await self.resp.write(b"data: [DONE]\n\n")
        await self.resp.write_eof()
        return self.resp


async def chat_completions(request: web.Request) -> web.StreamResponse:
    r = await decode(request, ChatCompletionRequest)
    refuse_unsupported(r)
    if r.max_tokens and r.max_completion_tokens and r.max_tokens != r.max_completion_tokens:
        raise AskError("invalid request: `max_tokens` and `max_completion_tokens` differ; send one")
    last = r.messages[-1]
    if last.role != "user":
        raise AskError(f"invalid request: `$.messages`: the last message must be the user's "
                       f"question (role 'user'), got role '{last.role}'")
    limit = request.app[LIMITS]["max_question_chars"]
    # the earlier user messages, latest last, route a follow-up ("and who wrote it?")
    earlier = [m.text()[:limit] for m in r.messages[:-1] if m.role == "user"][-EARLIER_TURNS:]
    if r.user:
        request[USER] = r.user
    req = AskRequest(question=last.text(), history=earlier or None, top_k=r.top_k,
                     book_ids=book_of_model(r.model, r.book_ids),
                     max_new_tokens=r.max_tokens or r.max_completion_tokens,
                     temperature=r.temperature or 0.0, decoding=r.decoding,
                     min_confidence=r.min_confidence)
    include_usage = bool(r.stream_options and r.stream_options.include_usage)
    return await _answer(request, req, r.model, r.stream, True, include_usage)


async def completions(request: web.Request) -> web.StreamResponse:
    r = await decode(request, CompletionRequest)
    refuse_unsupported(r)
    if r.user:
        request[USER] = r.user
    books = book_of_model(r.model, r.book_ids)
    include_usage = bool(r.stream_options and r.stream_options.include_usage)
    if r.model == MODEL_PREFIX:  # routed: the prompt is a question to answer
        req = AskRequest(question=r.prompt, book_ids=books, top_k=r.top_k,
                         max_new_tokens=r.max_tokens, temperature=r.temperature or 0.0,
                         decoding=r.decoding, min_confidence=r.min_confidence)
        return await _answer(request, req, r.model, r.stream, False, include_usage)
    if r.decoding == "extract":
        raise AskError(f"invalid request: `decoding: extract` chooses answers; '{r.model}' on "
                       f"/v1/completions continues the prompt as text. Ask /v1/chat/completions "
                       f"to have the book answer it")
    if r.top_k is not None:
        raise AskError(f"invalid request: `top_k` chooses books for the routed model "
                       f"'{MODEL_PREFIX}'; '{r.model}' names its book")
    if r.min_confidence is not None:
        raise AskError(f"invalid request: `min_confidence` chooses among answers of the routed "
                       f"model '{MODEL_PREFIX}'; '{r.model}' on /v1/completions continues the "
                       f"prompt as text")
    check_text(r.prompt, "$.prompt", request.app[LIMITS])
    job = ContinueJob(book_id=books[0], prompt=r.prompt, max_new_tokens=r.max_tokens,
                      temperature=r.temperature or 0.0)
    return await _continue(request, job, r.model, r.stream, include_usage)


async def _continue(request: web.Request, job: ContinueJob, model: str, stream: bool,
                    include_usage: bool) -> web.StreamResponse:
    backend = request.app[BACKEND]
    ident = f"cmpl-{uuid.uuid4().hex[:24]}"
    if not stream:
        c = await backend.complete(job)
        return json_response({"id": ident, "object": "text_completion", "created": int(time.time()),
                              "model": model, "choices": [{"index": 0, "text": c.text,
                                                           "finish_reason": c.finish_reason,
                                                           "logprobs": None}],
                              "usage": _counts(c), "bookgpt": c})
    pieces = backend.complete_stream(job)
    try:
        first = await pieces.__anext__()  # errors (unknown book, prompt too long) get a status
        events = _Events(request, ident, False, model)
        await events.open()
        async with events.telling():
            item = first
            while not isinstance(item, Continuation):
                await events.chunk(item)
                item = await pieces.__anext__()
            await events.chunk(None, finish=item.finish_reason, bookgpt=item)
            if include_usage:
                await events.usage(_counts(item))
    finally:
        await pieces.aclose()  # stops the stream upstream too when the client left
    return await events.close()


def _counts(c: Continuation) -> dict[str, int]:
    return {"prompt_tokens": c.prompt_tokens, "completion_tokens": c.completion_tokens,
            "total_tokens": c.prompt_tokens + c.completion_tokens}


async def _answer(request: web.Request, req: AskRequest, model: str, stream: bool, chat: bool,
                  include_usage: bool) -> web.StreamResponse:
    req = check_limits(req, request.app[LIMITS])
    backend = request.app[BACKEND]
    ident = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
    # one named book streams its tokens as they are written; a routed answer is chosen among
    # several books once all have answered, so it comes in pieces after that
    streamer = getattr(backend, "ask_stream", None)
    live = stream and streamer is not None and len(req.book_ids or []) == 1
    if live:
        pieces = streamer(req)
        first = await pieces.__anext__()  # errors (unknown book, overload) still get a status
    else:
        first = await backend.ask(req)
    ans = first if isinstance(first, Answer) else None
    used = model if ans is None or not ans.book_id else f"{MODEL_PREFIX}/{ans.book_id}"
    if not stream:
        assert ans is not None
        choice = ({"index": 0, "message": {"role": "assistant", "content": ans.answer},
                   "finish_reason": "stop"} if chat else
                  {"index": 0, "text": ans.answer, "finish_reason": "stop", "logprobs": None})
        return json_response({"id": ident, "object": "chat.completion" if chat else
                              "text_completion", "created": int(time.time()), "model": used,
                              "choices": [choice], "usage": usage(ans), "bookgpt": ans})
    events = _Events(request, ident, chat, used)
    await events.open()
    try:
        async with events.telling():
            if chat:
                await events.chunk(None)  # the first chunk carries the role
            sent = ""
            if ans is None:
                item = first
                while not isinstance(item, Answer):
                    await events.chunk(item)
                    sent += item
                    item = await pieces.__anext__()
                ans = item
            # what was not streamed as it was written (a routed or extracted answer) comes word by word
            rest = ans.answer[len(sent):] if ans.answer.startswith(sent) else ""
            for piece in _words(rest) if not sent else ([rest] if rest else []):
                await events.chunk(piece)
            # a book that failed part-way leaves pieces the final answer does not continue
            await events.chunk(None, finish="stop" if ans.answer.startswith(sent) else "error",
                               bookgpt=ans)
            if include_usage:
                await events.usage(usage(ans))
    finally:
        if live:
            await pieces.aclose()  # stops the stream upstream too when the client left
    return await events.close()
