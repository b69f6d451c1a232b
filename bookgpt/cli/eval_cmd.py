"""`bookgpt eval`: routing, per-book and merged Q&A scores beside an extractive baseline."""

from __future__ import annotations

import argparse
import json

from bookgpt.config import Config
from bookgpt.paths import artifacts_root


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score routing and answers on the generated validation pairs")
    p.add_argument("--per-book", type=int, default=30, help="validation questions per book")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.evaluate import evaluate
    from bookgpt.orchestrator import Orchestrator

    result = evaluate(Orchestrator(cfg, artifacts_root(cfg)), per_book=args.per_book)
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        if key != "books":
            print(f"{key:>28}: {value}")
    for book_id, scores in result["books"].items():
        print(f"{book_id:>28}: {scores}")
    return 0
