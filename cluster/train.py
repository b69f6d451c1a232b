"""Parallel multi-book training on Ray: one task per book and stage, artifacts through the object store.

No shared filesystem is assumed: the driver ships each book's text to the first stage, every stage
returns the book's model directory as bytes, and the driver writes the final files atomically.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import ray

from bookgpt.config import Config
from bookgpt.paths import BookPaths
from cluster.resources import check_feasible, training_task_options
from cluster.ship import Files, read_tree, write_tree

STAGES = ("tokenize", "pretrain", "qa", "finetune")


@ray.remote(num_cpus=0, max_restarts=-1)
class ProgressActor:
    """Collects progress events from training tasks; the driver polls it for its progress bars."""

    def __init__(self) -> None:
        self.state: dict[str, dict] = {}

    def report(self, book_id: str, event: dict) -> None:
        self.state[book_id] = {**self.state.get(book_id, {}), **event, "time": time.time()}

    def snapshot(self) -> dict[str, dict]:
        return self.state


def workdir_for(cfg: Config, book_id: str, text_sha: str) -> Path:
    """A node-local directory per (book, text, config): a retried task finds its checkpoints."""
    key = hashlib.sha256(msgspec.json.encode(cfg) + text_sha.encode()).hexdigest()[:16]
    return Path(tempfile.gettempdir()) / "bookgpt-train" / f"{book_id}-{key}"


def run_stage(stage: str, cfg_builtins: dict, book_id: str, files: Files, num_cpus: float,
              progress: Any = None) -> Files:
    """Run one pipeline stage of one book on this node; returns the book's files afterwards."""
    from bookgpt.pipeline import make_qa
    from bookgpt.tokenizer import tokenize_book
    from bookgpt.train.finetune import finetune_book
    from bookgpt.train.pretrain import pretrain_book
    from bookgpt.train.runtime import set_threads

    set_threads(num_cpus)  # Ray reuses workers: every task sets its own thread count
    cfg = msgspec.convert(cfg_builtins, Config)
    text_sha = hashlib.sha256(files[f"books/{book_id}/text.txt"]).hexdigest()
    root = workdir_for(cfg, book_id, text_sha)
    write_tree(root, files)
    paths = BookPaths(root, book_id)
    last_report = [0.0]

    def on_step(record: dict) -> None:
        now = time.monotonic()
        if progress is not None and (now - last_report[0] > 0.5 or record["step"] == record["max_steps"]):
            last_report[0] = now
            progress.report.remote(book_id, {"stage": stage, **record, "pid": os.getpid(),
                                             "node_id": node_id, "task": task})

    ctx = ray.get_runtime_context()
    # the name the dashboard's task list shows (submit_books names it "<stage>:<book_id>")
    node_id, task = ctx.get_node_id(), ctx.get_task_name()
    if progress is not None:
        progress.report.remote(book_id, {"stage": stage, "step": 0, "max_steps": 0,
                                         "node_id": node_id, "pid": os.getpid(), "task": task})
    started = time.time()
    summary: dict = {}
    if stage == "tokenize":
        summary = tokenize_book(paths, cfg.tokenizer)
    elif stage == "pretrain":
        r = pretrain_book(cfg, paths, resume=True, progress=False, on_step=on_step)
        summary = {"val_loss": r.best_val_loss, "tokens_per_s": r.tokens_per_s, "seconds": r.seconds}
    elif stage == "qa":
        n_train, n_val = make_qa(cfg, paths)
        summary = {"pairs": n_train + n_val}
    elif stage == "finetune":
        from bookgpt.evaluate import book_f1

        r = finetune_book(cfg, paths, resume=True, progress=False, on_step=on_step)
        summary = {"qa_val_loss": r.best_val_loss, "seconds": r.seconds,
                   "qa_f1": book_f1(paths, decoding=cfg.serve.decoding)}
    summary.update(node_id=node_id, started=started, finished=time.time())
    if progress is not None:
        progress.report.remote(book_id, {"stage": stage, "done": stage, **summary})
    out = read_tree(root, f"books/{book_id}") | read_tree(root, f"models/{book_id}", skip=("last.pt",))
    out[f"models/{book_id}/{stage}.summary.json"] = msgspec.json.encode(summary)
    return out


run_stage_task = ray.remote(run_stage)


@dataclass
class BookRun:
    book_id: str
    refs: dict[str, ray.ObjectRef] = field(default_factory=dict)
    status: str = "running"
    error: str = ""
    started: float = field(default_factory=time.time)
    seconds: float = 0.0


def submit_books(cfg: Config, artifacts: Path, book_ids: list[str], progress: Any,
                 device: str = "cpu", pin: dict[str, dict[str, float]] | None = None) -> list[BookRun]:
    """Submit every book's four stages (chained through ObjectRefs); returns the runs.

    `pin` adds custom resources per book (e.g. {"book": {"node_a": 0.01}}) to place its tasks.
    """
    base_opts = training_task_options(cfg.cluster, device)
    check_feasible(base_opts, ray.nodes(), "a book training task")
    builtins = msgspec.to_builtins(cfg)
    runs = []
    for book_id in book_ids:
        paths = BookPaths(artifacts, book_id)
        files = read_tree(artifacts, f"books/{book_id}") | read_tree(artifacts, f"models/{book_id}")
        run = BookRun(book_id)
        opts = dict(base_opts)
        if pin and book_id in pin:
            opts["resources"] = {**opts.get("resources", {}), **pin[book_id]}
        prev: Any = ray.put(files)
        for stage in STAGES:
            done = {"tokenize": paths.tokens_meta, "pretrain": paths.pretrain_dir / "done.json",
                    "qa": paths.qa_dir / "val.jsonl", "finetune": paths.finetune_dir / "done.json"}
            if done[stage].is_file() and not run.refs:
                continue  # finished on an earlier run; its files are in `files`
            prev = run_stage_task.options(
                name=f"{stage}:{book_id}", max_retries=cfg.cluster.max_retries,
                retry_exceptions=True, **opts).remote(stage, builtins, book_id, prev,
                                                      opts["num_cpus"], progress)
            run.refs[stage] = prev
        if not run.refs:
            run.status = "done already"
        runs.append(run)
    return runs
