"""One text module for routing, Q&A generation and answering: sentences, words and stems.

Sentences end at . ! ? (followed by closing quotes or brackets) before a capital, digit or
opening quote, or at a blank line; a full stop after a known abbreviation ("Mr.", "e.g.") or a
single capital (an initial) does not end one. Stems are a light suffix stripper cut to
`STEM_CHARS` letters, so "inhabitants", "inhabited" and "inhabitant" meet, and so do
"simultaneous" and "simultaneously".
"""

from __future__ import annotations

import functools
import re
import unicodedata

from bookgpt.qa.words import STOPWORDS

ABBREV = frozenset(
    "mr mrs ms dr st sir prof vol vols no nos fig figs ch chap pp p art sec sect viz cf ie eg etc "
    "ibid op cit ed eds ii iii iv vi vii viii ix xi xii ca esq jr sr gen ex exs misc eq eqs seq "
    "loc".split())
_SENT_END = re.compile(r"[.!?]+[\"'’”)\]_]*(?=\s+[\"'‘“(\[_]*[A-Z0-9])|\n[ \t]*\n")
_INITIALS = re.compile(r"(?:[A-Z]\.)*[A-Z]")
# old units' abbreviations, whose stop may stand inside one amount ("216 ft. 8 in."), and the
# figures before them: "3", "1,000", "27+3/11", "32-8/11", "4½"
UNIT_ABBREVIATIONS = r"(?:ft|in|yds?|lbs?|oz|cwt|hrs?|mins?|secs?|gal|qt|pt|s|d)"
_FRACTIONS = "½¼¾⅓⅔⅛"
AMOUNT = r"\d[\d,]*(?:[./+-]\d+)*[" + _FRACTIONS + "]?"
_UNIT_BEFORE = re.compile(r"[\d" + _FRACTIONS + r"]\s*_?" + UNIT_ABBREVIATIONS + r"_?$",
                          re.IGNORECASE)
_UNIT_AFTER = re.compile(r"[_\s]*" + AMOUNT + r"\s*_?" + UNIT_ABBREVIATIONS + r"_?\.",
                         re.IGNORECASE)


def unit_stop(text: str, at: int, inside: bool = True) -> bool:
    """Whether the stop at text[at] ends a unit's abbreviation after its figure ("216 ft."),
    and, `inside`, one inside an amount, with a figure and an abbreviated unit after it too:
    "216 ft. 8 in.", "2s. 6d.", "1_s._ 7_d._", "3s. 4½d.", "4 min. 30 sec." (not "5 in. 6 more
    fell", nor "the 1860s. 1870 was")."""
    return bool(_UNIT_BEFORE.search(text, max(0, at - 8), at)
                and (not inside or _UNIT_AFTER.match(text, at + 1)))


_ABBR_TAIL = re.compile(r"((?:[A-Za-z]\.)+[A-Za-z]|[A-Za-z]+)\.?$")  # "Ex.", "i.e."
_PARAGRAPH = re.compile(r"\n[ \t\r]*\n\s*")
_CLAUSE_END = re.compile(r"[.!?;:][\"')\]_]*\s+")  # where a long paragraph may be cut
_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+){0,2}")
_TOKEN = re.compile(r"[^\W_]+(?:['’][^\W_]+){0,2}")  # a word as printed, before folding
STEM_CHARS = 7
# words that ask rather than say: a question's "which way" or "how fast" names no fact to match
QUESTION_WORDS = frozenset(
    "what which who whom whose when where why how does did do according book author chapter "
    "say says said tell told called name named mean meant".split())
_SUFFIXES = ("ational", "ations", "ation", "nesses", "ness", "ments", "ment", "ingly", "edly",
             "ings", "ing", "ies", "ied", "ed", "ly", "s")  # "-es" is "-s", then a final "e"


def squash(text: str) -> str:
    """One line: whitespace collapsed."""
    return " ".join(text.split())


# a footnote's mark after a word or a stop ("published about 1638.[241]", "reasonings[2]"),
# or opening its note ("[241] See ..."), and a page number in braces ("keep the {109} wound"),
# not "sqrt[3](x)", a subscript "K[0]" or an exponent "n^{4}"; and an image's placeholder
_MARKS = re.compile(r"(?:(?<=[^\W\d_]{2})|(?<=[.,;:!?\"'’”)])|^)\[\d{1,4}\](?!\()|"
                    r"(?<=\s)\{\d{1,4}\}|"
                    # an image's placeholder in a plain-text edition: "eq. 27: file eq27.gif"
                    r"(?:\b(?:eq|fig)\.?\s*\d+\s*:\s*)?\bfile \S+\.(?:gif|png|jpe?g|svg)\b",
                    re.MULTILINE | re.IGNORECASE)


