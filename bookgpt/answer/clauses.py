"""A sentence's clauses: the pieces between its punctuation, which answer candidates are cut
from (`bookgpt.answer.extract`) and what a sentence states (`bookgpt.answer.stated`)."""

from __future__ import annotations

import functools
import re

from bookgpt.text import unit_stop

# clause ends: punctuation (a comma with its footnote's mark: "a larger number,** whereas"), and a
# full stop that ends no title or initial ("Mr.", "A. Square")
_CLAUSE_CUT = re.compile(r"\s*(?:[;:()\[\]]|--|—|–|,[*†‡]*(?=\s)|(?<!\bMr)(?<!\bMrs)(?<!\bDr)(?<!\bSt)"
                         r"(?<!\b[A-Z])\.(?=\s|$)|[!?](?=\s|$))\s*")
# brackets inside a word are part of it, not an aside: "E[0]", "f(x)", "x^(n-1)"
_ATTACHED = re.compile(r"(?<=\w)[(\[][^\s()\[\]]{1,12}[)\]]")


@functools.lru_cache(maxsize=1 << 14)
def split_clauses(sentence: str) -> tuple[tuple[int, int], ...]:
    """(start, end) of the sentence's clauses: the pieces between punctuation. (An evidence
    sentence is cut for each question it answers: kept.)"""
    out, pos = [], 0
    inside = [(m.start(), m.end()) for m in _ATTACHED.finditer(sentence)]
    # (nor does a unit's stop after its figure, inside one amount or before a word that goes
    # on: "216 ft. 8 in." and "3 ft. 6 in. deep" are one clause; a clause ending on a unit's
    # abbreviation keeps its stop)
    cuts = [(m, _unit(sentence, m)) for m in _CLAUSE_CUT.finditer(sentence)
            if not any(a <= m.start() < b for a, b in inside)]
    cuts = [(m, unit) for m, unit in cuts
            if not (unit and (unit_stop(sentence, _stop(m))
                              or sentence[m.end():m.end() + 1].islower()))]
    for m, unit in [*cuts, (None, False)]:
        end = _stop(m) + 1 if unit else m.start() if m else len(sentence)
        a, b = pos, end
        while a < b and sentence[a] in " \"'“”‘’_*":
            a += 1
        while b > a and sentence[b - 1] in " \"'“”‘’_*":
            b -= 1
        if any(c.isalnum() for c in sentence[a:b]):
            out.append((a, b))
        pos = m.end() if m else len(sentence)
    return tuple(out)


def _stop(m: re.Match[str]) -> int:
    """Where a clause cut's stop stands."""
    return m.start() + m.group().index(".")


def _unit(sentence: str, m: re.Match[str]) -> bool:
    """Whether a clause cut is the stop of a unit's abbreviation after its figure ("216 ft.")."""
    return m.group().strip() == "." and unit_stop(sentence, _stop(m), inside=False)


def first_clause(text: str) -> str:
    """The text up to its first clause's end."""
    return text[:next((e for _, e in split_clauses(text)), 0)]


def unquoted(text: str) -> str:
    """The text without its closing punctuation and quotes."""
    return text.rstrip(".!?\"'”’_ ")
