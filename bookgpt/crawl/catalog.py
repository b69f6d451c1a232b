"""The shelf catalog: which books exist, where their sources live, and in what format."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Literal

import msgspec
import yaml

Format = Literal["txt", "html", "tex", "cnxml"]
FORMATS: tuple[str, ...] = ("txt", "html", "tex", "cnxml")
_BOOK_ID = re.compile(r"^[a-z0-9][a-z0-9_\-]{0,63}$")


class CatalogError(ValueError):
    """The shelf file or a requested book is wrong; the message says what to do."""


class BookEntry(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    book_id: str  # short id used for directories and on the command line
    title: str = ""  # human title (taken from the Gutenberg header when empty)
    author: str = ""  # author (taken from the Gutenberg header when empty)
    gutenberg_id: int | None = None  # Gutenberg ebook number; its URLs follow from it
    format: Format = "txt"  # source format
    urls: list[str] = []  # explicit source URLs (parts are joined in order); overrides Gutenberg's
    files: list[str] = []  # file names in a local copy of the shelf (--from-dir), in order


class Shelf(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    books: list[BookEntry]


def check_book_id(book_id: str) -> str:
    if not _BOOK_ID.match(book_id):
        raise CatalogError(f"book id {book_id!r} is not valid: use 1-64 lower-case letters, digits, "
                           f"'_' or '-', starting with a letter or digit (e.g. calculus_made_easy)")
    return book_id


def load_shelf(path: str | Path) -> list[BookEntry]:
    """Read a shelf YAML (see configs/shelf.yaml); errors name the file and the entry."""
    path = Path(path)
    if not path.is_file():
        raise CatalogError(f"shelf catalog {path} does not exist; set paths.shelf to a YAML list of books")
    try:
        shelf = msgspec.convert(yaml.safe_load(path.read_text(encoding="utf-8")), Shelf)
    except (yaml.YAMLError, msgspec.ValidationError) as exc:
        raise CatalogError(f"{path}: {exc}") from None
    seen: set[str] = set()
    for entry in shelf.books:
        check_book_id(entry.book_id)
        if entry.book_id in seen:
            raise CatalogError(f"{path}: book id {entry.book_id!r} appears twice")
        seen.add(entry.book_id)
        if entry.gutenberg_id is None and not entry.urls and not entry.files:
            raise CatalogError(f"{path}: book {entry.book_id!r} needs a gutenberg_id, urls or files")
    return shelf.books


def select_books(shelf: list[BookEntry], book_ids: list[str]) -> tuple[list[BookEntry], list[str]]:
    """Pick the named books (all when none are named); returns (entries, unknown ids)."""
    if not book_ids:
        return list(shelf), []
    by_id = {b.book_id: b for b in shelf}
    chosen = [by_id[i] for i in dict.fromkeys(book_ids) if i in by_id]
    unknown = [i for i in dict.fromkeys(book_ids) if i not in by_id]
    return chosen, unknown


def gutenberg_urls(base: str, number: int, fmt: str) -> list[str]:
    """Gutenberg's URL layout for one ebook in one format."""
    base = base.rstrip("/")
    if fmt == "txt":
        return [f"{base}/cache/epub/{number}/pg{number}.txt"]
    if fmt == "html":
        return [f"{base}/cache/epub/{number}/pg{number}-images.html"]
    if fmt == "tex":
        return [f"{base}/files/{number}/{number}-t.zip"]
    raise CatalogError(f"Gutenberg serves no {fmt!r} format; use one of txt, html, tex")


def source_urls(entry: BookEntry, base: str) -> list[str]:
    if entry.urls:
        return list(entry.urls)
    if entry.gutenberg_id is None:
        raise CatalogError(f"book {entry.book_id!r} has no URL: give it urls or a gutenberg_id, "
                           f"or import it with --from-dir")
    return gutenberg_urls(base, entry.gutenberg_id, entry.format)


def format_of_file(path: Path) -> str | None:
    """Format of a local file by its suffix, or None if it is not a book source we read."""
    return {".txt": "txt", ".html": "html", ".htm": "html", ".xhtml": "html", ".tex": "tex",
            ".cnxml": "cnxml", ".zip": "tex"}.get(path.suffix.lower())


def entries_from_dir(directory: Path, shelf: list[BookEntry]) -> list[BookEntry]:
    """Books found in a local directory: shelf books whose files are there, plus any other book file.

    Files of shelf books are matched by their `files` names; every other txt/html/tex/cnxml file at
    the top level becomes a book whose id is its file name's stem.
    """
    if not directory.is_dir():
        raise CatalogError(f"--from-dir {directory} is not a directory")
    found: list[BookEntry] = []
    claimed: set[Path] = set()
    for entry in shelf:
        if entry.files and all((directory / f).is_file() for f in entry.files):
            found.append(entry)
            claimed.update((directory / f).resolve() for f in entry.files)
    for path in sorted(directory.iterdir()):
        fmt = format_of_file(path)
        if not path.is_file() or fmt is None or path.resolve() in claimed:
            continue
        book_id = re.sub(r"[^a-z0-9_\-]+", "_", path.stem.lower()).strip("_-")[:64] or "book"
        if any(e.book_id == book_id for e in found):
            continue
        found.append(BookEntry(book_id=book_id, format=fmt, files=[path.name]))  # type: ignore[arg-type]
    return found
