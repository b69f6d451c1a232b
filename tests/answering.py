"""Helpers for the answer-cutting tests."""

from __future__ import annotations

from bookgpt.answer.extract import candidates


def first_answer(question: str, *sentences: tuple[str, float]) -> str:
    """The text of the best candidate for `question` among (sentence, match) pairs."""
    return candidates(question, list(sentences))[0].text
