"""Asking again after a failure that passes, within a deadline: one home for the retry loops
around actor calls (a restarting actor is asked again a little later)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable, Sequence
from typing import TypeVar

T = TypeVar("T")


async def retrying(call: Callable[[], Awaitable[T]], *, retryable: Callable[[Exception], bool],
                   waits: Sequence[float], deadline: float) -> T:
    """`call()`'s result. A failure that `retryable` accepts is retried after each of `waits` in
    turn (seconds), while the retry would start before `deadline` (a time.monotonic reading);
    any other failure, or the last, is raised as it came."""
    for wait in (*waits, None):
        try:
            return await call()
        except Exception as exc:
            if wait is None or not retryable(exc) or time.monotonic() + wait > deadline:
                raise
            await asyncio.sleep(wait)
    raise RuntimeError("retrying: no attempt was made")  # waits is a sequence: never reached
