"""Pipeline stages that are not training loops: Q&A pair files and the router index."""

from __future__ import annotations


from bookgpt.config import Config
from bookgpt.crawl.crawler import crawled_books
from bookgpt.fsio import read_json
from bookgpt.paths import BookPaths, artifacts_root, router_dir
from bookgpt.qa.pairs import generate_pairs, split_pairs, write_jsonl
from bookgpt.router import BY, BookRouter, RouterError


def make_qa(cfg: Config, paths: BookPaths) -> tuple[int, int]:
    """Generate the book's Q&A pairs and write qa/train.jsonl and qa/val.jsonl."""
    q = cfg.qa
    text = paths.text.read_text(encoding="utf-8")
    pairs = generate_pairs(text, max_pairs=q.max_pairs, min_answer_words=q.min_answer_words,
                           max_answer_words=q.max_answer_words,
                           max_question_words=q.max_question_words,
                           passage_chars=cfg.finetune.passage_chars, seed=q.seed)
    train, val = split_pairs(pairs, q.val_fraction, q.seed)
    write_jsonl(paths.qa_dir / "train.jsonl", train)
    write_jsonl(paths.qa_dir / "val.jsonl", val)
    return len(train), len(val)


def _title(meta: dict, book_id: str) -> str:
    """A book's title as answers show it, with its author ("..., by Edwin A. Abbott"): a question
    may name the author, whom the text itself may never name."""
    title, author = meta.get("title") or book_id, meta.get("author") or ""
    return f"{title}{BY}{author}" if author and author not in title else title


def build_router(cfg: Config) -> int:
    """Index every crawled book's text for routing; returns how many books."""
    root = artifacts_root(cfg)
    books = {}
    for book_id in crawled_books(root):
        p = BookPaths(root, book_id)
        books[book_id] = (_title(read_json(p.book_meta), book_id), p.text.read_text("utf-8"))
    if not books:
        raise RouterError(f"no crawled books under {root}/books; run `bookgpt crawl` first")
    BookRouter.build(books, passage_chars=cfg.router.passage_chars,
                     max_features=cfg.router.max_features).save(router_dir(root))
    return len(books)
