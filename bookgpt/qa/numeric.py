"""Number questions: years ("... in what year?", kind when) and counts ("how many ...?")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bookgpt.qa.patterns import Candidate
from bookgpt.qa.words import CONJ, DET_ALL, BookStats, _W, squash

# the counts a "how many" question is made from (not bookgpt.qa.words.NUMBER_WORDS, every
# figure in words: "one", "half" and fractions count nothing a question should ask for)
_COUNT_WORDS = ("two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
                "seventy eighty ninety hundred thousand million dozen")
NOT_UNITS = _W("is was has does this thus his as us its yes ours always perhaps sometimes less "
               "unless whereas besides towards afterwards sides steps times others ones days")

_YEAR = re.compile(r"\b(?P<prep>[Ii]n|since|until|till|about|after|before|by|from)\s+"
                   r"(?:the\s+year\s+)?(?P<y>1[0-9]{3}|20[0-9]{2})(?![\d,.]\d)")
_NUMS = _COUNT_WORDS.replace(" ", "|")
_NUM = re.compile(r"(?<![\d.,§])\b(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|(?:" + _NUMS + "|"
                  + _NUMS.title() + r")(?:[ -](?:" + _NUMS + r"))*)\s+(?P<u>[a-z]{4,}s)\b")


def _clause(text: str, s: int, e: int, a: int) -> tuple[int, int]:
    """The clause of sentence [s, e) around offset a (cut at ; : -- and sentence ends)."""
    lo = s
    for m in re.finditer(r";|:|--|—", text[s:a]):
        lo = s + m.end()
    m = re.search(r";|:|--|—", text[a:e])
    return lo, (a + m.start() if m else e)


def numbers(text: str, sents: list[tuple[int, int]], stats: BookStats) -> Iterator[Candidate]:
    for s, e in sents:
        for m in _YEAR.finditer(text, s, e):  # "X happened in 1905." -> "X happened: in what year?"
            lo, hi = _clause(text, s, e, m.start())
            left = squash(text[lo:m.start()]).rstrip(" ,")
            right = squash(text[m.end():hi]).strip(" ,")
            prep = m["prep"].lower()
            q = f"{left} {prep} what year {right}" if left and right else \
                f"{left or right}: {prep} what year"
            q = re.sub(r"[^\w)\]]+(?=:)|[^\w)\]]+$", "", q)
            if len((left + " " + right).split()) >= 3:
                yield Candidate("when", q[0].upper() + q[1:] + "?", m.start("y"), m.end("y"))
        for m in _NUM.finditer(text, s, e):
            prev = re.search(r"(\S+)\s*$", text[s:m.start()])
            if m["u"] in NOT_UNITS or re.match(r"1[5-9]\d\d$|20\d\d$", m["n"]) or prev and (
                    prev.group(1).lower() in DET_ALL | CONJ | _W("first last next") or
                    not prev.group(1)[-1].isalnum() and prev.group(1)[-1] not in ",;:"):
                continue
            lo, hi = _clause(text, s, e, m.start())
            before = squash(text[lo:m.start()]).lstrip("\"'“‘(")
            after = squash(text[m.start("u"):hi]).rstrip(" .,;!?\"'”’)")
            q = f"{before} how many {after}".strip() if before else f"How many {after}"
            q = q[0].upper() + q[1:] + "?"
            yield Candidate("how_many", q, m.start(), m.end())
