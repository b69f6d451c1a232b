"""RouterActor: routes a question, fans it out to the top-K book actors with deadlines, merges."""

from __future__ import annotations

import asyncio
import time

import msgspec
import ray

from actors import MERGER_NAME, book_actor_name
from bookgpt.config import Config
from bookgpt.messages import Answer, AnswerJob, AskRequest, BookAnswer, ContinueJob, RoutedBook
from bookgpt.errors import AskError, OverloadedError, UnknownBookError, require_question
from bookgpt.answer.book import failed, job_for
from bookgpt.answer.route import route_request, route_requests, with_defaults
from bookgpt.merge import merged, timings
from bookgpt.paths import router_dir
from bookgpt.router import BookRouter
from bookgpt.serving.coalesce import Coalescer, time_left
from bookgpt.serving.followup import for_routing, noted
from bookgpt.serving.retry import retrying
from cluster.ship import Bundle, unpack

# calls in flight per callee before requests wait and travel together. A book actor computes one
# batch at a time, so what gathers here while it runs is its next batch (2 in flight split the
# batches in two: 74 questions/s against 101 with 1, 4 books, 32 clients)
BOOK_INFLIGHT = 1
MERGER_INFLIGHT = 2
UNBATCHED_INFLIGHT = 1_000_000  # batching off: every request is its own call
MERGE_TIMEOUT_S = 5.0  # past this the router merges itself
MERGER_RECHECK_S = 5.0  # a missing merger is looked up by name again after this
BOOK_RETRY_WAITS_S = (0.05, 0.1)  # a restarting book actor is asked again after these


class MergerGone(RuntimeError):
    """No merger actor has the name (it was killed for good); the router merges itself."""


def _degraded(r: RoutedBook, exc: Exception, timeout: float) -> BookAnswer:
    """A failed book's place among the candidates: an answer marked with what went wrong (a dead
    or restarting actor, a deadline), not a hang. A full queue is raised instead: `ask` turns it
    into a 503 with Retry-After when every book asked was full (and `ask_stream` at once)."""
    if isinstance(exc, ray.exceptions.RayTaskError):
        exc = getattr(exc, "cause", None) or exc
    if isinstance(exc, OverloadedError):
        raise exc
    if isinstance(exc, asyncio.TimeoutError):  # also a job dropped unrun past its deadline
        return failed(r, f"timed out after {timeout:g} s")
    return failed(r, f"{type(exc).__name__}: {exc}")


