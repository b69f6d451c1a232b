"""The deployment's plan, decided without Ray: which books are served, which files each actor is
built from, and which running actors must be replaced after a retrain or a config change."""

from __future__ import annotations

import hashlib
import shutil

import msgspec
import pytest

from actors import ROUTER_NAME, book_actor_name
from actors.plan import changes, plan, to_replace, to_retire
from actors.files import FILES_NAME
from bookgpt.config import Config
from bookgpt.errors import AskError
from cluster.ship import files_fingerprint, fingerprint


def _write(root, rel, data: bytes) -> None:
    path = root / rel
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


@pytest.fixture
def artifacts(tmp_path):
    for book in ("alpha", "beta"):
        _write(tmp_path, f"models/{book}/finetune/best.pt", f"{book} weights".encode())
        _write(tmp_path, f"models/{book}/tokenizer.json", f"{book} vocab".encode())
        _write(tmp_path, f"models/{book}/pretrain/last.pt", b"not served")
    _write(tmp_path, "models/gamma/tokenizer.json", b"not fine-tuned yet")
    _write(tmp_path, "router/index.bin", b"router")
    return tmp_path


def test_plan_serves_the_fine_tuned_books_with_their_files(artifacts):
    p = plan(Config(), artifacts, batching=True)
    assert p.book_ids == ["alpha", "beta"]
    books = [a for a in p.actors if a.kind == "book"]
    assert [a.name for a in books] == [book_actor_name(a.group, a.key) for a in books]
    assert [a.name for a in p.actors][-1] == ROUTER_NAME
    assert p.replicas == {b: [book_actor_name(b, a.key)] for b, a in zip(p.book_ids, books)}
    assert set(p.files["alpha"]) == {"models/alpha/tokenizer.json",
                                     "models/alpha/finetune/best.pt"}
    assert set(p.files[p.actors[-1].group]) == {"router/index.bin"}


def test_keys_follow_files_config_and_batching(artifacts):
    def keys(cfg=Config(), batching=True):
        p = plan(cfg, artifacts, batching=batching)
        return {a.group: a.key for a in p.actors}, p.state_key

    before, state = keys()
    assert (before, state) == keys()
    _write(artifacts, "models/beta/finetune/best.pt", b"beta retrained")
    after, state2 = keys()
    assert [g for g in before if before[g] != after[g]] == ["beta"]
    assert state2 != state  # the router serves beta's new actor
    _write(artifacts, "router/index.bin", b"router rebuilt")
    assert keys()[0] == after and keys()[1] != state2  # the router loads it: no new actor
    other = msgspec.convert({"serve": {"max_new_tokens": 7}}, Config)
    changed, _ = keys(other)
    assert all(changed[g] != after[g] for g in after)
    unbatched, _ = keys(batching=False)
    assert all(unbatched[g] != after[g] for g in after)


def test_replicas_per_book_and_what_a_reload_changes(artifacts):
    cfg = msgspec.convert({"serve": {"replicas": 1, "book_replicas": {"beta": 3}}}, Config)
    p = plan(cfg, artifacts, batching=True)
    assert [len(p.replicas[b]) for b in p.book_ids] == [1, 3]
    assert len(set(p.replicas["beta"])) == 3  # three actors, one key
    assert len({a.key for a in p.actors if a.group == "beta"}) == 1
    bad = msgspec.convert({"serve": {"book_replicas": {"gamma": 2}}}, Config)
    with pytest.raises(AskError, match="book_replicas names books with no fine-tuned model: gamma"):
        plan(bad, artifacts, batching=True)
    # a retrained book, a new book, a removed book
    before = plan(Config(), artifacts, batching=True)
    _write(artifacts, "models/beta/finetune/best.pt", b"beta retrained")
    _write(artifacts, "models/gamma/finetune/best.pt", b"gamma weights")
    shutil.rmtree(artifacts / "models" / "alpha")
    after = plan(Config(), artifacts, batching=True)
    assert changes(before.replicas, after.replicas) == {
        "added": ["gamma"], "replaced": ["beta"], "removed": ["alpha"]}
    running = [a.name for a in before.actors] + [FILES_NAME, "merger"]
    assert to_retire(running, after.actors) == sorted(before.replicas["alpha"]
                                                      + before.replicas["beta"])


def test_only_stale_or_silent_actors_are_replaced(artifacts):
    actors = plan(Config(), artifacts, batching=True).actors
    running = {a.name: a.key for a in actors}
    assert to_replace(actors, running) == []
    alpha, beta = (a.name for a in actors if a.kind == "book")
    running[ROUTER_NAME] = "an older config's key"
    running[beta] = None  # built by an older release: no fingerprint
    del running[alpha]  # not running: created, not replaced
    assert to_replace(actors, running) == [beta, ROUTER_NAME]


def test_nothing_trained_is_a_clear_error(tmp_path):
    with pytest.raises(AskError, match="no fine-tuned book models"):
        plan(Config(), tmp_path, batching=True)


def test_files_fingerprint_matches_the_packed_bundle():
    files = {"b/x.pt": b"x", "a/y.json": b"y"}
    bundle = {rel: (hashlib.sha256(data).hexdigest(), [None]) for rel, data in files.items()}
    assert files_fingerprint(files) == fingerprint(bundle)
    assert files_fingerprint({"b/x.pt": b"changed", "a/y.json": b"y"}) != fingerprint(bundle)
