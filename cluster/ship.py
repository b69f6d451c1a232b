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


def pack(groups: dict[str, Files], owner) -> dict[str, Bundle]:
    """Put every group's files into the object store through `owner` (an actors.files.FilesActor),
    which owns them, so they outlive this process. One round trip asks what it already holds (same
    sha256: not sent again) and one sends the rest, for all the groups at once."""
    shas = {name: {rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()}
            for name, files in groups.items()}
    wanted = sorted({sha for by_rel in shas.values() for sha in by_rel.values()})
    refs = ray.get(owner.known.remote(wanted))
    missing = {shas[name][rel]: data for name, files in groups.items()
               for rel, data in files.items() if shas[name][rel] not in refs}
    if missing:
        refs |= ray.get(owner.put.remote(missing))
    return {name: {rel: (sha, refs[sha]) for rel, sha in by_rel.items()}
            for name, by_rel in shas.items()}


def fingerprint(bundle: Bundle) -> str:
    """One hash of a bundle's paths and contents."""
    return _fingerprint({rel: sha for rel, (sha, _) in bundle.items()})


def files_fingerprint(files: Files) -> str:
    """`fingerprint` of the bundle these files pack into, computed without packing them."""
    return _fingerprint({rel: hashlib.sha256(data).hexdigest() for rel, data in files.items()})


def _fingerprint(shas: dict[str, str]) -> str:
    h = hashlib.sha256()
    for rel in sorted(shas):
        h.update(f"{rel}\0{shas[rel]}\0".encode())
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
