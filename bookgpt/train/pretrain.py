"""Pretraining one book's GPT from scratch on its memory-mapped token file."""

from __future__ import annotations

import logging
import math
import time
from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Callable

import numpy as np
import torch

from bookgpt.config import Config, to_dict
from bookgpt.device import resolve_device
from bookgpt.fsio import atomic_write_json
from bookgpt.paths import BookPaths
from bookgpt.tokenizer import load_token_files, load_tokenizer
from bookgpt.train.checkpoint import (check_vocab, file_sha256, load_checkpoint,
                                      restore_training, save_checkpoint)
from bookgpt.train.loop import LoopOptions, LoopResult, train_loop
from bookgpt.train.runtime import (attention_block, autocast, autocast_dtype, seed_everything,
                                   use_compile)

log = logging.getLogger(__name__)


class TrainingError(RuntimeError):
    """Training cannot start; the message says why and what to do."""


class TokenBatches:
    """Random windows of `context + 1` tokens from a memory-mapped token array, seeded and resumable."""

    def __init__(self, tokens: np.ndarray, batch_size: int, context: int, device: str, seed: int):
        if len(tokens) <= context + 1:
            raise TrainingError(f"only {len(tokens)} training tokens, fewer than one window of "
                                f"{context + 1}; use a longer book or a smaller model.context_length")
        self.tokens, self.batch_size, self.context, self.device = tokens, batch_size, context, device
        self.rng = np.random.default_rng(seed)

    def next_train(self) -> tuple[torch.Tensor, torch.Tensor, None]:
        starts = self.rng.integers(0, len(self.tokens) - self.context - 1, self.batch_size)
        rows = np.stack([self.tokens[s:s + self.context + 1] for s in starts]).astype(np.int64)
        t = torch.from_numpy(rows)
        return t[:, :-1].to(self.device), t[:, 1:].to(self.device), None

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]