@ray.remote(num_cpus=0, max_restarts=-1, max_task_retries=0, max_concurrency=1000)
class RouterActor:
    def __init__(self, cfg_builtins: dict, bundle: Bundle, book_ids: list[str], namespace: str,
                 batching: bool = True, fingerprint: str = ""):
        self.cfg = msgspec.convert(cfg_builtins, Config)
        root, _ = unpack(bundle)  # the router's files, shipped through the object store
        self.router = BookRouter.load(router_dir(root))
        for book_id in book_ids:  # index sentences now, not on a question's critical path
            self.router.sentence_index(book_id)
        self._fingerprint = fingerprint
        self.book_ids = book_ids
        self.namespace = namespace
        self._handles: dict[str, ray.actor.ActorHandle] = {}
        s = self.cfg.serve
        # a book's waiting room is as large as its actor's queue; a call may take a request's
        # whole deadline (the actor drops what is past it), a merge a few seconds
        self._to_book = {b: Coalescer(self._sender(b), max_items=1, max_inflight=1,
                                      max_waiting=s.max_queue,
                                      call_timeout_s=s.request_timeout_s + 1.0)
                         for b in book_ids}
        self._to_merger = Coalescer(self._merge_many, max_items=1, max_inflight=1,
                                    call_timeout_s=MERGE_TIMEOUT_S)
        self._merger_missing_until = 0.0
        self._active = 0  # questions between routing and their merged answer
        self._configure(batching, self.cfg.serve.max_batch_size)

    def _configure(self, on: bool, max_batch: int) -> None:
        self.batching = on
        for c in self._to_book.values():
            c.configure(max_items=max_batch if on else 1,
                        max_inflight=BOOK_INFLIGHT if on else UNBATCHED_INFLIGHT)
        self._to_merger.configure(max_items=max_batch if on else 1,
                                  max_inflight=MERGER_INFLIGHT if on else UNBATCHED_INFLIGHT)

    async def set_batching(self, on: bool, max_batch: int) -> None:
        """Coalesced calls are part of batching: off, every request is a call of its own."""
        self._configure(on, max_batch)

    async def stats(self) -> dict[str, tuple[int, int]]:
        """(calls, requests) sent so far to each callee: fewer calls than requests is coalescing."""
        out = {book_actor_name(b): (c.calls, c.items) for b, c in self._to_book.items()}
        out[MERGER_NAME] = (self._to_merger.calls, self._to_merger.items)
        return out

    async def batching_on(self) -> bool:
        return self.batching

    def _sender(self, book_id: str):
        async def send(items: list[tuple[AnswerJob, float]]) -> list:
            handle = self._handle(book_actor_name(book_id))
            return await handle.answer_many.remote([j for j, _ in items],
                                                   time_left([d for _, d in items]))
        return send

    async def _merge_many(self, items: list[tuple]) -> list[Answer]:
        if time.monotonic() < self._merger_missing_until:
            raise MergerGone("the merger was missing moments ago")
        try:
            handle = self._handle(MERGER_NAME)
        except ValueError:  # ray.get_actor: no actor has the name
            self._merger_missing_until = time.monotonic() + MERGER_RECHECK_S
            raise MergerGone("no merger actor") from None
        return await handle.merge_many.remote(items)

    async def fingerprint(self) -> str:
        return self._fingerprint

    def _handle(self, name: str):
        if name not in self._handles:
            self._handles[name] = ray.get_actor(name, namespace=self.namespace)
        return self._handles[name]

    async def _one(self, r: RoutedBook, req: AskRequest, timeout: float) -> BookAnswer:
        job = job_for(r, req.question, req.max_new_tokens, req.temperature, req.decoding,
                      self.cfg.serve.model_weight)
        deadline = time.monotonic() + timeout

        async def attempt() -> BookAnswer:
            return await asyncio.wait_for(self._to_book[r.book_id].submit((job, deadline)),
                                          timeout=deadline - time.monotonic())

        try:
            # the actor restarted (or is restarting): answering is read-only, so ask again
            return await retrying(attempt, retryable=lambda e: isinstance(
                e, ray.exceptions.ActorUnavailableError), waits=BOOK_RETRY_WAITS_S,
                deadline=deadline - 0.1)
        except Exception as exc:
            return _degraded(r, exc, timeout)

    async def ask(self, req: AskRequest, timeout_s: float | None = None) -> Answer:
        """Route, ask the top-K books, merge. `timeout_s`: what is left of the question's deadline
        (the HTTP server's wait already spent some); at most serve.request_timeout_s."""
        answer = (await self.ask_many([req], None if timeout_s is None else [timeout_s]))[0]
        if isinstance(answer, BaseException):
            raise answer
        return answer

    async def _ask(self, req: AskRequest, routing: list[RoutedBook] | Exception, t0: float,
                   t_route: float, timeout_s: float | None) -> Answer:
        """One question of a batch routed together at `t0` (perf_counter) in `t_route` ms."""
        if isinstance(routing, Exception):
            raise routing
        self._active += 1
        try:
            return await self._answer(req, routing, t0, t_route, timeout_s)
        finally:
            self._active -= 1

    def _merger_merges(self) -> bool:
        """Whether the merger actor merges the answer now being completed (see serve.merge_in).
        Alone, a question saves the Ray hop (2-3 ms here); under load the merger takes the merges
        off the router, whose event loop every question crosses (+17-23% questions/s measured at
        32 clients against merging in the router)."""
        where = self.cfg.serve.merge_in
        return where == "merger" or (where == "auto" and self._active > 1)

    async def _answer(self, req: AskRequest, routing: list[RoutedBook], t0: float,
                      t_route: float, timeout_s: float | None) -> Answer:
        timeout = self.cfg.serve.request_timeout_s
        if timeout_s is not None:
            timeout = min(timeout, timeout_s)
        results = await asyncio.gather(*(self._one(r, req, timeout) for r in routing),
                                       return_exceptions=True)
        if results and all(isinstance(x, OverloadedError) for x in results):
            raise results[0]
        # some books full, others not: the full ones are failed candidates
        cands = [x if isinstance(x, BookAnswer) else failed(r, f"{type(x).__name__}: {x}")
                 for r, x in zip(routing, results)]
        spent = timings(t0, t_route)
        if self._merger_merges():
            try:
                return await self._to_merger.submit((req.question, routing, cands, spent))
            except (ray.exceptions.RayActorError, MergerGone, asyncio.TimeoutError):
                # the merger crashed, hangs or is gone: the same policy, applied here, loses no
                # answer; a later question looks the merger up by name again
                self._handles.pop(MERGER_NAME, None)
        return merged(req.question, routing, cands, spent)

    async def ask_stream(self, req: AskRequest):
        """One named book's answer as it is written: pieces of text (str) as its tokens come, then
        the Answer with provenance. Streams only a question to exactly one book: a routed answer
        is chosen among several books once all have answered, so it cannot stream before."""
        t0 = time.perf_counter()
        req = with_defaults(req, self.cfg)
        require_question(req.question)
        if not req.book_ids or len(req.book_ids) != 1:
            raise AskError("streaming token by token needs exactly one book "
                           "(model 'bookgpt/<book_id>')")
        routed = for_routing(self.router, req, self.cfg.router.abstain_threshold)
        routing = route_request(self.router, routed, self.book_ids, 1, 0.0)
        t_route = (time.perf_counter() - t0) * 1e3
        r = routing[0]
        job = job_for(r, req.question, req.max_new_tokens, req.temperature, req.decoding,
                      self.cfg.serve.model_weight)
        timeout = self.cfg.serve.request_timeout_s
        deadline = time.monotonic() + timeout
        ans: BookAnswer | None = None
        try:
            gen = self._handle(book_actor_name(r.book_id)).answer_stream.remote(job, timeout)
            while ans is None:
                item = await asyncio.wait_for(gen.__anext__(), deadline - time.monotonic())
                item = await item
                if isinstance(item, str):
                    yield item
                else:
                    ans = item
        except StopAsyncIteration:
            ans = _degraded(r, RuntimeError("the book's stream ended without an answer"), timeout)
        except Exception as exc:
            ans = _degraded(r, exc, timeout)
        yield noted([req], [routed], [merged(req.question, routing, [ans], timings(t0, t_route))])[0]

    async def complete_stream(self, job: ContinueJob):
        """A named book's model continuing a prompt, as it is written: pieces of text (str), then
        the Continuation. What stops it before the first piece (an unknown book, a prompt too
        long for the model) is raised as it is, so the HTTP front still answers with a status."""
        if job.book_id not in self.book_ids:
            raise UnknownBookError(f"unknown or untrained book: {job.book_id}; trained: "
                                   f"{', '.join(self.book_ids) or 'none'}")
        job = msgspec.structs.replace(
            job, max_new_tokens=job.max_new_tokens or self.cfg.serve.max_new_tokens)
        title = self.router.titles[self.router.book_ids.index(job.book_id)]
        timeout = self.cfg.serve.request_timeout_s
        deadline = time.monotonic() + timeout
        try:
            gen = self._handle(book_actor_name(job.book_id)).answer_stream.remote(job, timeout)
            while True:
                try:
                    ref = await asyncio.wait_for(gen.__anext__(), deadline - time.monotonic())
                except StopAsyncIteration:
                    return
                item = await ref
                yield item if isinstance(item, str) else msgspec.structs.replace(item, title=title)
        except ray.exceptions.RayTaskError as exc:  # the book's own verdict, unwrapped
            raise getattr(exc, "cause", None) or exc from None
        except asyncio.TimeoutError:
            raise OverloadedError(f"no continuation within serve.request_timeout_s ({timeout:g} "
                                  f"s); retry shortly") from None

    async def ask_many(self, reqs: list[AskRequest], timeouts_s: list[float] | None = None,
                       batching: bool | None = None) -> list[Answer | Exception]:
        """Several questions in one call (the HTTP server coalesces its calls under load), each
        with what is left of its deadline: each gets its answer or the exception that stopped it,
        in order. `batching`, when given, is the server's setting, which this router takes on."""
        if batching is not None and batching != self.batching:
            self._configure(batching, self.cfg.serve.max_batch_size)
        timeouts = timeouts_s if timeouts_s is not None else [None] * len(reqs)
        reqs = [with_defaults(r, self.cfg) for r in reqs]
        t0 = time.perf_counter()
        # the whole batch is scored in one pass (see BookRouter.scores_many); each question then
        # goes its own way, the books' calls coalescing again per book
        # a weak follow-up is routed with the conversation's earlier questions
        routed = [for_routing(self.router, r, self.cfg.router.abstain_threshold) for r in reqs]
        routings = route_requests(self.router, routed, self.book_ids,
                                  [r.top_k for r in reqs],
                                  self.cfg.router.abstain_threshold)
        t_route = (time.perf_counter() - t0) * 1e3
        return noted(reqs, routed, await asyncio.gather(
            *(self._ask(r, routing, t0, t_route, t)
              for r, routing, t in zip(reqs, routings, timeouts)), return_exceptions=True))
