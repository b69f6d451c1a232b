"""Streaming an answer as it is written: generated token ids in, new text out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")


class TextDeltas:
    """Turns a growing answer's token ids into the text each one adds, so that the pieces add up to
    the finished answer as it is returned: leading spaces are dropped and trailing ones held back
    (the answer is stripped; `strip=False` for a continuation, whose spaces are its own), and a
    token that ends inside a multi-byte character waits for the rest of it. What is still held
    back when the answer is done comes from `rest`."""

    def __init__(self, decode: Callable[[list[int]], str], strip: bool = True):
        self.decode, self.strip = decode, strip
        self.ids: list[int] = []
        self.sent = ""

    def push(self, token: int) -> str:
        self.ids.append(token)
        text = self.decode(self.ids)
        if self.strip:
            text = text.strip()
        if text.endswith("\ufffd") or not text.startswith(self.sent):
            return ""  # half a character (or text that changed behind us): wait for more
        delta, self.sent = text[len(self.sent):], text
        return delta

    def rest(self, final: str) -> str:
        """What the finished answer has beyond the pieces given so far (held back to the end, such
        as half a character cut off by the token limit); "" if it does not continue them."""
        return final[len(self.sent):] if final.startswith(self.sent) else ""


async def written(start: Callable[[Callable[[int], None]], Awaitable[T]],
                  decode: Callable[[list[int]], str], text_of: Callable[[T], str],
                  strip: bool = True) -> AsyncIterator[str | T]:
    """Pieces of text (str) as a computation's tokens come, then its result. `start(sink)` begins
    the computation; `sink(token)` may be called from any thread. The result's whole text is
    `text_of(result)`. Closing the iterator early cancels a computation still waiting."""
    loop = asyncio.get_running_loop()
    tokens: asyncio.Queue[int] = asyncio.Queue()

    def sink(tok: int) -> None:  # called from the model's thread
        loop.call_soon_threadsafe(tokens.put_nowait, tok)

    done = asyncio.ensure_future(start(sink))
    text = TextDeltas(decode, strip)
    take: asyncio.Future | None = None
    try:
        while True:
            take = asyncio.ensure_future(tokens.get())
            await asyncio.wait({take, done}, return_when=asyncio.FIRST_COMPLETED)
            if not take.done():
                break
            if piece := text.push(take.result()):
                yield piece
        while not tokens.empty():  # tokens handed over just before the result was complete
            if piece := text.push(tokens.get_nowait()):
                yield piece
        result = done.result()  # raises what stopped the computation
        if rest := text.rest(text_of(result)):
            yield rest  # held back to the end, e.g. half a character cut by the token limit
        yield result
    finally:  # also when the caller stops listening: nothing is left waiting
        if take is not None:
            take.cancel()
        if not done.done():
            done.cancel()  # still queued: dropped before it costs compute
