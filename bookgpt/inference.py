"""A loaded book model: tokenizer + checkpoint on a device, turning text prompts into completions."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import torch
from tokenizers import Tokenizer

from bookgpt.device import resolve_device
from bookgpt.paths import BookPaths
from bookgpt.tokenizer import SpecialIds, load_tokenizer
from bookgpt.train.checkpoint import (CheckpointError, check_vocab, load_checkpoint,
                                      model_from_checkpoint)


class PromptError(ValueError):
    """A prompt does not fit the model (empty, or too long for its context)."""


@dataclass
class Completion:
    text: str
    tokens: list[int]
    logprobs: list[float]
    stopped: bool

    @property
    def mean_logprob(self) -> float:
        return sum(self.logprobs) / len(self.logprobs) if self.logprobs else float("-inf")


class BookModel:
    """One book's tokenizer and model, ready to generate."""

    def __init__(self, book_id: str, tokenizer: Tokenizer, model: torch.nn.Module, device: str,
                 checkpoint: Path, meta: dict, score_dtype: torch.dtype | None = None):
        self.book_id, self.tokenizer, self.model, self.device = book_id, tokenizer, model, device
        self.checkpoint, self.meta = checkpoint, meta
        self.score_dtype = score_dtype  # bf16: answers are scored under bf16 autocast
        self.special = SpecialIds.of(tokenizer)
        self.context_length = model.cfg.context_length

    @classmethod
    def load(cls, paths: BookPaths, stage: str = "finetune", which: str = "best",
             device_pref: str = "auto", score_dtype: str = "fp32") -> "BookModel":
        """`score_dtype` (`serve.score_dtype`): auto, bf16 or fp32 for scoring answers; auto is
        bf16 where the device does it fast (a CPU with AVX-512 BF16 or AMX, CUDA, MPS)."""
        from bookgpt.train.runtime import autocast_dtype

        ckpt = (paths.finetune_dir if stage == "finetune" else paths.pretrain_dir) / f"{which}.pt"
        if not ckpt.is_file():
            command = "finetune" if stage == "finetune" else "pretrain"
            raise CheckpointError(f"book '{paths.book_id}' has no {stage} checkpoint at {ckpt}; run "
                                  f"`bookgpt {command} --book-id {paths.book_id}` first")
        device = resolve_device(device_pref)
        tok = load_tokenizer(paths.tokenizer)
        blob = load_checkpoint(ckpt)
        check_vocab(blob, tok.get_vocab_size(), ckpt, paths.tokenizer)
        model, _ = model_from_checkpoint(blob, device)
        model.eval()
        return cls(paths.book_id, tok, model, device, ckpt, blob["meta"],
                   autocast_dtype(device, score_dtype))

    def encode(self, text: str) -> list[int]:
        return self.tokenizer.encode(text).ids

    def decode(self, ids: list[int]) -> str:
        return self.tokenizer.decode(ids, skip_special_tokens=True)

    def complete(self, prompts: list[str] | list[list[int]], *, max_new_tokens: int,
                 temperature: float = 0.0, top_k: int = 0, top_p: float = 1.0,
                 seed: int | None = None, stop_ids: frozenset[int] | None = None,
                 on_token=None) -> list[Completion]:
        """Generate continuations for a batch of prompts (text or token ids); `on_token(row, id,
        logprob)` hears of each kept token as it is made (see bookgpt.model.generate.OnToken)."""
        from bookgpt.model.generate import Sampling, generate

        ids = [self.encode(p) if isinstance(p, str) else list(p) for p in prompts]
        gen = None
        if seed is not None:
            gen = torch.Generator(device=self.device)
            gen.manual_seed(seed)
        stops = stop_ids if stop_ids is not None else frozenset({self.special.eot})
        try:
            results = generate(self.model, ids, Sampling(max_new_tokens, temperature=temperature, top_k=top_k,
                                                         top_p=top_p, stop_ids=stops),
                               pad_id=self.special.pad, generator=gen, on_token=on_token)
        except ValueError as exc:
            raise PromptError(f"book '{self.book_id}': {exc}") from None
        return [Completion(self.decode(r.tokens), r.tokens, r.logprobs, r.stopped) for r in results]

    def score_answers(self, prompts: list[list[int]], answers: list[list[str]],
                      max_tokens: int | None = None) -> list[list[list[float]]]:
        """Per-token log-probabilities of each prompt's candidate answers and of the end token after
        each: the model's judgement of answers it did not have to write itself. out[j][i] belongs
        to answers[j][i]; one batched pass serves every prompt.

        Phrases of one sentence overlap ("the velocity" begins "the velocity of light"), and a
        phrase that begins another rides on it (bookgpt.model.score.score_answers): the model
        reads about a third of the tokens it would read scoring each phrase alone. An answer longer
        than `max_tokens` is judged by its first `max_tokens` tokens."""
        from bookgpt.model.score import score_answers

        cap = min(max_tokens or self.context_length, self.context_length // 2)
        seqs = [[self.encode(" " + a)[:cap] for a in cs] for cs in answers]
        longest = max((len(c) + 1 for cs in seqs for c in cs), default=1)  # and the end token
        kept = [list(p)[-(self.context_length + 1 - longest):] for p in prompts]
        if any(not p for p in kept):
            raise PromptError(f"book '{self.book_id}': scoring an answer needs a prompt")
        return score_answers(self.model, kept, seqs, self.special.eot, self.special.pad,
                             self.score_dtype)
