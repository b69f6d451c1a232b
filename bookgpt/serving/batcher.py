"""Dynamic batching: gather waiting requests up to a batch size or a wait, run them as one batch.

Runs inside an asyncio loop (a Ray async actor, or a test); the batch function runs in a thread so
the loop keeps answering health checks while the model computes.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field
from typing import Any
from collections.abc import Callable

from bookgpt.errors import OverloadedError

log = logging.getLogger(__name__)


class DeadlineExceeded(TimeoutError):
    """The request's deadline passed before it was computed; it was dropped unrun."""


@dataclass
class _Pending:
    item: Any
    deadline: float  # time.monotonic() seconds
    future: asyncio.Future
    enqueued: float = field(default_factory=time.monotonic)


@dataclass
class BatchStats:
    batches: int = 0
    items: int = 0
    dropped: int = 0
    rejected: int = 0
    max_batch: int = 0
    busy_s: float = 0.0
    sizes: dict[int, int] = field(default_factory=dict)  # batch size -> count


class DynamicBatcher:
    """`await submit(item, deadline)` returns `run_batch([...])`'s result for that item."""

    def __init__(self, run_batch: Callable[[list[Any]], list[Any]], *, max_batch: int,
                 max_wait_s: float, max_queue: int,
                 on_batch: Callable[[list[Any]], None] | None = None):
        """`on_batch(results)` runs on the loop after each batch that computed (for metrics)."""
        self.run_batch, self.max_batch, self.on_batch = run_batch, max_batch, on_batch
        self.max_wait_s, self.max_queue = max_wait_s, max_queue
        self.queue: asyncio.Queue[_Pending] = asyncio.Queue()
        self.stats = BatchStats()
        self.running = False
        self._task: asyncio.Task | None = None

    def depth(self) -> int:
        return self.queue.qsize()

    async def submit(self, item: Any, deadline: float) -> Any:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._worker())
        if self.queue.qsize() >= self.max_queue:
            self.stats.rejected += 1
            raise OverloadedError(f"queue full ({self.max_queue} waiting); retry shortly")
        fut = asyncio.get_running_loop().create_future()
        await self.queue.put(_Pending(item, deadline, fut))
        return await fut

    async def _collect(self) -> list[_Pending]:
        first = await self.queue.get()
        batch = [first]
        if self.queue.empty():
            # an idle server answers at once: waiting only pays when requests are queueing up
            # (under load they arrive while the previous batch computes)
            return batch
        until = time.monotonic() + self.max_wait_s
        while len(batch) < self.max_batch:
            remaining = until - time.monotonic()
            if remaining <= 0:
                while len(batch) < self.max_batch and not self.queue.empty():
                    batch.append(self.queue.get_nowait())
                break
            try:
                batch.append(await asyncio.wait_for(self.queue.get(), remaining))
            except asyncio.TimeoutError:
                break
        return batch

    async def _worker(self) -> None:
        while True:
            batch = await self._collect()
            now = time.monotonic()
            live = []
            for p in batch:  # expired requests are dropped before they cost compute
                if p.deadline <= now or p.future.done():
                    self.stats.dropped += 1
                    if not p.future.done():
                        p.future.set_exception(DeadlineExceeded("deadline passed while queued"))
                else:
                    live.append(p)
            if not live:
                continue
            self.running = True
            start = time.monotonic()
            try:
                results = await asyncio.to_thread(self.run_batch, [p.item for p in live])
            except Exception as exc:  # one bad batch fails its callers, not the worker
                for p in live:
                    if not p.future.done():
                        p.future.set_exception(exc)
                continue
            finally:
                self.running = False
                self.stats.busy_s += time.monotonic() - start
            s = self.stats
            s.batches += 1
            s.items += len(live)
            s.max_batch = max(s.max_batch, len(live))
            s.sizes[len(live)] = s.sizes.get(len(live), 0) + 1
            for p, r in zip(live, results):
                if not p.future.done():
                    p.future.set_result(r)
            if self.on_batch is not None:
                try:
                    self.on_batch(results)
                except Exception:  # metrics must not stop the batching
                    log.exception("on_batch failed")
