"""Routing a conversation's follow-up: "and who wrote it?" names nothing a book could be found by,
so when the latest question routes weakly on its own, its books (and their evidence) are chosen by
it together with the conversation's earlier questions. The question asked of the books stays the
latest one. Both backends (in process, the Ray router) route through `for_routing`."""

from __future__ import annotations

import msgspec

from bookgpt.messages import Answer, AskRequest
from bookgpt.text import question_stems, words

EARLIER_TURNS = 3  # earlier questions routed with a weak follow-up (the latest ones)
# words that point back to something said before ("how long did it take them?")
POINTING = frozenset("it its they them their theirs he him his she her hers this that these "
                     "those there".split())


def routes_weakly(question: str) -> bool:
    """Whether a question cannot choose its books alone: it names at most one thing to look for
    ("and who wrote it?"), or points back naming at most two ("how long did it take them?").
    A question that names things of its own stays as it is, even if the router declines it:
    "What is the capital of Peru?" after a question on Relativity is still in no book."""
    stems = question_stems(question)
    return len(stems) <= 1 or (len(stems) <= 2 and bool(POINTING.intersection(words(question))))


def for_routing(req: AskRequest) -> AskRequest:
    """The request to choose `req`'s books by: `req` itself, or, for a follow-up that routes
    weakly alone, one whose question is the last EARLIER_TURNS earlier questions and then it."""
    earlier = [q for q in (req.history or []) if q.strip()][-EARLIER_TURNS:]
    if not earlier or not req.question.strip() or not routes_weakly(req.question):
        return req
    return msgspec.structs.replace(req, question=" ".join([*earlier, req.question]))


def noted(reqs: list[AskRequest], routed: list[AskRequest], answers: list) -> list:
    """Each answer (or exception, kept as it is) with `routed_on` set where its books were chosen
    by more than its question."""
    return [msgspec.structs.replace(a, routed_on=by.question)
            if by is not req and isinstance(a, Answer) else a
            for req, by, a in zip(reqs, routed, answers)]
