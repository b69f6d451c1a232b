"""An optional API key for the HTTP front: with one set, /v1/* and /admin/* need
`Authorization: Bearer <key>`; /healthz, /readyz and /metrics stay open (probes and scrapers)."""

from __future__ import annotations

import hashlib
import hmac
import ipaddress
import os

from aiohttp import web

API_KEY_ENV = "BOOKGPT_API_KEY"
PROTECTED = ("/v1/", "/admin/")


class Unauthorized(Exception):
    """The request lacks the API key, or carries a wrong one: 401."""


def api_key_from(configured: str) -> str:
    """The key in force: BOOKGPT_API_KEY if set (it keeps the key out of config files), else
    serve.api_key; "" for none. A key that cannot travel in a header is refused."""
    key = os.environ.get(API_KEY_ENV, "") or configured
    if key and (not key.isascii() or not key.isprintable() or any(c.isspace() for c in key)):
        source = API_KEY_ENV if os.environ.get(API_KEY_ENV) else "serve.api_key"
        raise ValueError(f"{source}: an API key must be printable ASCII without spaces (it is "
                         f"sent as 'Authorization: Bearer <key>')")
    return key


def is_loopback(host: str) -> bool:
    """Whether binding `host` keeps the server to this machine ("" and 0.0.0.0 are every
    interface; a name other than localhost may resolve to anything)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def exposure_warning(host: str, api_key: str) -> str | None:
    """What to warn of when the API is reachable from other machines without a key."""
    if api_key or is_loopback(host):
        return None
    return (f"listening on {host or 'every interface'} without an API key: anyone who can reach "
            f"this port can use the API (/v1/*) and switch /admin/batching. Set {API_KEY_ENV} "
            f"(or serve.api_key) to require 'Authorization: Bearer <key>'")


def _digest(value: str) -> bytes:
    # equal-length digests: the comparison takes the same time whatever the key's length
    return hashlib.sha256(value.encode()).digest()


def require_api_key(key: str):
    """Middleware that refuses a protected path without `key` (no check when `key` is "")."""
    expected = _digest(key) if key else b""

    @web.middleware
    async def check(request: web.Request, handler):
        if key and request.path.startswith(PROTECTED):
            scheme, _, token = request.headers.get("Authorization", "").partition(" ")
            if scheme.lower() != "bearer" or not token.strip():
                raise Unauthorized("this server needs an API key: send the header "
                                   "'Authorization: Bearer <key>'")
            if not hmac.compare_digest(_digest(token.strip()), expected):
                raise Unauthorized("the API key sent in 'Authorization: Bearer ...' is not this "
                                   "server's; check BOOKGPT_API_KEY (or serve.api_key)")
        return await handler(request)

    return check
