"""RouterActor: routes a question, fans it out to the top-K book actors with deadlines, merges."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass

import msgspec
import ray

from actors import MERGER_NAME
from actors.files import FILES_NAME
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
from cluster.ship import unpack

# calls in flight per callee before requests wait and travel together. A book actor computes one
# batch at a time, so what gathers here while it runs is its next batch (2 in flight split the
# batches in two: 74 questions/s against 101 with 1, 4 books, 32 clients)
BOOK_INFLIGHT = 1
MERGER_INFLIGHT = 2
UNBATCHED_INFLIGHT = 1_000_000  # batching off: every request is its own call
MERGE_TIMEOUT_S = 5.0  # past this the router merges itself
MERGER_RECHECK_S = 5.0  # a missing merger is looked up by name again after this
BOOK_RETRY_WAITS_S = (0.05, 0.1)  # a restarting book actor is asked again after these
REPLICA_DOWN_S = 2.0  # a replica that failed is passed over this long while others answer


@dataclass
class _View:
    """What the router serves at one moment. A question routed on a view finishes on it: a
    reload installs a new view, and the old one's actors drain before they stop."""

    router: BookRouter | None
    replicas: dict[str, list[str]]  # book id -> the names of its actors
    fingerprint: str  # of the state it was built from
    users: int = 0  # questions routed on it and not yet answered

    @property
    def book_ids(self) -> list[str]:
        return list(self.replicas)


