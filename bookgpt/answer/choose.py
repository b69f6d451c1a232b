"""A book model's extractive answer: candidates cut from the router's evidence, chosen by their
model-free score and the book model's likelihood of each as the answer.

final score = log(model-free score) + model_weight x (mean token log-probability of the candidate
and its end token, given the question). `model_weight` (`serve.model_weight`) 0 is the model-free
choice, and the control beside which `bookgpt eval --questions` reports the model's.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bookgpt.answer.asking import Asked, question_names
from bookgpt.answer.extract import MATCH_POWER, Candidate, candidates
from bookgpt.answer.kinds import MARKED, MEASURES, YEAR, named_inside, type_fit
from bookgpt.messages import AnswerJob, Evidence
from bookgpt.text import content_stems, question_stems

MAX_CANDIDATES = 8  # the model scores this many of the best model-free candidates per question
MAX_SCORED_TOKENS = 16  # ... each judged by its first tokens
FOLLOWER = 0.85  # a follower sentence matches a little less than its window
# questions that ask for a kind of thing a text holds or not (a name, a number, a date, a
# quantity): a book whose chosen answer holds no figure for a number or quantity question has no
# answer, and says so with confidence 0; one with no name or date for a who / where / when
# question keeps MISSING of its confidence, for such answers may be common words ("the priests",
# "under the mat", "after the revolt"), but a book that has one wins the merge
STRICT = MARKED
FIGURES = frozenset({"number", *MEASURES})
MISSING = 0.2
# what a candidate keeps when its sentence echoes none of the question (`evidence.echoes`): a
# window's sentences share its match, and the one that echoes the question (or follows one that
# does) holds the answer more often than its neighbours. Right book given, over dev.jsonl and
# six blind sets (410 questions): F1 0.220 -> 0.242, support 0.505 -> 0.522 (the curve of floors
# and spills: docs/answers.md)
ECHO_FLOOR = 0.4
NEAR_ECHO = 0.5  # (`_near`)
# the confidence left to a name that stands capitalised only at its sentence's opening: on
# dev.jsonl 0.1-0.3 gave the same answers (+2 / -0); 0 declined one more out-of-scope question but
# lost a right answer opening its sentence ("Tolstoi explains"); 0.4-1 lost one to "Admit"
UNSURE_NAME = 0.2
# how sure a choice is, before calibration: the question's coverage by the best window, the
# candidate's share of the shortlist's score, and how far the best window stands above the next
# (`GAP_BASE` - the runner-up's relative match, over GAP_BASE: a runner-up as good as the best
# leaves a third). The gap is the surest single sign that the cited window holds the answer: over
# the seven blind question sets, the cited window's support hit against the raw confidence, ROC
# AUC 0.673 without it, 0.713 with it (dev.jsonl 0.550 -> 0.576, blind set 8 0.499 -> 0.679)
GAP_BASE = 1.5
# the raw confidence r mapped to the chance that the cited window holds the supporting sentence,
# r^a / (r^a + c): a logistic fit on log r (Platt scaling) over the answered questions of the
# seven blind sets (`bookgpt eval --questions ... --json`, support_hit against confidence)
CALIBRATION = (1.45, 0.081)  # (a, c)
# (a book whose chance is below `serve.min_confidence` has no answer: the merge passes over it,
# `bookgpt.merge`)


@dataclass(frozen=True)
class Choice:
    answer: str
    support: str  # the window the answer was found in, up to the answer's sentence
    passage: str  # the whole window with the sentences after it
    logprobs: list[float]  # the model's token log-probabilities of the answer (empty: no model)
    confidence: float  # 0..1


def _window_of(evidence: list[Evidence], sentence: str) -> tuple[str, str]:
    """(support, passage) of `sentence` in the evidence: its window from the first sentence up to
    it, and the whole window with its follower."""
    at = next((i for i, e in enumerate(evidence) if e.text == sentence), None)
    if at is None:
        return sentence, sentence
    window = evidence[at].window
    first = next(i for i, e in enumerate(evidence) if e.window == window)
    return (" ".join(e.text for e in evidence[first:at + 1]),
            " ".join(e.text for e in evidence if e.window == window))


def _holds(asked: Asked, cand: Candidate) -> float:
    """How surely a candidate holds the kind of thing asked for: 1 surely, 0 no figure where one
    is asked for, MISSING no name or date, and UNSURE_NAME for a name that stands capitalised only
    where any word is ("Tolstoi explains", but also "Seat of ..." opening a sentence)."""
    if asked.year and asked.kind == "time" and not YEAR.search(cand.text):
        return 0.0  # "in what year": no "after the revolt", no "three years old" (but "where and
        # in what year": a place answers its first part)
    if type_fit(asked.kind, cand.text, asked.words) == 0.0:
        return 0.0 if asked.kind in FIGURES else MISSING
    if asked.kind not in ("person", "place"):
        return 1.0
    return 1.0 if named_inside(cand.text, cand.sentence, asked.words) else UNSURE_NAME


def calibrated(raw: float) -> float:
    """A raw confidence (0..1) as the chance that the answer's window is the right one
    (`CALIBRATION`)."""
    a, c = CALIBRATION
    return raw ** a / (raw ** a + c) if raw > 0.0 else 0.0


def shortlist(job: AnswerJob) -> list[Candidate]:
    """The best model-free candidates of a job's evidence."""
    # (a candidate's score takes its match to the MATCH_POWER: the echo enters once)
    return candidates(job.question, [(e.text, e.match * (FOLLOWER if e.follows else 1.0)
                                      * (ECHO_FLOOR + (1.0 - ECHO_FLOOR) * e.echo)
                                      ** (1.0 / MATCH_POWER))
                                     for e in _near(job)], limit=MAX_CANDIDATES)


