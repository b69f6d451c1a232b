"""`bookgpt bench train-parallel`: N books pretrained one after another, then all at once, on Ray.

Reports the wall time of both, the ideal parallel time (the sum of each book's CPU time divided
by the cluster's CPUs) and each book's validation loss in both runs (same seed: they should match).
"""

from __future__ import annotations

import shutil
import time
from pathlib import Path

import msgspec
import ray

from bookgpt.config import Config
from bookgpt.paths import BookPaths
from cluster.resources import check_feasible, training_task_options
from cluster.ship import read_tree
from cluster.train import run_stage, workdir_for


def _timed_stage(stage: str, cfg_builtins: dict, book_id: str, files: dict, num_cpus: float) -> dict:
    t0, c0 = time.time(), time.process_time()
    out = run_stage(stage, cfg_builtins, book_id, files, num_cpus)
    summary = msgspec.json.decode(out[f"models/{book_id}/{stage}.summary.json"])
    return {"wall_s": time.time() - t0, "cpu_s": time.process_time() - c0,
            "val_loss": summary.get("val_loss"), "start": t0, "end": time.time()}


timed_stage = ray.remote(_timed_stage)


def bench_train_parallel(cfg: Config, artifacts: Path, book_ids: list[str]) -> dict:
    import hashlib

    opts = training_task_options(cfg.cluster, "cpu")
    check_feasible(opts, ray.nodes(), "a book training task")
    builtins = msgspec.to_builtins(cfg)
    inputs = {}
    for b in book_ids:
        paths = BookPaths(artifacts, b)
        if not paths.tokens_meta.is_file():
            from bookgpt.tokenizer import tokenize_book

            tokenize_book(paths, cfg.tokenizer)
        files = read_tree(artifacts, f"books/{b}") | read_tree(artifacts, f"models/{b}/tokens")
        files[f"models/{b}/tokenizer.json"] = paths.tokenizer.read_bytes()
        inputs[b] = ray.put(files)

    def clear() -> None:  # node-local checkpoints would let the second phase resume instantly
        for b in book_ids:
            sha = hashlib.sha256(BookPaths(artifacts, b).text.read_bytes()).hexdigest()
            shutil.rmtree(workdir_for(cfg, b, sha), ignore_errors=True)

    def submit(b: str):
        return timed_stage.options(name=f"bench-pretrain:{b}", **opts).remote(
            "pretrain", builtins, b, inputs[b], opts["num_cpus"])

    clear()
    t0 = time.time()
    sequential = {}
    for b in book_ids:
        sequential[b] = ray.get(submit(b))
    seq_wall = time.time() - t0
    clear()
    t0 = time.time()
    parallel = dict(zip(book_ids, ray.get([submit(b) for b in book_ids])))
    par_wall = time.time() - t0
    clear()
    cpus = ray.cluster_resources().get("CPU", 1)
    slots = max(1, int(cpus // opts["num_cpus"]))
    ideal = sum(r["cpu_s"] for r in sequential.values()) / min(slots, len(book_ids))
    return {
        "benchmark": "train-parallel", "books": len(book_ids), "cluster_cpus": cpus,
        "cpus_per_task": opts["num_cpus"], "sequential_wall_s": round(seq_wall, 2),
        "parallel_wall_s": round(par_wall, 2), "ideal_parallel_s": round(ideal, 2),
        "parallel_over_ideal": round(par_wall / ideal, 3),
        "speedup": round(seq_wall / par_wall, 2),
        "per_book": {b: {"alone_val_loss": round(sequential[b]["val_loss"], 5),
                         "parallel_val_loss": round(parallel[b]["val_loss"], 5),
                         "alone_cpu_s": round(sequential[b]["cpu_s"], 2),
                         "alone_wall_s": round(sequential[b]["wall_s"], 2),
                         "parallel_wall_s": round(parallel[b]["wall_s"], 2)}
                     for b in book_ids},
    }
