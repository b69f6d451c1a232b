"""A small blocking HTTP client for the tests: real requests to a real server on 127.0.0.1."""

from __future__ import annotations

import asyncio
import json

import aiohttp
from multidict import CIMultiDict


def request(method: str, url: str, body=None, headers: dict | None = None,
            raw: bool = False) -> tuple[int, str, CIMultiDict]:
    """(status, body text, response headers) of one request; `body` is sent as JSON unless raw."""
    async def go():
        data = None if body is None else body if raw else json.dumps(body)
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        async with aiohttp.ClientSession() as s:
            async with s.request(method, url, data=data, headers=hdrs) as r:
                return r.status, await r.text(), r.headers.copy()  # case-insensitive
    return asyncio.run(go())


def post(url: str, body, headers: dict | None = None, raw: bool = False):
    return request("POST", url, body, headers, raw)


def get(url: str, headers: dict | None = None):
    return request("GET", url, None, headers)


def events(text: str) -> list[dict]:
    """The JSON events of a server-sent event stream, which must end with [DONE]."""
    data = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert data and data[-1] == "[DONE]", text[-300:]
    return [json.loads(d) for d in data[:-1]]
