"""`bookgpt bench train|generate|answer|serve|train-parallel`: speed benchmarks that print figures.

Each prints one JSON object with --json.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import msgspec

from commands.qa_cmd import positive_int
from bookgpt.config import Config, replace
from bookgpt.paths import artifacts_root


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("bench", help="measure training and generation speed")
    bsub = p.add_subparsers(dest="bench", metavar="BENCH", required=True)
    t = bsub.add_parser("train", help="tokens/s, FLOPs per token and MFU of full training steps at "
                                      "the configured shape (default batch 8 x 512)")
    t.add_argument("--steps", type=int, default=20, help="timed steps after warm-up (default 20)")
    t.add_argument("--warmup", type=int, default=3, help="untimed warm-up steps (default 3)")
    t.add_argument("--baseline", action="store_true",
                   help="also time the plain recipe (eager fp32, SDPA attention, no dropout: "
                        "nanoGPT's on a CPU) in the same run and report the speed-up")
    t.add_argument("--json", action="store_true", help="print one JSON object")
    t.set_defaults(run=run_train)
    g = bsub.add_parser("generate", help="new tokens/s with and without the KV cache, beside "
                                         "transformers' GPT2LMHeadModel with the same weights")
    g.add_argument("--new-tokens", type=int, default=128, help="tokens generated per run")
    g.add_argument("--no-compile", action="store_true", help="eager decoding only")
    g.add_argument("--no-transformers", action="store_true", help="skip the transformers baseline")
    g.add_argument("--rounds", type=positive_int, default=5,
                   help="timed rounds, each running every contender once in turn (medians reported)")
    g.add_argument("--json", action="store_true", help="print one JSON object")
    g.set_defaults(run=run_generate)
    a = bsub.add_parser("answer", help="routing and extractive answering in one process, "
                                       "questions/s at a batch size (on trained books)")
    a.add_argument("--questions", type=Path, required=True, metavar="FILE",
                   help="JSONL of questions (as for `bookgpt eval --questions`)")
    a.add_argument("--batch", type=int, default=16, help="questions per batch (default 16)")
    a.add_argument("--rounds", type=int, default=5, help="timed passes over the questions")
    a.add_argument("--json", action="store_true", help="print one JSON object")
    a.set_defaults(run=run_answer)
    sv = bsub.add_parser("serve", help="drive a running bookgpt-serve with concurrent clients "
                                       "(batching on vs off, HTTP+Ray overhead)")
    sv.add_argument("--url", default=None, help="server URL (default http://serve.host:serve.port)")
    sv.add_argument("--clients", type=int, default=32, help="concurrent clients (default 32)")
    sv.add_argument("--requests", type=int, default=400, help="questions per phase (default 400)")
    sv.add_argument("--max-new-tokens", type=int, default=16, help="answer length (default 16)")
    sv.add_argument("--decoding", choices=("extract", "generate"), default="generate",
                    help="how the books answer (default generate: dynamic batching matters most "
                         "for token-by-token writing)")
    sv.add_argument("--book-id", action="append", default=None, metavar="ID",
                    help="ask only this book (repeatable): one hot book, e.g. to measure replicas")
    sv.add_argument("--no-local", action="store_true",
                    help="skip the in-process comparison (which loads the models here)")
    sv.add_argument("--json", action="store_true", help="print one JSON object")
    sv.set_defaults(run=run_serve)
    tp = bsub.add_parser("train-parallel", help="N books pretrained one after another and then "
                                                "all at once as Ray tasks (wall time vs ideal)")
    tp.add_argument("--books", type=int, default=2, help="how many crawled books (default 2)")
    tp.add_argument("--address", default=None, help="Ray address (default: a running or local one)")
    tp.add_argument("--json", action="store_true", help="print one JSON object")
    tp.set_defaults(run=run_train_parallel)


def _print(result: dict, as_json: bool) -> None:
    if as_json:
        print(json.dumps(result))
        return
    for key, value in result.items():
        print(f"{key:>28}: {value}")


def run_train(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.bench.train_bench import bench_train

    base = None
    if args.baseline:
        # nanoGPT's recipe on a CPU: eager fp32, SDPA attention, and its default dropout of 0
        # (SDPA with dropout takes a much slower path on the CPU, which would flatter us), with
        # the C library's default allocation (measured first: training's setting lasts the
        # process, `reuse_freed_memory`)
        plain = replace(cfg, pretrain=msgspec.structs.replace(cfg.pretrain, compile="off",
                                                               dtype="fp32", attn_block=0),
                        model=msgspec.structs.replace(cfg.model, dropout=0.0))
        base = bench_train(plain, steps=args.steps, warmup=args.warmup, reuse_memory=False)
    result = bench_train(cfg, steps=args.steps, warmup=args.warmup)
    if base is not None:
        result["baseline_eager_fp32_tokens_per_s"] = base["tokens_per_s"]
        result["speedup_vs_baseline"] = round(result["tokens_per_s"] / base["tokens_per_s"], 2)
    _print(result, args.json)
    return 0


def run_generate(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.bench.generate_bench import bench_generate

    _print(bench_generate(cfg, new_tokens=args.new_tokens, compile=not args.no_compile,
                          with_transformers=not args.no_transformers, rounds=args.rounds),
           args.json)
    return 0


def run_answer(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.bench.answer_bench import bench_answer
    from bookgpt.orchestrator import Orchestrator

    _print(bench_answer(Orchestrator(cfg, artifacts_root(cfg)), args.questions, args.batch,
                        args.rounds), args.json)
    return 0


def run_serve(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.bench.serve_bench import bench_serve

    url = args.url or f"http://{cfg.serve.host}:{cfg.serve.port}"
    result = bench_serve(url, args.clients, args.requests, None if args.no_local else cfg,
                         artifacts_root(cfg), args.max_new_tokens, args.decoding, args.book_id)
    _print(result, args.json)
    return 0


def run_train_parallel(args: argparse.Namespace, cfg: Config) -> int:
    # cluster/ drives Ray; imported only here so that the library itself never imports Ray
    from commands.train_cmd import BookSelectionError
    from bookgpt.crawl.crawler import crawled_books
    from cluster.bench_parallel import bench_train_parallel
    from cluster.connect import connect

    root = artifacts_root(cfg)
    books = crawled_books(root)[: args.books]
    if len(books) < args.books:
        raise BookSelectionError(f"bench train-parallel needs {args.books} crawled books under "
                                 f"{root}; found {len(books)} (run `bookgpt crawl`)")
    connect(args.address or cfg.cluster.address, cfg.serve.namespace)
    _print(bench_train_parallel(cfg, root, books), args.json)
    return 0
