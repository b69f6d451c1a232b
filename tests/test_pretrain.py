"""Pretraining on a real book with the tiny config: learning, checkpoints, resume, bad inputs."""

from __future__ import annotations

import json
import subprocess
import sys

import msgspec
import pytest
import torch

from commands.main import main
from bookgpt.config import load_config
from bookgpt.inference import BookModel
from bookgpt.model import GPT
from bookgpt.paths import BookPaths
from bookgpt.tokenizer import TokenizerError, tokenize_book
from bookgpt.train.checkpoint import (CheckpointError, load_checkpoint, model_from_checkpoint,
                                      save_checkpoint)
from bookgpt.train.pretrain import pretrain_book


@pytest.fixture(scope="module")
def book(crawled, tiny_cfg):
    paths = BookPaths(crawled, "tangled_tale")
    tokenize_book(paths, tiny_cfg.tokenizer)
    return paths


def with_eval(cfg, every):
    return msgspec.structs.replace(cfg, pretrain=msgspec.structs.replace(cfg.pretrain,
                                                                         eval_interval=every))


def test_loss_falls_and_checkpoints_carry_their_recipe(book, tiny_cfg):
    r = pretrain_book(tiny_cfg, book, progress=False)
    log = [json.loads(line) for line in book.log("pretrain").read_text().splitlines()]
    first = sum(rec["loss"] for rec in log[:3]) / 3
    last = sum(rec["loss"] for rec in log[-3:]) / 3
    assert r.steps == tiny_cfg.pretrain.max_steps == len(log)
    assert last < first - 0.8, (first, last)  # ln(512) = 6.2 at the start
    assert r.best_val_loss < first - 0.7
    blob = load_checkpoint(book.pretrain_dir / "best.pt")
    meta = blob["meta"]
    assert meta["seed"] == tiny_cfg.pretrain.seed and meta["device"] == "cpu"
    assert meta["val_loss"] == pytest.approx(r.best_val_loss)
    assert meta["tokens_seen"] > 0 and meta["step"] > 0
    assert blob["model_config"]["n_layer"] == tiny_cfg.model.n_layer
    assert json.loads((book.pretrain_dir / "best.json").read_text())["vocab_size"] == blob["vocab_size"]
    assert not list(book.pretrain_dir.glob("*.tmp"))


def test_save_load_gives_identical_logits(tmp_path, tiny_cfg):
    torch.manual_seed(0)
    model = GPT(tiny_cfg.model, 97).eval()
    path = tmp_path / "m.pt"
    save_checkpoint(path, model=model, model_cfg=tiny_cfg.model, vocab_size=97, meta={"step": 1})
    loaded, _ = model_from_checkpoint(load_checkpoint(path))
    loaded.eval()
    x = torch.randint(0, 97, (2, 20))
    with torch.no_grad():
        assert torch.equal(model(x, all_logits=True)[0], loaded(x, all_logits=True)[0])


def test_killed_run_resumes_to_the_same_state(book, tiny_cfg):
    # with dropout, so that the random state too must survive the kill for the weights to match
    cfg = with_eval(msgspec.structs.replace(
        tiny_cfg, model=msgspec.structs.replace(tiny_cfg.model, dropout=0.1)), 10)
    pretrain_book(cfg, book, progress=False)
    reference = load_checkpoint(book.pretrain_dir / "last.pt")

    def crash(record: dict) -> None:
        if record["step"] == 25:
            raise KeyboardInterrupt("simulated kill")

    with pytest.raises(KeyboardInterrupt):
        pretrain_book(cfg, book, progress=False, on_step=crash)
    assert load_checkpoint(book.pretrain_dir / "last.pt")["train_state"]["step"] == 20
    r = pretrain_book(cfg, book, resume=True, progress=False)
    resumed = load_checkpoint(book.pretrain_dir / "last.pt")
    assert r.steps == cfg.pretrain.max_steps
    for name, tensor in reference["model"].items():
        assert torch.equal(tensor, resumed["model"][name]), name
    assert resumed["meta"]["val_loss"] == reference["meta"]["val_loss"]


