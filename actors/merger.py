"""MergerActor: applies the merge policy and returns the answer with its provenance."""

from __future__ import annotations

import ray

from bookgpt.messages import Answer, BookAnswer, RoutedBook
from bookgpt.merge import merged


@ray.remote(num_cpus=0, max_restarts=-1)
class MergerActor:
    def __init__(self) -> None:
        self.merges = 0

    def merge_many(self, items: list[tuple[str, list[RoutedBook], list[BookAnswer],
                                           dict[str, float], float]]) -> list[Answer]:
        """Merges of (question, routing, candidates, timings, least confidence), several in one
        call (the router coalesces its calls under load)."""
        self.merges += len(items)
        return [merged(*item) for item in items]

    def count(self) -> int:
        """Answers merged by this process since it started."""
        return self.merges
