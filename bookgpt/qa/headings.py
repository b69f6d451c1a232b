"""Heading questions from chapter and section titles, numbered ("CHAPTER IV.") or bare capitals."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bookgpt.qa.patterns import Candidate
from bookgpt.qa.words import DETERMINERS, BookStats, squash

_HEAD = re.compile(r"^[ \t]*(?P<label>CHAPTER|Chapter|BOOK|Book|PART|Part|SECTION|Section|KNOT|"
                   r"Knot|LECTURE|Lecture|LESSON|Lesson|ARTICLE|Article|§)[ \t]*"
                   r"(?P<num>[IVXLC]+|\d+)\b\.?[ \t]*(?:(?:--|[-—–:.])[ \t]*)?(?P<title>[^\n]*)$",
                   re.MULTILINE)
_MORE = re.compile(r"\n([ \t]*\S[^\n]{0,70})(?=\n[ \t]*\n)")
_GENERIC = {"chapter", "section", "part", "book", "lecture", "lesson", "article", "§"}


def _title_ok(t: str) -> bool:
    ws = t.split()
    return (0 < len(ws) <= 14 and len(t) <= 100 and t[:1].isalpha()
            and not re.search(r"\s{3,}\d+$", t)
            and sum(c.isalpha() for c in t) >= 0.7 * len(t.replace(" ", "")))


def _title_words(t: str, stats: BookStats) -> str:
    ws = re.sub(r"[\W_]+$", "", squash(t)).split()
    if t.upper() != t:
        return " ".join([ws[0].lower() if ws[0].lower() in DETERMINERS else ws[0], *ws[1:]])
    return " ".join("-".join(p.capitalize() if stats.is_name(p.capitalize()) else p.lower()
                             for p in w.split("-")) for w in ws)


def headings(text: str, stats: BookStats) -> Iterator[Candidate]:
    parent = ""
    for m in _HEAD.finditer(text):
        title_s, title, same_line = m.start("title"), m["title"].strip(), True
        before = text[max(0, m.start() - 3):m.start()].replace(" ", "").replace("\t", "")
        if re.search(r"\s{3,}\d+\s*$", m.group()) or (m.start() and not before.endswith("\n\n")):
            continue  # a contents line with its page number, or a reference inside a paragraph
        if not title:
            nxt = re.compile(r"\s*\n(?:[ \t]*\n){0,3}[ \t]*([^\n]+)").match(text, m.end())
            if not nxt or _HEAD.match(nxt.group(1)) or nxt.group(1).strip().upper() != \
                    nxt.group(1).strip():
                continue
            title_s, title, same_line = nxt.start(1), nxt.group(1).rstrip(), False
        more = _MORE.match(text, title_s + len(title))
        if more and not _HEAD.match(more.group(1)) and title[-1:] not in ".:":
            title = text[title_s:more.end()]  # a title that runs on to a second line
        if not _title_ok(squash(title)):
            continue
        label = m["label"].lower()
        name = ("section" if label == "§" else label) if label in _GENERIC else label.capitalize()
        num, t_end = m["num"], title_s + len(title)
        if label in ("book", "part"):
            parent = f" of {label} {num}"
        where = parent if label not in ("book", "part") else ""
        if same_line and not title.isupper() and sum(
                w[0].isupper() for w in title.split() if len(w) > 3) < 0.5 * len(
                [w for w in title.split() if len(w) > 3]):
            continue  # "Book VI only what was ...": a sentence, not a heading
        yield Candidate("heading", f"What is {name} {num}{where} about?", title_s, t_end)
        topic = _title_words(title, stats)
        first, _, rest = topic.partition(" ")
        if first.lower() in ("of", "on", "concerning", "about", "upon") and rest:
            q = f"Which {name.lower()} discusses {rest}?"
        elif first.lower() in ("how", "why", "what", "where", "when") and rest:
            q = f"Which {name.lower()} tells {first.lower()} {rest}?"
        elif title.rstrip().endswith("?"):
            q = f"Which {name.lower()} asks \"{topic}?\""
        else:
            q = f"Which {name.lower()} discusses {topic}?"
        q = q.replace(f"Which {name.lower()} ", f"Which {name.lower()}{where} ", 1)
        yield Candidate("heading", q, m.start("label"), m.end("num"))
    yield from _bare_headings(text)


_BARE_HEAD = re.compile(r"(?:\A|\n[ \t]*\n)[ \t]*(?P<t>[A-Z][A-Z0-9 ,;:'’\-]{8,90}[A-Z0-9.?]?)"
                        r"[ \t]*\n[ \t]*\n\s*(?P<p>[A-Z\"“][^\n]*\n[^\n]+)")


def _bare_headings(text: str) -> Iterator[Candidate]:
    """An unnumbered all-capitals title over prose: 'Which section begins "In your schooldays"?'"""
    for m in _BARE_HEAD.finditer(text):
        title, para = m["t"].strip(), squash(m["p"])
        if len(title.split()) < 2 or _HEAD.match(title) or title.startswith("BY ") or \
                not re.search(r"[a-z]{3}.*[a-z]{3}", para):
            continue
        opening = re.sub(r"[^\w]+$", "", " ".join(para.split()[:8]))
        yield Candidate("heading", f'Which section begins "{opening} ..."?', m.start("t"), m.end("t"))
