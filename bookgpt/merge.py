"""The merge policy: pick one answer among the books' candidates by router weight, model
confidence and agreement between candidates."""

from __future__ import annotations

import re
import time
from collections import Counter

from bookgpt.messages import Answer, BookAnswer, RoutedBook

_WORD = re.compile(r"[^\W_]+")  # an underscore is punctuation too (a plain text's italics)
WEIGHT_POWER = 20  # how much more the router's ranking counts than a book's confidence


def normalise(text: str) -> list[str]:
    """Lower-case word tokens without articles or punctuation, for exact match and token F1."""
    return [w for w in _WORD.findall(text.lower()) if w not in {"a", "an", "the"}]


def token_f1(prediction: str, reference: str) -> float:
    p, r = normalise(prediction), normalise(reference)
    if not p or not r:
        return float(p == r)
    common = sum((Counter(p) & Counter(r)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(p), common / len(r)
    return 2 * precision * recall / (precision + recall)


def exact_match(prediction: str, reference: str) -> bool:
    return normalise(prediction) == normalise(reference)


def score_candidates(cands: list[BookAnswer], min_confidence: float = 0.0) -> list[float]:
    """score = weight^WEIGHT_POWER x sqrt(confidence) x (1 + agreement), where agreement is the
    weight-averaged token F1 with the other usable candidates: books that agree reinforce each
    other.

    The router weight counts most: each book's confidence comes from its own model, and models
    trained apart are not calibrated against each other. Measured on 4 quickstart books' validation
    questions (extract decoding), picking by confidence alone gave F1 0.20, by weight alone 0.52,
    weight x confidence 0.39 and this score 0.52 (the best candidate each time: 0.55). On the readers'
    questions of ../shared/questions/dev.jsonl (quickstart, top-2), weight^2 let the second book's
    answer win once, wrongly, and never rightly; weight^3 keeps the first book's there (F1 0.240 ->
    0.243, support 0.453 -> 0.465), as does asking one book. Later, on dev.jsonl and seven sets
    written blind (all 12 shelf books, 2026-12-07), weight^3 still let a second book nearly as well
    ranked win on its confidence six times where it should not have, twice where it should:
    weight^20 (a book ranked a little lower wins only by a much surer answer, or when the first
    has none) gave dev F1 0.260 -> 0.274, support 0.477 -> 0.500, the blind sets the same or
    one question better.

    A candidate whose calibrated confidence is below `min_confidence` (`serve.min_confidence`)
    scores 0: it has no answer, and neither agrees nor disagrees with the others."""
    ok = [_usable(c, min_confidence) for c in cands]
    usable = [c for c, fine in zip(cands, ok) if fine]
    scores = []
    for c, fine in zip(cands, ok):
        if not fine:
            scores.append(0.0)
            continue
        others = [o for o in usable if o is not c]
        total = sum(o.weight for o in others)
        agreement = sum(o.weight * token_f1(c.answer, o.answer) for o in others) / total if total else 0.0
        scores.append(c.weight ** WEIGHT_POWER * c.confidence ** 0.5 * (1.0 + agreement))
    return scores


def _usable(c: BookAnswer, min_confidence: float) -> bool:
    """A candidate with an answer, and sure enough if its confidence is a calibrated chance (a
    generated answer's token probability is no chance of being right, and is not held to it)."""
    return (not c.error and bool(c.answer.strip())
            and (c.confidence >= min_confidence or not c.calibrated))


def merge_answers(cands: list[BookAnswer],
                  min_confidence: float = 0.0) -> tuple[BookAnswer | None, float]:
    """The chosen candidate and the merged confidence (0..1), or (None, 0) when no candidate is
    usable (none, failed, empty, or all less sure than `min_confidence`)."""
    scores = score_candidates(cands, min_confidence)
    if not cands or max(scores, default=0.0) <= 0.0:
        return None, 0.0
    best = max(range(len(cands)), key=lambda i: scores[i])
    share = scores[best] / sum(scores)
    # the model's own confidence, discounted when other books outvote it
    return cands[best], cands[best].confidence * (0.5 + 0.5 * share)


def merged(question: str, routing: list[RoutedBook], cands: list[BookAnswer],
           timings: dict[str, float], min_confidence: float) -> Answer:
    """The answer to a question from its books' candidates; "not in these books" (abstained)
    when none is at least `min_confidence` sure (the request's, else `serve.min_confidence`)."""
    chosen, confidence = merge_answers(cands, min_confidence)
    degraded = any(c.error for c in cands)
    if chosen is None:
        return Answer(question=question, answer="", book_id=None, title=None, confidence=0.0,
                      abstained=True, degraded=degraded, candidates=cands, routing=routing,
                      timings_ms=timings, declined=getattr(routing, "reason", ""))
    return Answer(question=question, answer=chosen.answer, book_id=chosen.book_id,
                  title=chosen.title, confidence=confidence, abstained=False, degraded=degraded,
                  passage=chosen.passage, support=chosen.support, candidates=cands,
                  routing=routing, timings_ms=timings)


TIMINGS_KEYS = ("route", "books")  # of every answer's `timings_ms`, in process and on Ray


def timings(t0: float, route_ms: float) -> dict[str, float]:
    """A merged answer's `timings_ms`, with the same keys (TIMINGS_KEYS) whichever backend
    answers: the routing, and the routing with the books' answers (ms since `t0`, a perf_counter
    reading)."""
    spent = (round(route_ms, 2), round((time.perf_counter() - t0) * 1e3, 2))
    return dict(zip(TIMINGS_KEYS, spent))
