"""Creating (or finding) the named actors that serve a plan (`actors.plan`), and applying a new
plan while serving (a reload)."""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from actors import MERGER_NAME, ROUTER_NAME
from actors.book_model import BookModelActor
from actors.files import FILES_NAME, FilesActor
from actors.merger import MergerActor
from actors.plan import ROUTER_FILES, ActorPlan, changes, plan, to_replace, to_retire
from actors.router import RouterActor
from bookgpt.config import Config
from bookgpt.device import resolve_device
from cluster.resources import (InfeasibleError, book_actor_options, check_capacity,
                               check_feasible)
from cluster.ship import pack

log = logging.getLogger(__name__)

DRAIN_POLL_S = 0.1  # how often a reload asks whether the actors it replaces are idle


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
        running = _named_actors(self.ns)
        # the running book actors this plan does not serve (a previous bookgpt-serve's, a
        # retrained book's old one): the actors created below are all in the plan
        retired = to_retire(running, wanted.actors)
        starting = self.router is None
        if starting:
            # starting: they stop first (nothing of ours answers yet), so their CPUs are free
            _kill(retired, self.ns)
        else:  # serving: the new actors start beside the running ones, which need their room
            _check_room(self.opts, [a.name for a in wanted.actors
                                    if a.kind == "book" and a.name not in running])
        bundles = pack(wanted.files, self.files)
        builtins = msgspec.to_builtins(self.cfg)
        specs = []
        for a in wanted.actors:
            if a.kind == "book":
                # spread over the cluster's nodes (a busy book's replicas above all), not packed
                # onto the first node with room
                specs.append(_Spec(BookModelActor, a.name, a.key,
                                   {**self.opts, "scheduling_strategy": "SPREAD"},
                                   (builtins, bundles[a.group], a.group, self.opts["num_cpus"],
                                    self.batching)))
            else:
                specs.append(_Spec(RouterActor, a.name, a.key, {},
                                   (builtins, self.ns, self.batching)))
        state = {"bundle": bundles[ROUTER_FILES], "replicas": wanted.replicas,
                 "fingerprint": wanted.state_key}
        # published first: a router created (or restarted by Ray) from here on serves it
        ray.get(self.files.publish.remote(state))
        handles = _reconcile(specs, wanted.actors, self.ns)
        self.router = handles[ROUTER_NAME]
        ray.get(self.router.load.remote(state))
        before, self.replicas = self.replicas, wanted.replicas
        self.handles = {n: h for n, h in handles.items() if n != ROUTER_NAME}
        if not starting:
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


def _check_room(opts: dict, new: list[str]) -> None:
    """Fail at once, rather than wait for ever, when the cluster has no room now for the book
    actors about to start (beside the running ones, which serve until the new ones answer)."""
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
