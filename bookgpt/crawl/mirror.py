"""A local mirror: serves a directory of shelf books over HTTP in Project Gutenberg's URL layout.

Used by the tests and benchmarks, and by anyone who wants `bookgpt crawl --mirror` without internet.
"""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from aiohttp import web

from bookgpt.crawl.catalog import BookEntry

CONTENT_TYPES = {"txt": "text/plain", "html": "text/html", "cnxml": "application/xml"}


def gutenberg_routes(books_dir: Path, shelf: list[BookEntry]) -> dict[str, tuple[bytes, str]]:
    """Map URL path -> (body, content type) for every shelf book whose local file exists."""
    routes: dict[str, tuple[bytes, str]] = {}
    for entry in shelf:
        paths = [books_dir / f for f in entry.files]
        if not paths or not all(p.is_file() for p in paths):
            continue
        if entry.gutenberg_id is None:
            for p in paths:  # non-Gutenberg sources are served under their relative file names
                routes["/" + str(p.relative_to(books_dir))] = (p.read_bytes(), "application/xml")
            continue
        n = entry.gutenberg_id
        data = paths[0].read_bytes()
        if entry.format == "txt":
            routes[f"/cache/epub/{n}/pg{n}.txt"] = (data, "text/plain; charset=utf-8")
        elif entry.format == "html":
            routes[f"/cache/epub/{n}/pg{n}-images.html"] = (data, "text/html")
        elif entry.format == "tex":
            buf = io.BytesIO()
            with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
                zf.writestr(f"{n}-t/{n}-t.tex", data)
            routes[f"/files/{n}/{n}-t.zip"] = (buf.getvalue(), "application/zip")
    # Gutenberg HTML editions that sit beside the plain texts (books_dir/html/<book_id>.html)
    for entry in shelf:
        html = books_dir / "html" / f"{entry.book_id}.html"
        if entry.gutenberg_id is not None and html.is_file():
            n = entry.gutenberg_id
            routes[f"/cache/epub/{n}/pg{n}-images.html"] = (html.read_bytes(), "text/html")
    return routes


def mirror_handler(routes: dict[str, tuple[bytes, str]]):
    """An aiohttp handler answering GETs from `routes`, 404 for anything else."""

    async def handle(request: web.Request) -> web.Response:
        hit = routes.get(request.path)
        if hit is None:
            raise web.HTTPNotFound(text=f"no such file: {request.path}\n")
        body, ctype = hit
        return web.Response(body=body, headers={"Content-Type": ctype})

    return handle


def create_mirror_app(routes: dict[str, tuple[bytes, str]]) -> web.Application:
    app = web.Application()
    app.router.add_get("/{tail:.*}", mirror_handler(routes))
    return app
