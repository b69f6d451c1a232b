"""HTTP clients for the Ray serving tests: many questions at once, a plain GET."""

from __future__ import annotations

import asyncio

import aiohttp


async def ask_many(url: str, n: int, concurrency: int, path="/v1/ask", body=None) -> list[tuple]:
    sem = asyncio.Semaphore(concurrency)
    questions = ["What is the velocity of light?", "What did the two knights ride up the hill?",
                 "What is a co-ordinate system?", "How many hours did they walk?"]

    async def one(s, i):
        async with sem:
            payload = body or {"question": questions[i % 4], "max_new_tokens": 4}
            async with s.post(url + path, json=payload) as r:
                return r.status, await r.text()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
        return await asyncio.gather(*(one(s, i) for i in range(n)))


async def get_status(url: str) -> int:
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            return r.status
