"""MergerActor: applies the merge policy and returns the answer with its provenance."""

from __future__ import annotations

import ray

from bookgpt.messages import Answer, BookAnswer, RoutedBook
from bookgpt.orchestrator import merged


@ray.remote(num_cpus=0, max_restarts=-1)
class MergerActor:
    def __init__(self) -> None:
        self.merges = 0

    def merge(self, question: str, routing: list[RoutedBook], candidates: list[BookAnswer],
              timings: dict[str, float]) -> Answer:
        self.merges += 1
        return merged(question, routing, candidates, timings)

    def merge_many(self, items: list[tuple[str, list[RoutedBook], list[BookAnswer],
                                           dict[str, float]]]) -> list[Answer]:
        """Several merges in one call (the router coalesces its calls under load)."""
        self.merges += len(items)
        return [merged(*item) for item in items]

    def count(self) -> int:
        """Answers merged by this process since it started."""
        return self.merges
