"""Per-book byte-level BPE tokenizer (HF `tokenizers`) and the book's token files for training."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers

from bookgpt.config import TokenizerConfig
from bookgpt.fsio import atomic_path, atomic_write_json, read_json
from bookgpt.paths import BookPaths

log = logging.getLogger(__name__)

EOT, QUESTION, ANSWER, PASSAGE, PAD = ("<|endoftext|>", "<|question|>", "<|answer|>", "<|passage|>",
                                       "<|pad|>")
SPECIAL_TOKENS = [EOT, QUESTION, ANSWER, PASSAGE, PAD]  # ids 0..4 in every book's tokenizer
TOKEN_DTYPE = np.uint16  # every vocabulary we build is below 65,536


class TokenizerError(RuntimeError):
    """A tokenizer or token file is missing or does not match; the message says what to run."""


@dataclass(frozen=True)
class SpecialIds:
    eot: int
    question: int
    answer: int
    passage: int
    pad: int

    @staticmethod
    def of(tok: Tokenizer) -> "SpecialIds":
        ids = [tok.token_to_id(t) for t in SPECIAL_TOKENS]
        if any(i is None for i in ids):
            raise TokenizerError("tokenizer lacks BookGPT's special tokens; rebuild it with "
                                 "`bookgpt tokenize`")
        return SpecialIds(*ids)  # type: ignore[arg-type]


def _chunks(text: str, size: int = 1 << 16):
    for i in range(0, len(text), size):
        yield text[i:i + size]


def train_tokenizer(text: str, cfg: TokenizerConfig) -> Tokenizer:
    """Train a byte-level BPE on one book; the real vocabulary may be smaller than requested."""
    if cfg.vocab_size > 65536:
        raise TokenizerError(f"tokenizer.vocab_size {cfg.vocab_size} exceeds 65,536 (token files "
                             f"are uint16); choose a smaller vocabulary")
    tok = Tokenizer(models.BPE())
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=cfg.vocab_size, min_frequency=cfg.min_frequency,
                                  special_tokens=SPECIAL_TOKENS, show_progress=False,
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator(_chunks(text), trainer=trainer, length=len(text))
    return tok


def load_tokenizer(path: Path) -> Tokenizer:
    if not path.is_file():
        raise TokenizerError(f"no tokenizer at {path}; run `bookgpt tokenize --book-id "
                             f"{path.parent.name}` first")
    try:
        return Tokenizer.from_file(str(path))
    except Exception as exc:  # tokenizers raises a bare Exception on corrupt JSON
        raise TokenizerError(f"tokenizer {path} is corrupt ({exc}); run `bookgpt tokenize` again") from None


def split_blocks(n: int, val_fraction: float, val_blocks: int) -> list[tuple[int, int]]:
    """Validation spans: `val_blocks` contiguous blocks spread evenly, `val_fraction` of n in all."""
    val_blocks = max(1, val_blocks)
    seg = n // val_blocks
    width = int(n * val_fraction / val_blocks)
    return [(i * seg + seg - width, i * seg + seg) for i in range(val_blocks)] if width else []


def tokenize_book(paths: BookPaths, cfg: TokenizerConfig) -> dict:
    """Train the book's tokenizer, encode the book once, and write train/val token files atomically."""
    if not paths.text.is_file():
        raise TokenizerError(f"book '{paths.book_id}' has no clean text at {paths.text}; run "
                             f"`bookgpt crawl --book-id {paths.book_id}` first")
    text = paths.text.read_text(encoding="utf-8")
    tok = train_tokenizer(text, cfg)
    vocab = tok.get_vocab_size()
    if vocab < cfg.vocab_size:
        log.warning("book '%s' (%d characters) is too small for a %d-token vocabulary: BPE found "
                    "only %d tokens at min_frequency %d; the model uses %d", paths.book_id,
                    len(text), cfg.vocab_size, vocab, cfg.min_frequency, vocab)
    eot = tok.token_to_id(EOT)
    # Encode paragraph batches so the Rust encoder runs in parallel, then join with one EOT at the end.
    paragraphs = text.split("\n\n")
    ids: list[int] = []
    for enc in tok.encode_batch(["\n\n" + p if i else p for i, p in enumerate(paragraphs)]):
        ids.extend(enc.ids)
    ids.append(eot)
    arr = np.asarray(ids, dtype=TOKEN_DTYPE)
    spans = split_blocks(len(arr), cfg.val_fraction, cfg.val_blocks)
    mask = np.zeros(len(arr), dtype=bool)
    for a, b in spans:
        mask[a:b] = True
    train, val = arr[~mask], arr[mask]
    if not len(val) or not len(train):
        raise TokenizerError(f"book '{paths.book_id}' is too short to train on: {len(text):,} "
                             f"characters gave {len(arr)} tokens, too few for a training and a "
                             f"validation split; check {paths.text} (was the right file crawled?)")
    paths.tokens_dir.mkdir(parents=True, exist_ok=True)
    paths.tokens_meta.unlink(missing_ok=True)  # written last: marks the token files complete
    with atomic_path(paths.tokenizer) as tmp:
        tok.save(str(tmp))
    for target, data in ((paths.train_tokens, train), (paths.val_tokens, val)):
        with atomic_path(target) as tmp:
            data.tofile(tmp)
    meta = {"book_id": paths.book_id, "vocab_size": vocab, "requested_vocab_size": cfg.vocab_size,
            "tokens": int(len(arr)), "train_tokens": int(len(train)), "val_tokens": int(len(val)),
            "val_spans": [list(s) for s in spans], "chars": len(text),
            "chars_per_token": len(text) / max(1, len(arr)),
            "dtype": "uint16"}
    atomic_write_json(paths.tokens_meta, meta)
    return meta


def load_token_files(paths: BookPaths) -> tuple[np.memmap, np.memmap, dict]:
    """Memory-map the book's train and validation tokens (checked against their meta)."""
    if not paths.tokens_meta.is_file():
        raise TokenizerError(f"book '{paths.book_id}' has no token files; run `bookgpt tokenize "
                             f"--book-id {paths.book_id}` first")
    try:
        meta = read_json(paths.tokens_meta)
        meta["train_tokens"], meta["val_tokens"]  # noqa: B018 - both keys must be there
    except (ValueError, KeyError, TypeError):
        raise TokenizerError(f"{paths.tokens_meta} is corrupt; run `bookgpt tokenize --book-id "
                             f"{paths.book_id}` again") from None
    arrays = []
    for path, key in ((paths.train_tokens, "train_tokens"), (paths.val_tokens, "val_tokens")):
        size = path.stat().st_size if path.is_file() else -1
        if size != meta[key] * np.dtype(TOKEN_DTYPE).itemsize:
            raise TokenizerError(f"token file {path} is missing or truncated; run `bookgpt tokenize "
                                 f"--book-id {paths.book_id}` again")
        # an empty file cannot be memory-mapped; the trainer then says the split is too small
        arrays.append(np.memmap(path, dtype=TOKEN_DTYPE, mode="r") if size else
                      np.zeros(0, dtype=TOKEN_DTYPE))
    return arrays[0], arrays[1], meta
