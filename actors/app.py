"""Creating (or finding) the named actors, and the HTTP backend that talks to them."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import BOOK_PREFIX, MERGER_NAME, ROUTER_NAME, book_actor_name
from actors.book_model import BookModelActor
from actors.files import FILES_NAME, FilesActor
from actors.merger import MergerActor
from actors.router import UNBATCHED_INFLIGHT, RouterActor
from bookgpt.config import Config
from bookgpt.device import resolve_device
from bookgpt.messages import Answer, AskRequest, BookInfo, ContinueJob, Continuation
from bookgpt.errors import AskError, OverloadedError
from bookgpt.paths import trained_books
from bookgpt.paths import BookPaths
from bookgpt.serving.coalesce import Coalescer, time_left
from bookgpt.serving.retry import retrying
from cluster.resources import (InfeasibleError, book_actor_options, check_capacity,
                               check_feasible)
from cluster.ship import Files, files_fingerprint, pack, read_tree

log = logging.getLogger(__name__)


_ROUTER_FILES = "(router)"  # the router's group of files among the books' (no book id has "(")
DRAIN_POLL_S = 0.1  # how often a reload asks whether the actors it replaces are idle


@dataclass(frozen=True)
class ActorPlan:
    """One named actor to serve: what it is, which group of files it is built from, and a key
    that changes whenever those files, the config or the batching setting do."""

    kind: str  # "book" or "router"
    name: str
    group: str  # a book id, or _ROUTER_FILES
    key: str


@dataclass(frozen=True)
class Plan:
    """What a deployment serves, decided from the artifacts and the config alone (no Ray)."""

    book_ids: list[str]
    files: dict[str, Files]  # group -> its files (path under the artifacts root -> bytes)
    actors: list[ActorPlan]
    replicas: dict[str, list[str]]  # book id -> its actors' names
    state_key: str  # changes whenever what the router serves does (its files, the books' actors)


def replicas_of(cfg: Config, book_id: str) -> int:
    return cfg.serve.book_replicas.get(book_id, cfg.serve.replicas)


def plan(cfg: Config, artifacts: Path, batching: bool) -> Plan:
    """The books to serve (those with a fine-tuned model), the files each actor needs, and the
    actors' names and keys. A book actor's name carries its key, so an actor built from other
    files or settings is a new actor beside the old one; the router's key is the config's alone,
    for what it serves is loaded into it (`RouterActor.load`)."""
    book_ids = trained_books(artifacts)
    if not book_ids:
        raise AskError(f"no fine-tuned book models under {artifacts}/models; train some "
                       f"first (`bookgpt pipeline --all` or `bookgpt train --all`)")
    unknown = sorted(set(cfg.serve.book_replicas) - set(book_ids))
    if unknown:
        raise AskError(f"serve.book_replicas names books with no fine-tuned model: "
                       f"{', '.join(unknown)}; served books: {', '.join(book_ids)}")
    files = {**{b: read_tree(artifacts, f"models/{b}/tokenizer.json")
                | read_tree(artifacts, f"models/{b}/finetune/best.pt") for b in book_ids},
             _ROUTER_FILES: read_tree(artifacts, "router")}
    cfg_key = msgspec.json.encode(cfg) + str(batching).encode()
    actors, replicas = [], {}
    for b in book_ids:
        key = _key(cfg_key, files[b])
        names = [book_actor_name(b, key, r) for r in range(replicas_of(cfg, b))]
        replicas[b] = names
        actors += [ActorPlan("book", n, b, key) for n in names]
    actors.append(ActorPlan("router", ROUTER_NAME, _ROUTER_FILES, _key(cfg_key, {})))
    state_key = _key(msgspec.json.encode(replicas), files[_ROUTER_FILES])
    return Plan(book_ids, files, actors, replicas, state_key)


def to_replace(actors: list[ActorPlan], running: dict[str, str | None]) -> list[str]:
    """The actors to kill and build again: those running with another key (older settings), or
    with none (not answering). Absent ones are simply created."""
    return [a.name for a in actors if a.name in running and running[a.name] != a.key]


def to_retire(running: list[str], wanted: list[ActorPlan]) -> list[str]:
    """Running book actors that the plan does not serve: a retrained book's old version, a
    removed book's, a replica too many. They drain, then stop."""
    keep = {a.name for a in wanted}
    return sorted(n for n in running if n.startswith(BOOK_PREFIX) and n not in keep)


