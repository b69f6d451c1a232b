"""Streaming an answer as it is written: generated token ids in, new text out."""

from __future__ import annotations

from collections.abc import Callable


class TextDeltas:
    """Turns a growing answer's token ids into the text each one adds, so that the pieces add up to
    the finished answer as it is returned: leading spaces are dropped and trailing ones held back
    (the answer is stripped), and a token that ends inside a multi-byte character waits for the
    rest of it. What is still held back when the answer is done comes from `rest`."""

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

    def rest(self, final: str) -> str:
        """What the finished answer has beyond the pieces given so far (held back to the end, such
        as half a character cut off by the token limit); "" if it does not continue them."""
        return final[len(self.sent):] if final.startswith(self.sent) else ""