def test_corrupt_and_truncated_checkpoints_are_refused(book, tiny_cfg, tmp_path):
    pretrain_book(tiny_cfg, book, progress=False)
    data = (book.pretrain_dir / "best.pt").read_bytes()
    bad = tmp_path / "truncated.pt"
    bad.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(bad)
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt or truncated"):
        load_checkpoint(bad)


def test_tokenizer_model_mismatch_is_refused(crawled, tiny_cfg, book):
    pretrain_book(tiny_cfg, book, progress=False)
    other = load_config(overrides=["tokenizer.vocab_size=400"]).tokenizer
    tokenize_book(book, other)  # rebuilt after training: 400 tokens instead of 512
    try:
        with pytest.raises(CheckpointError, match="tokenizer/model mismatch"):
            BookModel.load(book, stage="pretrain")
    finally:
        tokenize_book(book, tiny_cfg.tokenizer)


def test_same_size_but_other_tokenizer_is_refused(crawled, tiny_cfg, book):
    pretrain_book(tiny_cfg, book, progress=False)
    original = book.tokenizer.read_bytes()
    other = BookPaths(crawled, "relativity")
    tokenize_book(other, tiny_cfg.tokenizer)
    try:
        # another book's tokenizer of the very same size: only the recorded sha256 tells them apart
        book.tokenizer.write_bytes(other.tokenizer.read_bytes())
        with pytest.raises(CheckpointError, match="sha256 differs"):
            BookModel.load(book, stage="pretrain")
    finally:
        book.tokenizer.write_bytes(original)
    BookModel.load(book, stage="pretrain")


def test_resume_with_another_model_shape_or_broken_token_meta_is_refused(tiny_cfg, book):
    pretrain_book(tiny_cfg, book, progress=False)
    wider = msgspec.structs.replace(tiny_cfg, model=msgspec.structs.replace(tiny_cfg.model,
                                                                            n_embd=96))
    with pytest.raises(CheckpointError, match="does not fit the configured model"):
        pretrain_book(wider, book, resume=True, progress=False)
    meta = book.tokens_meta.read_bytes()
    try:
        book.tokens_meta.write_text("{not json")
        with pytest.raises(TokenizerError, match="is corrupt"):
            pretrain_book(tiny_cfg, book, progress=False)
    finally:
        book.tokens_meta.write_bytes(meta)


def test_cli_pretrain_and_sample(book, tiny_cfg, capsys):
    from bookgpt.config import CONFIG_DIR

    base = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(book.artifacts)]
    assert main(base + ["pretrain", "--book-id", "tangled_tale", "--no-progress"]) == 0
    assert "best validation loss" in capsys.readouterr().out
    assert main(base + ["sample", "--book-id", "tangled_tale", "--prompt", "The knight",
                        "--max-new-tokens", "10", "--seed", "1"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("The knight") and len(out) > len("The knight")
    assert main(base + ["sample", "--book-id", "tangled_tale", "--prompt", "x " * 200,
                        "--max-new-tokens", "10"]) == 2
    assert "exceeds the model's context" in capsys.readouterr().err


_FAULTS = """
import resource, sys, torch
from bookgpt.train.runtime import reuse_freed_memory
def faults(rounds=5):
    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(rounds):  # steps' large activations, allocated, written and freed
        torch.empty(16 << 20).fill_(1.0)
        torch.empty(4 << 20).fill_(1.0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before
faults()
plain = faults()
done = reuse_freed_memory()
faults(20)  # (the heap settles in a few steps)
print(plain, faults(), done)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's allocator settings")
def test_training_reuses_the_memory_its_steps_free():
    """After `reuse_freed_memory` (what training and `bench train` call), a large tensor that a
    step frees serves the next one: no fresh pages to fault in (a process of its own, for the
    setting lasts the process)."""
    out = subprocess.run([sys.executable, "-c", _FAULTS], capture_output=True, text=True,
                         check=True).stdout.split()
    plain, reused, done = int(out[0]), int(out[1]), out[2]
    assert done == "True"
    assert plain > 10_000 and reused < plain / 20, (plain, reused)
