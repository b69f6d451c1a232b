"""The Q&A path end to end on two real books with the tiny config: pipeline, ask, route, eval."""

from __future__ import annotations

import io
import json
import shutil

import pytest
import torch

from commands.main import main
from bookgpt.merge import merge_answers, token_f1
from bookgpt.messages import BookAnswer
from bookgpt.model import GPT
from bookgpt.paths import BookPaths
from bookgpt.qa.format import build_example
from bookgpt.tokenizer import SpecialIds, load_tokenizer
from bookgpt.train.finetune import collate

from conftest import TRAINED_BOOKS as BOOKS


def test_pipeline_writes_every_stage(trained):
    root, _ = trained
    for book in BOOKS:
        p = BookPaths(root, book)
        for f in (p.tokenizer, p.pretrain_dir / "best.pt", p.qa_dir / "train.jsonl",
                  p.qa_dir / "val.jsonl", p.finetune_dir / "best.pt", p.finetune_dir / "done.json"):
            assert f.is_file(), f
        meta = json.loads((p.finetune_dir / "best.json").read_text())
        assert meta["stage"] == "finetune" and meta["prompt_format"] in ("open", "closed")
    assert (root / "router").is_dir()


def test_pipeline_rerun_skips_finished_stages(trained, capsys):
    root, base = trained
    before = (BookPaths(root, BOOKS[0]).finetune_dir / "best.pt").stat().st_mtime_ns
    assert main(base + ["pipeline", "--no-progress", "--book-id", BOOKS[0]]) == 0
    assert (BookPaths(root, BOOKS[0]).finetune_dir / "best.pt").stat().st_mtime_ns == before
    assert "fine-tuned" not in capsys.readouterr().out


