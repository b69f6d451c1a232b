"""Checkpoints that carry their recipe: weights, model config, vocabulary, training state and metadata.

Written atomically with torch.save; read with `weights_only=True`, so loading never executes code.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import msgspec
import torch

from bookgpt.config import ModelConfig
from bookgpt.fsio import atomic_path, atomic_write_json

FORMAT_VERSION = 1


class CheckpointError(RuntimeError):
    """A checkpoint is missing, corrupt, truncated or does not fit; the message says what to do."""


def save_checkpoint(path: Path, *, model: torch.nn.Module, model_cfg: ModelConfig, vocab_size: int,
                    meta: dict[str, Any], optimizer: torch.optim.Optimizer | None = None,
                    train_state: dict[str, Any] | None = None) -> None:
    """Write `path` (a .pt file) and a readable `path.json` of its metadata, both atomically."""
    state = {k.replace("_orig_mod.", ""): v.detach().cpu()
             for k, v in model.state_dict().items()}
    blob = {
        "format_version": FORMAT_VERSION,
        "model": state,
        "model_config": msgspec.to_builtins(model_cfg),
        "vocab_size": int(vocab_size),
        "meta": meta,
        "optimizer": optimizer.state_dict() if optimizer is not None else None,
        "train_state": train_state,
    }
    with atomic_path(path) as tmp:
        torch.save(blob, tmp)
    atomic_write_json(path.with_suffix(".json"), {**meta, "model_config": blob["model_config"],
                                                  "vocab_size": int(vocab_size)})


def load_checkpoint(path: Path, map_location: str | torch.device = "cpu") -> dict[str, Any]:
    """Read a checkpoint safely; a missing, truncated or foreign file gets a clear error."""
    if not path.is_file():
        raise CheckpointError(f"no checkpoint at {path}; train the book first (`bookgpt pretrain`)")
    try:
        blob = torch.load(path, map_location=map_location, weights_only=True)
    except Exception as exc:  # torch raises RuntimeError, EOFError, UnpicklingError, zipfile errors...
        raise CheckpointError(f"checkpoint {path} is corrupt or truncated ({type(exc).__name__}: "
                              f"{str(exc)[:120]}); delete it and train again, or use the other "
                              f"checkpoint (best.pt / last.pt) in the same directory") from None
    if not isinstance(blob, dict) or blob.get("format_version") != FORMAT_VERSION:
        raise CheckpointError(f"{path} is not a BookGPT checkpoint (format {FORMAT_VERSION})")
    return blob


def model_from_checkpoint(blob: dict[str, Any], device: str = "cpu"):
    """Build the GPT described by a checkpoint and load its weights."""
    from bookgpt.model import GPT

    cfg = msgspec.convert(blob["model_config"], ModelConfig)
    model = GPT(cfg, blob["vocab_size"])
    try:
        model.load_state_dict(blob["model"])
    except RuntimeError as exc:
        raise CheckpointError(f"checkpoint weights do not fit its model config: {str(exc)[:200]}") from None
    return model.to(device), cfg


def file_sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def restore_training(path: Path, blob: dict[str, Any], model: torch.nn.Module,
                     optimizer: torch.optim.Optimizer) -> dict[str, Any]:
    """Load a last.pt's weights and optimizer state for --resume; returns its training state.

    A checkpoint of another model shape (the config changed since) is a clear error, not a crash.
    """
    try:
        model.load_state_dict(blob["model"])
        optimizer.load_state_dict(blob["optimizer"])
    except (RuntimeError, ValueError, KeyError) as exc:
        raise CheckpointError(f"{path} does not fit the configured model ({str(exc)[:160]}); the "
                              f"model settings changed since it was written: restore them, or "
                              f"delete {path.parent} to start over") from None
    return blob["train_state"]


def check_vocab(blob: dict[str, Any], tokenizer_vocab: int, where: Path,
                tokenizer_path: Path | None = None) -> None:
    """The checkpoint must have been trained with this tokenizer: same size, and the same file
    (its sha256, recorded in the checkpoint's metadata) when both are known."""
    recorded = (blob.get("meta") or {}).get("tokenizer_sha256")
    if tokenizer_path is not None and recorded and recorded != file_sha256(tokenizer_path):
        raise CheckpointError(f"tokenizer/model mismatch at {where}: {tokenizer_path} is not the "
                              f"tokenizer this model was trained with (sha256 differs); the "
                              f"tokenizer was rebuilt after training, so train again "
                              f"(`bookgpt pretrain --book-id ...`, then finetune)")
    if blob["vocab_size"] != tokenizer_vocab:
        raise CheckpointError(f"tokenizer/model mismatch at {where}: the tokenizer has "
                              f"{tokenizer_vocab} tokens but the model was trained with "
                              f"{blob['vocab_size']}; the tokenizer was rebuilt after training, so "
                              f"train again (`bookgpt pretrain --book-id ...`)")
