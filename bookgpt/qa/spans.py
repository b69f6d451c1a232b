"""Candidate answer spans of a passage, for extractive decoding.

A book model answers best when it chooses among the book's own words rather than writing freely:
the passage the router found is cut into short phrases near the sentences that match the question,
and the model scores each phrase as an answer (see `bookgpt.inference.BookModel.score_answers`).
"""

from __future__ import annotations

import re

from bookgpt.qa.format import squash
from bookgpt.qa.words import BAD_START, STOPWORDS
from bookgpt.text import query_text

_SENT = re.compile(r"[^.!?;:]+[.!?;:]*")
_WORD = re.compile(r"[A-Za-z0-9][A-Za-z0-9'’\-^\[\]]*")
_BREAK = re.compile(r"[,()\"“”—]|--")  # a span never crosses these
_QWORD = re.compile(r"[a-z0-9]+")
_OPENERS = frozenset({"a", "an", "the"})


def _content_words(text: str) -> set[str]:
    return {w for w in _QWORD.findall(text.lower()) if w not in STOPWORDS and len(w) > 1}


def _question_words(question: str) -> set[str]:
    """The question's content words, without cloze scaffolding (the router's `query_text`)."""
    return _content_words(query_text(question))


def _stem(w: str) -> str:
    return w[:5]


def ranked_sentences(passage: str, question: str) -> list[tuple[float, int, int]]:
    """(score, start, end) of the passage's sentences, best match with the question first."""
    return _ranked(passage, _question_words(question))


def _ranked(passage: str, qwords: set[str]) -> list[tuple[float, int, int]]:
    q = {_stem(w) for w in qwords}
    out = []
    for m in _SENT.finditer(passage):
        words = {_stem(w) for w in _content_words(m.group())}
        if words:
            out.append((len(q & words) / (1 + 0.02 * len(m.group())), m.start(), m.end()))
    out.sort(key=lambda t: (-t[0], t[1]))
    return out


def best_sentence(passage: str, question: str) -> str:
    """The passage sentence that best matches the question (the extractive baseline's answer)."""
    ranked = ranked_sentences(passage, question)
    return squash(passage[ranked[0][1]:ranked[0][2]] if ranked else passage)


def phrases(sentence: str, question: str, *, max_words: int = 5, limit: int = 32) -> list[str]:
    """Phrases of up to `max_words` words of `sentence`, in reading order: none crosses
    punctuation, starts with a function word (articles aside), ends with a stop word, or repeats a
    content word of the question (an answer names what the question does not).

    The defaults were measured on four quickstart books' validation questions: 6 words and 64
    phrases gave F1 0.515 at 120 questions/s, 5 and 32 the same F1 at 178, 4 and 12 0.505 at 187."""
    return _phrases(sentence, _question_words(question), max_words, limit)


def _phrases(sentence: str, qwords: set[str], max_words: int = 5, limit: int = 32) -> list[str]:
    out: list[str] = []
    seen: set[str] = set()
    for chunk in _BREAK.split(sentence):
        words = list(_WORD.finditer(chunk))
        lows = [w.group().lower().strip("'’") for w in words]
        for i, first in enumerate(lows):
            if first in BAD_START and first not in _OPENERS:
                continue
            for j in range(i, min(i + max_words, len(words))):
                if lows[j] in qwords:
                    break
                if lows[j] in STOPWORDS:
                    continue
                text = squash(chunk[words[i].start():words[j].end()])
                if text.lower() not in seen:
                    seen.add(text.lower())
                    out.append(text)
                if len(out) >= limit:
                    return out
    return out


def answer_candidates(passage: str, question: str, tries: int = 3) -> tuple[str, list[str]]:
    """(sentence, phrases): the best-matching sentence of the passage that offers any phrase, on
    one line, and its phrases (each a substring of it)."""
    qwords = _question_words(question)
    for _, a, b in _ranked(passage, qwords)[:tries]:
        sentence = squash(passage[a:b])
        found = _phrases(sentence, qwords)
        if found:
            return sentence, found
    return "", []
