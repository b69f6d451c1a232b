"""`bookgpt crawl`: fetch the default shelf or named books and clean them to text."""

from __future__ import annotations

import argparse
import urllib.parse
import sys
import time
from pathlib import Path

from bookgpt.config import Config, resolve_repo_path
from bookgpt.paths import artifacts_root
from bookgpt.crawl.catalog import (BookEntry, CatalogError, check_book_id, entries_from_dir,
                                   load_shelf, select_books)
from bookgpt.crawl.crawler import Crawler, CrawlOutcome


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("crawl", help="fetch books and clean them to text",
                       description="Fetch the default shelf (configs/shelf.yaml) or the named books "
                                   "into ARTIFACTS/books/<id>/ (source, text.txt, meta.json). "
                                   "Books already fetched intact are skipped.")
    p.add_argument("--book-id", action="append", default=[], metavar="ID",
                   help="crawl only this book (repeatable); with --gutenberg-id, the id to give it")
    p.add_argument("--gutenberg-id", type=int, action="append", default=[], metavar="N",
                   help="add Gutenberg ebook number N (pair each with a --book-id; plain text is "
                        "tried first, then HTML, then LaTeX)")
    p.add_argument("--mirror", metavar="URL", default=None,
                   help="Gutenberg mirror base URL replacing crawl.base_url")
    p.add_argument("--from-dir", metavar="DIR", type=Path, default=None,
                   help="import local files instead of fetching: shelf books by their file names, "
                        "plus every other .txt/.html/.tex/.cnxml file in DIR")
    p.add_argument("--force", action="store_true", help="fetch again even if already intact")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run)


def plan(args: argparse.Namespace, cfg: Config) -> tuple[list[BookEntry], list[str], frozenset[str]]:
    """The books to crawl, the unknown ids asked for, and the ids whose format is to be discovered."""
    shelf = load_shelf(resolve_repo_path(cfg.paths.shelf))
    added: list[BookEntry] = []
    if args.gutenberg_id:
        if len(args.book_id) < len(args.gutenberg_id):
            raise CatalogError("each --gutenberg-id N needs a --book-id ID to name it, e.g. "
                               "--gutenberg-id 33283 --book-id calculus_made_easy")
        ids = args.book_id[-len(args.gutenberg_id):]
        for number, book_id in zip(args.gutenberg_id, ids):
            if number <= 0:
                raise CatalogError(f"--gutenberg-id {number}: Gutenberg numbers are positive")
            added.append(BookEntry(book_id=check_book_id(book_id), gutenberg_id=number))
        named = args.book_id[: len(args.book_id) - len(args.gutenberg_id)]
        shelf = [b for b in shelf if b.book_id not in {a.book_id for a in added}]
        chosen, unknown = select_books(shelf, named) if named else ([], [])
        return chosen + added, unknown, frozenset(a.book_id for a in added)
    if args.from_dir is not None:
        shelf = entries_from_dir(args.from_dir, shelf)
    chosen, unknown = select_books(shelf, args.book_id)
    return chosen, unknown, frozenset()


def summary_table(outcomes: list[CrawlOutcome]) -> str:
    rows = [("book", "status", "chars", "seconds", "error")]
    rows += [(o.book_id, o.status, f"{o.chars:,}", f"{o.seconds:.2f}", o.error) for o in outcomes]
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    return "\n".join("  ".join(c.ljust(w) for c, w in zip(r[:4], widths)) + ("  " + r[4] if r[4] else "")
                     for r in rows)


def check_mirror(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise CatalogError(f"--mirror {url!r} is not an http(s) URL; give one like "
                           f"https://gutenberg.pglaf.org or http://127.0.0.1:8080")
    return url.rstrip("/")


def run(args: argparse.Namespace, cfg: Config) -> int:
    if args.mirror:
        args.mirror = check_mirror(args.mirror)
    entries, unknown, auto = plan(args, cfg)
    start = time.perf_counter()
    crawler = Crawler(cfg.crawl, artifacts_root(cfg), base_url=args.mirror, from_dir=args.from_dir,
                      auto_format=auto, force=args.force,
                      progress=not args.no_progress and sys.stderr.isatty())
    outcomes = crawler.run(entries) if entries else []
    known = ", ".join(sorted(b.book_id for b in load_shelf(resolve_repo_path(cfg.paths.shelf))))
    outcomes += [CrawlOutcome(u, "failed", error=f"{u}: not a known book; known: {known} "
                              f"(or add it with --gutenberg-id N --book-id {u})") for u in unknown]
    print(summary_table(outcomes))
    ok = [o for o in outcomes if o.status != "failed"]
    failed = [o for o in outcomes if o.status == "failed"]
    print(f"\n{len(ok)} book(s) ready ({sum(o.status == 'fetched' for o in ok)} fetched, "
          f"{sum(o.status == 'skipped' for o in ok)} already intact), {len(failed)} failed, "
          f"{sum(o.chars for o in ok):,} characters, {time.perf_counter() - start:.1f} s")
    for o in failed:
        print(f"error: {o.error}", file=sys.stderr)
    return 1 if failed or not outcomes else 0
