"""Which sentence of a window answers: the one that echoes the question, or follows one that does
(`evidence.echoes`, weighed by `choose.ECHO_FLOOR`), on real books."""

from __future__ import annotations

import pytest

import bookgpt.answer.choose as choose
from bookgpt.answer.evidence import ECHO_SPILL, echoes, evidence
from bookgpt.answer.retrieve import SentenceIndex
from bookgpt.crawl.extract import latex_to_text
from bookgpt.messages import AnswerJob


@pytest.fixture(scope="module")
def whitehead(shared_books) -> SentenceIndex:
    tex = (shared_books / "tex" / "introduction_to_mathematics.tex").read_text("utf-8")
    return SentenceIndex(latex_to_text(tex))


def _answer(index: SentenceIndex, question: str) -> str:
    _, found = evidence(index, question, windows=3, follow=2)
    job = AnswerJob(book_id="b", question=question, passage="", evidence=found, coverage=1.0)
    return choose.choose(job, choose.shortlist(job), None, 0.0).answer


def test_the_sentence_that_echoes_the_question_answers_before_its_neighbours(whitehead,
                                                                              monkeypatch):
    """The best window's sentences share its match: "These three notions, of the variable, of
    form, and of generality, compose a sort of mathematical trinity ..." echoes the question, the
    next ("They all really spring from the same root ...") only follows it, and without the echo
    the longer clause of the follower had won."""
    question = "What are the three notions of mathematics the author names?"
    _, found = evidence(whitehead, question, windows=3, follow=2)
    first = [e for e in found if e.window == 0]
    assert first[0].text.startswith("These three notions") and first[0].echo == 1.0
    assert first[1].echo == pytest.approx(ECHO_SPILL)  # it holds less of the question itself
    assert all(0.0 <= e.echo <= 1.0 for e in found)
    assert _answer(whitehead, question) == "variable, of form, and of generality"
    monkeypatch.setattr(choose, "ECHO_FLOOR", 1.0)  # every sentence as good as its window
    assert "generality" not in _answer(whitehead, question)


def test_a_question_the_book_asks_lends_its_echo_to_the_sentence_after_it(shared_books):
    """A question in the book restates a reader's but answers nothing: it echoes 0, and the
    sentence after it takes its echo whole (a plain sentence passes on only ECHO_SPILL of it)."""
    index = SentenceIndex((shared_books / "flatland.txt").read_text("utf-8"))
    k = next(i for i, s in enumerate(index.sentences)
             if s.endswith("distinguish the shapes and positions of his subjects?"))
    question = "How does the king distinguish the shapes and positions of his subjects?"
    got = echoes(index, question, [k, k + 1])
    assert got[k] == 0.0 and got[k + 1] == 1.0, got
    # a plain sentence keeps its echo and lends the next only a share of it
    plain = next(i for i, s in enumerate(index.sentences) if "Lineland" in s and "?" not in s)
    question = "Where is Lineland?"
    got = echoes(index, question, [plain, plain + 1])
    assert got[plain] == 1.0 and got[plain + 1] in (ECHO_SPILL, 1.0), got
    if "Lineland" not in index.sentences[plain + 1]:
        assert got[plain + 1] == ECHO_SPILL
