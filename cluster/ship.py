"""Artifacts between nodes without a shared filesystem: files travel as bytes through Ray's object store.

Training tasks return a book's files as a `Files` dict that the driver writes (`write_tree`). Serving
ships the other way: the driver `pack`s the files an actor needs into the object store once, and the
actor `unpack`s them into a node-local cache keyed by their sha256, so an actor on any node (or one
restarted after a crash, which finds its cache) loads the same bytes the driver had.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path

import ray

from bookgpt.fsio import atomic_write_bytes

Files = dict[str, bytes]  # path relative to the artifacts root -> content
# rel path -> (sha256, [ref]); the ref sits in a list so that Ray does not fetch it when the actor
# is created: the actor fetches only the files its node's cache lacks.
Bundle = dict[str, tuple[str, list]]


def read_tree(root: Path, rel: str, skip: tuple[str, ...] = ()) -> Files:
    base = root / rel
    if not base.exists():
        return {}
    if base.is_file():
        return {rel: base.read_bytes()}
    return {str(p.relative_to(root)): p.read_bytes() for p in sorted(base.rglob("*"))
            if p.is_file() and not p.name.startswith(".") and p.name not in skip}


def write_tree(root: Path, files: Files) -> None:
    for rel, data in files.items():
        target = root / rel
        if not target.is_file() or target.read_bytes() != data:
            atomic_write_bytes(target, data)


def pack(files: Files, owner=None) -> Bundle:
    """Put every file into the object store once. With `owner` (an actors.files.FilesActor) the
    files outlive this process: the owner puts them (so it owns them), and a file it already
    holds (same sha256) is not sent again."""
    shas = {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
    if owner is None:
        return {rel: (shas[rel], [ray.put(data)]) for rel, data in files.items()}
    refs = ray.get(owner.known.remote(sorted(set(shas.values()))))
    missing = {shas[rel]: data for rel, data in files.items() if shas[rel] not in refs}
    if missing:
        refs |= ray.get(owner.put.remote(missing))
    return {rel: (sha, refs[sha]) for rel, sha in shas.items()}


def shas_of(bundle: Bundle) -> list[str]:
    return [sha for sha, _ in bundle.values()]


def fingerprint(bundle: Bundle) -> str:
    h = hashlib.sha256()
    for rel in sorted(bundle):
        h.update(f"{rel}\0{bundle[rel][0]}\0".encode())
    return h.hexdigest()


def cache_root(bundle: Bundle) -> Path:
    return Path(tempfile.gettempdir()) / "bookgpt-serve" / fingerprint(bundle)[:20]


def unpack(bundle: Bundle) -> tuple[Path, int]:
    """Materialise `bundle` in this node's cache; returns (root, files fetched from the store)."""
    root = cache_root(bundle)
    fetched = 0
    for rel, (sha, (ref,)) in bundle.items():
        target = root / rel
        if target.is_file() and hashlib.sha256(target.read_bytes()).hexdigest() == sha:
            continue
        data = ray.get(ref)
        if hashlib.sha256(data).hexdigest() != sha:
            raise OSError(f"shipped file {rel} does not match its sha256; restart bookgpt-serve")
        atomic_write_bytes(target, data)
        fetched += 1
    return root, fetched
