"""Shared fixtures: paths to the real books in ../shared/books and a threaded local HTTP server."""

from __future__ import annotations

import asyncio
import os
import socket
import threading
from pathlib import Path

import pytest
from aiohttp import web

# Ray binds to the machine's address unless told otherwise; keep every test on the loopback.
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
# the auth mode too is read when Ray is imported: choose it as every BookGPT entry point does
from cluster.auth import present_token  # noqa: E402

present_token()

REPO = Path(__file__).resolve().parents[1]
SHARED_BOOKS = REPO.parent / "shared" / "books"


def pytest_configure(config: pytest.Config) -> None:
    if not SHARED_BOOKS.is_dir():
        raise pytest.UsageError(f"the tests read real books from {SHARED_BOOKS}; check out shared/ "
                                f"beside the project")


@pytest.fixture(scope="session")
def shared_books() -> Path:
    return SHARED_BOOKS


def cut_from(answer: str, support: str) -> bool:
    """Whether an extracted answer is a piece of the text it cites (the answer drops a plain
    text's italics marks, "_Optica promota_", which the citation keeps)."""
    return answer.replace("_", "").lower() in support.replace("_", "").lower()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class ThreadedServer:
    """Runs an aiohttp app on 127.0.0.1 in a background thread (its own event loop)."""

    def __init__(self, app: web.Application):
        self.app = app
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._runner = web.AppRunner(self.app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", self.port)
        self._loop.run_until_complete(site.start())
        self._ready.set()
        self._loop.run_forever()

    def __enter__(self) -> "ThreadedServer":
        self._thread.start()
        assert self._ready.wait(10), "test server did not start"
        return self

    def __exit__(self, *exc: object) -> None:
        fut = asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop)
        fut.result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture(scope="session")
def tiny_cfg():
    from bookgpt.config import CONFIG_DIR, load_config

    return load_config(CONFIG_DIR / "tiny.yaml")


@pytest.fixture(scope="session")
def crawled(tmp_path_factory, shared_books) -> Path:
    """An artifacts root with two real books imported from ../shared/books."""
    from commands.main import main

    root = tmp_path_factory.mktemp("artifacts")
    code = main(["--artifacts", str(root), "crawl", "--from-dir", str(shared_books), "--no-progress",
                 "--book-id", "tangled_tale", "--book-id", "relativity"])
    assert code == 0
    return root


TRAINED_BOOKS = ["tangled_tale", "relativity"]


@pytest.fixture(scope="session")
def trained(tmp_path_factory, shared_books):
    """Two real books through the whole pipeline with the tiny config: (artifacts, CLI prefix)."""
    from commands.main import main
    from bookgpt.config import CONFIG_DIR

    root = tmp_path_factory.mktemp("trained")
    base = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(root)]
    ids = [a for b in TRAINED_BOOKS for a in ("--book-id", b)]
    assert main(base + ["crawl", "--from-dir", str(shared_books), "--no-progress", *ids]) == 0
    assert main(base + ["pipeline", "--no-progress", *ids]) == 0
    return root, base


@pytest.fixture(scope="session")
def ray_cluster():
    """One real local Ray cluster (2 CPUs, loopback only) shared by every Ray test."""
    import ray

    ray.init(num_cpus=2, _node_ip_address="127.0.0.1", include_dashboard=False,
             log_to_driver=False)
    yield ray.get_runtime_context().gcs_address
    ray.shutdown()


# -- a deployment on the Ray cluster, for the Ray serving test modules (one per module) --

@pytest.fixture(scope="module")
def deployment(trained, ray_cluster):
    from actors.app import Deployment
    from bookgpt.config import CONFIG_DIR, load_config

    root, _ = trained
    # every answer through the merger actor (serve.merge_in=auto is tested on its own)
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["serve.max_batch_wait_ms=20",
                                                  "serve.merge_in=merger"])
    dep = Deployment(cfg, root)
    yield dep
    dep.teardown()


@pytest.fixture(scope="module")
def server(deployment):
    from actors.backend import RayBackend
    from bookgpt.serving.http import create_app

    with ThreadedServer(create_app(RayBackend(deployment))) as srv:
        yield srv

