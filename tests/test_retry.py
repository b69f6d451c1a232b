"""The one retry loop around actor calls: a passing failure is asked again, others are not."""

from __future__ import annotations

import asyncio
import time

import pytest

from bookgpt.serving.retry import retrying


class Restarting(RuntimeError):
    pass


def _flaky(failures: int, exc: type[Exception] = Restarting):
    calls = []

    async def call() -> str:
        calls.append(time.monotonic())
        if len(calls) <= failures:
            raise exc("not yet")
        return "answer"
    return call, calls


def _run(call, waits=(0.01, 0.02), deadline_s=5.0):
    return asyncio.run(retrying(call, retryable=lambda e: isinstance(e, Restarting),
                                waits=waits, deadline=time.monotonic() + deadline_s))


def test_a_passing_failure_is_asked_again_after_each_wait():
    call, calls = _flaky(2)
    assert _run(call) == "answer" and len(calls) == 3
    assert calls[2] - calls[1] >= 0.02 and calls[1] - calls[0] >= 0.01


def test_past_the_waits_the_last_failure_is_raised():
    call, calls = _flaky(5)
    with pytest.raises(Restarting):
        _run(call)
    assert len(calls) == 3


def test_other_failures_and_the_deadline_stop_at_once():
    call, calls = _flaky(1, ValueError)
    with pytest.raises(ValueError):
        _run(call)
    assert len(calls) == 1
    call, calls = _flaky(1)
    with pytest.raises(Restarting):
        _run(call, waits=(1.0,), deadline_s=0.5)  # the retry would start past the deadline
    assert len(calls) == 1