def unmarked(text: str) -> str:
    """Text without its footnote marks, page numbers and image placeholders (its lines and
    spaces otherwise kept)."""
    return _MARKS.sub("", text)


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as absolute (start, end) spans without surrounding space."""
    end = len(text) if end is None else end
    cuts, pos = [], start
    for m in _SENT_END.finditer(text, start, end):
        if m.group()[0] == ".":
            tail = _ABBR_TAIL.search(text, max(start, m.start() - 12), m.start())
            tok = tail.group(1) if tail else ""
            # an abbreviation ("Ex.", "i.e.") or initials ("A.", "J.J.", "A.D.", "U.S.") go on
            if tok.replace(".", "").lower() in ABBREV or _INITIALS.fullmatch(tok):
                continue
            if unit_stop(text, m.start()):
                continue
        cuts.append((pos, m.end()))
        pos = m.end()
    cuts.append((pos, end))
    out = []
    for s, e in cuts:
        seg = text[s:e]
        if seg.strip():
            s2 = s + len(seg) - len(seg.lstrip())
            out.append((s2, s2 + len(seg.strip())))
    return out


def fold(text: str) -> str:
    """Lower case without accents ("Méchain" -> "mechain")."""
    text = text.lower()
    if text.isascii():
        return text
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


def words(text: str) -> list[str]:
    """Lower-cased, accent-folded words and numbers, possessive "'s" dropped, and a French
    elision's letter ("d'Alembert's", "l'Hospital": "alembert", "hospital")."""
    return [_plain(w) if "'" in w or "’" in w else w
            for w in _WORD.findall(fold(text).replace("_", " "))]


def word_spans(text: str) -> list[tuple[int, int, str]]:
    """`words`, each with where it starts and ends in `text` (the parts of "co-ordinates" or
    "d'Alembert's" share their token's)."""
    out = []
    for m in _TOKEN.finditer(text):
        out += [(m.start(), m.end(), w) for w in words(m.group())]
    return out


def _plain(w: str) -> str:
    """A word with an apostrophe without its possessive, or its elided letter."""
    parts = re.split(r"['’]", w)
    elided = len(parts[0]) == 1 and len(parts[1]) > 2 and parts[0].isalpha()
    return parts[1] if elided else parts[0]


# a number written as a word meets the same number in figures ("fourteen bishops", "14 bishops")
_NUMBERS = {w: str(n) for n, w in enumerate(
    "zero one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty".split())}
_NUMBERS.update({w: str(10 * n) for n, w in enumerate(
    "thirty forty fifty sixty seventy eighty ninety".split(), start=3)})


@functools.lru_cache(maxsize=1 << 16)  # a book has far fewer distinct words; called per word
def stem(word: str) -> str:
    """A light stem: one common suffix stripped, then a final "e" (so that "square", "squares"
    and "squared" meet, and "circle" and "circles"), then the first STEM_CHARS letters. (Short
    words keep their suffixes: "used" is not "use". Stemming them too, with every book's encoder
    retrained on the new stems, fixed two answers of the sets it was tried on and lost three and
    two out-of-scope declines on two sets written after it: 2026-12-08, docs/answers.md.)"""
    if word in _NUMBERS:
        return _NUMBERS[word]
    if len(word) > 4 and not word.isdigit():
        for suf in _SUFFIXES:
            if word.endswith(suf) and len(word) - len(suf) >= 3:
                if suf == "s" and word.endswith(("ss", "us", "is")):
                    break
                word = word[: -len(suf)]
                if suf in ("ies", "ied"):
                    word += "y"
                break
    if len(word) >= 4 and word.endswith("e"):
        word = word[:-1]
    return word[:STEM_CHARS]


def is_content(word: str) -> bool:
    return word not in STOPWORDS and (len(word) > 1 or word.isdigit())


def content_stems(text: str) -> list[str]:
    """Stems of the content words of `text`, in reading order (repeats kept)."""
    return [stem(w) for w in words(text) if is_content(w)]


def question_stems(question: str) -> list[str]:
    """Stems of the words of a question that can match its answer's text, in order."""
    return [stem(w) for w in words(question) if is_content(w) and w not in QUESTION_WORDS]


# question scaffolding that says nothing about which book: "Fill in the blank: ... ____ ..."
_SCAFFOLD = re.compile(r"^\s*fill in the blanks?\s*:\s*|_{2,}", re.IGNORECASE)


def query_text(question: str) -> str:
    """The words of a question that can tell books apart (scaffolding such as cloze markers cut)."""
    return _SCAFFOLD.sub(" ", question)


def passage_spans(text: str, passage_chars: int) -> list[tuple[int, int]]:
    """(start, end) spans of about `passage_chars` characters covering the text's non-blank parts.

    Paragraphs are packed together while they fit; a paragraph longer than the limit is cut at
    sentence ends, else at a space. A very short passage (a heading) may take the next piece and
    grow to 1.25x the limit.
    """
    limit = passage_chars
    pieces: list[tuple[int, int]] = []
    pos = 0
    bounds = [(m.start(), m.end()) for m in _PARAGRAPH.finditer(text)] + [(len(text), len(text))]
    for p_end, nxt in bounds:
        s = pos
        while p_end - s > limit:
            window = text[s:s + limit]
            cut = max((m.end() for m in _CLAUSE_END.finditer(window) if m.end() >= limit // 3),
                      default=0)
            if not cut:
                space = window.rfind(" ")
                cut = space + 1 if space > limit // 3 else limit
            pieces.append((s, s + cut))
            s += cut
        if p_end > s:
            pieces.append((s, p_end))
        pos = nxt
    spans: list[tuple[int, int]] = []
    for s, e in pieces:
        if not text[s:e].strip():
            continue
        short = bool(spans) and spans[-1][1] - spans[-1][0] < limit // 4
        if spans and (e - spans[-1][0] <= limit or (short and e - spans[-1][0] <= limit * 5 // 4)):
            spans[-1] = (spans[-1][0], e)
        else:
            spans.append((s, e))
    out = []
    for s, e in spans:  # trim surrounding whitespace, keeping offsets exact
        chunk = text[s:e]
        lead = len(chunk) - len(chunk.lstrip())
        out.append((s + lead, s + len(chunk.rstrip())))
    return out
