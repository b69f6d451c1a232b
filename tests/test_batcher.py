"""The book actor's dynamic batcher, on its own event loop (the Ray tests drive it in actors)."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from bookgpt.errors import OverloadedError
from bookgpt.serving.batcher import DeadlineExceeded, DynamicBatcher


def _slow_doubler(batches: list[list[int]], gate: threading.Event | None = None):
    def run(items: list[int]) -> list[int]:
        batches.append(list(items))
        if gate is not None:
            gate.wait(5)
        time.sleep(0.02)
        return [2 * i for i in items]
    return run


def test_requests_arriving_during_a_batch_form_the_next_batch_and_metrics_see_each_batch():
    batches: list[list[int]] = []
    seen: list[list[int]] = []

    async def main():
        b = DynamicBatcher(_slow_doubler(batches), max_batch=8, max_wait_s=0.0, max_queue=100,
                           on_batch=seen.append)
        far = time.monotonic() + 10
        first = asyncio.ensure_future(b.submit(0, far))
        await asyncio.sleep(0.005)  # the first runs alone (an idle batcher does not wait)
        rest = [asyncio.ensure_future(b.submit(i, far)) for i in range(1, 6)]
        return await asyncio.gather(first, *rest), b.stats

    results, stats = asyncio.run(main())
    assert results == [0, 2, 4, 6, 8, 10]
    assert batches == [[0], [1, 2, 3, 4, 5]]
    assert seen == [[0], [2, 4, 6, 8, 10]]  # once per batch, with that batch's results
    assert stats.batches == 2 and stats.items == 6 and stats.sizes == {1: 1, 5: 1}


def test_max_batch_caps_a_batch():
    batches: list[list[int]] = []
    gate = threading.Event()

    async def main():
        b = DynamicBatcher(_slow_doubler(batches, gate), max_batch=3, max_wait_s=0.0,
                           max_queue=100)
        far = time.monotonic() + 10
        futs = [asyncio.ensure_future(b.submit(0, far))]
        await asyncio.sleep(0.005)
        futs += [asyncio.ensure_future(b.submit(i, far)) for i in range(1, 8)]
        await asyncio.sleep(0.005)
        gate.set()
        return await asyncio.gather(*futs)

    assert asyncio.run(main()) == [2 * i for i in range(8)]
    assert [len(x) for x in batches] == [1, 3, 3, 1]


def test_a_request_past_its_deadline_is_dropped_before_it_costs_compute():
    batches: list[list[int]] = []
    gate = threading.Event()

    async def main():
        b = DynamicBatcher(_slow_doubler(batches, gate), max_batch=8, max_wait_s=0.0,
                           max_queue=100)
        busy = asyncio.ensure_future(b.submit(1, time.monotonic() + 10))
        await asyncio.sleep(0.005)
        late = asyncio.ensure_future(b.submit(2, time.monotonic() + 0.01))
        ok = asyncio.ensure_future(b.submit(3, time.monotonic() + 10))
        await asyncio.sleep(0.05)  # the short deadline passes while the first batch runs
        gate.set()
        with pytest.raises(DeadlineExceeded):
            await late
        return await busy, await ok, b.stats.dropped

    assert asyncio.run(main()) == (2, 6, 1)
    assert batches == [[1], [3]]


def test_a_full_queue_is_overloaded_and_a_failing_batch_or_hook_does_not_stop_the_worker():
    gate = threading.Event()
    calls = {"n": 0}

    def run(items: list[int]) -> list[int]:
        calls["n"] += 1
        gate.wait(5)
        if calls["n"] == 2:
            raise ValueError("bad batch")
        return items

    def hook(results):
        raise RuntimeError("metrics broke")

    async def main():
        b = DynamicBatcher(run, max_batch=2, max_wait_s=0.0, max_queue=2, on_batch=hook)
        far = time.monotonic() + 10
        first = asyncio.ensure_future(b.submit(1, far))
        await asyncio.sleep(0.005)
        queued = [asyncio.ensure_future(b.submit(i, far)) for i in (2, 3)]
        await asyncio.sleep(0.005)
        with pytest.raises(OverloadedError, match="queue full"):
            await b.submit(4, far)
        gate.set()
        assert await first == 1  # the hook's failure is logged, the answer still comes
        for q in queued:
            with pytest.raises(ValueError, match="bad batch"):
                await q
        return await b.submit(5, far)  # the worker still runs

    assert asyncio.run(main()) == 5