def _state_view(state: dict) -> _View:
    """A view built from a published state (`Deployment.publish`): the router's files unpacked
    and loaded, every served book's sentences indexed (not on a question's critical path)."""
    root, _ = unpack(state["bundle"])
    router = BookRouter.load(router_dir(root))
    for book_id in state["replicas"]:
        # the book's sentence encoder too (trained on its first search, up to ~10 s a book, or
        # loaded from the node's cache): never on the event loop, in front of a question
        router.sentence_index(book_id).prepare()
    return _View(router, {b: list(n) for b, n in state["replicas"].items()}, state["fingerprint"])


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
    """Routes each question, fans it out to its books' actors, merges. What it serves (the router
    index and each book's actors) is a state the deployment publishes and `load`s; a router Ray
    restarts takes up the last published one."""

    def __init__(self, cfg_builtins: dict, namespace: str, batching: bool = True,
                 fingerprint: str = ""):
        self.cfg = msgspec.convert(cfg_builtins, Config)
        self._fingerprint = fingerprint
        self.namespace = namespace
        self._handles: dict[str, ray.actor.ActorHandle] = {}
        self._to_actor: dict[str, Coalescer] = {}  # one waiting room per book actor (replica)
        self._down_until: dict[str, float] = {}  # replica -> passed over until then
        self._queued: dict[str, int] = {}  # replica -> questions waiting for or at it
        self._to_merger = Coalescer(self._merge_many, max_items=1, max_inflight=1,
                                    call_timeout_s=MERGE_TIMEOUT_S)
        self._merger_missing_until = 0.0
        self._active = 0  # questions between routing and their merged answer
        self.batching, self._max_batch = batching, self.cfg.serve.max_batch_size
        self.view = _View(None, {}, "")
        self._old_views: list[_View] = []
        try:
            state = ray.get(ray.get_actor(FILES_NAME, namespace=namespace).current.remote())
        except ValueError:  # no files actor: nothing published yet
            state = None
        if state is not None:
            self._install(_state_view(state))
        self._configure(batching, self._max_batch)

    def _install(self, view: _View) -> None:
        s = self.cfg.serve
        for names in view.replicas.values():
            for name in names:
                if name not in self._to_actor:
                    # a book's waiting room is as large as its actor's queue; a call may take a
                    # request's whole deadline (the actor drops what is past it)
                    self._to_actor[name] = Coalescer(
                        self._sender(name), max_items=1, max_inflight=1, max_waiting=s.max_queue,
                        call_timeout_s=s.request_timeout_s + 1.0)
                    self._configure_one(self._to_actor[name])
        if self.view.router is not None:
            self._old_views.append(self.view)
        self.view = view

    async def load(self, state: dict) -> str:
        """Serve `state` (see `Deployment.publish`) from now on: the new index is built off the
        event loop, then swapped in at once; questions already routed finish on the old one."""
        if state["fingerprint"] != self.view.fingerprint:
            self._install(await asyncio.to_thread(_state_view, state))
        return self.view.fingerprint

    async def drained(self, names: list[str]) -> bool:
        """Whether no question routed before the last `load` is still out, and none waits for or
        is being answered by these actors (ones no longer served, about to be stopped)."""
        self._old_views = [v for v in self._old_views if v.users > 0]
        if self._old_views or any(self._queued.get(n, 0) or (
                n in self._to_actor and not self._to_actor[n].idle()) for n in names):
            return False
        served = {n for ns in self.view.replicas.values() for n in ns}
        for n in names:
            if n not in served:
                self._to_actor.pop(n, None)
                self._handles.pop(n, None)
                self._queued.pop(n, None)
        return True

    def _configure_one(self, c: Coalescer) -> None:
        c.configure(max_items=self._max_batch if self.batching else 1,
                    max_inflight=BOOK_INFLIGHT if self.batching else UNBATCHED_INFLIGHT)

    def _configure(self, on: bool, max_batch: int) -> None:
        self.batching, self._max_batch = on, max_batch
        for c in self._to_actor.values():
            self._configure_one(c)
        self._to_merger.configure(max_items=max_batch if on else 1,
                                  max_inflight=MERGER_INFLIGHT if on else UNBATCHED_INFLIGHT)

    async def set_batching(self, on: bool, max_batch: int) -> None:
        """Coalesced calls are part of batching: off, every request is a call of its own."""
        self._configure(on, max_batch)

    async def stats(self) -> dict[str, tuple[int, int]]:
        """(calls, requests) sent so far to each callee: fewer calls than requests is coalescing."""
        out = {name: (c.calls, c.items) for name, c in self._to_actor.items()}
        out[MERGER_NAME] = (self._to_merger.calls, self._to_merger.items)
        return out

    async def batching_on(self) -> bool:
        return self.batching

    def _sender(self, name: str):
        async def send(items: list[tuple[AnswerJob, float]]) -> list:
            return await self._handle(name).answer_many.remote([j for j, _ in items],
                                                               time_left([d for _, d in items]))
        return send

    def _pick(self, view: _View, book_id: str) -> str:
        """The replica with the shortest queue among those not recently failed."""
        names = [n for n in view.replicas[book_id] if n in self._to_actor]
        if not names:
            raise AskError(f"book {book_id!r} is no longer served")
        now = time.monotonic()
        up = [n for n in names if self._down_until.get(n, 0.0) <= now] or names
        return min(up, key=lambda n: self._queued.get(n, 0))

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

    async def _one(self, view: _View, r: RoutedBook, req: AskRequest,
                   timeout: float) -> BookAnswer:
        job = job_for(r, req.question, req.max_new_tokens, req.temperature, req.decoding,
                      self.cfg.serve.model_weight)
        deadline = time.monotonic() + timeout
        several = len(view.replicas.get(r.book_id, ())) > 1

        async def attempt() -> BookAnswer:
            name = self._pick(view, r.book_id)
            self._queued[name] = self._queued.get(name, 0) + 1  # counted before it is sent
            try:
                return await asyncio.wait_for(self._to_actor[name].submit((job, deadline)),
                                              timeout=deadline - time.monotonic())
            except ray.exceptions.RayActorError:
                self._down_until[name] = time.monotonic() + REPLICA_DOWN_S
                raise
            finally:
                self._queued[name] -= 1

        def retryable(e: Exception) -> bool:
            # a restarting actor is asked again (answering is read-only); a dead replica's
            # question goes to another replica of the book
            return isinstance(e, ray.exceptions.ActorUnavailableError) or (
                several and isinstance(e, ray.exceptions.RayActorError))

        try:
            return await retrying(attempt, retryable=retryable, waits=BOOK_RETRY_WAITS_S,
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

    async def _ask(self, view: _View, req: AskRequest, routing: list[RoutedBook] | Exception,
                   t0: float, t_route: float, timeout_s: float | None) -> Answer:
        """One question of a batch routed together on `view` at `t0` (perf_counter) in
        `t_route` ms."""
        try:
            if isinstance(routing, Exception):
                raise routing
            self._active += 1
            try:
                return await self._answer(view, req, routing, t0, t_route, timeout_s)
            finally:
                self._active -= 1
        finally:
            view.users -= 1

    def _merger_merges(self) -> bool:
        """Whether the merger actor merges the answer now being completed (see serve.merge_in).
        Alone, a question saves the Ray hop (2-3 ms here); under load the merger takes the merges
        off the router, whose event loop every question crosses (+17-23% questions/s measured at
        32 clients against merging in the router)."""
        where = self.cfg.serve.merge_in
        return where == "merger" or (where == "auto" and self._active > 1)

    async def _answer(self, view: _View, req: AskRequest, routing: list[RoutedBook], t0: float,
                      t_route: float, timeout_s: float | None) -> Answer:
        timeout = self.cfg.serve.request_timeout_s
        if timeout_s is not None:
            timeout = min(timeout, timeout_s)
        results = await asyncio.gather(*(self._one(view, r, req, timeout) for r in routing),
                                       return_exceptions=True)
        if results and all(isinstance(x, OverloadedError) for x in results):
            raise results[0]
        # some books full, others not: the full ones are failed candidates
        cands = [x if isinstance(x, BookAnswer) else failed(r, f"{type(x).__name__}: {x}")
                 for r, x in zip(routing, results)]
        spent = timings(t0, t_route)
        if self._merger_merges():
            try:
                return await self._to_merger.submit((req.question, routing, cands, spent,
                                                     req.min_confidence))
            except (ray.exceptions.RayActorError, MergerGone, asyncio.TimeoutError):
                # the merger crashed, hangs or is gone: the same policy, applied here, loses no
                # answer; a later question looks the merger up by name again
                self._handles.pop(MERGER_NAME, None)
        return merged(req.question, routing, cands, spent, req.min_confidence)

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
        view = self._serving()
        routed = for_routing(req)
        routing = route_request(view.router, routed, view.book_ids, 1, 0.0)
        t_route = (time.perf_counter() - t0) * 1e3
        r = routing[0]
        job = job_for(r, req.question, req.max_new_tokens, req.temperature, req.decoding,
                      self.cfg.serve.model_weight)
        timeout = self.cfg.serve.request_timeout_s
        deadline = time.monotonic() + timeout
        ans: BookAnswer | None = None
        view.users += 1
        try:
            gen = self._handle(self._pick(view, r.book_id)).answer_stream.remote(job, timeout)
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
        finally:
            view.users -= 1
        # generated tokens, out already, are no calibrated answer and are not declined after them;
        # an extracted answer is sent only after this merge, which may decline it
        yield noted([req], [routed], [merged(req.question, routing, [ans], timings(t0, t_route),
                                               req.min_confidence)])[0]

    async def complete_stream(self, job: ContinueJob):
        """A named book's model continuing a prompt, as it is written: pieces of text (str), then
        the Continuation. What stops it before the first piece (an unknown book, a prompt too
        long for the model) is raised as it is, so the HTTP front still answers with a status."""
        view = self._serving()
        if job.book_id not in view.book_ids:
            raise UnknownBookError(f"unknown or untrained book: {job.book_id}; trained: "
                                   f"{', '.join(view.book_ids) or 'none'}")
        job = msgspec.structs.replace(
            job, max_new_tokens=job.max_new_tokens or self.cfg.serve.max_new_tokens)
        title = view.router.titles[view.router.book_ids.index(job.book_id)]
        timeout = self.cfg.serve.request_timeout_s
        deadline = time.monotonic() + timeout
        view.users += 1
        try:
            gen = self._handle(self._pick(view, job.book_id)).answer_stream.remote(job, timeout)
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
        finally:
            view.users -= 1

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
        view = self._serving()
        # a weak follow-up is routed with the conversation's earlier questions
        routed = [for_routing(r) for r in reqs]
        routings = route_requests(view.router, routed, view.book_ids,
                                  [r.top_k for r in reqs],
                                  self.cfg.router.abstain_threshold)
        t_route = (time.perf_counter() - t0) * 1e3
        view.users += len(reqs)
        return noted(reqs, routed, await asyncio.gather(
            *(self._ask(view, r, routing, t0, t_route, t)
              for r, routing, t in zip(reqs, routings, timeouts)), return_exceptions=True))

    def _serving(self) -> _View:
        if self.view.router is None:
            raise OverloadedError("the router has no books to serve yet (bookgpt-serve is "
                                  "loading them); retry shortly")
        return self.view
