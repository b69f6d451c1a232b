"""Streaming an answer as it is written: generated token ids in, new text out."""

from __future__ import annotations

from collections.abc import Callable


class TextDeltas:
    """Turns a growing answer's token ids into the text each one adds, so that the pieces add up to
    the finished answer as it is returned: leading spaces are dropped and trailing ones held back
    (the answer is stripped), and a token that ends inside a multi-byte character waits for the
    rest of it."""

    def __init__(self, decode: Callable[[list[int]], str]):
        self.decode = decode
        self.ids: list[int] = []
        self.sent = ""

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self.decode(self.ids).strip()
        if text.endswith("\ufffd") or not text.startswith(self.sent):
            return ""  # half a character (or text that changed behind us): wait for more
        delta, self.sent = text[len(self.sent):], text
        return delta
