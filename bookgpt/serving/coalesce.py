"""Coalescing calls: concurrent requests to one remote callee travel together in one call.

Each hop of the Ray path (HTTP server -> router -> book actor, router -> merger) costs a remote call
with its serialisation and scheduling, about a millisecond of CPU on each side. Under load these
calls, not the models, fill a 2-core machine. A Coalescer sends a request on the next turn of the
event loop (with any others made in the same turn) while fewer than `max_inflight` calls to its
callee are outstanding; past that, requests wait and leave together in the next call (at most
`max_items` each) as soon as one returns. An idle server adds no wait; a busy one pays for one call
per batch instead of one per request.

`send(items)` returns one result per item, in order; a result that is an exception is raised to
that item's caller only. If `send` itself raises, every item of that call gets the exception. A
call that takes longer than `call_timeout_s` fails its items with TimeoutError and frees its slot,
so one hung callee cannot hold up the requests behind it; more than `max_waiting` requests waiting
is an OverloadedError (a 503 with Retry-After at the HTTP front).
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Awaitable, Callable
from typing import Any

from bookgpt.errors import OverloadedError


def time_left(deadlines: list[float]) -> list[float]:
    """Seconds left until each time.monotonic() deadline (0 if past), as a callee takes them."""
    now = time.monotonic()
    return [max(d - now, 0.0) for d in deadlines]


class Coalescer:
    def __init__(self, send: Callable[[list[Any]], Awaitable[list[Any]]], *, max_items: int,
                 max_inflight: int, max_waiting: int = 1_000_000, call_timeout_s: float = 3600.0):
        if max_items < 1 or max_inflight < 1 or max_waiting < 1:
            raise ValueError("max_items, max_inflight and max_waiting must be at least 1")
        self.send, self.max_items, self.max_inflight = send, max_items, max_inflight
        self.max_waiting, self.call_timeout_s = max_waiting, call_timeout_s
        self._waiting: deque[tuple[Any, asyncio.Future]] = deque()
        self._inflight = 0
        self._tasks: set[asyncio.Task] = set()
        self._scheduled = False
        self.calls = 0
        self.items = 0

    def configure(self, *, max_items: int, max_inflight: int) -> None:
        self.max_items, self.max_inflight = max(1, max_items), max(1, max_inflight)
        self._pump()

    def pending(self) -> int:
        """Requests waiting for a free call (not those already sent)."""
        return len(self._waiting)

    def idle(self) -> bool:
        return not self._waiting and self._inflight == 0

    async def submit(self, item: Any) -> Any:
        if len(self._waiting) >= self.max_waiting:
            raise OverloadedError(f"{len(self._waiting)} requests already wait for a call; "
                                  f"retry shortly")
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        self._waiting.append((item, fut))
        if not self._scheduled:
            # send on the next turn of the loop, so that requests made in the same turn (a burst
            # fanned out by gather) leave together instead of the first one alone
            self._scheduled = True
            loop.call_soon(self._pump)
        return await fut  # a cancelled caller leaves the shared call running for the others

    def _pump(self) -> None:
        self._scheduled = False
        while self._waiting and self._inflight < self.max_inflight:
            batch = []
            while self._waiting and len(batch) < self.max_items:
                item, fut = self._waiting.popleft()
                if not fut.done():  # the caller gave up (timeout, disconnect) before it was sent
                    batch.append((item, fut))
            if not batch:
                return
            self._inflight += 1
            task = asyncio.get_running_loop().create_task(self._call(batch))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _call(self, batch: list[tuple[Any, asyncio.Future]]) -> None:
        self.calls += 1
        self.items += len(batch)
        try:
            results = await asyncio.wait_for(self.send([item for item, _ in batch]),
                                             self.call_timeout_s)
            if len(results) != len(batch):
                raise RuntimeError(f"a coalesced call returned {len(results)} results for "
                                   f"{len(batch)} requests")
        except BaseException as exc:  # noqa: BLE001 - every caller hears of the failure
            for _, fut in batch:
                if not fut.done():
                    fut.set_exception(exc if isinstance(exc, Exception) else
                                      RuntimeError(f"the call was interrupted: {exc!r}"))
            if not isinstance(exc, Exception):
                raise
        else:
            for (_, fut), res in zip(batch, results):
                if fut.done():
                    continue
                if isinstance(res, BaseException):
                    fut.set_exception(res)
                else:
                    fut.set_result(res)
        finally:
            self._inflight -= 1
            self._pump()
