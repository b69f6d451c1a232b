"""`bookgpt train`: every book's pipeline as Ray tasks, live progress bars, a summary table.

Lives in cluster/ because it drives Ray; `bookgpt` imports it only when the command runs.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

from bookgpt.config import Config


def add_parser(sub: argparse._SubParsersAction) -> None:
    from commands.train_cmd import add_book_selection

    p = sub.add_parser("train", help="train books in parallel as Ray tasks (tokenize, pretrain, "
                                     "qa, finetune), then build the router")
    add_book_selection(p)
    p.add_argument("--address", default=None,
                   help="Ray address (default: cluster.address, else the running cluster, else "
                        "a local Ray)")
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    p.set_defaults(run=run)


def _bar_text(event: dict) -> str:
    if not event:
        return "waiting"
    stage = event.get("stage", "?")
    if event.get("done") == stage:
        return f"{stage} done"
    text = f"{stage} {event.get('step', 0)}/{event.get('max_steps', 0)}"
    if "loss" in event:
        text += f" loss {event['loss']:.3f} {event.get('tokens_per_s', 0):,.0f} tok/s"
    return text


def summary_table(rows: list[dict]) -> str:
    head = ["book", "status", "val loss", "Q&A F1", "time s", "tokens/s"]
    lines = [head] + [[r["book"], r["status"], r["val_loss"], r["f1"], r["time"], r["tok_s"]]
                      for r in rows]
    widths = [max(len(str(x[i])) for x in lines) for i in range(len(head))]
    return "\n".join("  ".join(str(c).ljust(w) for c, w in zip(line, widths)) for line in lines)


def _summary(root: Path, book_id: str, stage: str) -> dict:
    p = root / "models" / book_id / f"{stage}.summary.json"
    return json.loads(p.read_text()) if p.is_file() else {}


def run(args: argparse.Namespace, cfg: Config) -> int:
    import ray
    from tqdm import tqdm

    from bookgpt.pipeline import build_router
    from commands.train_cmd import selected_books
    from bookgpt.device import resolve_device
    from bookgpt.paths import artifacts_root
    from cluster.connect import connect
    from cluster.ship import write_tree
    from cluster.train import ProgressActor, submit_books

    books = [p.book_id for p in selected_books(args, cfg)]
    root = artifacts_root(cfg)
    print(f"bookgpt train: {connect(args.address or cfg.cluster.address, cfg.serve.namespace)}",
          flush=True)
    progress = ProgressActor.remote()
    runs = submit_books(cfg, root, books, progress, resolve_device(cfg.device))
    show = not args.no_progress and sys.stderr.isatty()
    bars = {r.book_id: tqdm(total=0, position=i, desc=r.book_id, bar_format="{desc}: {postfix}",
                            disable=not show) for i, r in enumerate(runs)}
    # every stage returns the book's files so far: write each as it lands, so that a later failure
    # or Ctrl-C keeps the finished stages on the driver (a re-run skips them)
    pending = {ref: (r, stage) for r in runs for stage, ref in r.refs.items()}
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1, timeout=0.5)
            snap = ray.get(progress.snapshot.remote())
            for book_id, bar in bars.items():
                bar.set_postfix_str(_bar_text(snap.get(book_id, {})), refresh=True)
            for ref in ready:
                r, stage = pending.pop(ref)
                if r.status != "running":
                    continue  # an earlier stage failed; this one failed with it
                try:
                    write_tree(root, ray.get(ref))
                except Exception as exc:  # one book's failure never stops the others
                    lines = str(exc).strip().splitlines() or [type(exc).__name__]
                    r.status, r.error = "failed", f"{stage}: {lines[-1][:200]}"
                    r.seconds = time.time() - r.started
                    continue
                if stage == "finetune":
                    r.status, r.seconds = "ok", time.time() - r.started
    except KeyboardInterrupt:
        for ref in pending:
            ray.cancel(ref, force=True)
        for bar in bars.values():
            bar.close()
        print("\nbookgpt train: cancelled; finished stages are kept and `bookgpt train` "
              "resumes the rest", file=sys.stderr)
        return 130
    finally:
        for bar in bars.values():
            bar.close()
    rows = []
    for r in runs:
        pre, fin = (_summary(root, r.book_id, stage) for stage in ("pretrain", "finetune"))
        rows.append({"book": r.book_id, "status": r.status if not r.error else f"failed: {r.error}",
                     "val_loss": f"{pre['val_loss']:.3f}" if "val_loss" in pre else "-",
                     "f1": f"{fin['qa_f1']:.3f}" if "qa_f1" in fin else "-",
                     "time": f"{r.seconds:.0f}",
                     "tok_s": f"{pre['tokens_per_s']:,.0f}" if "tokens_per_s" in pre else "-"})
    print(summary_table(rows))
    ok = [r for r in runs if r.status in ("ok", "done already")]
    if ok:
        print(f"router built over {build_router(cfg)} books")
    return 0 if len(ok) == len(runs) else 1
