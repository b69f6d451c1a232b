"""`bookgpt eval`: answers scored on hand-written readers' questions (`--questions FILE`), or on
the books' own generated validation pairs (a diagnostic: the templates that wrote them are not a
reader)."""

from __future__ import annotations

import argparse
import json

from pathlib import Path

from bookgpt.config import Config
from bookgpt.paths import artifacts_root


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("eval", help="score routing and answers on readers' questions "
                                    "(--questions FILE) or on the generated validation pairs")
    p.add_argument("--questions", type=Path, metavar="FILE",
                   help="JSONL of hand-written questions (id, book_id or null, question, answer, "
                        "supporting_quote, kind), e.g. ../shared/questions/dev.jsonl")
    p.add_argument("--per-book", type=int, default=30,
                   help="without --questions: generated validation questions per book")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object (with --questions: and a row per question)")
    p.set_defaults(run=run)


def run(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.evaluate import evaluate
    from bookgpt.orchestrator import Orchestrator

    if args.questions is not None:
        return _readers(args, cfg)
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


def _readers(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.answer.readers import evaluate_questions
    from bookgpt.orchestrator import Orchestrator

    result = evaluate_questions(Orchestrator(cfg, artifacts_root(cfg)), args.questions)
    if args.json:
        print(json.dumps(result))
        return 0
    for key, value in result.items():
        if key not in ("rows", "by_kind", "by_names", "by_confidence", "by_min_confidence"):
            print(f"{key:>28}: {value}")
    for title, key in (("by kind:", "by_kind"),
                       ("by the book's names (avoids_proper_nouns):", "by_names")):
        if result[key]:
            print(title)
        for kind, scores in result[key].items():
            print(f"{kind:>28}: " + ", ".join(f"{k} {v}" for k, v in scores.items()))
    print("by confidence (answered questions):")
    for b in result["by_confidence"]:
        print(f"{b['confidence']:>28}: {b['questions']} questions, F1 {b['f1']}, "
              f"support hit {b['support_hit']}")
    print("by least confidence (serve.min_confidence; the same answers merged again):")
    for t in result["by_min_confidence"]:
        print(f"{t['min_confidence']:>28}: F1 {t['f1']}, support hit {t['support_hit']}, "
              f"false abstention {t['false_abstention']}, out of scope declined "
              f"{t['out_of_scope_abstained']}")
    return 0
