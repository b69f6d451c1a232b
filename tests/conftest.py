"""Shared fixtures: paths to the real books in ../shared/books and a threaded local HTTP server."""

from __future__ import annotations

import asyncio
import socket
import threading
from pathlib import Path

import pytest
from aiohttp import web

REPO = Path(__file__).resolve().parents[1]
SHARED_BOOKS = REPO.parent / "shared" / "books"


def pytest_configure(config: pytest.Config) -> None:
    if not SHARED_BOOKS.is_dir():
        raise pytest.UsageError(f"the tests read real books from {SHARED_BOOKS}; check out shared/ "
                                f"beside the project")


@pytest.fixture(scope="session")
def shared_books() -> Path:
    return SHARED_BOOKS


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
    from bookgpt.cli.main import main

    root = tmp_path_factory.mktemp("artifacts")
    code = main(["--artifacts", str(root), "crawl", "--from-dir", str(shared_books), "--no-progress",
                 "--book-id", "tangled_tale", "--book-id", "relativity"])
    assert code == 0
    return root