def changes(before: dict[str, list[str]], after: dict[str, list[str]]) -> dict[str, list[str]]:
    """Books added, replaced (new actors: retrained, or other settings or replicas) and removed
    between two plans' replicas."""
    return {"added": sorted(set(after) - set(before)),
            "replaced": sorted(b for b in after if b in before and after[b] != before[b]),
            "removed": sorted(set(before) - set(after))}


def _key(cfg_key: bytes, files: Files) -> str:
    return hashlib.sha256(cfg_key + files_fingerprint(files).encode()).hexdigest()[:24]


class Deployment:
    """Handles to the router, the merger and the books' actors: `plan`, applied. `apply` again
    (`reload`) serves what the artifacts hold then, without stopping."""

    def __init__(self, cfg: Config, artifacts: Path, batching: bool = True):
        self.cfg, self.artifacts, self.batching = cfg, artifacts, batching
        self.ns = cfg.serve.namespace
        self.device = resolve_device(cfg.device)
        self.opts = book_actor_options(cfg.cluster, self.device)
        check_feasible(self.opts, ray.nodes(), "a book model actor")
        # the shipped files belong to a detached actor on this node, not to this process: they
        # outlive it, as the actors built from them do (see actors/files.py)
        self.files = FilesActor.options(
            name=FILES_NAME, namespace=self.ns, get_if_exists=True, lifetime="detached",
            scheduling_strategy=NodeAffinitySchedulingStrategy(
                ray.get_runtime_context().get_node_id(), soft=True)).remote()
        self.replicas: dict[str, list[str]] = {}
        self.handles: dict[str, Any] = {}  # actor name -> handle
        self.router: Any = None
        self.apply()
        self.merger = None
        if cfg.serve.merge_in != "router":
            self.merger = MergerActor.options(name=MERGER_NAME, namespace=self.ns,
                                              get_if_exists=True, lifetime="detached").remote()

    @property
    def book_ids(self) -> list[str]:
        return list(self.replicas)

    @property
    def books(self) -> dict[str, list[Any]]:
        """Book id -> the handles of its actors."""
        return {b: [self.handles[n] for n in names] for b, names in self.replicas.items()}

    def apply(self) -> dict[str, Any]:
        """Serve what the artifacts hold now: new and retrained books' actors start beside the
        running ones; once they answer, the router swaps to the new index and actors at once;
        the actors it no longer uses drain their questions, then stop. Returns what changed."""
        t0 = time.monotonic()
        wanted = plan(self.cfg, self.artifacts, self.batching)
        books = sum(1 for a in wanted.actors if a.kind == "book")
        check_capacity(self.opts, books, ray.nodes(), "book model actor")
        if self.router is None:
            # starting: a previous bookgpt-serve's actors that this plan does not serve stop
            # first (nothing of ours answers yet), so their CPUs are free for the new ones
            _kill(to_retire(_named_actors(self.ns), wanted.actors), self.ns)
        else:  # serving: the new actors start beside the running ones, which need their room
            _check_room(self.opts, [a.name for a in wanted.actors if a.kind == "book"], self.ns)
        bundles = pack(wanted.files, self.files)
        builtins = msgspec.to_builtins(self.cfg)
        specs = []
        for a in wanted.actors:
            if a.kind == "book":
                specs.append(_Spec(BookModelActor, a.name, a.key, dict(self.opts),
                                   (builtins, bundles[a.group], a.group, self.opts["num_cpus"],
                                    self.batching)))
            else:
                specs.append(_Spec(RouterActor, a.name, a.key, {},
                                   (builtins, self.ns, self.batching)))
        state = {"bundle": bundles[_ROUTER_FILES], "replicas": wanted.replicas,
                 "fingerprint": wanted.state_key}
        # published first: a router created (or restarted by Ray) from here on serves it
        ray.get(self.files.publish.remote(state))
        handles = _reconcile(specs, wanted.actors, self.ns)
        self.router = handles[ROUTER_NAME]
        ray.get(self.router.load.remote(state))
        before, self.replicas = self.replicas, wanted.replicas
        self.handles = {n: h for n, h in handles.items() if n != ROUTER_NAME}
        retired = to_retire(_named_actors(self.ns), wanted.actors)
        self._drain(retired)
        # files no served actor is built from any more (a retrained book's old checkpoint) go
        ray.get(self.files.retain.remote([sha for b in bundles.values()
                                          for sha, _ in b.values()]))
        out: dict[str, Any] = changes(before, wanted.replicas)
        out.update(books=self.book_ids, stopped=retired,
                   seconds=round(time.monotonic() - t0, 3))
        return out

    def _drain(self, names: list[str]) -> None:
        """Stop these actors once the router has no question for them (or the deadline of the
        questions they may hold has passed)."""
        if not names:
            return
        deadline = time.monotonic() + self.cfg.serve.request_timeout_s + 5.0
        while time.monotonic() < deadline and not ray.get(self.router.drained.remote(names)):
            time.sleep(DRAIN_POLL_S)
        _kill(names, self.ns)

    def teardown(self) -> None:
        for handle in [*self.handles.values(), self.merger, self.router, self.files]:
            if handle is not None:
                ray.kill(handle, no_restart=True)


