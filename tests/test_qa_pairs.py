"""Question-answer pairs generated from real Gutenberg books by patterns (bookgpt.qa.pairs)."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path

import pytest

from bookgpt.qa.pairs import (
    KIND_SHARE,
    QAPair,
    generate_pairs,
    normalise_question,
    read_jsonl,
    split_pairs,
    split_passages,
    write_jsonl,
)
from bookgpt.qa.patterns import PRONOUNS, STOPWORDS

BOOKS_DIR = Path(__file__).resolve().parents[2] / "shared" / "books"
# The least each book must give with the default parameters. A 200k-character book gives
# 550-850 pairs; the 1.2 MB one gives ~3600, short of max_pairs (5000) because every
# non-cloze kind is exhausted there and cloze may make up at most 40 % of a book's pairs.
MIN_PAIRS = {"flatland": 500, "relativity": 500, "tangled_tale": 700,
             "foundations_of_science": 3000}
PASSAGE_CHARS = 600


def book_text(name: str) -> str:
    """The book between the Gutenberg "*** START OF" and "*** END OF" lines."""
    lines = (BOOKS_DIR / f"{name}.txt").read_text(encoding="utf-8").splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if "*** START OF" in line)
    end = next(i for i, line in enumerate(lines) if "*** END OF" in line)
    return "".join(lines[start + 1:end])


@pytest.fixture(scope="module", params=sorted(MIN_PAIRS))
def book(request) -> tuple[str, str, list[QAPair]]:
    text = book_text(request.param)
    return request.param, text, generate_pairs(text, passage_chars=PASSAGE_CHARS)


def test_answers_are_exact_spans_of_passage_and_text(book):
    _, text, pairs = book
    for p in pairs:
        end = p.answer_start + len(p.answer)
        assert text[p.answer_start:end] == p.answer, p
        assert text[p.passage_start:p.passage_start + len(p.passage)] == p.passage, p
        assert p.passage_start <= p.answer_start and end <= p.passage_start + len(p.passage)
        assert p.passage[p.answer_start - p.passage_start:end - p.passage_start] == p.answer
        assert len(p.passage) <= PASSAGE_CHARS


def test_enough_pairs_of_several_kinds(book):
    name, _, pairs = book
    kinds = Counter(p.kind for p in pairs)
    assert MIN_PAIRS[name] <= len(pairs) <= 5000, kinds
    assert len(kinds) >= 6, kinds
    assert kinds["statement"] + kinds["definition"] + kinds["who"] >= 0.2 * len(pairs), kinds
    for kind, n in kinds.items():  # no kind beyond its share: cloze cannot swamp the rest
        assert n <= KIND_SHARE[kind] * len(pairs) + 1, kinds


def test_answers_are_clean(book):
    _, _, pairs = book
    for p in pairs:
        words = re.findall(r"[a-z0-9]+", p.answer.lower())
        assert words and not all(w in PRONOUNS for w in words), p
        assert not all(w in STOPWORDS for w in words), p
        assert p.answer == p.answer.strip() and p.answer[-1] not in ".,;:!?-", p
        assert 1 <= len(p.answer.split()) <= 30, p


def test_questions_are_bounded_single_line_and_unique(book):
    _, _, pairs = book
    for p in pairs:
        assert len(p.question.split()) <= 40 and "\n" not in p.question, p
        if p.kind == "cloze":
            assert p.question.startswith("Fill in the blank: ") and "____" in p.question, p
        else:
            assert p.question.endswith(("?", '?"', '!"')), p
    norms = [normalise_question(p.question) for p in pairs]
    assert len(norms) == len(set(norms))


def test_generation_is_deterministic(book):
    _, text, pairs = book
    assert generate_pairs(text, passage_chars=PASSAGE_CHARS) == pairs


def test_parameters_bound_the_pairs():
    text = book_text("tangled_tale")
    pairs = generate_pairs(text, max_pairs=150, max_answer_words=4, min_answer_words=2,
                           max_question_words=12, passage_chars=200, seed=7)
    assert 100 <= len(pairs) <= 150
    assert all(2 <= len(p.answer.split()) <= 4 for p in pairs)
    assert all(len(p.question.split()) <= 12 for p in pairs)
    assert all(len(p.passage) <= 200 for p in pairs)
    with pytest.raises(ValueError):
        generate_pairs(text, min_answer_words=0)


def test_natural_questions_from_patterns():
    text = ("CHAPTER III. THE DIFFERENTIAL\n\n"
            "A differential coefficient is the rate at which one quantity changes with another. "
            "By a limit we mean the value which a variable approaches indefinitely. The line "
            "joining two points on a curve is called a chord.\n\n"
            "§ 4. Concerning the Slopes of Curves\n\n"
            "The slope of a curve at a point is the slope of its tangent there.\n")
    got = {(p.kind, p.question, p.answer) for p in generate_pairs(text)}
    assert ("definition", "What is a differential coefficient?",
            "the rate at which one quantity changes with another") in got
    assert ("we_mean", "What is meant by a limit?",
            "the value which a variable approaches indefinitely") in got
    assert ("called", "What is the line joining two points on a curve called?", "a chord") in got
    assert ("heading", "What is chapter III about?", "THE DIFFERENTIAL") in got
    assert ("heading", "Which chapter discusses the differential?", "CHAPTER III") in got
    assert ("heading", "What is section 4 about?", "Concerning the Slopes of Curves") in got


def test_split_by_passage_with_the_asked_share(book):
    _, _, pairs = book
    train, val = split_pairs(pairs, 0.1, seed=1337)
    assert len(train) + len(val) == len(pairs) and set(train) | set(val) == set(pairs)
    assert not {p.passage_start for p in train} & {p.passage_start for p in val}
    assert abs(len(val) / len(pairs) - 0.1) < 0.02
    assert split_pairs(pairs, 0.1, seed=1337) == (train, val)
    assert split_pairs(pairs, 0.0, seed=1) == (pairs, [])
    with pytest.raises(ValueError):
        split_pairs(pairs, 1.0, seed=1)


def test_jsonl_round_trip(tmp_path):
    pairs = generate_pairs(book_text("relativity"), max_pairs=300)
    path = tmp_path / "qa" / "train.jsonl"
    write_jsonl(path, pairs)
    lines = path.read_text(encoding="utf-8").splitlines()
    assert len(lines) == len(pairs) and set(json.loads(lines[0])) == {
        "question", "answer", "kind", "passage", "passage_start", "answer_start"}
    assert read_jsonl(path) == pairs
    assert [f.name for f in path.parent.iterdir()] == ["train.jsonl"]  # no temporary left over
    write_jsonl(path, [])
    assert read_jsonl(path) == []


def test_empty_or_tiny_text_gives_no_pairs():
    # documented choice: an empty or tiny text returns [] rather than raising
    for text in ("", "   \n\n  ", "Hello.", "A cat is an animal. " * 5):
        assert generate_pairs(text) == []
    assert split_passages("") == [] and split_passages(" \n\n ") == []


@pytest.mark.parametrize("max_chars", [120, 600])
def test_passages_cover_the_text_within_bounds(max_chars):
    text = book_text("flatland")
    passages = split_passages(text, max_chars)
    covered = bytearray(len(text))
    last_end = 0
    for start, passage in passages:
        assert text[start:start + len(passage)] == passage and passage == passage.strip()
        assert 0 < len(passage) <= max_chars and start >= last_end
        covered[start:start + len(passage)] = b"\x01" * len(passage)
        last_end = start + len(passage)
    assert all(covered[i] or c.isspace() for i, c in enumerate(text))
    with pytest.raises(ValueError):
        split_passages(text, 0)
