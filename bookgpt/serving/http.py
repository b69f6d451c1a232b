"""The HTTP front (aiohttp): BookGPT's API and an OpenAI-compatible one (serving/openai.py), over
any async backend (serving/front.py).

The backend is the in-process Orchestrator or the Ray router; this module imports no Ray.
Middlewares, outermost first: each request's id, metrics and access-log line (serving/access.py);
errors as JSON with their status; the API key (serving/auth.py).
"""

from __future__ import annotations

import logging

from aiohttp import web

from bookgpt.errors import AskError, OverloadedError, UnknownBookError
from bookgpt.messages import AskRequest, BatchingRequest
from bookgpt.serving.access import echo_request_id, observe, request_id
from bookgpt.serving.auth import Unauthorized, require_api_key
from bookgpt.serving.front import BACKEND, LIMITS, METRICS, Backend, check_limits, decode
from bookgpt.serving.metrics import CONTENT_TYPE, HttpMetrics
from bookgpt.serving.openai import MODEL_PREFIX, chat_completions, completions
from bookgpt.serving.page import add_page
from bookgpt.serving.replies import error, json_response

log = logging.getLogger(__name__)


@web.middleware
async def errors(request: web.Request, handler):
    """Every failure as a JSON error with its status; the server never crashes on one request."""
    try:
        return await handler(request)
    except UnknownBookError as exc:
        return error(404, str(exc), "not_found")
    except OverloadedError as exc:
        return error(503, str(exc), "overloaded", {"Retry-After": "1"})
    except AskError as exc:
        return error(400, str(exc), "invalid_request")
    except Unauthorized as exc:
        return error(401, str(exc), "unauthorized", {"WWW-Authenticate": "Bearer"})
    except web.HTTPRequestEntityTooLarge:
        return error(413, f"request body over the limit of {request.app[LIMITS]['max_body_bytes']} "
                          f"bytes", "too_large")
    except web.HTTPException:
        raise
    except Exception as exc:
        log.exception("internal error on %s %s (request id %s)", request.method, request.path,
                      request_id(request))
        return error(500, f"internal error: {type(exc).__name__}: {exc}"[:300], "internal")


async def ask(request: web.Request) -> web.Response:
    req = check_limits(await decode(request, AskRequest), request.app[LIMITS])
    return json_response(await request.app[BACKEND].ask(req))


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


async def admin_reload(request: web.Request) -> web.Response:
    """Serve what the artifacts hold now without a restart: new, retrained and removed books, a
    rebuilt router (`bookgpt-serve --watch` does this by itself)."""
    reload = getattr(request.app[BACKEND], "reload", None)
    if reload is None:
        raise AskError("this backend cannot reload; restart it to serve new books")
    return json_response(await reload())


async def healthz(request: web.Request) -> web.Response:
    return json_response({"status": "alive"})


async def readyz(request: web.Request) -> web.Response:
    ok, detail = await request.app[BACKEND].ready()
    return json_response({"ready": ok, **detail}, 200 if ok else 503)


async def metrics(request: web.Request) -> web.Response:
    extra = await request.app[BACKEND].metrics()
    return web.Response(body=request.app[METRICS].render(extra),
                        headers={"Content-Type": CONTENT_TYPE})


def create_app(backend: Backend, *, max_body_bytes: int = 65536, max_question_chars: int = 2000,
               api_key: str = "", access_log: bool = False) -> web.Application:
    """The HTTP application over `backend` (see README "Serving" for the API). With `api_key`,
    /v1/* and /admin/* need `Authorization: Bearer <api_key>`; `access_log` logs a line per
    request (logger bookgpt.access)."""
    stats = HttpMetrics()
    app = web.Application(middlewares=[observe(stats, access_log), errors,
                                       require_api_key(api_key)],
                          client_max_size=max_body_bytes)
    app.on_response_prepare.append(echo_request_id)
    app[BACKEND] = backend
    app[METRICS] = stats
    app[LIMITS] = {"max_body_bytes": max_body_bytes, "max_question_chars": max_question_chars}
    app.router.add_post("/v1/ask", ask)
    app.router.add_post("/v1/chat/completions", chat_completions)
    app.router.add_post("/v1/completions", completions)
    app.router.add_get("/v1/models", models)
    app.router.add_get("/v1/books", books)
    app.router.add_post("/admin/batching", admin_batching)
    app.router.add_post("/admin/reload", admin_reload)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/readyz", readyz)
    app.router.add_get("/metrics", metrics)
    add_page(app)  # GET /: the chat page
    return app
