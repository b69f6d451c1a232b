"""The Q&A prompt formats built from special tokens, and loss masks on the answer only.

closed: <|question|> Q <|answer|> A <|endoftext|>
open:   <|passage|> P <|question|> Q <|answer|> A <|endoftext|>
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from tokenizers import Tokenizer

from bookgpt.text import squash
from bookgpt.tokenizer import SpecialIds


@dataclass(frozen=True)
class Example:
    tokens: list[int]  # the whole sequence
    loss_mask: list[bool]  # True where the next-token loss counts: answer tokens and the end token


_SENT_START = re.compile(r"(?:^|(?<=[.!?;:])\s+)(?=\S)")
_WORD = re.compile(r"[a-z0-9]{3,}")


def best_window(passage: str, question: str, chars: int) -> str:
    """`chars` characters of `passage` from the sentence sharing the most words with `question`.

    Open-book prompts show the model a window of the router's passage: the part that matches the
    question (the answer is most often in that sentence or just after it), not simply its start.
    """
    if len(passage) <= chars:
        return passage
    words = set(_WORD.findall(question.lower()))
    starts = [m.start() for m in _SENT_START.finditer(passage)] or [0]
    ends = [*starts[1:], len(passage)]
    scores = [len(words & set(_WORD.findall(passage[a:e].lower()))) for a, e in zip(starts, ends)]
    a = starts[max(range(len(starts)), key=lambda i: (scores[i], -i))]
    a = min(a, max(0, len(passage) - chars))  # near the end: show the last `chars` characters
    return passage[a:a + chars]


def prompt_ids(tok: Tokenizer, special: SpecialIds, question: str, passage: str | None,
               budget: int) -> list[int]:
    """Token ids of the prompt (up to and including <|answer|>), at most `budget` long.

    The passage is cut first (from its end, keeping its beginning), then the question's front.
    """
    q = tok.encode(" " + squash(question)).ids
    tail = [special.question, *q, special.answer]
    if len(tail) > budget:
        tail = [special.question, *q[len(tail) - budget:], special.answer]
    if passage is None:
        return tail
    room = budget - len(tail) - 1
    if room <= 0:
        return tail
    p = tok.encode(" " + squash(passage)).ids[:room]
    return [special.passage, *p, *tail]


def build_example(tok: Tokenizer, special: SpecialIds, question: str, answer: str,
                  passage: str | None, context: int, max_answer_tokens: int = 48) -> Example:
    """A training sequence of at most context + 1 tokens with the loss on the answer and end token."""
    a = tok.encode(" " + squash(answer)).ids[:max_answer_tokens] + [special.eot]
    prompt = prompt_ids(tok, special, question, passage, context + 1 - len(a))
    tokens = prompt + a
    # mask[i] refers to predicting tokens[i + 1] from tokens[: i + 1]
    mask = [False] * (len(prompt) - 1) + [True] * len(a)
    return Example(tokens, mask)
