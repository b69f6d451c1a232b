"""The HTTP front's backend on Ray: every question goes to the router actor, coalesced under
load; reloads apply a new plan through the deployment."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import ray

from actors import ROUTER_NAME
from actors.app import Deployment
from actors.router import UNBATCHED_INFLIGHT
from bookgpt.messages import Answer, AskRequest, BookInfo, ContinueJob, Continuation
from bookgpt.errors import AskError, OverloadedError
from bookgpt.paths import BookPaths
from bookgpt.serving.coalesce import Coalescer, time_left
from bookgpt.serving.retry import retrying

log = logging.getLogger(__name__)


# router calls in flight before questions wait and travel together. One: while a call is out, new
# questions gather and leave as the next call. Measured with 4 books, 32 clients, 2,000 questions:
# 1 in flight gave 144 questions/s, 2 gave 110 and 4 gave 139 (mean batches 8.0, 5.5, 5.1)
ROUTER_INFLIGHT = 1
# a restarting router is asked again after 0.25, 0.5, 1, 2 and 4 s (7.75 s in all, within the
# question's deadline): a killed router took 3.1-4.0 s to answer again here (4 quickstart books)
ROUTER_RETRY_WAITS_S = (0.25, 0.5, 1.0, 2.0, 4.0)


def _router_error(exc: Exception) -> Exception:
    """What the HTTP front reports for a failed router call: the router's own verdict (a bad
    question: 400, 404; every queue full: 503), a 503 while a crashed router restarts, else the
    error itself (500)."""
    cause = getattr(exc, "cause", None) if isinstance(exc, ray.exceptions.RayTaskError) else None
    if isinstance(cause, (AskError, OverloadedError)):
        return cause
    if isinstance(exc, ray.exceptions.RayActorError):  # ActorUnavailableError is one too
        return OverloadedError(f"the router actor is restarting ({type(exc).__name__}); "
                               f"retry shortly")
    return exc


class RayBackend:
    """The HTTP front's backend: every question goes to the router actor; under load, concurrent
    questions share one call (see bookgpt.serving.coalesce)."""

    def __init__(self, dep: Deployment):
        self.dep = dep
        self._info = self._titles()
        self._reloading = asyncio.Lock()
        s = dep.cfg.serve
        # questions wait here at most as many as the books' queues hold, and no call outlives
        # a request's deadline by much (a hung router must not hold up those behind it)
        self._to_router = Coalescer(self._ask_many, max_items=1, max_inflight=1,
                                    max_waiting=s.max_queue * max(1, len(dep.book_ids)),
                                    call_timeout_s=s.request_timeout_s + 2.0)
        self._configure(dep.batching)

    def _configure(self, on: bool) -> None:
        self.batching = on
        self._to_router.configure(max_items=4 * self.dep.cfg.serve.max_batch_size if on else 1,
                                  max_inflight=ROUTER_INFLIGHT if on else UNBATCHED_INFLIGHT)

    async def _ask_many(self, items: list[tuple[AskRequest, float]]) -> list:
        # the router gets what is left of each question's deadline, and the batching setting
        # (a router Ray restarted was built with the one the deployment started with)
        return await self.dep.router.ask_many.remote([r for r, _ in items],
                                                     time_left([d for _, d in items]),
                                                     self.batching)

    async def ask(self, req: AskRequest) -> Answer:
        deadline = time.monotonic() + self.dep.cfg.serve.request_timeout_s

        async def attempt() -> Answer:
            return await asyncio.wait_for(self._to_router.submit((req, deadline)),
                                          deadline - time.monotonic())

        try:
            # a crashed router is restarting: asking is read-only, so ask again a little later;
            # past the retries (or the deadline) the caller gets the 503
            return await retrying(attempt, retryable=lambda e: isinstance(
                e, ray.exceptions.RayActorError), waits=ROUTER_RETRY_WAITS_S, deadline=deadline)
        except asyncio.TimeoutError:
            raise OverloadedError(f"no answer within serve.request_timeout_s "
                                  f"({self.dep.cfg.serve.request_timeout_s:g} s); retry "
                                  f"shortly") from None
        except Exception as exc:
            raise _router_error(exc) from None

    async def ask_stream(self, req: AskRequest):
        """One book's answer as it is written: str pieces, then the Answer (see RouterActor)."""
        try:
            async for ref in self.dep.router.ask_stream.remote(req):
                yield await ref
        except Exception as exc:
            raise _router_error(exc) from None

    async def complete_stream(self, job: ContinueJob):
        """One book's continuation of a prompt as it is written: str pieces, then the
        Continuation (see RouterActor.complete_stream)."""
        try:
            async for ref in self.dep.router.complete_stream.remote(job):
                yield await ref
        except Exception as exc:
            raise _router_error(exc) from None

    async def complete(self, job: ContinueJob) -> Continuation:
        out = None
        async for item in self.complete_stream(job):
            out = item
        if not isinstance(out, Continuation):
            raise RuntimeError(f"the continuation of book {job.book_id!r} ended without its text")
        return out

    def _titles(self) -> list[tuple[str, str, str]]:
        return [(b, *BookPaths(self.dep.artifacts, b).title_author()) for b in self.dep.book_ids]

    async def reload(self) -> dict[str, Any]:
        """Serve what the artifacts hold now, without a restart (`Deployment.apply`): books added,
        retrained and removed. One reload at a time; questions keep being answered meanwhile."""
        async with self._reloading:
            try:
                out = await asyncio.to_thread(self.dep.apply)
            except AskError:
                raise
            except Exception as exc:
                raise AskError(f"reload failed, still serving what was served before: "
                               f"{type(exc).__name__}: {exc}") from None
            self._info = self._titles()
            self._to_router.max_waiting = (self.dep.cfg.serve.max_queue
                                           * max(1, len(self.dep.book_ids)))
            return out

    async def set_batching(self, enabled: bool) -> None:
        max_batch = self.dep.cfg.serve.max_batch_size
        self._configure(enabled)
        await asyncio.gather(self.dep.router.set_batching.remote(enabled, max_batch),
                             *(h.set_batching.remote(enabled, max_batch)
                               for hs in self.dep.books.values() for h in hs))

    async def _healths(self, timeout: float = 2.0) -> dict[str, dict | None]:
        """Each book's health: its replicas' summed up (None: no replica answers)."""
        async def one(h):
            try:
                return await asyncio.wait_for(h.health.remote(), timeout)
            except Exception:
                return None

        books = self.dep.books
        results = await asyncio.gather(*(one(h) for hs in books.values() for h in hs))
        out: dict[str, dict | None] = {}
        at = 0
        for book_id, hs in books.items():
            up = [h for h in results[at:at + len(hs)] if h is not None]
            at += len(hs)
            out[book_id] = None if not up else {
                "queue": sum(h["queue"] for h in up), "batches": sum(h["batches"] for h in up),
                "items": sum(h["items"] for h in up), "max_batch": max(h["max_batch"] for h in up),
                "tokens_per_s": sum(h["tokens_per_s"] for h in up), "replicas": len(hs),
                "replicas_up": len(up)}
        return out

    async def books(self) -> list[BookInfo]:
        health = await self._healths()
        return [BookInfo(book_id=b, title=t, author=a, ready=health.get(b) is not None)
                for b, t, a in self._info]

    async def ready(self) -> tuple[bool, dict]:
        health = await self._healths()
        down = [b for b, h in health.items() if h is None]
        return not down, {"books": len(health), "not_ready": down}

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        out: dict[str, list] = {"bookgpt_book_queue_depth": [], "bookgpt_book_batches_total": [],
                                "bookgpt_book_items_total": [], "bookgpt_book_max_batch": [],
                                "bookgpt_book_tokens_per_s": [], "bookgpt_book_up": []}
        out["bookgpt_ray_calls_total"] = [({"to": ROUTER_NAME}, self._to_router.calls)]
        out["bookgpt_ray_call_requests_total"] = [({"to": ROUTER_NAME}, self._to_router.items)]
        try:
            stats = await asyncio.wait_for(self.dep.router.stats.remote(), 2.0)
        except Exception:  # a restarting router: its counters are back next scrape
            stats = {}
        for callee, (calls, items) in stats.items():
            out["bookgpt_ray_calls_total"].append(({"to": callee}, calls))
            out["bookgpt_ray_call_requests_total"].append(({"to": callee}, items))
        for book_id, h in (await self._healths()).items():
            lab = {"book_id": book_id}
            out["bookgpt_book_up"].append((lab, 0.0 if h is None else 1.0))
            if h is None:
                continue
            out["bookgpt_book_queue_depth"].append((lab, h["queue"]))
            out["bookgpt_book_batches_total"].append((lab, h["batches"]))
            out["bookgpt_book_items_total"].append((lab, h["items"]))
            out["bookgpt_book_max_batch"].append((lab, h["max_batch"]))
            out["bookgpt_book_tokens_per_s"].append((lab, round(h["tokens_per_s"], 1)))
        return out
