"""JSON replies of the HTTP front: a body, or an error `{"error": {"message", "type"}}`."""

from __future__ import annotations

from typing import Any

import msgspec
from aiohttp import web

ENCODER = msgspec.json.Encoder()


def json_response(obj: Any, status: int = 200, headers: dict | None = None) -> web.Response:
    return web.Response(body=ENCODER.encode(obj), status=status, content_type="application/json",
                        headers=headers)


def error(status: int, message: str, kind: str, headers: dict | None = None) -> web.Response:
    return json_response({"error": {"message": message, "type": kind}}, status, headers)
