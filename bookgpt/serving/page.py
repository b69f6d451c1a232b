"""The chat page: `GET /` serves a page that asks the OpenAI-compatible endpoint and streams its
answers, with their provenance. Plain files in `static/` (no build step, nothing fetched from
elsewhere, so it works offline)."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

STATIC = Path(__file__).parent / "static"


async def index(request: web.Request) -> web.FileResponse:
    return web.FileResponse(STATIC / "index.html", headers={"Cache-Control": "no-cache"})


def add_page(app: web.Application) -> None:
    """Serve the chat page at `/` and its script and style under `/static/`."""
    app.router.add_get("/", index)
    app.router.add_static("/static/", STATIC)
