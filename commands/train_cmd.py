"""`bookgpt tokenize`, `bookgpt pretrain` and `bookgpt sample`: one book's model, step by step."""

from __future__ import annotations

import argparse
import sys

from bookgpt.config import Config
from bookgpt.crawl.crawler import crawled_books
from bookgpt.paths import BookPaths, artifacts_root


class BookSelectionError(ValueError):
    """--book-id / --all do not name any usable book."""


def add_book_selection(p: argparse.ArgumentParser) -> None:
    group = p.add_mutually_exclusive_group(required=True)
    group.add_argument("--book-id", action="append", metavar="ID", help="a crawled book (repeatable)")
    group.add_argument("--all", action="store_true", help="every crawled book")


def selected_books(args: argparse.Namespace, cfg: Config) -> list[BookPaths]:

    root = artifacts_root(cfg)
    crawled = crawled_books(root)
    if args.all:
        if not crawled:
            raise BookSelectionError(f"no crawled books under {root}/books; run `bookgpt crawl` first")
        return [BookPaths(root, b) for b in crawled]
    unknown = [b for b in args.book_id if b not in crawled]
    if unknown:
        raise BookSelectionError(f"{', '.join(repr(u) for u in unknown)} not crawled under {root}; "
                                 f"crawled: {', '.join(crawled) or 'none'} (run `bookgpt crawl "
                                 f"--book-id {unknown[0]}` first)")
    return [BookPaths(root, b) for b in dict.fromkeys(args.book_id)]


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("tokenize", help="train each book's BPE tokenizer and write its token files")
    add_book_selection(p)
    p.set_defaults(run=run_tokenize)

    p = sub.add_parser("pretrain", help="train each book's GPT from scratch")
    add_book_selection(p)
    p.add_argument("--resume", action="store_true",
                   help="continue from pretrain/last.pt (same optimizer and data state)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_pretrain)

    p = sub.add_parser("sample", help="print a continuation of a prompt by one book's model")
    p.add_argument("--book-id", required=True, metavar="ID", help="the book whose model writes")
    p.add_argument("--prompt", required=True, help="text to continue")
    p.add_argument("--max-new-tokens", type=int, default=100, help="tokens to generate (default 100)")
    p.add_argument("--temperature", type=float, default=0.8, help="0 = greedy (default 0.8)")
    p.add_argument("--top-k", type=int, default=50, help="sample among the k likeliest (0 = all)")
    p.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling mass (default 0.95)")
    p.add_argument("--seed", type=int, default=None, help="seed for reproducible samples")
    p.add_argument("--stage", choices=("pretrain", "finetune"), default="pretrain",
                   help="which checkpoint to use (default pretrain)")
    p.set_defaults(run=run_sample)


def run_tokenize(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.tokenizer import tokenize_book

    for paths in selected_books(args, cfg):
        meta = tokenize_book(paths, cfg.tokenizer)
        print(f"{paths.book_id}: vocabulary {meta['vocab_size']}, {meta['tokens']:,} tokens "
              f"({meta['train_tokens']:,} train / {meta['val_tokens']:,} validation), "
              f"{meta['chars_per_token']:.2f} characters per token")
    return 0


def run_pretrain(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.train.pretrain import pretrain_book

    progress = not args.no_progress and sys.stderr.isatty()
    for paths in selected_books(args, cfg):
        r = pretrain_book(cfg, paths, resume=args.resume, progress=progress)
        print(f"{r.book_id}: {r.parameters / 1e6:.2f}M parameters, {r.steps} steps, "
              f"{r.tokens_seen:,} tokens, best validation loss {r.best_val_loss:.4f} "
              f"(perplexity {r.perplexity:.1f}), {r.tokens_per_s:,.0f} tokens/s, {r.seconds:.0f} s "
              f"on {r.device}{', stopped early' if r.stopped_early else ''}")
    return 0


def run_sample(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.inference import BookModel

    paths = selected_books(argparse.Namespace(all=False, book_id=[args.book_id]), cfg)[0]
    model = BookModel.load(paths, stage=args.stage, device_pref=cfg.device)
    out = model.complete([args.prompt], max_new_tokens=args.max_new_tokens,
                         temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                         seed=args.seed)[0]
    print(args.prompt + out.text)
    return 0
