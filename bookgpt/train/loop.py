"""The generic training loop: schedule, accumulation, clipping, evaluation, early stopping, checkpoints.

It knows nothing about books or GPT: it gets a model, batches, an evaluation and a checkpoint writer.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol
from collections.abc import Callable

import torch
from tqdm import tqdm

from bookgpt.train.runtime import autocast, device_rng, reuse_freed_memory, set_device_rng


class Batches(Protocol):
    def next_train(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]: ...
    def state(self) -> dict[str, Any]: ...
    def load_state(self, state: dict[str, Any]) -> None: ...


@dataclass(frozen=True)
class LoopOptions:
    max_steps: int
    learning_rate: float
    warmup_steps: int
    min_lr_ratio: float
    grad_clip: float
    grad_accum: int
    eval_interval: int
    patience: int
    tokens_per_step: int  # tokens processed per optimizer step (for tokens/s and MFU)
    flops_per_token: float  # training FLOPs per token
    peak_flops: float | None = None  # matmul peak of this device in FLOP/s, for MFU
    progress: bool = True
    desc: str = "train"


@dataclass
class LoopResult:
    steps: int
    tokens_seen: int
    best_val: float
    last_val: float
    seconds: float
    tokens_per_s: float
    stopped_early: bool
    history: list[dict] = field(default_factory=list)


def lr_at(step: int, opts: LoopOptions) -> float:
    """Linear warmup to the peak, then cosine decay to min_lr_ratio x peak at max_steps."""
    if step < opts.warmup_steps:
        return opts.learning_rate * (step + 1) / opts.warmup_steps
    span = max(1, opts.max_steps - opts.warmup_steps)
    progress = min(1.0, (step - opts.warmup_steps) / span)
    floor = opts.learning_rate * opts.min_lr_ratio
    return floor + 0.5 * (opts.learning_rate - floor) * (1 + math.cos(math.pi * progress))


def train_loop(model: torch.nn.Module, optimizer: torch.optim.Optimizer, batches: Batches,
               evaluate: Callable[[], float], opts: LoopOptions,
               save: Callable[[str, dict[str, Any], dict[str, Any]], None], *,
               device: str, amp_dtype: torch.dtype | None, log_path: Path | None = None,
               resume: dict[str, Any] | None = None,
               on_step: Callable[[dict], None] | None = None) -> LoopResult:
    """Run until max_steps or early stopping. `save(name, train_state, meta)` writes best/last.

    `resume` is a train_state written by an earlier run: step, best/bad counters, data and RNG state.
    `on_step(record)` gets each step's record (step, max_steps, loss, tokens_per_s, val_loss).
    """
    if device == "cpu":
        reuse_freed_memory()
    step, tokens_seen, best, bad, last_val = 0, 0, math.inf, 0, math.nan
    if resume:
        step, tokens_seen = resume["step"], resume["tokens_seen"]
        best, bad, last_val = resume["best_val"], resume["bad_evals"], resume["last_val"]
        batches.load_state(resume["batches"])
        torch.set_rng_state(resume["torch_rng"])
        set_device_rng(device, resume.get("device_rng"))
    history: list[dict] = []
    bar = tqdm(total=opts.max_steps, initial=step, desc=opts.desc, unit="step",
               disable=not opts.progress, dynamic_ncols=True)
    log = open(log_path, "a", encoding="utf-8") if log_path else None
    stopped_early = False
    t_start = time.perf_counter()
    t_window, tokens_window = time.perf_counter(), 0
    tok_s = 0.0

    def state() -> dict[str, Any]:
        return {"step": step, "tokens_seen": tokens_seen, "best_val": best, "bad_evals": bad,
                "last_val": last_val, "batches": batches.state(), "torch_rng": torch.get_rng_state(),
                "device_rng": device_rng(device)}

    model.train()
    try:
        while step < opts.max_steps:
            lr = lr_at(step, opts)
            for group in optimizer.param_groups:
                group["lr"] = lr
            loss_sum = 0.0
            for _ in range(opts.grad_accum):
                x, y, mask = batches.next_train()
                with autocast(device, amp_dtype):
                    _, loss = model(x, y, mask)
                (loss / opts.grad_accum).backward()
                loss_sum += loss.item() / opts.grad_accum
            if opts.grad_clip > 0:
                torch.nn.utils.clip_grad_norm_(model.parameters(), opts.grad_clip)
            optimizer.step()
            optimizer.zero_grad(set_to_none=True)
            step += 1
            tokens_seen += opts.tokens_per_step
            tokens_window += opts.tokens_per_step
            now = time.perf_counter()
            if now - t_window >= 2.0 or step == opts.max_steps:
                tok_s = tokens_window / (now - t_window)
                t_window, tokens_window = now, 0
            record = {"step": step, "loss": round(loss_sum, 5), "lr": lr, "tokens_per_s": round(tok_s)}
            if opts.peak_flops:
                record["mfu"] = round(tok_s * opts.flops_per_token / opts.peak_flops, 4)
            if step % opts.eval_interval == 0 or step == opts.max_steps:
                model.eval()
                last_val = evaluate()
                model.train()
                record["val_loss"] = round(last_val, 5)
                improved = last_val < best
                if improved:
                    best, bad = last_val, 0
                else:
                    bad += 1
                meta = {"step": step, "tokens_seen": tokens_seen, "val_loss": last_val,
                        "best_val_loss": best, "lr": lr}
                if improved:
                    save("best", state(), meta)
                save("last", state(), meta)
                if opts.patience and bad >= opts.patience:
                    stopped_early = True
            history.append(record)
            if log:
                log.write(json.dumps(record) + "\n")
                log.flush()
            bar.set_postfix(loss=f"{loss_sum:.3f}", val=f"{last_val:.3f}", tok_s=f"{tok_s:,.0f}",
                            **({"mfu": f"{record['mfu']:.0%}"} if "mfu" in record else {}))
            bar.update(1)
            if on_step:  # progress events (and a hook for tests to simulate a kill)
                on_step({**record, "max_steps": opts.max_steps, "val_loss": last_val})
            if stopped_early:
                break
    finally:
        bar.close()
        if log:
            log.close()
    seconds = time.perf_counter() - t_start
    done_tokens = tokens_seen - (resume["tokens_seen"] if resume else 0)
    return LoopResult(step, tokens_seen, best, last_val, seconds, done_tokens / max(seconds, 1e-9),
                      stopped_early, history)
