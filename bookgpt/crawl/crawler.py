"""The crawl job: fetch (or import) each book, clean it to text, and write its artifacts atomically."""

from __future__ import annotations

import asyncio
import logging
import hashlib
import io
import re
import time
import zipfile
from dataclasses import dataclass, field
from datetime import datetime, UTC
from pathlib import Path

from tqdm import tqdm

from bookgpt import __version__
from bookgpt.config import CrawlConfig
from bookgpt.crawl.catalog import BookEntry, gutenberg_urls, source_urls
from bookgpt.crawl.extract import ExtractError, extract_text, looks_like_html
from bookgpt.crawl.fetch import Fetcher, FetchError
from bookgpt.fsio import atomic_write_bytes, atomic_write_json, atomic_write_text, read_json

SUFFIX = {"txt": ".txt", "html": ".html", "tex": ".tex", "cnxml": ".cnxml"}

log = logging.getLogger(__name__)


class BookError(RuntimeError):
    """One book failed; the message names the cause (the crawl goes on with the others)."""


@dataclass
class CrawlOutcome:
    book_id: str
    status: str  # fetched | skipped | failed
    chars: int = 0
    seconds: float = 0.0
    error: str = ""
    meta: dict = field(default_factory=dict)


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def book_dir(artifacts: Path, book_id: str) -> Path:
    return artifacts / "books" / book_id


def is_intact(directory: Path) -> bool:
    """True when meta.json exists and every file it lists is present with the recorded sha256."""
    meta_path = directory / "meta.json"
    if not meta_path.is_file():
        return False
    try:
        meta = read_json(meta_path)
        files = [*meta["sources"], {"name": "text.txt", "sha256": meta["text_sha256"]}]
        return all(sha256((directory / f["name"]).read_bytes()) == f["sha256"] for f in files)
    except (OSError, ValueError, KeyError, TypeError):
        return False


