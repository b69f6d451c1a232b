"""A book's choice among its candidates and how sure it is (`bookgpt.answer.choose`): no answer
without the kind of thing asked for, names that only open their sentence, the calibrated
confidence, and how the merge weighs them (`bookgpt.merge`), on hand-written sentences."""

from __future__ import annotations


def test_a_book_without_the_kind_of_thing_asked_for_has_no_answer():
    """A question that asks for a number or a quantity, and a book whose chosen answer holds no
    figure: that book answers with confidence 0, so the merge passes over it (and abstains when no
    book does better). Without the name or date asked for, a book's answer only counts less."""
    from bookgpt.answer.choose import choose, shortlist
    from bookgpt.merge import merge_answers
    from bookgpt.messages import AnswerJob, BookAnswer, Evidence

    def chosen(question: str, sentence: str):
        job = AnswerJob(book_id="b", question=question, coverage=0.6,
                        evidence=[Evidence(text=sentence, match=1.0, window=0)])
        return choose(job, shortlist(job), None, 0.0)

    lost = chosen("How many lamps did the lighthouse keeper light?",
                  "The lighthouse keeper kept his lamp burning through every winter storm.")
    known = chosen("How many lamps did the lighthouse keeper light?",
                   "The lighthouse keeper lit 12 lamps, one for each rock below the cliff.")
    assert lost.confidence == 0.0 and known.confidence > 0.0 and "12" in known.answer
    # no date for a "when": the answer may be an event ("after the storm"), so it only counts less
    dated = chosen("When did the lighthouse keeper die?",
                   "The lighthouse keeper died in 1871, in the cottage below the lamp.")
    undated = chosen("When did the lighthouse keeper die?",
                     "The lighthouse keeper died after the great storm, in the cottage below.")
    assert 0.0 < undated.confidence < dated.confidence and "1871" in dated.answer
    # ... but "in what year" asks for a figure, and no event or "three years old" gives one
    assert chosen("In what year did the lighthouse keeper die?",
                  "The lighthouse keeper died in 1871, in the cottage below the lamp."
                  ).confidence > 0.0
    for sentence in ("The lighthouse keeper died after the great storm, in the cottage below.",
                     "The lighthouse keeper died when he was three years old, it is said.",
                     "The lighthouse keeper climbed the stair to his lamp 118 times that night."):
        assert chosen("In what year did the lighthouse keeper die?", sentence).confidence == 0.0
    # ... a year with its era is one, and a "when" takes three figures as a date
    assert "287 B.C." in chosen("In what year did the lighthouse keeper die?",
                                "The lighthouse keeper died in 287 B.C., in the cottage below.").answer
    assert "735" in chosen("When did the lighthouse keeper live?",
                           "The lighthouse keeper was born in Yorkshire 735, and died at sea.").answer
    # a question that asks for no such thing keeps its confidence
    assert chosen("What did the lighthouse keeper keep burning?",
                  "The lighthouse keeper kept his lamp burning through every winter storm."
                  ).confidence > 0.0
    alone = BookAnswer(book_id="b", answer=lost.answer, confidence=lost.confidence, weight=1.0)
    assert merge_answers([alone]) == (None, 0.0)
    # a name that stands capitalised only where any word is (opening its sentence) is unsure:
    # a book with a sure name beats it when ranked about as well, not when ranked clearly lower
    unsure = chosen("Which astronomer first saw the comet over the bay?",
                    "Halley first saw the comet over the bay, low in the west.")
    sure = chosen("Which astronomer first saw the comet over the bay?",
                  "That night the astronomer Penberthy first saw the comet over the bay.")
    assert 0.0 < unsure.confidence < sure.confidence
    for first_weight, winner in ((0.505, "b"), (0.55, "a")):
        first = BookAnswer(book_id="a", answer=unsure.answer, confidence=unsure.confidence,
                           weight=first_weight)
        second = BookAnswer(book_id="b", answer=sure.answer, confidence=sure.confidence,
                            weight=1.0 - first_weight)
        assert merge_answers([first, second])[0].book_id == winner
    # a name after a title or an initial stands inside its sentence, surely
    for sentence in ("The comet over the bay was first seen by Mr. Penberthy, low in the west.",
                     "The comet over the bay was first seen by Prof. J. R. Penberthy at dusk."):
        found = chosen("Which astronomer first saw the comet over the bay?", sentence)
        assert "Penberthy" in found.answer and found.confidence > 2 * unsure.confidence


def test_confidence_is_calibrated_and_falls_when_another_window_matches_as_well():
    """A book's confidence is the chance that its answer's window holds the answer: it falls
    when the next window matches the question nearly as well as the best (a close runner-up is
    the commonest sign of a wrong window), it maps 0 to 0 and rises with the raw confidence, and
    a book less sure than the least confidence asked for (serve.min_confidence, or the
    request's) has no answer: the merge passes over it to a surer book, or declines."""
    from bookgpt.answer.choose import calibrated, choose, shortlist
    from bookgpt.config import ServeConfig
    from bookgpt.merge import merge_answers
    from bookgpt.messages import AnswerJob, BookAnswer, Evidence

    best = Evidence(text="The lighthouse keeper kept a brass lamp burning through every storm.",
                    match=1.0, window=0)

    def chosen(runner_up: float, coverage: float = 0.6):
        other = Evidence(text="The keeper of the harbour wall painted the boats every spring.",
                         match=runner_up, window=1)
        job = AnswerJob(book_id="b", question="What did the lighthouse keeper keep burning?",
                        coverage=coverage, evidence=[best, other])
        return choose(job, shortlist(job), None, 0.0)

    clear, close = chosen(0.2), chosen(0.95)
    assert clear.answer == close.answer and "lamp" in clear.answer
    assert clear.confidence > 1.5 * close.confidence > 0.0
    least = ServeConfig().min_confidence
    assert calibrated(0.0) == 0.0 and 0.0 < calibrated(0.01) < least
    ps = [calibrated(r / 10) for r in range(1, 11)]
    assert ps == sorted(ps) and least <= ps[2] and ps[-1] < 1.0
    # a question barely covered by its best window, with a close runner-up: no answer at the
    # default least confidence, an answer when the caller takes any
    unsure = chosen(0.95, coverage=0.05)
    assert 0.0 < unsure.confidence < least
    mine = BookAnswer(book_id="a", answer=unsure.answer, confidence=unsure.confidence,
                      calibrated=True, weight=0.6)
    assert merge_answers([mine], least) == (None, 0.0)
    assert merge_answers([mine], 0.0)[0] is mine
    # ... and a surer book ranked lower answers in its place
    other = BookAnswer(book_id="b", answer=clear.answer, confidence=clear.confidence,
                       calibrated=True, weight=0.4)
    assert merge_answers([mine, other], least)[0] is other
    assert merge_answers([mine, other], 0.0)[0] is mine
    # a generated answer's confidence is its tokens' probability, no chance of being right: it is
    # not held to the least confidence
    written = BookAnswer(book_id="g", answer="a brass lamp", confidence=0.01, weight=1.0)
    assert merge_answers([written], least)[0] is written
