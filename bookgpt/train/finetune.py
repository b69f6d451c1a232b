"""Q&A fine-tuning of a pretrained book model: loss on answers only, plain book text mixed in."""

from __future__ import annotations

import logging
import math
from dataclasses import asdict, dataclass
from typing import Any
from collections.abc import Callable

import msgspec
import numpy as np
import torch

from bookgpt.config import Config, to_dict
from bookgpt.device import resolve_device
from bookgpt.fsio import atomic_write_json
from bookgpt.paths import BookPaths
from bookgpt.qa.format import Example, build_example
from bookgpt.qa.pairs import QAPair, read_jsonl
from bookgpt.tokenizer import SpecialIds, load_token_files, load_tokenizer
from bookgpt.train.checkpoint import (check_vocab, file_sha256, load_checkpoint,
                                      model_from_checkpoint, restore_training, save_checkpoint)
from bookgpt.train.loop import LoopOptions, train_loop
from bookgpt.train.pretrain import TokenBatches, TrainingError
from bookgpt.train.runtime import attention_block, autocast, autocast_dtype, seed_everything

log = logging.getLogger(__name__)


def collate(examples: list[Example], pad: int, device: str) -> tuple[torch.Tensor, ...]:
    """Right-pad to the longest example: inputs, targets (-100 where no loss) and the loss mask."""
    width = max(len(e.tokens) for e in examples) - 1
    x = torch.full((len(examples), width), pad, dtype=torch.long)
    y = torch.full((len(examples), width), -100, dtype=torch.long)
    m = torch.zeros((len(examples), width), dtype=torch.bool)
    for i, e in enumerate(examples):
        n = len(e.tokens) - 1
        x[i, :n] = torch.tensor(e.tokens[:-1])
        y[i, :n] = torch.tensor(e.tokens[1:])
        m[i, :n] = torch.tensor(e.loss_mask)
    return x.to(device), y.to(device), m.to(device)


class QABatches:
    """Batches of Q&A examples, with a share `text_mix` of plain-text batches against forgetting."""

    def __init__(self, examples: list[Example], text: TokenBatches | None, text_mix: float,
                 batch_size: int, pad: int, device: str, seed: int):
        self.examples, self.text, self.text_mix = examples, text, text_mix
        self.batch_size, self.pad, self.device = batch_size, pad, device
        self.rng = np.random.default_rng(seed)

    def next_train(self) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor | None]:
        if self.text is not None and self.rng.random() < self.text_mix:
            return self.text.next_train()
        picks = self.rng.integers(0, len(self.examples), self.batch_size)
        return collate([self.examples[i] for i in picks], self.pad, self.device)

    def state(self) -> dict[str, Any]:
        return {"rng": self.rng.bit_generator.state,
                "text": self.text.state() if self.text is not None else None}

    def load_state(self, state: dict[str, Any]) -> None:
        self.rng.bit_generator.state = state["rng"]
        if self.text is not None and state["text"] is not None:
            self.text.load_state(state["text"])


@torch.no_grad()
def qa_loss(model: torch.nn.Module, examples: list[Example], batch_size: int, pad: int,
            device: str, amp: torch.dtype | None) -> float:
    """Mean loss per answer token over `examples`."""
    total, count = 0.0, 0
    for i in range(0, len(examples), batch_size):
        x, y, m = collate(examples[i:i + batch_size], pad, device)
        with autocast(device, amp):
            _, loss = model(x, y, m)
        n = int(m.sum())
        total += loss.item() * n
        count += n
    return total / max(count, 1)


def make_examples(pairs: list[QAPair], tok, special: SpecialIds, cfg: Config,
                  prompt_format: str) -> list[Example]:
    ctx = cfg.model.context_length
    return [build_example(tok, special, p.question, p.answer,
                          p.passage[: cfg.finetune.passage_chars] if prompt_format == "open" else None,
                          ctx) for p in pairs]


@dataclass
class FinetuneResult:
    book_id: str
    steps: int
    best_val_loss: float
    seconds: float
    prompt_format: str
    stopped_early: bool