@torch.no_grad()
def evaluate_tokens(model: torch.nn.Module, tokens: np.ndarray, context: int, batch_size: int,
                    batches: int, device: str, amp_dtype: torch.dtype | None) -> float:
    """Mean loss over up to `batches` x `batch_size` evenly spaced, fixed windows of `tokens`."""
    n_windows = max(1, min(batches * batch_size, (len(tokens) - 1) // context))
    starts = np.linspace(0, len(tokens) - context - 1, n_windows).astype(np.int64)
    total, count = 0.0, 0
    for i in range(0, len(starts), batch_size):
        rows = np.stack([tokens[s:s + context + 1] for s in starts[i:i + batch_size]]).astype(np.int64)
        t = torch.from_numpy(rows).to(device)
        with autocast(device, amp_dtype):
            _, loss = model(t[:, :-1], t[:, 1:])
        total += loss.item() * len(rows)
        count += len(rows)
    return total / count


def measure_matmul_peak(dtype: torch.dtype, device: str = "cpu", n: int = 1024,
                        seconds: float = 0.5) -> float:
    """FLOP/s of square matmuls at this size on this device (a quick, local peak for MFU)."""
    a = torch.randn(n, n, device=device, dtype=dtype)
    b = torch.randn(n, n, device=device, dtype=dtype)
    a @ b  # warm-up
    reps, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        a @ b
        reps += 1
    if device == "cuda":
        torch.cuda.synchronize()
    return 2 * n**3 * reps / (time.perf_counter() - start)


@dataclass
class PretrainResult:
    book_id: str
    steps: int
    tokens_seen: int
    best_val_loss: float
    perplexity: float
    seconds: float
    tokens_per_s: float
    stopped_early: bool
    device: str
    parameters: int


def planned_steps(cfg: Config, train_tokens: int) -> int:
    p = cfg.pretrain
    per_step = p.batch_size * p.grad_accum * cfg.model.context_length
    steps = math.ceil(p.max_epochs * train_tokens / per_step)
    return max(1, min(steps, p.max_steps) if p.max_steps else steps)


def pretrain_book(cfg: Config, paths: BookPaths, *, resume: bool = False, progress: bool = True,
                  on_step: Callable[[dict], None] | None = None,
                  device: str | None = None) -> PretrainResult:
    """Pretrain (or resume) the book's model; writes pretrain/best.pt and pretrain/last.pt."""
    from bookgpt.model import GPT

    device = device or resolve_device(cfg.device)
    p, mcfg = cfg.pretrain, cfg.model
    tok = load_tokenizer(paths.tokenizer)
    train, val, tmeta = load_token_files(paths)
    vocab = tok.get_vocab_size()
    if tmeta["vocab_size"] != vocab:
        raise TrainingError(f"token files of '{paths.book_id}' were made with another tokenizer; "
                            f"run `bookgpt tokenize --book-id {paths.book_id}` again")
    if len(val) <= mcfg.context_length + 1:
        raise TrainingError(f"validation split of '{paths.book_id}' has {len(val)} tokens, less than "
                            f"one context window ({mcfg.context_length}); raise "
                            f"tokenizer.val_fraction or lower model.context_length")
    seed_everything(p.seed)
    model = GPT(mcfg, vocab, attn_block=attention_block(device, p.attn_block)).to(device)
    steps = planned_steps(cfg, len(train))
    amp = autocast_dtype(device, p.dtype)
    optimizer = model.configure_optimizer(p.weight_decay, p.learning_rate, (p.beta1, p.beta2), device)
    state = None
    last_path = paths.pretrain_dir / "last.pt"
    if resume and last_path.is_file():
        blob = load_checkpoint(last_path, map_location=device)
        check_vocab(blob, vocab, last_path, paths.tokenizer)
        state = restore_training(last_path, blob, model, optimizer)
        log.info("resuming '%s' from step %d", paths.book_id, state["step"])
    elif resume:
        log.info("no checkpoint of '%s' to resume; starting from scratch", paths.book_id)
    compiled = use_compile(device, p.compile, steps - (state["step"] if state else 0))
    if compiled:
        model.compile_blocks()
    batches = TokenBatches(train, p.batch_size, mcfg.context_length, device, p.seed)
    peak = measure_matmul_peak(amp or torch.float32, device) if progress else None
    opts = LoopOptions(
        max_steps=steps, learning_rate=p.learning_rate, warmup_steps=p.warmup_steps,
        min_lr_ratio=p.min_lr_ratio, grad_clip=p.grad_clip, grad_accum=p.grad_accum,
        eval_interval=p.eval_interval, patience=p.patience,
        tokens_per_step=p.batch_size * p.grad_accum * mcfg.context_length,
        flops_per_token=model.flops_per_token(), peak_flops=peak, progress=progress,
        desc=f"pretrain {paths.book_id}")
    recipe = {"book_id": paths.book_id, "stage": "pretrain", "seed": p.seed, "device": device,
              "dtype": str(amp).removeprefix("torch.") if amp else "float32", "compiled": compiled,
              "tokenizer": "../tokenizer.json",
              "tokenizer_sha256": file_sha256(paths.tokenizer), "config": to_dict(cfg)}

    def save(name: str, train_state: dict, meta: dict) -> None:
        save_checkpoint(paths.pretrain_dir / f"{name}.pt", model=model, model_cfg=mcfg,
                        vocab_size=vocab, meta={**recipe, **meta},
                        optimizer=optimizer if name == "last" else None,
                        train_state=train_state if name == "last" else None)

    def evaluate() -> float:
        return evaluate_tokens(model, val, mcfg.context_length, p.batch_size, p.eval_batches,
                               device, amp)

    (paths.pretrain_dir / "done.json").unlink(missing_ok=True)
    if not resume:
        paths.log("pretrain").unlink(missing_ok=True)
    result: LoopResult = train_loop(model, optimizer, batches, evaluate, opts, save, device=device,
                                    amp_dtype=amp, log_path=paths.log("pretrain"), resume=state,
                                    on_step=on_step)
    out = PretrainResult(paths.book_id, result.steps, result.tokens_seen, result.best_val,
                         math.exp(min(result.best_val, 50)), result.seconds, result.tokens_per_s,
                         result.stopped_early, device, model.num_params())
    atomic_write_json(paths.pretrain_dir / "done.json", asdict(out))  # marks the stage finished
    return out
