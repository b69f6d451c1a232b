"""The crawler end to end against a real aiohttp server on 127.0.0.1 serving ../shared/books."""

from __future__ import annotations

import asyncio
import json
import os
import time

import pytest
import yaml
from aiohttp import web

from commands.main import main
from bookgpt.config import resolve_repo_path
from bookgpt.crawl.catalog import load_shelf
from bookgpt.crawl.crawler import is_intact
from bookgpt.crawl.fetch import retry_after_seconds
from bookgpt.crawl.mirror import gutenberg_routes, mirror_handler
from conftest import ThreadedServer

FAULTS = {  # gutenberg number -> fault
    900001: "always500", 900002: "flaky503", 900003: "slow", 900004: "truncated",
    900005: "binary", 900006: "emptyhtml", 900007: "htmlerrorpage", 900008: "retryafter1",
}


def fault_app(shared_books, shelf):
    routes = gutenberg_routes(shared_books, shelf)
    hits: dict[str, int] = {}
    requests: list[tuple[str, float]] = []  # (path, time.monotonic()) of every request
    flat = (shared_books / "flatland.txt").read_bytes()

    async def fault(request: web.Request) -> web.StreamResponse:
        n = int(request.match_info["n"])
        kind = FAULTS.get(n)
        hits[kind] = hits.get(kind, 0) + 1
        if kind == "always500":
            raise web.HTTPInternalServerError(text="boom")
        if kind == "flaky503":
            if hits[kind] <= 2:
                raise web.HTTPServiceUnavailable(headers={"Retry-After": "0"})
            return web.Response(body=flat, content_type="text/plain")
        if kind == "retryafter1":
            if hits[kind] == 1:
                raise web.HTTPServiceUnavailable(headers={"Retry-After": "1"})
            return web.Response(body=flat, content_type="text/plain")
        if kind == "slow":
            await asyncio.sleep(3)
            return web.Response(body=flat, content_type="text/plain")
        if kind == "truncated":
            resp = web.StreamResponse(headers={"Content-Type": "text/plain"})
            resp.content_length = len(flat)
            await resp.prepare(request)
            await resp.write(flat[: len(flat) // 3])
            request.transport.close()
            return resp
        if kind == "binary":
            return web.Response(body=bytes(range(256)) * 400, content_type="text/plain")
        if kind == "htmlerrorpage":
            return web.Response(text="<html><body><h1>Error</h1></body></html>" + " " * 3000,
                                content_type="text/plain")
        raise web.HTTPNotFound()

    async def empty_html(request: web.Request) -> web.Response:
        return web.Response(text="<html><head><title>x</title><script>var a=1;</script></head>"
                                 "<body>  </body></html>", content_type="text/html")

    @web.middleware
    async def record(request: web.Request, handler):
        requests.append((request.path, time.monotonic()))
        return await handler(request)

    app = web.Application(middlewares=[record])
    app.router.add_get("/cache/epub/900006/pg900006-images.html", empty_html)
    app.router.add_get(r"/cache/epub/{n:9000\d\d}/{name}", fault)
    app.router.add_get("/{tail:.*}", mirror_handler(routes))
    return app, hits, requests


@pytest.fixture(scope="module")
def server(shared_books):
    shelf = load_shelf(resolve_repo_path("configs/shelf.yaml"))
    app, hits, requests = fault_app(shared_books, shelf)
    with ThreadedServer(app) as srv:
        srv.hits, srv.requests = hits, requests
        yield srv


def local_shelf(tmp_path, server_url) -> str:
    """The real shelf with OpenStax URLs pointed at the test server, plus the fault books."""
    tree = yaml.safe_load(resolve_repo_path("configs/shelf.yaml").read_text())
    for book in tree["books"]:
        if book.get("urls"):
            book["urls"] = [f"{server_url}/{f}" for f in book["files"]]
    for n, kind in FAULTS.items():
        tree["books"].append({"book_id": f"fault_{kind}", "gutenberg_id": n,
                              "format": "html" if kind == "emptyhtml" else "txt"})
    # Flatland's Gutenberg HTML edition (the mirror serves ../shared/books/html/flatland.html)
    tree["books"].append({"book_id": "flatland_html", "gutenberg_id": 201, "format": "html"})
    path = tmp_path / "shelf.yaml"
    path.write_text(yaml.safe_dump(tree))
    return str(path)


def crawl(tmp_path, server, *args, extra_sets=()):
    sets = [f"paths.shelf={local_shelf(tmp_path, server.url)}", "crawl.timeout_s=1",
            "crawl.backoff_s=0.01", "crawl.retries=2", *extra_sets]
    argv = ["--artifacts", str(tmp_path / "artifacts")]
    for s in sets:
        argv += ["--set", s]
    return main(argv + ["crawl", "--mirror", server.url, "--no-progress", *args])


@pytest.fixture(scope="module")
def full_crawl(tmp_path_factory, server):
    """Crawl the whole default shelf once through the mirror."""
    tmp = tmp_path_factory.mktemp("full")
    shelf = load_shelf(resolve_repo_path("configs/shelf.yaml"))
    ids = [b.book_id for b in shelf]
    args = [a for i in ids for a in ("--book-id", i)]
    code = crawl(tmp, server, *args)
    return tmp / "artifacts", ids, code


def test_full_shelf_crawls_clean(full_crawl, shared_books):
    artifacts, ids, code = full_crawl
    assert code == 0
    manifest = yaml.safe_load((shared_books / "MANIFEST.yaml").read_text())
    words = {b["book_id"]: b["words"] for b in manifest["books"]}
    words.update({b["book_id"]: b["words"] for b in manifest["latex_sources"]["files"]})
    for book_id in ids:
        d = artifacts / "books" / book_id
        assert is_intact(d), book_id
        text = (d / "text.txt").read_text()
        meta = json.loads((d / "meta.json").read_text())
        assert meta["text_chars"] == len(text)
        low = text.lower()
        assert "project gutenberg" not in low and "gutenberg.org" not in low, book_id
        assert "*** start" not in low and "end of the project" not in low, book_id
        if book_id in words:  # nearly all of the book's body is kept
            ratio = len(text.split()) / words[book_id]
            # LaTeX: markup words go, math becomes spaced-out plain text, so allow a wider band
            # (Tangled Tale: 0.89 without its publisher's catalogue after "THE END")
            low, high = (0.6, 1.1) if meta["format"] == "tex" else (0.85, 1.0)
            assert low < ratio <= high, (book_id, ratio)
        assert not list(d.glob("*.tmp")) and not list(d.glob(".*.tmp"))
    assert json.loads((artifacts / "books/flatland/meta.json").read_text())["title"].startswith("Flatland")
    calc = (artifacts / "books/calculus_made_easy/text.txt").read_text()
    assert "What one fool can do, another can" in calc and "\\" not in calc[:5000]
    assert "Real Numbers" in (artifacts / "books/college_algebra_prerequisites/text.txt").read_text()
    # the publisher's catalogue after the tale's "THE END" is no part of it; an index before the
    # end stays
    assert (artifacts / "books/tangled_tale/text.txt").read_text().rstrip().endswith("THE END")
    assert "Zeno, 139." in (artifacts / "books/amusements_in_mathematics/text.txt").read_text()
    # transcribers' notes are no part of the books, in any format: a LaTeX edition's "This PDF
    # file is optimized for printing", a plain text's bracketed note with its chart of coins, an
    # HTML rendition's; the books' own text after them stays
    for book_id, gone, kept in (
            ("calculus_made_easy", "optimized for printing", "CALCULUS MADE EASY"),
            ("amusements_in_mathematics", "chart of relative values", "AMUSEMENTS IN MATHEMATICS"),
            ("relativity", "plain text rendition of HTML", "RELATIVITY: THE SPECIAL AND GENERAL"),
            ("canterbury_puzzles", "carat character", "THE CANTERBURY PUZZLES")):
        text = (artifacts / "books" / book_id / "text.txt").read_text()
        assert gone not in text and "transcriber" not in text[:3000].lower(), book_id
        assert kept in text[:3000], book_id


def test_rerun_skips_intact_books_and_refetches_damaged_ones(full_crawl, server, capsys):
    artifacts, ids, _ = full_crawl
    tmp = artifacts.parent
    text = artifacts / "books/flatland/text.txt"
    mtime = os.stat(artifacts / "books/relativity/text.txt").st_mtime_ns
    text.write_text("damaged")
    capsys.readouterr()
    assert crawl(tmp, server, "--book-id", "flatland", "--book-id", "relativity") == 0
    out = capsys.readouterr().out
    row = {line.split()[0]: line.split()[1] for line in out.splitlines() if line.strip()}
    assert row["flatland"] == "fetched" and row["relativity"] == "skipped"
    assert os.stat(artifacts / "books/relativity/text.txt").st_mtime_ns == mtime
    assert is_intact(artifacts / "books/flatland")


@pytest.mark.parametrize("kind,message", [
    ("always500", "HTTP 500"),
    ("slow", "timed out"),
    ("truncated", "truncated"),
    ("binary", "binary|not text|decode"),
    ("emptyhtml", "no text"),
    ("htmlerrorpage", "HTML page"),
])
def test_faults_fail_one_book_clearly_and_the_others_complete(tmp_path, server, capsys, kind, message):
    code = crawl(tmp_path, server, "--book-id", f"fault_{kind}", "--book-id", "tangled_tale")
    captured = capsys.readouterr()
    assert code == 1
    errors = [line for line in captured.err.splitlines() if line.startswith("error: fault_")]
    assert len(errors) == 1 and __import__("re").search(message, errors[0], __import__("re").I), errors
    assert is_intact(tmp_path / "artifacts/books/tangled_tale")
    assert not (tmp_path / f"artifacts/books/fault_{kind}").exists()
    assert "1 failed" in captured.out


def test_flaky_server_is_retried_with_retry_after(tmp_path, server):
    assert crawl(tmp_path, server, "--book-id", "fault_flaky503") == 0
    assert server.hits["flaky503"] >= 3
    assert is_intact(tmp_path / "artifacts/books/fault_flaky503")


def test_retry_after_is_honoured(tmp_path, server):
    assert crawl(tmp_path, server, "--book-id", "fault_retryafter1") == 0
    times = [t for path, t in server.requests if "/900008/" in path]
    assert len(times) == 2  # one 503, then the book
    assert times[1] - times[0] >= 0.9  # Retry-After: 1, although the backoff is set to 0.01 s


def test_html_edition_crawls_through_the_mirror(tmp_path, server):
    assert crawl(tmp_path, server, "--book-id", "flatland_html", "--book-id", "flatland") == 0
    books = tmp_path / "artifacts/books"
    meta = json.loads((books / "flatland_html/meta.json").read_text())
    assert meta["format"] == "html"
    assert meta["sources"][0]["origin"].endswith("/cache/epub/201/pg201-images.html")
    html_text = (books / "flatland_html/text.txt").read_text()
    assert "<" not in html_text[:20000] and "project gutenberg" not in html_text.lower()
    words = lambda t: {w for w in t.lower().split() if w.isalpha()}  # noqa: E731
    a, b = words(html_text), words((books / "flatland/text.txt").read_text())
    assert len(a & b) / len(a | b) > 0.8  # the same book as the plain-text edition


def test_404_is_not_retried_and_unknown_ids_are_named(tmp_path, server, capsys):
    code = crawl(tmp_path, server, "--book-id", "calculs", "--gutenberg-id", "123456",
                 "--book-id", "missing_book")
    err = capsys.readouterr().err
    assert code == 1
    probes = [path for path, _ in server.requests if "123456" in path]
    assert probes and len(probes) == len(set(probes)), probes  # each 404 asked once (retries=2)
    assert "missing_book: Gutenberg #123456 has no plain-text, HTML or LaTeX edition" in err
    assert "calculs: not a known book; known:" in err and "calculus_made_easy" in err


def test_gutenberg_id_discovers_the_format(tmp_path, server):
    # Calculus Made Easy exists only as LaTeX: txt and html are 404, the zip is found.
    assert crawl(tmp_path, server, "--gutenberg-id", "33283", "--book-id", "my_calculus") == 0
    meta = json.loads((tmp_path / "artifacts/books/my_calculus/meta.json").read_text())
    assert meta["format"] == "tex" and "Calculus" in meta["title"]


def test_unreachable_mirror(tmp_path, capsys):
    from conftest import free_port

    argv = ["--artifacts", str(tmp_path), "--set", "crawl.retries=1", "--set", "crawl.backoff_s=0.01",
            "crawl", "--book-id", "flatland", "--mirror", f"http://127.0.0.1:{free_port()}",
            "--no-progress"]
    assert main(argv) == 1
    assert "cannot reach the server" in capsys.readouterr().err


def test_from_dir_imports_local_files(tmp_path, shared_books):
    argv = ["--artifacts", str(tmp_path), "crawl", "--from-dir", str(shared_books), "--no-progress",
            "--book-id", "tangled_tale", "--book-id", "foundations_of_geometry"]
    assert main(argv) == 0
    for book in ("tangled_tale", "foundations_of_geometry"):
        assert is_intact(tmp_path / "books" / book)


def test_retry_after_parsing():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None and retry_after_seconds("soon") is None
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
