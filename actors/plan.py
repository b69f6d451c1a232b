"""What a deployment serves, decided from the artifacts and the config alone (no Ray): the books,
the files each actor is built from, the actors' names and keys, and what a reload changes."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

import msgspec

from actors import BOOK_PREFIX, ROUTER_NAME, book_actor_name
from bookgpt.config import Config
from bookgpt.errors import AskError
from bookgpt.paths import trained_books
from cluster.ship import Files, files_fingerprint, read_tree

ROUTER_FILES = "(router)"  # the router's group of files among the books' (no book id has "(")


@dataclass(frozen=True)
class ActorPlan:
    """One named actor to serve: what it is, which group of files it is built from, and a key
    that changes whenever those files, the config or the batching setting do."""

    kind: str  # "book" or "router"
    name: str
    group: str  # a book id, or ROUTER_FILES
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
             ROUTER_FILES: read_tree(artifacts, "router")}
    cfg_key = msgspec.json.encode(cfg) + str(batching).encode()
    actors, replicas = [], {}
    for b in book_ids:
        key = _key(cfg_key, files[b])
        names = [book_actor_name(b, key, r) for r in range(replicas_of(cfg, b))]
        replicas[b] = names
        actors += [ActorPlan("book", n, b, key) for n in names]
    actors.append(ActorPlan("router", ROUTER_NAME, ROUTER_FILES, _key(cfg_key, {})))
    state_key = _key(msgspec.json.encode(replicas), files[ROUTER_FILES])
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
