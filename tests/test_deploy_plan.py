"""The deployment's plan, decided without Ray: which books are served, which files each actor is
built from, and which running actors must be replaced after a retrain or a config change."""

from __future__ import annotations

import hashlib

import msgspec
import pytest

from actors import ROUTER_NAME, book_actor_name
from actors.app import plan, to_replace
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
    assert [a.name for a in p.actors] == [book_actor_name("alpha"), book_actor_name("beta"),
                                          ROUTER_NAME]
    assert set(p.files["alpha"]) == {"models/alpha/tokenizer.json",
                                     "models/alpha/finetune/best.pt"}
    assert set(p.files[p.actors[-1].group]) == {"router/index.bin"}


def test_keys_follow_files_config_and_batching(artifacts):
    keys = {a.name: a.key for a in plan(Config(), artifacts, batching=True).actors}
    assert keys == {a.name: a.key for a in plan(Config(), artifacts, batching=True).actors}
    _write(artifacts, "models/beta/finetune/best.pt", b"beta retrained")
    after = {a.name: a.key for a in plan(Config(), artifacts, batching=True).actors}
    assert [n for n in keys if keys[n] != after[n]] == [book_actor_name("beta")]
    other = msgspec.convert({"serve": {"max_new_tokens": 7}}, Config)
    changed = {a.name: a.key for a in plan(other, artifacts, batching=True).actors}
    assert all(changed[n] != after[n] for n in after)
    unbatched = {a.name: a.key for a in plan(Config(), artifacts, batching=False).actors}
    assert all(unbatched[n] != after[n] for n in after)


def test_only_stale_or_silent_actors_are_replaced(artifacts):
    actors = plan(Config(), artifacts, batching=True).actors
    running = {a.name: a.key for a in actors}
    assert to_replace(actors, running) == []
    running[book_actor_name("beta")] = "an older checkpoint's key"
    running[ROUTER_NAME] = None  # built by an older release: no fingerprint
    del running[book_actor_name("alpha")]  # not running: created, not replaced
    assert to_replace(actors, running) == [book_actor_name("beta"), ROUTER_NAME]


def test_nothing_trained_is_a_clear_error(tmp_path):
    with pytest.raises(AskError, match="no fine-tuned book models"):
        plan(Config(), tmp_path, batching=True)


def test_files_fingerprint_matches_the_packed_bundle():
    files = {"b/x.pt": b"x", "a/y.json": b"y"}
    bundle = {rel: (hashlib.sha256(data).hexdigest(), [None]) for rel, data in files.items()}
    assert files_fingerprint(files) == fingerprint(bundle)
    assert files_fingerprint({"b/x.pt": b"changed", "a/y.json": b"y"}) != fingerprint(bundle)