def _kill(names: list[str], ns: str) -> None:
    for name in names:
        try:
            ray.kill(ray.get_actor(name, namespace=ns), no_restart=True)
        except ValueError:  # gone already
            pass


def _check_room(opts: dict, names: list[str], ns: str) -> None:
    """Fail at once, rather than wait for ever, when the cluster has no room now for the book
    actors about to start (beside the running ones, which serve until the new ones answer)."""
    running = set(_named_actors(ns))
    new = [n for n in names if n not in running]
    need = opts.get("num_cpus", 0) * len(new)
    free = ray.available_resources().get("CPU", 0.0)
    if need > free + 1e-6:
        raise InfeasibleError(
            f"{len(new)} new book model actors at {opts['num_cpus']:g} CPUs each need {need:g} "
            f"CPUs beside the running ones; the cluster has {free:g} free. Lower "
            f"cluster.actor_num_cpus (--set cluster.actor_num_cpus=...), stop other actors or "
            f"add nodes")


def _named_actors(ns: str) -> list[str]:
    return [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
            if a.get("namespace") == ns]


@dataclass
class _Spec:
    cls: Any
    name: str
    key: str
    opts: dict
    args: tuple  # constructor arguments; the key is passed last

    def create(self, ns: str) -> Any:
        for _ in range(100):
            try:
                return self.cls.options(name=self.name, namespace=ns, get_if_exists=True,
                                        lifetime="detached", **self.opts).remote(*self.args, self.key)
            except ValueError:  # a replaced actor's name is not released yet
                time.sleep(0.1)
        raise RuntimeError(f"the Ray actor name {self.name!r} stays taken; `ray stop` and retry")


def _wait_name_released(name: str, ns: str, timeout_s: float = 30.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            ray.get_actor(name, namespace=ns)
        except ValueError:
            return
        time.sleep(0.1)
    raise RuntimeError(f"the killed Ray actor {name!r} keeps its name; `ray stop` and retry")


def _reconcile(specs: list[_Spec], actors: list[ActorPlan], ns: str) -> dict[str, Any]:
    """Create the named actors, or reuse those built from the same config and files, and wait
    until each answers.

    A reused actor keeps its constructor arguments, so one built from other settings is replaced
    (`to_replace`) rather than silently serving the old state.
    """
    handles = {s.name: s.create(ns) for s in specs}
    running: dict[str, str | None] = {}
    for s in specs:
        try:
            running[s.name] = ray.get(handles[s.name].fingerprint.remote(), timeout=600)
        except (ray.exceptions.RayActorError, AttributeError):
            running[s.name] = None
    by_name = {s.name: s for s in specs}
    for name in to_replace(actors, running):
        s = by_name[name]
        log.info("replacing actor %s: it was built from other files or settings", name)
        ray.kill(handles[name], no_restart=True)
        _wait_name_released(name, ns)  # else get_if_exists hands back the dying actor
        handles[name] = s.create(ns)
        try:
            ray.get(handles[name].fingerprint.remote(), timeout=600)
        except ray.exceptions.RayActorError as exc:
            cause = str(getattr(exc, "error_msg", "") or exc).strip().splitlines()[-1]
            raise RuntimeError(f"the Ray actor {name!r} could not start: {cause}") from None
    return handles


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
