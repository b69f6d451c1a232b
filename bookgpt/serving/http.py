"""The HTTP front (aiohttp): BookGPT's API and an OpenAI-compatible one, over any async backend.

The backend is the in-process Orchestrator or the Ray router; this module imports no Ray.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any, Protocol

import msgspec
from aiohttp import web

from bookgpt.messages import (Answer, AskRequest, BatchingRequest, BookInfo,
                              ChatCompletionRequest, CompletionRequest)
from bookgpt.errors import AskError, OverloadedError, UnknownBookError, require_question
from bookgpt.serving.metrics import CONTENT_TYPE, HttpMetrics
from bookgpt.serving.page import add_page

MODEL_PREFIX = "bookgpt"


class Backend(Protocol):
    """What the HTTP front needs. A backend may also have `set_batching(enabled)` (for
    /admin/batching) and `ask_stream(req)`, an async iterator of text pieces then the Answer, for
    one book's tokens as they are written (the Ray backend has both)."""

    async def ask(self, req: AskRequest) -> Answer: ...
    async def books(self) -> list[BookInfo]: ...
    async def ready(self) -> tuple[bool, dict[str, Any]]: ...
    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]: ...


BACKEND = web.AppKey("backend", Backend)
METRICS = web.AppKey("metrics", HttpMetrics)
LIMITS = web.AppKey("limits", dict)

_ENC = msgspec.json.Encoder()


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=_ENC.encode(obj), status=status, content_type="application/json",
                        headers=headers)


def error(status: int, message: str, kind: str, headers: dict | None = None) -> web.Response:
    return json_response({"error": {"message": message, "type": kind}}, status, headers)


async def decode(request: web.Request, cls: type) -> Any:
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


def check_limits(req: AskRequest, limits: dict) -> AskRequest:
    try:
        require_question(req.question)
    except AskError as exc:
        raise AskError(f"invalid request: `$.question`: {exc}") from None
    if len(req.question) > limits["max_question_chars"]:
        raise AskError(f"invalid request: `$.question` is {len(req.question)} characters; the "
                       f"limit is {limits['max_question_chars']}")
    return req


def book_ids_for_model(model: str, book_ids: list[str] | None = None) -> list[str] | None:
    if model == MODEL_PREFIX:
        return book_ids  # BookGPT's own `book_ids` narrow the routed model; None: every book
    if model.startswith(MODEL_PREFIX + "/") and len(model) > len(MODEL_PREFIX) + 1:
        if book_ids is not None:
            raise AskError(f"invalid request: `$.book_ids` goes with model '{MODEL_PREFIX}'; "
                           f"'{model}' names its book already")
        return [model[len(MODEL_PREFIX) + 1:]]
    raise UnknownBookError(f"unknown model '{model}'; use 'bookgpt' (routed) or "
                           f"'bookgpt/<book_id>' (see GET /v1/models)")


@web.middleware
async def errors_and_metrics(request: web.Request, handler):
    start = time.perf_counter()
    route = request.match_info.route.resource.canonical if request.match_info.route.resource else "?"
    status = 500
    try:
        resp = await handler(request)
        status = resp.status
        return resp
    except UnknownBookError as exc:
        status = 404
        return error(404, str(exc), "not_found")
    except OverloadedError as exc:
        status = 503
        return error(503, str(exc), "overloaded", {"Retry-After": "1"})
    except AskError as exc:
        status = 400
        return error(400, str(exc), "invalid_request")
    except web.HTTPRequestEntityTooLarge:
        status = 413
        return error(413, f"request body over the limit of {request.app[LIMITS]['max_body_bytes']} "
                          f"bytes", "too_large")
    except web.HTTPException as exc:
        status = exc.status
        raise
    except Exception as exc:  # the server never crashes on one request
        status = 500
        return error(500, f"internal error: {type(exc).__name__}: {exc}"[:300], "internal")
    finally:
        request.app[METRICS].observe(route, status, time.perf_counter() - start)


async def ask(request: web.Request) -> web.Response:
    req = check_limits(await decode(request, AskRequest), request.app[LIMITS])
    return json_response(await request.app[BACKEND].ask(req))


def _question_of(messages) -> str:
    users = [m.content for m in messages if m.role == "user"]
    if not users:
        raise AskError("invalid request: `$.messages` holds no message with role 'user'")
    return users[-1]


def _words(text: str) -> list[str]:
    """A whole answer in stream-sized pieces: word by word, spaces kept."""
    words = text.split(" ")
    return [w if i == 0 else " " + w for i, w in enumerate(words)] if text else []


