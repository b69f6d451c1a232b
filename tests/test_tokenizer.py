"""Per-book BPE tokenizer and token files on a real book."""

from __future__ import annotations

import logging

import numpy as np
import pytest

from commands.main import main
from bookgpt.config import load_config
from bookgpt.paths import BookPaths
from bookgpt.tokenizer import (SPECIAL_TOKENS, SpecialIds, TokenizerError, load_token_files,
                               load_tokenizer, split_blocks, tokenize_book)


def test_tokenize_writes_tokenizer_and_token_files(crawled, tiny_cfg):
    paths = BookPaths(crawled, "tangled_tale")
    meta = tokenize_book(paths, tiny_cfg.tokenizer)
    tok = load_tokenizer(paths.tokenizer)
    assert tok.get_vocab_size() == meta["vocab_size"] == tiny_cfg.tokenizer.vocab_size
    assert [tok.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2, 3, 4]
    train, val, meta2 = load_token_files(paths)
    assert meta2 == meta and len(train) + len(val) == meta["tokens"]
    assert 0.08 < len(val) / meta["tokens"] < 0.12
    # the token files decode back to the book (round trip of a validation span)
    text = paths.text.read_text()
    a, b = meta["val_spans"][3]
    ids = np.fromfile(paths.val_tokens, dtype=np.uint16)
    assert len(ids) == len(val)
    full = tok.encode(text[:2000]).ids
    assert tok.decode(full) == text[:2000]
    assert SpecialIds.of(tok).eot == 0
    assert int(val.max()) < meta["vocab_size"] and a < b


def test_small_book_warns_and_uses_real_vocab(crawled, caplog):
    cfg = load_config(overrides=["tokenizer.vocab_size=60000"])
    paths = BookPaths(crawled, "relativity")
    with caplog.at_level(logging.WARNING):
        meta = tokenize_book(paths, cfg.tokenizer)
    assert meta["vocab_size"] < 60000
    assert "too small" in caplog.text and str(meta["vocab_size"]) in caplog.text


def test_validation_blocks_are_contiguous_and_spread():
    spans = split_blocks(1000, 0.1, 10)
    assert len(spans) == 10 and sum(b - a for a, b in spans) == 100
    assert spans[0][1] <= spans[1][0] and spans[-1][1] == 1000


def test_truncated_token_file_is_detected(crawled, tiny_cfg, tmp_path):
    paths = BookPaths(crawled, "tangled_tale")
    tokenize_book(paths, tiny_cfg.tokenizer)
    data = paths.train_tokens.read_bytes()
    paths.train_tokens.write_bytes(data[: len(data) // 2])
    with pytest.raises(TokenizerError, match="truncated"):
        load_token_files(paths)
    tokenize_book(paths, tiny_cfg.tokenizer)
    load_token_files(paths)


def test_missing_book_is_a_clear_cli_error(crawled, capsys):
    code = main(["--artifacts", str(crawled), "tokenize", "--book-id", "nope"])
    assert code == 2
    assert "'nope' not crawled" in capsys.readouterr().err


def test_missing_tokenizer_is_a_clear_error(tmp_path):
    with pytest.raises(TokenizerError, match="run `bookgpt tokenize"):
        load_tokenizer(tmp_path / "models/x/tokenizer.json")