def unpack_tex_zip(data: bytes, url: str) -> bytes:
    """The main .tex file of a Gutenberg LaTeX zip (the largest .tex member)."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            members = [m for m in zf.infolist() if m.filename.lower().endswith(".tex")]
            if not members:
                raise BookError(f"the zip at {url} holds no .tex file")
            return zf.read(max(members, key=lambda m: m.file_size))
    except zipfile.BadZipFile:
        raise BookError(f"the file at {url} is not a valid zip (truncated or not a LaTeX archive)") from None


def header_field(raw_text: str, name: str) -> str:
    """A field such as Title or Author from a Gutenberg header (LaTeX comment prefixes allowed)."""
    m = re.search(rf"^[%\s]*{name}:\s*(.+?)\s*%?\s*$", raw_text[:20000], re.MULTILINE | re.IGNORECASE)
    return m.group(1).strip() if m else ""


@dataclass
class _Source:
    name: str  # artifact file name, e.g. source.txt
    data: bytes
    charset: str | None
    origin: str  # URL or local path


class Crawler:
    """Crawls a list of books into `artifacts/books/<id>/`; one failing book never stops the rest."""

    def __init__(self, cfg: CrawlConfig, artifacts: Path, *, base_url: str | None = None,
                 from_dir: Path | None = None, auto_format: frozenset[str] = frozenset(),
                 force: bool = False, progress: bool = True):
        self.cfg = cfg
        self.artifacts = artifacts
        self.base_url = (base_url or cfg.base_url).rstrip("/")
        self.from_dir = from_dir
        self.auto_format = auto_format  # ids added by --gutenberg-id: try txt, then html, then tex
        self.force = force
        self.progress = progress

    def run(self, entries: list[BookEntry]) -> list[CrawlOutcome]:
        return asyncio.run(self.crawl(entries))

    async def crawl(self, entries: list[BookEntry]) -> list[CrawlOutcome]:
        bar = tqdm(total=len(entries), desc="crawl", unit="book", disable=not self.progress)
        async with Fetcher(self.cfg) as fetcher:
            async def one(entry: BookEntry) -> CrawlOutcome:
                outcome = await self._crawl_book(fetcher, entry)
                bar.set_postfix_str(f"{entry.book_id}: {outcome.status}")
                bar.update(1)
                return outcome
            outcomes = await asyncio.gather(*(one(e) for e in entries))
        bar.close()
        return list(outcomes)

    async def _crawl_book(self, fetcher: Fetcher, entry: BookEntry) -> CrawlOutcome:
        start = time.perf_counter()
        directory = book_dir(self.artifacts, entry.book_id)
        if not self.force and is_intact(directory):
            meta = read_json(directory / "meta.json")
            return CrawlOutcome(entry.book_id, "skipped", meta.get("text_chars", 0), 0.0, meta=meta)
        try:
            fmt, sources = await self._get_sources(fetcher, entry)
            text = await asyncio.to_thread(self._clean, entry, fmt, sources)
            meta = self._write(entry, fmt, sources, text, directory)
        except (BookError, FetchError, ExtractError) as exc:
            return CrawlOutcome(entry.book_id, "failed", seconds=time.perf_counter() - start,
                                error=f"{entry.book_id}: {exc}")
        except Exception as exc:  # anything else fails this book alone, never the whole crawl
            log.debug("crawling %s failed", entry.book_id, exc_info=True)
            return CrawlOutcome(entry.book_id, "failed", seconds=time.perf_counter() - start,
                                error=f"{entry.book_id}: {type(exc).__name__}: {exc}")
        return CrawlOutcome(entry.book_id, "fetched", len(text), time.perf_counter() - start, meta=meta)

    async def _get_sources(self, fetcher: Fetcher, entry: BookEntry) -> tuple[str, list[_Source]]:
        if self.from_dir is not None:
            return entry.format, self._read_local(entry)
        if entry.book_id in self.auto_format and entry.gutenberg_id is not None and not entry.urls:
            errors = []
            for fmt in ("txt", "html", "tex"):
                urls = gutenberg_urls(self.base_url, entry.gutenberg_id, fmt)
                try:
                    return fmt, await self._fetch_all(fetcher, urls, fmt)
                except FetchError as exc:
                    if exc.status != 404:
                        raise
                    errors.append(fmt)
            raise BookError(f"Gutenberg #{entry.gutenberg_id} has no plain-text, HTML or LaTeX "
                            f"edition at {self.base_url} (all 404); check the number")
        return entry.format, await self._fetch_all(fetcher, source_urls(entry, self.base_url),
                                                   entry.format)

    async def _fetch_all(self, fetcher: Fetcher, urls: list[str], fmt: str) -> list[_Source]:
        fetched = await asyncio.gather(*(fetcher.fetch(u) for u in urls))
        sources = []
        for i, f in enumerate(fetched):
            data = unpack_tex_zip(f.data, f.url) if f.url.lower().endswith(".zip") else f.data
            name = f"source{'' if len(urls) == 1 else f'-{i + 1:02d}'}{SUFFIX[fmt]}"
            sources.append(_Source(name, data, f.charset, f.url))
        return sources

    def _read_local(self, entry: BookEntry) -> list[_Source]:
        assert self.from_dir is not None
        if not entry.files:
            raise BookError(f"no local file is known for this book in {self.from_dir}")
        sources = []
        for i, rel in enumerate(entry.files):
            path = self.from_dir / rel
            if not path.is_file():
                raise BookError(f"missing local file {path}")
            data = path.read_bytes()
            if path.suffix.lower() == ".zip":
                data = unpack_tex_zip(data, str(path))
            name = f"source{'' if len(entry.files) == 1 else f'-{i + 1:02d}'}{SUFFIX[entry.format]}"
            sources.append(_Source(name, data, None, str(path.resolve())))
        return sources

    def _clean(self, entry: BookEntry, fmt: str, sources: list[_Source]) -> str:
        parts = []
        for src in sources:
            if not src.data.strip():
                raise BookError(f"the source {src.origin} is empty")
            if fmt == "txt" and looks_like_html(src.data[:4096].decode("latin-1")):
                raise BookError(f"expected plain text from {src.origin} but got an HTML page "
                                f"(an error page or a login wall?)")
            parts.append(extract_text(src.data, fmt, src.charset))
        text = "\n\n".join(p.strip() for p in parts if p.strip()) + "\n"
        if len(text) < self.cfg.min_text_chars:
            raise BookError(f"only {len(text)} characters of text remain after cleaning "
                            f"(minimum crawl.min_text_chars={self.cfg.min_text_chars}); the source "
                            f"holds no book text")
        return text

    def _write(self, entry: BookEntry, fmt: str, sources: list[_Source], text: str,
               directory: Path) -> dict:
        head = sources[0].data[:20000].decode("utf-8", "replace")
        meta = {
            "book_id": entry.book_id,
            "title": entry.title or header_field(head, "Title") or entry.book_id,
            "author": entry.author or header_field(head, "Author"),
            "gutenberg_id": entry.gutenberg_id,
            "format": fmt,
            "sources": [{"name": s.name, "origin": s.origin, "sha256": sha256(s.data),
                         "bytes": len(s.data)} for s in sources],
            "text_sha256": sha256(text.encode("utf-8")),
            "text_chars": len(text),
            "text_words": len(text.split()),
            "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "bookgpt_version": __version__,
        }
        # meta.json is written last: its presence (with matching hashes) marks the book complete.
        (directory / "meta.json").unlink(missing_ok=True)
        for src in sources:
            atomic_write_bytes(directory / src.name, src.data)
        atomic_write_text(directory / "text.txt", text)
        atomic_write_json(directory / "meta.json", meta)
        return meta


def crawled_books(artifacts: Path) -> list[str]:
    """Ids of the books crawled intact under `artifacts`."""
    root = artifacts / "books"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "meta.json").is_file())