def test_ask_json_has_answer_and_provenance(trained, capsys):
    _, base = trained
    capsys.readouterr()
    assert main(base + ["ask", "What is the velocity of light?", "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    for key in ("answer", "book_id", "confidence", "abstained", "candidates"):
        assert key in ans
    assert not ans["abstained"] and ans["book_id"] in BOOKS
    assert 0.0 < ans["confidence"] <= 1.0
    assert ans["candidates"] and all({"book_id", "answer", "confidence", "weight", "passage"}
                                     <= set(c) for c in ans["candidates"])
    assert ans["candidates"][0]["passage"]


def test_route_json(trained, capsys):
    _, base = trained
    capsys.readouterr()
    assert main(base + ["route", "Einstein special theory of relativity and the velocity of light",
                        "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["abstained"] is False and r["books"][0]["book_id"] == "relativity"
    assert abs(sum(b["weight"] for b in r["books"]) - 1.0) < 1e-6


def test_a_declined_question_says_why(trained, capsys):
    """No book covers an everyday question, and `ask` and `route` say why (on the tiny shelf:
    its best book has too few of its words), in their text and in their JSON."""
    _, base = trained
    q = "What is the best recipe for chocolate cake with butter?"
    capsys.readouterr()
    assert main(base + ["ask", q, "--json"]) == 0
    ans = json.loads(capsys.readouterr().out)
    assert ans["abstained"] and not ans["candidates"] and "too few of its words" in ans["declined"]
    assert main(base + ["ask", q]) == 0
    assert capsys.readouterr().out == f"No book covers this question: {ans['declined']}.\n"
    assert main(base + ["route", q, "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["abstained"] and r["books"] == [] and r["declined"] == ans["declined"]
    # an answered question declines nothing
    assert main(base + ["ask", "What is the velocity of light?", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["declined"] == ""


@pytest.mark.parametrize("argv,message", [
    (["ask", "   "], "question is empty"),
    (["ask", "What?", "--book-id", "nope"], "unknown or untrained book"),
])
def test_ask_bad_input(trained, capsys, argv, message):
    _, base = trained
    assert main(base + argv) == 2
    assert message in capsys.readouterr().err


def test_ask_before_training_or_router(tmp_path, crawled, capsys):
    assert main(["--artifacts", str(tmp_path), "ask", "What is a square?"]) == 2
    assert "no router" in capsys.readouterr().err
    # a router over crawled books, but no model trained yet
    shutil.copytree(crawled / "books", tmp_path / "books")
    assert main(["--artifacts", str(tmp_path), "build-router"]) == 0
    # the router knows each book by its title and author, whom a question may name and the
    # text may not
    from bookgpt.router import BookRouter
    titles = BookRouter.load(tmp_path / "router").titles
    assert "A Tangled Tale, by Lewis Carroll" in titles
    assert main(["--artifacts", str(tmp_path), "ask", "What is a square?"]) == 2
    assert "no fine-tuned book models" in capsys.readouterr().err


def test_eval_reports_models_and_baseline(trained, capsys):
    _, base = trained
    capsys.readouterr()
    assert main(base + ["eval", "--per-book", "4", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["decoding"] == "extract"
    assert sum(k["questions"] for k in r["by_kind"].values()) == r["questions"]
    assert r["questions"] == 8 and r["abstained_off_topic"] >= 0.5
    # the figures are the books' figures pooled (computed from the questions, not copied)
    books = r["books"]
    assert set(books) == set(BOOKS) and sum(b["questions"] for b in books.values()) == 8
    for key in ("route_top1", "book_f1", "merged_f1"):
        pooled = sum(b[key] * b["questions"] for b in books.values()) / 8
        assert r[key] == pytest.approx(pooled, abs=1e-3), key
    # a question generated from a book is routed to it (two books tell apart); the right book
    # among the top-K at least as often as first; an exact match is also a full F1
    assert r["route_top1"] >= 0.75 and r["route_topk"] >= r["route_top1"]
    assert r["book_em"] <= r["book_f1"] and r["merged_em"] <= r["merged_f1"]


def test_finetune_loss_ignores_prompt_tokens(tiny_cfg, trained):
    root, _ = trained
    tok = load_tokenizer(BookPaths(root, BOOKS[0]).tokenizer)
    special = SpecialIds.of(tok)
    ex = build_example(tok, special, "Who rode the horse?", "the knight", "A passage.", 64)
    x, y, m = collate([ex], special.pad, "cpu")
    assert m.sum() == len(tok.encode(" the knight").ids) + 1  # answer tokens and the end token
    torch.manual_seed(0)
    model = GPT(tiny_cfg.model, tok.get_vocab_size())

    def grads(targets):
        model.zero_grad()
        model(x, targets, m)[1].backward()
        return [p.grad.clone() for p in model.parameters()]

    y2 = y.clone()
    y2[~m] = (y2[~m] + 7) % tok.get_vocab_size()  # change every prompt label
    for a, b in zip(grads(y), grads(y2)):
        assert torch.equal(a, b)


def test_merge_policy_rules():
    a = BookAnswer(book_id="a", answer="the square", confidence=0.6, weight=0.5)
    b = BookAnswer(book_id="b", answer="a square", confidence=0.5, weight=0.3)
    c = BookAnswer(book_id="c", answer="a triangle", confidence=0.7, weight=0.2)
    chosen, conf = merge_answers([a, b, c])
    assert chosen.book_id == "a" and 0 < conf <= 0.6  # weight, confidence and agreement win
    dead = BookAnswer(book_id="d", error="timeout", weight=0.9)
    chosen, _ = merge_answers([dead, c])
    assert chosen.book_id == "c"  # a failed book is never chosen
    assert merge_answers([dead]) == (None, 0.0)
    # the router's weight counts more than a model's own (uncalibrated) confidence
    sure = BookAnswer(book_id="s", answer="a line", confidence=0.6, weight=0.3)
    routed = BookAnswer(book_id="r", answer="a point", confidence=0.2, weight=0.7)
    assert merge_answers([sure, routed])[0].book_id == "r"
    # ... even when the first book leads by a little and the second is twice as sure
    first = BookAnswer(book_id="f", answer="a circle", confidence=0.2, weight=0.55)
    second = BookAnswer(book_id="g", answer="a cone", confidence=0.45, weight=0.45)
    assert merge_answers([second, first])[0].book_id == "f"
    assert token_f1("the square", "a square") == 1.0
    assert token_f1("235 _lunations_", "235 lunations") == 1.0  # an underscore is punctuation


def test_chat_commands_and_history(trained, capsys, monkeypatch):
    root, base = trained
    script = ("/books\n/topk 1\n/topk zero\n/decoding generate\n"
              "What is the velocity of light?\n/history\n/nope\n/quit\n")
    monkeypatch.setattr("sys.stdin", io.StringIO(script))
    capsys.readouterr()
    assert main(base + ["chat"]) == 0
    out = capsys.readouterr().out
    assert all(b in out for b in BOOKS)
    assert "asking the top 1 books" in out and "usage: /topk N" in out
    assert "decoding: generate" in out and "1. What is the velocity of light?" in out
    assert "commands:" in out