async def _openai(request: web.Request, question: str, model: str, max_tokens: int | None,
                  temperature: float | None, stream: bool, chat: bool,
                  decoding: str | None = None, top_k: int | None = None,
                  book_ids: list[str] | None = None) -> web.StreamResponse:
    req = check_limits(AskRequest(question=question, book_ids=book_ids_for_model(model, book_ids),
                                  top_k=top_k,
                                  max_new_tokens=max_tokens, temperature=temperature or 0.0,
                                  decoding=decoding), request.app[LIMITS])
    backend = request.app[BACKEND]
    ident = f"{'chatcmpl' if chat else 'cmpl'}-{uuid.uuid4().hex[:24]}"
    created = int(time.time())
    obj = "chat.completion" if chat else "text_completion"
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
    if not stream:
        assert ans is not None
        used = f"{MODEL_PREFIX}/{ans.book_id}" if ans.book_id else model
        choice = ({"index": 0, "message": {"role": "assistant", "content": ans.answer},
                   "finish_reason": "stop"} if chat else
                  {"index": 0, "text": ans.answer, "finish_reason": "stop"})
        tokens = sum(c.tokens for c in ans.candidates)
        return json_response({"id": ident, "object": obj, "created": created, "model": used,
                              "choices": [choice],
                              "usage": {"prompt_tokens": 0, "completion_tokens": tokens,
                                        "total_tokens": tokens},
                              "bookgpt": ans})
    resp = web.StreamResponse(headers={"Content-Type": "text/event-stream",
                                       "Cache-Control": "no-cache"})
    await resp.prepare(request)
    chunk_obj = obj + (".chunk" if chat else "")
    used = model if ans is None or not ans.book_id else f"{MODEL_PREFIX}/{ans.book_id}"

    async def send(piece: str | None, final: Answer | None = None, finish: str = "stop") -> None:
        if final is not None:
            choice = {"index": 0, "finish_reason": finish, **({"delta": {}} if chat else {"text": ""})}
        elif chat:
            delta = {"role": "assistant"} if piece is None else {"content": piece}
            choice = {"index": 0, "delta": delta, "finish_reason": None}
        else:
            choice = {"index": 0, "text": piece, "finish_reason": None}
        body = {"id": ident, "object": chunk_obj, "created": created, "model": used,
                "choices": [choice]}
        if final is not None:
            body["bookgpt"] = final
        await resp.write(b"data: " + _ENC.encode(body) + b"\n\n")

    # the status line is sent: from here on a failure is told in the stream, which still ends
    try:
        if chat:
            await send(None)  # the first chunk carries the role
        sent = ""
        if ans is None:
            item = first
            while not isinstance(item, Answer):
                await send(item)
                sent += item
                item = await pieces.__anext__()
            ans = item
        # what was not streamed as it was written (a routed or extracted answer) comes word by word
        rest = ans.answer[len(sent):] if ans.answer.startswith(sent) else ""
        for piece in _words(rest) if not sent else ([rest] if rest else []):
            await send(piece)
        # a book that failed part-way leaves pieces the final answer does not continue
        await send(None, final=ans, finish="stop" if ans.answer.startswith(sent) else "error")
    except (ConnectionResetError, asyncio.CancelledError):
        raise  # the client left: nobody to tell
    except Exception as exc:
        request.app[METRICS].stream_errors.inc()
        kind = "overloaded" if isinstance(exc, OverloadedError) else "internal"
        await resp.write(b"data: " + _ENC.encode({"error": {"message": f"{type(exc).__name__}: "
                                                             f"{exc}"[:300], "type": kind}})
                         + b"\n\n")
    finally:
        if live:
            await pieces.aclose()  # stops the stream upstream too when the client left
    await resp.write(b"data: [DONE]\n\n")
    await resp.write_eof()
    return resp


async def chat_completions(request: web.Request) -> web.StreamResponse:
    r = await decode(request, ChatCompletionRequest)
    return await _openai(request, _question_of(r.messages), r.model, r.max_tokens, r.temperature,
                         r.stream, chat=True, decoding=r.decoding, top_k=r.top_k, book_ids=r.book_ids)


async def completions(request: web.Request) -> web.StreamResponse:
    r = await decode(request, CompletionRequest)
    return await _openai(request, r.prompt, r.model, r.max_tokens, r.temperature, r.stream,
                         chat=False, decoding=r.decoding, top_k=r.top_k, book_ids=r.book_ids)


async def models(request: web.Request) -> web.Response:
    books = await request.app[BACKEND].books()
    data = [{"id": MODEL_PREFIX, "object": "model", "owned_by": "bookgpt"}]
    data += [{"id": f"{MODEL_PREFIX}/{b.book_id}", "object": "model", "owned_by": "bookgpt"}
             for b in books]
    return json_response({"object": "list", "data": data})


async def books(request: web.Request) -> web.Response:
    return json_response({"books": await request.app[BACKEND].books()})


async def admin_batching(request: web.Request) -> web.Response:
    """Switch dynamic batching on or off (used by `bookgpt bench serve`)."""
    body = await decode(request, BatchingRequest)
    setter = getattr(request.app[BACKEND], "set_batching", None)
    if setter is None:
        raise AskError("this backend has no dynamic batching to switch")
    await setter(body.enabled)
    return json_response({"batching": body.enabled})


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    ok, detail = await request.app[BACKEND].ready()
    return json_response({"ready": ok, **detail}, 200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    extra = await request.app[BACKEND].metrics()
    return web.Response(body=request.app[METRICS].render(extra),
                        headers={"Content-Type": CONTENT_TYPE})


def create_app(backend: Backend, *, max_body_bytes: int = 65536,
               max_question_chars: int = 2000) -> web.Application:
    """The HTTP application over `backend` (see README "Serving" for the API)."""
    app = web.Application(middlewares=[errors_and_metrics], client_max_size=max_body_bytes)
    app[BACKEND] = backend
    app[METRICS] = HttpMetrics()
    app[LIMITS] = {"max_body_bytes": max_body_bytes, "max_question_chars": max_question_chars}
    app.router.add_post("/v1/ask", ask)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/books", books)
    app.router.add_post("/admin/batching", admin_batching)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_page(app)  # GET /: the chat page
    return app
