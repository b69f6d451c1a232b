"""A book's headings and contents lines, and the sections they cut it into: what is no sentence
to answer from ("Concerning the Women 5.", "CHAPTER IV."), and which heading stands again over a
puzzle's solution ("51.--The Secret Lock." ... "51.--_The Secret Lock._")."""

from __future__ import annotations

import re
from collections import Counter

from bookgpt.answer.stated import labels_answer

_ANSWER_TO = re.compile(r"^(?:answers?|solutions?) (?:to|of) ")
# a heading or contents line: one letter or figure and no other letter ("A.", "51.--"), a chapter
# or section line, or one ending in a number. A line in capitals ("ANSWERS TO KNOT VI.", "THE
# CHIEF CIRCLE") stays a sentence: it frames its window's topic (dropping such lines lost three of
# dev.jsonl's supporting windows), and extraction takes no answer from it
_HEADING = re.compile(r"^(?:[A-Z0-9][^A-Z]*|(?:chapter|section|book|part|§)\b.*)$", re.IGNORECASE)
_PAGE = re.compile(r"\s\d+\.?$")
# ... after a capitalised word or a comma, as in a contents or index line: "Of the Nature of
# Flatland 2.", "moons of Jupiter, 233"
_TITLE_PAGE = re.compile(r"(?:\b[A-Z]\w*|,)\s+\d+\.?$")


def is_heading(sentence: str, alone: bool = True) -> bool:
    """A heading or table-of-contents line: short, no verb-like lower-case run, or a line of its
    own (`alone`) or a title that ends in a page or section number ("Concerning the Women 5.",
    "point, 89, 244"). A sentence inside a paragraph may end in a number: "Therefore the least
    percentage is 10." is an answer, and so is a labelled answer however short ('_Answer._--"One."',
    "_Answer._--Ten.")."""
    if labels_answer(sentence):
        return False
    words = sentence.split()
    if len(words) > 12:  # a long contents line: capitalised words and a page number at the end
        return is_title(sentence, most=24) and words[-1].rstrip(".").isdigit()
    return bool(_HEADING.match(sentence.strip().rstrip(".")) or len(words) <= 2
                or _TITLE_PAGE.search(sentence.strip()) or (alone and _PAGE.search(sentence.strip())))


def is_title(line: str, most: int = 10) -> bool:
    """A heading: at most `most` words, and mostly capitalised ("51.--The Secret Lock.",
    "ANSWERS TO KNOT IV.")."""
    if line.lstrip().startswith("["):  # "[Illustration: ...]"
        return False
    words = [w for w in (re.sub(r"[^A-Za-z]", "", w) for w in line.split()) if w]
    return 0 < len(words) <= most and sum(w[0].isupper() for w in words) * 2 > len(words)


def heading_key(line: str) -> str:
    """A heading as a key: its words without numbers and articles, an "Answers to" or "Solution
    of" dropped, so that a puzzle's heading and its solution's meet ("51.--The Secret Lock." and
    "51.--_The Secret Lock._", "Knot IV." and "Answers to Knot IV.")."""
    key = " ".join(w for w in re.findall(r"[a-z0-9]+", line.lower())
                   if not w.isdigit() and w not in ("the", "a", "an"))
    return _ANSWER_TO.sub("", key)


def twins(heads: list[tuple[int, str]], n: int) -> dict[int, tuple[int, int]]:
    """Section start -> (start, end) of the next section under the same heading: in a book of
    puzzles the second is the first's solution."""
    bounds = [(start, heads[k + 1][0] if k + 1 < len(heads) else n, key)
              for k, (start, key) in enumerate(heads)]
    # a puzzle's title stands two or three times (contents, puzzle, solution); a heading seen
    # more often ("Illustration", "Solution") names no one section
    seen = Counter(key for _, _, key in bounds)
    bounds = [b for b in bounds if seen[b[2]] <= 3]
    later: dict[str, tuple[int, int]] = {}
    out: dict[int, tuple[int, int]] = {}
    for start, end, key in reversed(bounds):
        if key in later and end > start:
            out[start] = later[key]
        if end > start:
            later[key] = (start, end)
    return out
