"""What a book model answers from: the best windows of a book's sentences for a question
(`bookgpt.answer.retrieve`), the sentences after each, a puzzle's labelled answer and its
solution section, and how much of the question each sentence echoes."""

from __future__ import annotations

import math
import re

import msgspec

from bookgpt.answer.asking import question_names
from bookgpt.answer.retrieve import MAX_WINDOW, SentenceIndex, Window
from bookgpt.messages import Evidence

SOLVED = 1  # best windows whose puzzle's solution section is searched too (1 and 3: the same answers)
ANSWER_WITHIN = 3  # sentences after a window searched for a labelled answer ("_Answer._--")
# how much of the question a sentence after one that echoes it is taken to hold, as a share of
# the echo's (answers often stand a sentence after the one echoing the question): `echoes`
ECHO_SPILL = 0.5
_ASKS = re.compile(r"\?[\s\"'”’_)]*$")  # a sentence that asks, its closing quote or bracket after


def evidence(index: SentenceIndex, question: str, windows: int = 3,
             follow: int = 1) -> tuple[Window | None, list[Evidence]]:
    """(the best window, the sentences of the `windows` best windows and of the `follow`
    sentences after each, or of those up to a labelled answer ("_Answer._--") within
    ANSWER_WITHIN sentences and the same section), best window first: what a book model answers
    from."""
    found = index.search(question, top=windows)
    if not found:
        return None, []
    best = found[0].score or 1.0
    out: list[Evidence] = []
    seen: dict[int, int] = {}  # sentence -> its place in `out`

    def add(w: Window, rank: int, match: float, follow: int = follow,
            end: int | None = None) -> None:
        for k in range(w.first, min(end or len(index.sentences), w.last + 1 + follow)):
            if k not in seen:
                seen[k] = len(out)
                out.append(Evidence(text=index.sentences[k], match=match, window=rank,
                                    follows=k > w.last))
            elif out[seen[k]].match < match:  # a puzzle's solution that its own words found
                out[seen[k]] = msgspec.structs.replace(out[seen[k]], match=match)  # less well

    for rank, w in enumerate(found):
        # a puzzle's labelled answer a sentence or two after its window comes with it
        # ("Required the weight of each sack." "_Answer._--5-1/2, 6-1/2, ...")
        labelled = index.labelled_after(w.last, ANSWER_WITHIN)
        add(w, rank, max(0.0, w.score / best),
            follow=follow if labelled is None else max(follow, labelled - w.last))
    # a window in a puzzle whose solution is a later section: that section's best window and
    # its opening (where a solution says its answer: "As many as twenty-two pieces may be
    # obtained") answer it, and match as well as the puzzle did, even if the question's words
    # found them already, less well
    for rank, w in enumerate(found[:SOLVED]):
        section = index.solution_of(w.first)
        if section is not None:
            opening = Window(0.0, 0.0, section[0], min(section[1], section[0] + MAX_WINDOW) - 1, "")
            for inside in index.search(question, top=1, within=section) + [opening]:
                add(inside, len(found) + rank, max(0.0, w.score / best), end=section[1])
    names = question_names(question)
    for k, echo in echoes(index, question, list(seen)).items():
        out[seen[k]] = msgspec.structs.replace(
            out[seen[k]], echo=echo, far=any(index.far_from(name, k) for name in names))
    return found[0], out


def echoes(index: SentenceIndex, question: str, ks: list[int]) -> dict[int, float]:
    """How much of the question each of sentences `ks` echoes (the idf-weighted share of its
    words the sentence holds), or ECHO_SPILL of what the sentence before it echoes if that is
    more, relative to the most of them (1.0). A question the book itself asks ("How can this be
    true of a small bucket?") echoes a reader's but answers nothing: it lends its echo, whole, to
    the sentence after it."""
    weights = index.weights(index.query_stems(question))
    held = {k: math.fsum(weights.get(st, 0.0) for st in set(index.stems[k])) for k in ks}
    asks = {k for k in ks if _ASKS.search(index.sentences[k])}
    lit = {k: max(0.0 if k in asks else held[k],
                  (1.0 if k - 1 in asks else ECHO_SPILL) * held.get(k - 1, 0.0)) for k in ks}
    top = max(lit.values(), default=0.0) or 1.0
    return {k: v / top for k, v in lit.items()}