def _near(job: AnswerJob) -> list[Evidence]:
    """The evidence, less the sentences far from every use of a rare name the question uses
    (`Evidence.far`) when a sentence near one says something of the question besides the name,
    and echoes it at least NEAR_ECHO ("Twenty doors on a side!" near "Little Mendip"): the far
    ones answer nothing then. (A book
    that only mentions the name, "gone out to Australia", keeps them, and declines through them.)"""
    if not any(e.far for e in job.evidence):
        return job.evidence
    near = [e for e in job.evidence if not e.far]
    named = set().union(*question_names(job.question))
    besides = set(question_stems(job.question)) - named
    return near if any(e.echo >= NEAR_ECHO and besides & set(content_stems(e.text))
                       for e in near) else job.evidence


def choose(job: AnswerJob, cands: list[Candidate], logprobs: list[list[float]] | None,
           model_weight: float) -> Choice:
    """The chosen candidate: model-free score and, when given, the model's judgement of each."""
    def final(i: int) -> float:
        base = math.log(max(cands[i].score, 1e-9))
        if logprobs is None or model_weight == 0.0 or not logprobs[i]:
            return base
        return base + model_weight * sum(logprobs[i]) / len(logprobs[i])

    best = max(range(len(cands)), key=final)
    top = cands[best]
    share = top.score / (sum(c.score for c in cands) or 1.0)
    runner_up = max((e.match for e in job.evidence if e.window == 1), default=0.0)
    raw = max(0.0, min(1.0, job.coverage * (0.5 + 0.5 * share)
                       * (GAP_BASE - runner_up) / GAP_BASE))
    if any(e.far for e in job.evidence if e.text == top.sentence):
        raw = 0.0  # far from every use of a name the question uses and the book rarely does
    asked = Asked.of(job.question)
    if asked.kind in STRICT:
        raw *= _holds(asked, top)
    confidence = calibrated(raw)
    support, passage = _window_of(job.evidence, top.sentence)
    return Choice(answer=top.text, support=support, passage=passage,
                  logprobs=list(logprobs[best]) if logprobs else [], confidence=confidence)
