"""Question-answer pairs made from a book's own text by patterns (no external model).

Passages, candidate filtering, per-kind caps, the train/validation split and JSONL files.
"""

from __future__ import annotations

import bisect
import itertools
import json
import random
import re
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bookgpt.fsio import atomic_write_text
from bookgpt.text import sentence_spans
from bookgpt.qa.cloze import cloze
from bookgpt.qa.headings import headings
from bookgpt.qa.numeric import numbers
from bookgpt.qa.patterns import Candidate, clauses, dialogue
from bookgpt.qa.words import AUX, CONJ, DET_ALL, PREPS, STOPWORDS, BookStats, _W

# Kinds: definition ("What is X?" from "X is ...", "X means ...", "X is defined as ..."), called,
# we_mean ("by X we mean ..."), who (personal subjects and speakers), statement ("What <verb> ...?"
# from a noun-phrase subject), object ("What did X discover?"), agent ("By what was X ...?") and
# why ("... because ...") come from qa.patterns; heading from qa.headings; when (years) and
# how_many (numbers with units) from qa.numeric; cloze ("Fill in the blank: ...") from qa.cloze.
# KIND_SHARE: the most a kind may make up of a book's pairs, so cloze and number questions
# cannot swamp the rest; definitions and headings are never capped.
KIND_SHARE = {"definition": 1.0, "called": 1.0, "we_mean": 1.0, "heading": 1.0, "why": 1.0,
              "agent": 1.0, "who": 0.35, "statement": 0.35, "object": 0.3, "when": 0.1,
              "how_many": 0.15, "cloze": 0.5}
KIND_ORDER = list(KIND_SHARE)  # preference when two kinds ask the same question
# a question must name enough of its subject to be answerable, and routable, without its passage:
# "What is out of the question?" or "Yet all the ____ have not disappeared." are not
MIN_CONTENT_WORDS = {"cloze": 3, "heading": 0}
MIN_TEXT_CHARS = 200  # fewer non-space characters give no pairs ([]), not an error


# Every answer is an exact span of the book, inside its passage:
# ``text[answer_start:answer_start + len(answer)] == answer``. Answers keep the book's own line
# breaks; questions are single-line.
@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    kind: str
    passage: str  # the source passage: a paragraph, part of one, or a few small ones merged
    passage_start: int  # offset of the passage in the book text
    answer_start: int  # offset of the answer in the book text


# --------------------------------------------------------------------------- passages

# sentences are cut by the project's one splitter (bookgpt.text.sentence_spans)


def split_passages(text: str, max_chars: int = 600) -> list[tuple[int, str]]:
    """(offset, passage) pairs covering the text's paragraphs, each at most `max_chars` long.

    Long paragraphs are cut at sentence ends (a sentence longer than max_chars at a space),
    small neighbours are merged. ``text[offset:offset + len(passage)] == passage``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    pieces: list[tuple[int, int]] = []
    for m in re.finditer(r"\S(?:.*?\S)?(?=[ \t]*\n[ \t]*\n|\s*\Z)", text, re.DOTALL):
        s, e = m.span()
        if e - s <= max_chars:
            pieces.append((s, e))
            continue
        cur = None
        for a, b in sentence_spans(text, s, e):
            while b - a > max_chars:  # one over-long sentence: cut at the last space
                cut = max(text.rfind(" ", a + max_chars // 2, a + max_chars),
                          text.rfind("\n", a + max_chars // 2, a + max_chars))
                cut = cut if cut > a else a + max_chars
                if cur:
                    pieces.append(cur)
                    cur = None
                end = cut
                while end > a and text[end - 1].isspace():
                    end -= 1
                pieces.append((a, end))
                a = cut
                while a < b and text[a].isspace():
                    a += 1
            if a >= b:
                continue
            if cur and b - cur[0] <= max_chars:
                cur = (cur[0], b)
            else:
                if cur:
                    pieces.append(cur)
                cur = (a, b)
        if cur:
            pieces.append(cur)
    merged: list[tuple[int, int]] = []
    small = max(1, max_chars // 4)
    for s, e in pieces:
        if merged and (merged[-1][1] - merged[-1][0] < small or e - s < small) \
                and e - merged[-1][0] <= max_chars:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(s, text[s:e]) for s, e in merged]


# --------------------------------------------------------------------------- filters

_TRIM_END = ".,;:!?-—–_*'\"’“”‘ \t\n"
_TRIM_START = ",;:-—–_*'\"’“”‘ \t\n"


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Shrink [a, b) past surrounding punctuation and unbalanced brackets or quotes."""
    for _ in range(4):
        while a < b and text[a] in _TRIM_START:
            a += 1
        while b > a and text[b - 1] in _TRIM_END:
            b -= 1
        span = text[a:b]
        if span.endswith(")") and span.count("(") < span.count(")"):
            b -= 1
        elif span.startswith("(") and span.count("(") > span.count(")"):
            a += 1
        else:
            break
    return a, b


DANGLING = CONJ | PREPS | DET_ALL | AUX | _W("to by as than into upon not the a an")


def answer_ok(answer: str, min_words: int, max_words: int) -> bool:
    """Bounded length, no pronoun-only or stopword-only answers, brackets and quotes balanced."""
    n = len(answer.split())
    if not min_words <= n <= max_words:
        return False
    toks = re.findall(r"[A-Za-z0-9]+", answer.lower())
    if not toks or all(t in STOPWORDS for t in toks) or toks[-1] in DANGLING:
        return False
    return balanced(answer)