def finetune_book(cfg: Config, paths: BookPaths, *, resume: bool = False, progress: bool = True,
                  prompt_format: str | None = None, on_step: Callable[[dict], None] | None = None,
                  device: str | None = None) -> FinetuneResult:
    """Fine-tune from pretrain/best.pt on qa/train.jsonl; writes finetune/best.pt and last.pt."""
    device = device or resolve_device(cfg.device)
    f = cfg.finetune
    fmt = prompt_format or f.prompt_format
    tok = load_tokenizer(paths.tokenizer)
    special = SpecialIds.of(tok)
    for name in ("train.jsonl", "val.jsonl"):
        if not (paths.qa_dir / name).is_file():
            raise TrainingError(f"book '{paths.book_id}' has no Q&A pairs ({paths.qa_dir / name}); "
                                f"run `bookgpt qa --book-id {paths.book_id}` first")
    train_pairs, val_pairs = read_jsonl(paths.qa_dir / "train.jsonl"), read_jsonl(paths.qa_dir / "val.jsonl")
    if not train_pairs or not val_pairs:
        raise TrainingError(f"book '{paths.book_id}' has too few Q&A pairs to fine-tune "
                            f"({len(train_pairs)} train, {len(val_pairs)} validation)")
    pre = paths.pretrain_dir / "best.pt"
    blob = load_checkpoint(pre, map_location=device)
    check_vocab(blob, tok.get_vocab_size(), pre, paths.tokenizer)
    seed_everything(f.seed)
    model, mcfg = model_from_checkpoint(blob, device)
    model.set_attn_block(attention_block(device, cfg.pretrain.attn_block))
    cfg = msgspec.structs.replace(cfg, model=mcfg)  # the checkpoint's shape wins over the config's
    train_ex = make_examples(train_pairs, tok, special, cfg, fmt)
    val_ex = make_examples(val_pairs, tok, special, cfg, fmt)[:512]
    train_tokens, _, _ = load_token_files(paths)
    text = TokenBatches(train_tokens, f.batch_size, mcfg.context_length, device, f.seed + 1)
    batches = QABatches(train_ex, text if f.text_mix > 0 else None, f.text_mix, f.batch_size,
                        special.pad, device, f.seed)
    amp = autocast_dtype(device, cfg.pretrain.dtype)
    optimizer = model.configure_optimizer(cfg.pretrain.weight_decay, f.learning_rate,
                                          (cfg.pretrain.beta1, cfg.pretrain.beta2), device)
    steps = math.ceil(f.max_epochs * len(train_ex) / f.batch_size)
    steps = max(1, min(steps, f.max_steps) if f.max_steps else steps)
    state = None
    last = paths.finetune_dir / "last.pt"
    if resume and last.is_file():
        lb = load_checkpoint(last, map_location=device)
        state = restore_training(last, lb, model, optimizer)
    opts = LoopOptions(max_steps=steps, learning_rate=f.learning_rate, warmup_steps=f.warmup_steps,
                       min_lr_ratio=cfg.pretrain.min_lr_ratio, grad_clip=cfg.pretrain.grad_clip,
                       grad_accum=1, eval_interval=f.eval_interval, patience=f.patience,
                       tokens_per_step=f.batch_size * mcfg.context_length,
                       flops_per_token=model.flops_per_token(), progress=progress,
                       desc=f"finetune {paths.book_id}")
    recipe = {"book_id": paths.book_id, "stage": "finetune", "prompt_format": fmt, "seed": f.seed,
              "device": device, "from": "../pretrain/best.pt", "tokenizer": "../tokenizer.json",
              "tokenizer_sha256": file_sha256(paths.tokenizer), "train_pairs": len(train_ex),
              "config": to_dict(cfg)}

    def save(name: str, train_state: dict, meta: dict) -> None:
        save_checkpoint(paths.finetune_dir / f"{name}.pt", model=model, model_cfg=mcfg,
                        vocab_size=blob["vocab_size"], meta={**recipe, **meta},
                        optimizer=optimizer if name == "last" else None,
                        train_state=train_state if name == "last" else None)

    (paths.finetune_dir / "done.json").unlink(missing_ok=True)
    if not resume:
        paths.log("finetune").unlink(missing_ok=True)
    r = train_loop(model, optimizer, batches,
                   lambda: qa_loss(model, val_ex, f.batch_size, special.pad, device, amp), opts,
                   save, device=device, amp_dtype=amp, log_path=paths.log("finetune"),
                   resume=state, on_step=on_step)
    out = FinetuneResult(paths.book_id, r.steps, r.best_val, r.seconds, fmt, r.stopped_early)
    atomic_write_json(paths.finetune_dir / "done.json", asdict(out))  # marks the stage finished
    return out

