"""`bookgpt qa`, `finetune`, `build-router`, `route`, `ask`, `chat`, `pipeline`: the Q&A path."""

from __future__ import annotations

import argparse
import asyncio
import json
import sys

import msgspec

from commands.train_cmd import add_book_selection, selected_books
from bookgpt.errors import require_question
from bookgpt.config import Config
from bookgpt.messages import AskRequest
from bookgpt.paths import router_dir, artifacts_root
from bookgpt.pipeline import build_router, make_qa


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("qa", help="generate question-answer pairs from each book's own text")
    add_book_selection(p)
    p.set_defaults(run=run_qa)

    p = sub.add_parser("finetune", help="fine-tune each pretrained book model on its Q&A pairs")
    add_book_selection(p)
    p.add_argument("--resume", action="store_true", help="continue from finetune/last.pt")
    p.add_argument("--format", choices=("closed", "open"), default=None,
                   help="prompt format (default: finetune.prompt_format)")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(run=run_finetune)

    p = sub.add_parser("build-router", help="index every crawled book for routing (TF-IDF)")
    p.set_defaults(run=run_build_router)

    p = sub.add_parser("route", help="show which books a question goes to")
    p.add_argument("question", help="the question")
    p.add_argument("--top-k", type=positive_int, default=None,
                   help="books to return (default router.top_k)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_route)

    p = sub.add_parser("ask", help="ask the books a question (route, answer, merge)")
    p.add_argument("question", help="the question")
    p.add_argument("--top-k", type=positive_int, default=None,
                   help="books to ask (default router.top_k)")
    p.add_argument("--max-new-tokens", type=positive_int, default=None, help="answer length cap")
    p.add_argument("--book-id", action="append", default=None, metavar="ID",
                   help="ask only this book (repeatable)")
    p.add_argument("--decoding", choices=("extract", "generate"), default=None,
                   help="extract: each book picks a phrase of its best passage; generate: writes "
                        "freely (default serve.decoding)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(run=run_ask)

    p = sub.add_parser("chat", help="ask questions interactively (/books, /topk N, /decoding M, "
                                    "/history, /quit)")
    p.set_defaults(run=run_chat)

    p = sub.add_parser("pipeline", help="tokenize, pretrain, generate Q&A and fine-tune each book, "
                                        "then build the router; finished stages are skipped")
    add_book_selection(p)
    p.add_argument("--force", action="store_true", help="redo finished stages")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run_pipeline)


def run_qa(args: argparse.Namespace, cfg: Config) -> int:
    for paths in selected_books(args, cfg):
        n_train, n_val = make_qa(cfg, paths)
        print(f"{paths.book_id}: {n_train + n_val} pairs ({n_train} train, {n_val} validation)")
    return 0


def run_finetune(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.train.finetune import finetune_book

    progress = not args.no_progress and sys.stderr.isatty()
    for paths in selected_books(args, cfg):
        r = finetune_book(cfg, paths, resume=args.resume, progress=progress,
                          prompt_format=args.format)
        print(f"{r.book_id}: {r.steps} steps ({r.prompt_format}-book), best validation Q&A loss "
              f"{r.best_val_loss:.4f}, {r.seconds:.0f} s")
    return 0


def run_build_router(args: argparse.Namespace, cfg: Config) -> int:
    print(f"router built over {build_router(cfg)} books")
    return 0


def positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def run_route(args: argparse.Namespace, cfg: Config) -> int:
    """The books a question goes to, as `ask` routes it: the router's best books ranked again by
    their sentences that answer it, each with its weight and best sentence."""
    from bookgpt.answer.route import route_request
    from bookgpt.router import BookRouter

    require_question(args.question)
    router = BookRouter.load(router_dir(artifacts_root(cfg)))
    top_k = args.top_k or cfg.router.top_k
    routing = route_request(router, AskRequest(question=args.question, top_k=top_k),
                            router.book_ids, top_k, cfg.router.abstain_threshold)
    obj = {"abstained": not routing, "declined": getattr(routing, "reason", ""),
           "books": [{"book_id": r.book_id, "title": r.title, "weight": round(r.weight, 4),
                      "score": round(r.score, 4), "coverage": round(r.coverage, 4),
                      "sentence": r.evidence[0].text if r.evidence else "",
                      "passage": r.passage} for r in routing]}
    if args.json:
        print(json.dumps(obj))
    elif not routing:
        print("no book covers this question" + (f": {obj['declined']}" if obj["declined"] else ""))
    else:
        for h in obj["books"]:
            print(f"{h['weight']:.2f}  {h['book_id']}  ({h['title']})\n"
                  f"      {(h['sentence'] or h['passage'])[:160]!r}")
    return 0


def print_answer(ans, as_json: bool) -> None:
    if as_json:
        print(msgspec.json.encode(ans).decode())
        return
    if ans.abstained:
        print((f"No book covers this question: {ans.declined}." if ans.declined
               else "No book covers this question.") if not ans.candidates else
              "The books could not answer this question.")
        return
    print(f"{ans.answer}\n  — {ans.title} ({ans.book_id}), confidence {ans.confidence:.2f}"
          f"{', degraded' if ans.degraded else ''}")
    if ans.support:
        print(f"  from: \"{ans.support[:300]}\"")
    for c in ans.candidates:
        status = f"error: {c.error}" if c.error else f"{c.answer!r} (confidence {c.confidence:.2f})"
        print(f"    {c.book_id} [weight {c.weight:.2f}]: {status}")


def run_ask(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.messages import AskRequest
    from bookgpt.orchestrator import Orchestrator

    orch = Orchestrator(cfg, artifacts_root(cfg))
    req = AskRequest(question=args.question, top_k=args.top_k, max_new_tokens=args.max_new_tokens,
                     book_ids=args.book_id, decoding=args.decoding)
    print_answer(asyncio.run(orch.ask(req)), args.json)
    return 0


CHAT_HELP = ("commands: /books, /topk N, /decoding extract|generate, /history, /quit; "
             "anything else is a question")


def run_chat(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.messages import AskRequest
    from bookgpt.errors import AskError
    from bookgpt.orchestrator import Orchestrator

    root = artifacts_root(cfg)
    orch = Orchestrator(cfg, root)
    history_file = root / "chat_history"
    try:  # line editing, and questions recalled with the arrow keys across sessions
        import readline

        try:
            readline.read_history_file(history_file)
        except OSError:
            pass
    except ImportError:
        readline = None
    top_k, decoding = cfg.router.top_k, cfg.serve.decoding
    asked: list[tuple[str, str, str]] = []  # this session's (question, answer, book)
    print(f"BookGPT chat over {len(orch.book_ids)} books. {CHAT_HELP}")
    try:
        while True:
            try:
                line = input("you> ").strip()
            except EOFError:
                print()
                return 0
            parts = line.split()
            if not line:
                continue
            if line in ("/quit", "/exit"):
                return 0
            if line == "/books":
                print("  " + "\n  ".join(orch.book_ids))
            elif line == "/history":
                for i, (q, a, book) in enumerate(asked, 1):
                    print(f"  {i}. {q}\n     -> {a!r} ({book})")
                if not asked:
                    print("  nothing asked yet")
            elif parts[0] == "/topk":
                if len(parts) == 2 and parts[1].isdigit() and int(parts[1]) > 0:
                    top_k = int(parts[1])
                    print(f"  asking the top {top_k} books")
                else:
                    print("  usage: /topk N (a positive whole number)")
            elif parts[0] == "/decoding":
                if len(parts) == 2 and parts[1] in ("extract", "generate"):
                    decoding = parts[1]
                    print(f"  decoding: {decoding}")
                else:
                    print("  usage: /decoding extract|generate")
            elif line.startswith("/"):
                print(f"  {CHAT_HELP}")
            else:
                try:
                    ans = asyncio.run(orch.ask(AskRequest(question=line, top_k=top_k,
                                                          decoding=decoding)))
                except AskError as exc:
                    print(f"  {exc}")
                    continue
                print_answer(ans, False)
                asked.append((line, ans.answer, ans.book_id or "abstained"))
    finally:
        if readline is not None:
            try:
                readline.write_history_file(history_file)
            except OSError:
                pass


def run_pipeline(args: argparse.Namespace, cfg: Config) -> int:
    from bookgpt.tokenizer import tokenize_book
    from bookgpt.train.finetune import finetune_book
    from bookgpt.train.pretrain import pretrain_book

    progress = not args.no_progress and sys.stderr.isatty()
    for paths in selected_books(args, cfg):
        def fresh(marker) -> bool:
            return args.force or not marker.is_file()

        if fresh(paths.tokens_meta):
            tokenize_book(paths, cfg.tokenizer)
        if fresh(paths.pretrain_dir / "done.json"):
            r = pretrain_book(cfg, paths, resume=not args.force, progress=progress)
            print(f"{paths.book_id}: pretrained, validation loss {r.best_val_loss:.3f}")
        if fresh(paths.qa_dir / "val.jsonl"):
            n_train, n_val = make_qa(cfg, paths)
            print(f"{paths.book_id}: {n_train + n_val} Q&A pairs")
        if fresh(paths.finetune_dir / "done.json"):
            f = finetune_book(cfg, paths, resume=not args.force, progress=progress)
            print(f"{paths.book_id}: fine-tuned, validation Q&A loss {f.best_val_loss:.3f}")
    print(f"router built over {build_router(cfg)} books")
    return 0
