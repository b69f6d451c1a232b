"""Coalesced calls: requests to one callee share a call under load, never wait when it is idle."""

from __future__ import annotations

import asyncio

import pytest

from bookgpt.serving.coalesce import Coalescer


class Callee:
    """Records each call's items and how many calls overlapped; answers item * 10."""

    def __init__(self, delay: float = 0.02, fail_on: object = None, error_item: object = None):
        self.calls: list[list] = []
        self.active = self.max_active = 0
        self.delay, self.fail_on, self.error_item = delay, fail_on, error_item

    async def send(self, items: list) -> list:
        self.calls.append(list(items))
        self.active += 1
        self.max_active = max(self.max_active, self.active)
        try:
            await asyncio.sleep(self.delay)
            if self.fail_on in items:
                raise ConnectionError("the callee died")
            return [ValueError(f"bad item {x}") if x == self.error_item else x * 10 for x in items]
        finally:
            self.active -= 1


def run(coro):
    return asyncio.run(coro)


def test_an_idle_callee_gets_a_lone_request_at_once():
    async def main():
        callee = Callee(delay=0.0)
        c = Coalescer(callee.send, max_items=16, max_inflight=1)
        loop = asyncio.get_running_loop()
        t0 = loop.time()
        assert await c.submit(3) == 30
        return callee.calls, loop.time() - t0
    calls, took = run(main())
    assert calls == [[3]]
    assert took < 0.05  # the next turn of the loop, not a wait


def test_a_burst_made_in_one_turn_of_the_loop_leaves_as_one_call():
    async def main():
        callee = Callee()
        c = Coalescer(callee.send, max_items=16, max_inflight=1)
        results = await asyncio.gather(*(c.submit(i) for i in range(10)))
        return callee.calls, results, (c.calls, c.items)
    calls, results, stats = run(main())
    assert results == [i * 10 for i in range(10)]
    assert calls == [list(range(10))]
    assert stats == (1, 10)


def test_requests_wait_while_calls_are_in_flight_then_travel_together():
    async def main():
        callee = Callee(delay=0.05)
        c = Coalescer(callee.send, max_items=4, max_inflight=2)
        tasks = []
        for i in range(11):  # arriving one by one, 5 ms apart, while calls take 50 ms
            tasks.append(asyncio.create_task(c.submit(i)))
            await asyncio.sleep(0.005)
        results = await asyncio.gather(*tasks)
        return callee, results
    callee, results = run(main())
    assert results == [i * 10 for i in range(11)]
    assert callee.max_active == 2  # never more calls in flight than allowed
    assert max(len(c) for c in callee.calls) == 4  # never more items per call than allowed
    assert len(callee.calls) < 11  # the waiting ones shared calls
    assert sorted(x for c in callee.calls for x in c) == list(range(11))  # each sent once


def test_an_error_for_one_item_reaches_only_its_caller():
    async def main():
        c = Coalescer(Callee(error_item=2).send, max_items=8, max_inflight=1)
        return await asyncio.gather(*(c.submit(i) for i in range(4)), return_exceptions=True)
    res = run(main())
    assert res[0] == 0 and res[1] == 10 and res[3] == 30
    assert isinstance(res[2], ValueError) and "bad item 2" in str(res[2])


def test_a_failed_call_fails_its_own_items_and_the_next_call_still_goes():
    async def main():
        callee = Callee(fail_on=1)
        c = Coalescer(callee.send, max_items=8, max_inflight=1)
        first = await asyncio.gather(*(c.submit(i) for i in range(3)), return_exceptions=True)
        second = await c.submit(5)
        return first, second
    first, second = run(main())
    assert all(isinstance(x, ConnectionError) for x in first)
    assert second == 50


def test_a_caller_that_gives_up_is_not_sent_and_does_not_cancel_the_others():
    async def main():
        callee = Callee(delay=0.05)
        c = Coalescer(callee.send, max_items=8, max_inflight=1)
        busy = asyncio.create_task(c.submit(0))  # occupies the only call slot
        await asyncio.sleep(0.01)
        quitter = asyncio.create_task(asyncio.wait_for(c.submit(1), 0.01))
        stayer = asyncio.create_task(c.submit(2))
        with pytest.raises(asyncio.TimeoutError):
            await quitter
        return await busy, await stayer, callee.calls
    busy, stayer, calls = run(main())
    assert (busy, stayer) == (0, 20)
    assert calls == [[0], [2]]  # the one that timed out while waiting never cost a call


def test_unbatched_every_request_is_its_own_concurrent_call():
    async def main():
        callee = Callee()
        c = Coalescer(callee.send, max_items=16, max_inflight=1)
        c.configure(max_items=1, max_inflight=1000)
        await asyncio.gather(*(c.submit(i) for i in range(6)))
        return callee
    callee = run(main())
    assert len(callee.calls) == 6 and callee.max_active == 6


def test_a_call_must_answer_every_item():
    async def short(items):
        return items[:-1]

    async def main():
        c = Coalescer(short, max_items=8, max_inflight=1)
        return await asyncio.gather(*(c.submit(i) for i in range(3)), return_exceptions=True)
    res = run(main())
    assert all(isinstance(x, RuntimeError) and "2 results for 3" in str(x) for x in res)


def test_a_hung_call_times_out_and_frees_its_slot_for_the_next():
    async def main():
        hang = asyncio.Event()

        async def send(items):
            if 0 in items:
                await hang.wait()  # never set: this callee hangs on item 0
            return [x * 10 for x in items]

        c = Coalescer(send, max_items=8, max_inflight=1, call_timeout_s=0.1)
        stuck = asyncio.create_task(c.submit(0))
        await asyncio.sleep(0.01)
        later = await asyncio.wait_for(c.submit(5), 2.0)  # waits for the slot, then goes
        with pytest.raises(asyncio.TimeoutError):
            await stuck
        return later
    assert run(main()) == 50


def test_too_many_waiting_is_overloaded():
    from bookgpt.errors import OverloadedError

    async def main():
        c = Coalescer(Callee(delay=0.05).send, max_items=1, max_inflight=1, max_waiting=3)
        return await asyncio.gather(*(c.submit(i) for i in range(6)), return_exceptions=True)
    res = run(main())
    over = [r for r in res if isinstance(r, OverloadedError)]
    assert len(over) == 3 and "retry" in str(over[0])
    assert [r for r in res if not isinstance(r, Exception)] == [0, 10, 20]


def test_limits_must_be_positive():
    with pytest.raises(ValueError, match="at least 1"):
        Coalescer(Callee().send, max_items=0, max_inflight=1)
