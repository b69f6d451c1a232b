"""Streamed pieces of an answer add up to the answer as it is finally returned."""

from __future__ import annotations

from bookgpt.serving.stream import TextDeltas


def byte_decoder(ids: list[int]) -> str:
    """Each id is one byte of UTF-8, as in byte-level BPE's worst case."""
    return bytes(ids).decode("utf-8", errors="replace")


def test_pieces_add_up_to_the_stripped_answer():
    text = "  the Lorentz transformation  "
    d = TextDeltas(byte_decoder)
    pieces = [d.push(b) for b in text.encode()]
    assert "".join(pieces) == text.strip()
    assert pieces[:2] == ["", ""]  # leading spaces never leave
    assert pieces[-2:] == ["", ""]  # trailing ones wait for text that never comes


def test_a_character_split_across_tokens_waits_for_its_last_byte():
    d = TextDeltas(byte_decoder)
    pieces = [d.push(b) for b in "über".encode()]
    assert pieces[0] == "" and pieces[1] == "ü"  # "ü" is two bytes
    assert "".join(pieces) == "über"


def test_half_a_character_at_the_end_comes_from_rest():
    d = TextDeltas(byte_decoder)
    ids = list(b"ab ") + list("ü".encode())[:1]  # the token limit cut "ü" in half
    pieces = [d.push(b) for b in ids]
    final = byte_decoder(ids).strip()  # the answer as returned: "ab \ufffd"
    assert "".join(pieces) == "ab"
    assert "".join(pieces) + d.rest(final) == final
    assert d.rest("something else") == ""