def balanced(s: str) -> bool:
    return (s.count("(") == s.count(")") and s.count("[") == s.count("]")
            and s.count('"') % 2 == 0 and s.count("“") == s.count("”"))


_SCAFFOLD_WORDS = _W("what who whom whose which fill blank blanks part section chapter")


def content_words(norm_q: str) -> int:
    """Words of a normalised question (`normalise_question`) that say what it is about: not stop
    words or question scaffolding."""
    return sum(1 for w in norm_q.split()
               if len(w) >= 3 and w not in STOPWORDS and w not in _SCAFFOLD_WORDS)


def normalise_question(q: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", q.lower()).split())


# --------------------------------------------------------------------------- generation

def _candidates(text: str, passages: list[tuple[int, str]],
                max_q_words: int) -> Iterator[tuple[int, Candidate]]:
    """(passage number, candidate) of every question the generators make from the text."""
    stats = BookStats(text)
    for k, (ps, passage) in enumerate(passages):
        sents = sentence_spans(text, ps, ps + len(passage))
        found = itertools.chain(clauses(text, sents, stats), numbers(text, sents, stats),
                                dialogue(text, (ps, ps + len(passage)), stats),
                                cloze(text, sents, stats, max_q_words - 4))
        for c in found:
            yield k, c
    starts = [s for s, _ in passages]
    for c in headings(text, stats):
        yield bisect.bisect_right(starts, c.start) - 1, c


def _balance(by_kind: dict[str, list], max_pairs: int) -> int:
    """The largest total T <= max_pairs the kinds can fill with each kind within its share."""
    def fill(t: int) -> int:
        return sum(min(len(v), int(KIND_SHARE.get(k, 0.1) * t)) for k, v in by_kind.items())

    lo, hi = 0, min(max_pairs, sum(len(v) for v in by_kind.values()))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fill(mid) >= mid else (lo, mid - 1)
    return lo


def generate_pairs(text: str, *, max_pairs: int = 5000, min_answer_words: int = 1,
                   max_answer_words: int = 30, max_question_words: int = 40,
                   passage_chars: int = 600, seed: int = 1337) -> list[QAPair]:
    """Question-answer pairs from the book text, deterministic for a seed, in a seeded order.

    Returns [] for an empty or tiny text (fewer than MIN_TEXT_CHARS non-space characters).
    """
    if max_pairs < 0 or min_answer_words < 1 or max_answer_words < min_answer_words:
        raise ValueError("need max_pairs >= 0 and 1 <= min_answer_words <= max_answer_words")
    if len("".join(text.split())) < MIN_TEXT_CHARS or max_pairs == 0:
        return []
    passages = split_passages(text, passage_chars)
    seen: set[str] = set()
    by_kind: dict[str, list[QAPair]] = {}
    cands = sorted(_candidates(text, passages, max_question_words),
                   key=lambda kc: (KIND_ORDER.index(kc[1].kind) if kc[1].kind in KIND_ORDER
                                   else 99, kc[1].start))
    for k, (kind, question, a, b) in cands:
        a, b = _trim(text, a, b)
        ps, passage = passages[k]
        if not ps <= a < b <= ps + len(passage):
            continue
        answer = text[a:b]
        question = " ".join(question.split())
        norm_q = normalise_question(question)
        if (len(question.split()) > max_question_words or len(norm_q.split()) < 3
                or content_words(norm_q) < MIN_CONTENT_WORDS.get(kind, 2)
                or norm_q in seen or not answer_ok(answer, min_answer_words, max_answer_words)
                or not balanced(question)):
            continue
        if kind != "cloze" and f" {normalise_question(answer)} " in f" {norm_q} ":
            continue  # the question gives its answer away
        seen.add(norm_q)
        by_kind.setdefault(kind, []).append(QAPair(question, answer, kind, passage, ps, a))
    total = _balance(by_kind, max_pairs)
    rng = random.Random(seed)
    out: list[QAPair] = []
    for kind in sorted(by_kind, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        take = min(len(by_kind[kind]), int(KIND_SHARE.get(kind, 0.1) * total), total - len(out))
        out += rng.sample(by_kind[kind], take)
    rng.shuffle(out)
    return out


def split_pairs(pairs: list[QAPair], val_fraction: float,
                seed: int) -> tuple[list[QAPair], list[QAPair]]:
    """(train, validation) by source passage: all pairs of a passage go to the same side.

    Passages are drawn in a seeded order into validation until it holds ~val_fraction of the
    pairs; both sides keep the input order. With 2+ passages and 0 < val_fraction < 1 neither
    side is empty.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    groups: dict[int, int] = {}
    for p in pairs:
        groups[p.passage_start] = groups.get(p.passage_start, 0) + 1
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target, n_val, val_keys = val_fraction * len(pairs), 0, set()
    for key in keys[:-1]:  # the last passage always stays in training
        if n_val >= target:
            break
        if n_val + groups[key] - target > target - n_val and n_val > 0:
            continue  # this passage would overshoot more than leaving it out undershoots
        val_keys.add(key)
        n_val += groups[key]
    train = [p for p in pairs if p.passage_start not in val_keys]
    val = [p for p in pairs if p.passage_start in val_keys]
    return train, val


# --------------------------------------------------------------------------- files

def write_jsonl(path: str | Path, pairs: list[QAPair]) -> None:
    """One JSON object per line, written atomically."""
    atomic_write_text(path, "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n"
                                    for p in pairs))


def read_jsonl(path: str | Path) -> list[QAPair]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [QAPair(**json.loads(line)) for line in lines if line.strip()]
