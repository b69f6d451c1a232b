"""What every handler of the HTTP front shares: the backend it talks to, the app's keys, reading a
JSON body, and the limits on a question."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any, Protocol

import msgspec
from aiohttp import web

from bookgpt.errors import AskError, require_question
from bookgpt.messages import Answer, AskRequest, BookInfo, ContinueJob, Continuation
from bookgpt.serving.metrics import Gauges, HttpMetrics


class Backend(Protocol):
    """What the HTTP front needs: answers, one book's continuation of a prompt (whole, or as an
    async iterator of text pieces then the Continuation), the books, readiness and gauges. A
    backend may also have `set_batching(enabled)` (for /admin/batching) and `ask_stream(req)`, an
    async iterator of text pieces then the Answer, for one book's tokens as they are written (the
    Ray backend has both)."""

    async def ask(self, req: AskRequest) -> Answer: ...
    async def complete(self, job: ContinueJob) -> Continuation: ...
    def complete_stream(self, job: ContinueJob) -> AsyncIterator[str | Continuation]: ...
    async def books(self) -> list[BookInfo]: ...
    async def ready(self) -> tuple[bool, dict[str, Any]]: ...
    async def metrics(self) -> Gauges: ...


BACKEND = web.AppKey("backend", Backend)
METRICS = web.AppKey("metrics", HttpMetrics)
LIMITS = web.AppKey("limits", dict)


async def decode(request: web.Request, cls: type) -> Any:
    """The request's JSON body as `cls`; a 400 naming the field that is wrong, 413 if too large."""
    limit = request.app[LIMITS]["max_body_bytes"]
    if request.content_length is not None and request.content_length > limit:
        raise web.HTTPRequestEntityTooLarge(max_size=limit, actual_size=request.content_length)
    body = await request.read()
    try:
        return msgspec.json.decode(body, type=cls)
    except msgspec.ValidationError as exc:
        raise AskError(f"invalid request: {exc}") from None
    except msgspec.DecodeError as exc:
        raise AskError(f"malformed JSON: {exc}") from None


def check_text(text: str, field: str, limits: dict) -> str:
    """A question (or prompt) that asks something and is within serve's length limit."""
    try:
        require_question(text)
    except AskError as exc:
        raise AskError(f"invalid request: `{field}`: {exc}") from None
    if len(text) > limits["max_question_chars"]:
        raise AskError(f"invalid request: `{field}` is {len(text)} characters; the limit is "
                       f"{limits['max_question_chars']}")
    return text


def check_limits(req: AskRequest, limits: dict) -> AskRequest:
    check_text(req.question, "$.question", limits)
    for i, earlier in enumerate(req.history or []):
        if len(earlier) > limits["max_question_chars"]:
            raise AskError(f"invalid request: `$.history[{i}]` is {len(earlier)} characters; the "
                           f"limit is {limits['max_question_chars']}")
    return req
