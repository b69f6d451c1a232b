"""Each request's id, metrics and access-log line.

The id is the client's `X-Request-Id` header when it sends a usable one, else a new one; it is
echoed on the response (streams too), named in the access log and in the log of a 500."""

from __future__ import annotations

import logging
import re
import time
import uuid

from aiohttp import web

from bookgpt.serving.metrics import HttpMetrics
from bookgpt.serving.replies import error

HEADER = "X-Request-Id"
_USABLE = re.compile(r"[A-Za-z0-9._:/+=-]{1,128}")
ACCESS_LOG = logging.getLogger("bookgpt.access")
REQUEST_ID = web.RequestKey("request_id", str)
USER = web.RequestKey("user", str)  # an OpenAI request's `user`, named in the access log


def request_id(request: web.Request) -> str:
    """The request's id (set by the `observe` middleware; "" before it ran)."""
    return request.get(REQUEST_ID, "")


def observe(metrics: HttpMetrics, access_log: bool):
    """Middleware, outermost: gives the request its id, then counts and times it (and logs one
    line for it if `access_log`) once its response, a stream included, is finished."""

    @web.middleware
    async def middleware(request: web.Request, handler):
        start = time.perf_counter()
        sent = request.headers.get(HEADER)
        rid = request[REQUEST_ID] = sent if sent and _USABLE.fullmatch(sent) else uuid.uuid4().hex
        resource = request.match_info.route.resource
        route = resource.canonical if resource else "?"
        status = 500
        try:
            if sent is not None and sent != rid:
                resp = error(400, f"{HEADER} must be 1-128 characters of letters, digits and "
                                  f"._:/+=- (got {sent[:40]!r}); send a usable one or none, and "
                                  f"the server makes one", "invalid_request")
            else:
                resp = await handler(request)
            status = resp.status
            return resp
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            seconds = time.perf_counter() - start
            metrics.observe(route, status, seconds)
            if access_log:
                user = request.get(USER)
                ACCESS_LOG.info('%s "%s %s" %d %.1f ms id=%s%s', request.remote, request.method,
                                request.path_qs, status, seconds * 1e3, rid,
                                f" user={user!r}" if user else "")

    return middleware


async def echo_request_id(request: web.Request, response: web.StreamResponse) -> None:
    """on_response_prepare: every response, a stream's or an error's, carries the id."""
    if rid := request_id(request):
        response.headers[HEADER] = rid
