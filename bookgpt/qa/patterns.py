"""Span-finding question patterns over sentence clauses and dialogue.

Every generator yields candidates ``(kind, question, answer_start, answer_end)`` in absolute
character offsets of the book text; `bookgpt.qa.pairs` trims, filters and balances them.
"""

from __future__ import annotations

import re
from typing import NamedTuple
from collections.abc import Iterator

from bookgpt.qa.words import (
    Tok,
    ADVERBS, AFTER_VERB, AUX, BAD_START, CONJ, DEF_DETS, DET_ALL, DETERMINERS, IRREGULAR,
    LY_NOUNS, MEAN_VERBS, MODALS, NO_CLAUSE, NO_OBJECT, NON_HEAD, NOT_ED, PERSON_NOUNS,
    PERSON_VERBS, PLURALS, PREPS, PRONOUNS, SAY_VERBS, STOPWORDS, SUBJ_PRONOUNS, TAIL_PREPS,
    THAT_VERBS, TIME_WORDS, VERBS, BookStats, _W, squash, tokens,
)

class Candidate(NamedTuple):
    """A question made from the text, and where its answer stands: text[start:end]."""

    kind: str
    question: str
    start: int
    end: int

_CLAUSE_CUT = re.compile(r"\s*(?:;|:|--|—|\(|\)|\s\[|,\s+(?:and|but|or|which|while|whereas|for|so|"
                         r"because|since|although|though|if|when|where|who|whom)\s|\s+and\s+(?:I|"
                         r"we|he|she|it|they|this|these|there)\s)")
_AGENT = re.compile(r"(?P<aux>is|are|was|were|has\s+been|have\s+been|had\s+been)\s+"
                    r"(?P<p>[a-z]+(?:ed|en|wn))\s+by\s+(?P<by>(?:[A-Za-z][\w'-]*(?:\s+|$)){1,6})")
_CALLED = re.compile(r"(?:(?:also|usually|sometimes|generally|often|commonly|therefore|then|"
                     r"rightly|properly)\s+)?(?P<how>defined\s+as|called|termed|named|known\s+as)"
                     r"\s+(?=\S)")
_WE_MEAN = re.compile(r"\b[Bb]y\s+(?P<x>[^,;:()]{2,60}?),?\s+(?:we|I|one)\s+(?:shall\s+|will\s+|"
                      r"may\s+|can\s+)?(?:mean|understand|denote|designate)\s+(?P<y>\S)")


def phrase_for_question(s: str, stats: BookStats) -> str:
    """A sentence-initial noun phrase as it reads inside a question ("The Earth" -> "the Earth")."""
    s = squash(s).strip("\"'“”‘’")
    first, _, rest = s.partition(" ")
    if first.lower() in DETERMINERS | SUBJ_PRONOUNS - {"i"} or (
            first[:1].isupper() and not stats.is_name(first) and not first.isupper()):
        first = first.lower()
    return f"{first} {rest}".strip()


def clause_end(text: str, start: int, end: int) -> int:
    """End of the clause starting at `start` (before ; : -- ( or ', and' ...), at most `end`."""
    m = _CLAUSE_CUT.search(text, start, end)
    return m.start() if m else end


def question_tail(s: str, max_words: int) -> str:
    """A question's end from book text: cut at a comma, without end marks or dangling words."""
    ws = squash(s).split(",")[0].split()
    while ws and ws[-1].lower().strip(".!?;:'\"”’") in CONJ | PREPS | DET_ALL | _W("to by as "
                                                                                   "than"):
        ws.pop()
    s = re.sub(r"[^\w)\]]+$", "", " ".join(ws))
    return s if len(ws) <= max_words and s.count('"') % 2 == 0 and "'" not in s[-1:] else ""


# --------------------------------------------------------------------------- clauses

def _is_verb(toks: list[Tok], j: int, head: str, stats: BookStats | None = None) -> bool:
    w = toks[j].word
    lw = w.lower()
    nxt = toks[j + 1].word.lower() if j + 1 < len(toks) else ""
    if not w.islower() or lw in NOT_ED or (nxt == "by" and lw.endswith("ed")):
        return False  # "the theory developed by ..." is a participle, not the verb
    if lw in VERBS or (lw.endswith("ed") and len(lw) > 4):
        return nxt != "of"  # "the means of ..." is a noun
    if lw.endswith("ly") and nxt and _is_verb(toks, j + 1, head, stats):
        return True
    if not (nxt in AFTER_VERB or nxt.endswith("ly")) or lw in STOPWORDS or len(lw) < 3:
        return False
    if head.endswith("s") and not head.endswith("ss") and stats is not None:
        return not lw.endswith("s") and bool(stats.lower[lw + "ed"] or stats.lower[lw + "d"])
    return (lw.endswith("s") and not lw.endswith(("ss", "us", "is")) and len(lw) > 3
            and not head.endswith("ed") and (stats is None or stats.base(lw)))


def parse_clause(text: str, toks: list[Tok], i: int, at_start: bool, stats: BookStats) -> int | None:
    """Index of the verb after a subject noun phrase starting at token i, or None.

    The subject is a determiner- or name-led noun phrase, with up to two prepositional phrases
    ("the velocity of light in vacuo"), directly followed by its verb.
    """
    w0 = toks[i].word
    j, content, preps, head, last = i, 0, 0, "", ""
    if w0.lower() in DET_ALL:
        j, last = i + 1, "det"
    elif not at_start and w0.islower() and len(w0) > 3 and i + 1 < len(toks) and \
            toks[i + 1].word in AUX and w0 not in STOPWORDS | VERBS | NON_HEAD and \
            not w0.endswith(("ed", "ing", "ly")) and w0 != "example":
        return i + 1  # a bare noun before an auxiliary: "... but men are divided ..."
    elif not (w0[0].isupper() and (at_start or stats.is_name(w0))):
        return None
    while j < len(toks) and j - i < 9:
        w, ws, _ = toks[j]
        lw = w.lower()
        if j > i and text[toks[j - 1].end:ws].strip():
            return None  # punctuation inside: not a simple noun phrase
        # "the procedure often seems ...": the adverb starts the question
        adverb = lw in ADVERBS and j + 1 < len(toks) and toks[j + 1].word not in AUX and \
            _is_verb(toks, j + 1, head, stats)
        if last == "content" and (adverb or _is_verb(toks, j, head, stats)):
            if content == 1 and j == i + 1 and at_start and not stats.is_name(w0):
                return None  # "Strong is the ambition ...": a bare word is too vague a subject
            return j if not head.endswith("ed") else None
        if lw in PREPS and last == "content" and preps < 2:
            preps, last = preps + 1, "prep"
        elif lw in DET_ALL and (last == "prep" or last == "content" and toks[j - 1].word.endswith(
                ("ing", "ed"))):  # "the line joining two points"
            last = "det"
        elif (w[0].isalpha() and lw not in STOPWORDS | VERBS | NON_HEAD
              and (at_start or last != "" or w[0].isupper())
              and (not lw.endswith("ly") or lw in LY_NOUNS)):
            if not at_start and last == "" and not stats.is_name(w):
                return None
            content, last = content + 1, "content"
            head = lw if preps == 0 else head
        else:
            return None
        j += 1
    return None


def clauses(text: str, sents: list[tuple[int, int]], stats: BookStats) -> Iterator[Candidate]:
    """Definitions, called, why, subject and object questions from each sentence's clauses."""
    for s, e in sents:
        toks = tokens(text, s, e)
        starts = [i for i in range(len(toks)) if i == 0 and toks[0].start - s <= 1 or i > 0 and (
            re.search(r"[,;:]|--|—", text[toks[i - 1].end:toks[i].start])
            or toks[i - 1].word.lower() in CONJ - NO_CLAUSE)]
        for i in starts[:6]:
            if toks[i].word.lower() in SUBJ_PRONOUNS and i + 1 < len(toks):
                subj = toks[i].word if toks[i].word == "I" else toks[i].word.lower()
                yield from _object_questions(text, toks, subj, i + 1, e, stats)
                continue
            v = parse_clause(text, toks, i, i == 0, stats)
            if v is not None:
                yield from _clause_questions(text, toks, i, v, e, stats)
        yield from _relatives(text, toks, e, stats)
        m = _WE_MEAN.search(text, s, e)
        if m and len(m["x"].split()) <= 8 and m["x"].split()[0].lower() not in BAD_START - DET_ALL:
            a = m.start("y")
            yield Candidate("we_mean", f"What is meant by {squash(m['x'])}?", a, clause_end(text, a, e))


def _relatives(text: str, toks: list[Tok], e: int, stats: BookStats) -> Iterator[Candidate]:
    """'... a point, which moves along the line' -> 'What moves along the line?' and
    'Poincaré, the great mathematician, ...' -> 'Who is Poincaré?'"""
    for k in range(1, len(toks) - 2):
        gap = text[toks[k - 1].end:toks[k].start]
        lw = toks[k].word
        if lw in ("which", "who") and gap.strip() == "," and toks[k + 1].word.islower() and \
                _is_verb(toks, k + 1, "", stats) and toks[k + 1].word not in SAY_VERBS:
            d = next((d for d in range(k - 1, max(k - 7, -1), -1) if toks[d].word.lower() in
                      DETERMINERS - PRONOUNS | _W("a an the")), None)
            if d is None or any(t.word.lower() in STOPWORDS | VERBS and t.word != "of" or
                                text[t.end:toks[j + 1].start].strip() for j, t in
                                enumerate(toks[d + 1:k - 1], d + 1)) or \
                    toks[k - 1].word.lower() in STOPWORDS:
                continue
            rest = question_tail(text[toks[k + 1].start:clause_end(text, toks[k + 1].start, e)], 20)
            if len(rest.split()) >= 3 and rest.split()[1].lower() not in CONJ | _W("not"):
                kind, wh = ("who", "Who") if lw == "who" else ("statement", "What")
                yield Candidate(kind, f"{wh} {rest}?", toks[d].start, toks[k - 1].end)
        elif gap.strip() == "," and lw.lower() in ("a", "an", "the") and \
                stats.is_name(toks[k - 1].word) and (
                    k == 1 or "," in text[toks[k - 2].end:toks[k - 1].start]):
            stop = text.find(",", toks[k].end, e)
            app = text[toks[k].start:stop] if stop > 0 else ""
            name = toks[k - 1].word
            verbish = any(w.lower() in AUX | CONJ | PRONOUNS or w.endswith("ed")
                          for w in app.split()[1:])
            if app and 2 <= len(app.split()) <= 8 and not verbish and (
                    name in stats.people or stats.is_person(app.split())):
                wh = "Who" if name in stats.people or stats.is_person(app.split()) else "What"
                yield Candidate("who" if wh == "Who" else "definition", f"{wh} is {name}?",
                                toks[k].start, stop)


def _clause_questions(text: str, toks: list[Tok], i: int, v: int, e: int,
                      stats: BookStats) -> Iterator[Candidate]:
    a, b = toks[i].start, toks[v - 1].end
    subj = phrase_for_question(text[a:b], stats)
    vw, vs = toks[v].word.lower(), toks[v].start
    stop = clause_end(text, vs, e)
    person = stats.is_person(text[a:b].split()) or (
        toks[i].word in stats.people or (stats.is_name(toks[i].word) and vw in PERSON_VERBS))
    after = toks[v + 1] if v + 1 < len(toks) else Tok("", e, e)
    head = toks[v - 1].word
    plural = head.lower() in PLURALS or head.endswith("s") and not head.endswith(
        ("ss", "us", "is")) or " and " in text[a:b]
    if head.islower() and not re.search(r"\bof\b", text[a:b]) and (
            vw in ("is", "was", "has") and plural or vw in ("are", "were", "have") and not plural):
        return  # the verb does not agree with the subject: a misparse
    wh = "Who" if person else "What"
    if vw in ("is", "are", "was", "were"):
        m = _CALLED.match(text, after.start, e)
        if m:
            kind, q = (("definition", f"How {vw} {subj} defined?") if "defined" in m["how"]
                       else ("called", f"What {vw} {subj} called?"))
            yield Candidate(kind, q, m.end(), clause_end(text, m.end(), e))
        elif after.word.lower() in DEF_DETS or after.word[:1].isupper():
            end = text.find(",", after.start, stop)
            end = end if end > 0 and len(text[after.start:end].split()) >= 2 else stop
            yield Candidate(("who" if person else "definition"), f"{wh} {vw} {subj}?", after.start, end)
    elif vw in MEAN_VERBS and after.word and after.word.lower() not in PREPS:
        aux = "did" if vw == "meant" else "does"
        yield Candidate("definition", f"What {aux} {subj} {MEAN_VERBS[vw]}?", after.start, stop)
    why = re.compile(r"\s+because\s+").search(text, vs, stop)
    if vw in AUX - _W("do does did") and why:
        rest = question_tail(text[toks[v].end:why.start()], 16)
        if rest and rest.split()[0].lower() not in CONJ and text[why.end():why.end() + 3] != "of ":
            yield Candidate("why", f"Why {vw} {subj} {rest}?", why.end(), clause_end(text, why.end(), e))
    m = _AGENT.match(text, vs, stop)
    if m and m["p"] not in NOT_ED and not person:
        by = tokens(text, m.start("by"), m.end("by"))
        n = 1 + (by[0].word.lower() in DET_ALL)
        while n < len(by) and (
                by[n].word.lower() not in STOPWORDS | VERBS and not by[n].word.endswith(
                    ("ed", "ing", "ly")) or by[n].word == "of" and n + 1 < len(by)
                and by[n - 1].word != "of"):
            n += 1
        agent = [t.word for t in by[:n]]
        if n > len(by) or agent[-1].lower() in STOPWORDS:
            return
        aux, *more = m["aux"].split()
        wh = "By whom" if stats.is_person(agent) or agent[-1] in stats.people else "By what"
        q = " ".join([wh, aux, subj, *more, m["p"]]) + "?"
        yield Candidate("agent", q, by[0].start, by[n - 1].end)
    rest = question_tail(text[vs:stop], 20)
    nxt = rest.split()[1].lower() if len(rest.split()) > 1 else ""
    if not person and head[:1].isupper() and vw in SAY_VERBS | PERSON_VERBS:
        wh, person = "Who", True
    if len(rest.split()) >= (4 if vw in AUX else 3) and nxt != "not" and vw not in SAY_VERBS and (
            vw not in AUX or nxt not in CONJ | PREPS):
        yield Candidate(("who" if person else "statement"), f"{wh} {rest}?", a, b)
    if vw not in SAY_VERBS | MEAN_VERBS.keys() | _W("is are was were"):
        yield from _object_questions(text, toks, subj, v, e, stats)


def _object_questions(text: str, toks: list[Tok], subj: str, v: int, e: int,
                      stats: BookStats) -> Iterator[Candidate]:
    """'Newton discovered the law of gravitation' -> 'What did Newton discover?' (the object)."""
    vw = toks[v].word
    if not vw.islower() or vw in SAY_VERBS or vw in STOPWORDS - AUX:
        return
    if vw in _W("has have had") and v + 1 < len(toks) and toks[v + 1].word.lower() in DET_ALL:
        aux, verb, o = ("did" if vw == "had" else "does" if vw == "has" else "do"), "have", v + 1
        if aux == "does" and subj.lower() in SUBJ_PRONOUNS - _W("he she"):
            return
    elif vw in MODALS | _W("has have had") and v + 2 < len(toks):
        aux, verb, o = vw, toks[v + 1].word, v + 2  # "we can see the ..." -> "What can we see?"
        if verb in STOPWORDS | NO_OBJECT or not verb.islower() or verb.endswith("ly") or (
                vw in MODALS and stats.base(verb) != verb):
            return
    elif vw in AUX or vw.endswith(("ly", "ing")) or vw in NO_OBJECT or v + 1 >= len(toks):
        return
    else:
        past = vw in IRREGULAR or vw.endswith("ed")
        third = not past and vw.endswith("s") and subj.lower() not in SUBJ_PRONOUNS - _W("he she")
        if not past and not third and subj in ("he", "she"):
            return
        aux = "did" if past else "does" if third else "do"
        verb, o = stats.base(vw), v + 1
        if not verb or verb in NO_OBJECT:
            return
    if o >= len(toks) or text[toks[o - 1].end:toks[o].start].strip():
        return
    if toks[o].word == "that" and verb in THAT_VERBS and o + 3 < len(toks):
        a = toks[o + 1].start
        end = clause_end(text, a, e)
        if end - a > 8 and toks[o + 1].word.lower() not in CONJ:
            yield Candidate("object", f"What {aux} {subj} {verb}?", a, end)
        return
    det = toks[o].word.lower() in DET_ALL
    end, j, seen_of, seen_and, content = toks[o].end, o + det, False, False, 0
    while j < len(toks) and (j == o or not text[toks[j - 1].end:toks[j].start].strip()):
        lw = toks[j].word.lower()
        if lw == "of" and content and not seen_of:
            seen_of = True
        elif lw == "and" and content and not seen_and and not seen_of and j + 1 < len(toks) and (
                toks[j + 1].word.lower() in DET_ALL or toks[j + 1].word[0].isupper()):
            seen_and = True
        elif content and _is_verb(toks, j, toks[j - 1].word.lower(), stats):
            break
        elif lw in DET_ALL and seen_of and toks[j - 1].word == "of":
            pass
        elif lw in STOPWORDS | VERBS | NON_HEAD or lw.endswith(("ed", "ing", "ly")) or \
                not lw[0].isalpha():
            break
        else:
            content, end = content + 1, toks[j].end
        j += 1
    w = toks[o].word
    if text[toks[o].start:end].split()[-1].lower() in TIME_WORDS:
        return  # "ten times", "the next day": not an object
    if not det and not (stats.is_name(w) or w.endswith("s") and not w.endswith(("ss", "us"))
                        and w.islower() and w not in STOPWORDS | VERBS and content > 0):
        return  # without a determiner, only a name or a plural noun is taken for an object
    tail = question_tail(text[end:clause_end(text, end, e)], 10).split()
    if not content or (tail and (tail[0].lower() not in TAIL_PREPS or len(tail) > 1 and
                                 tail[1].lower() in _W("which whom whose what"))):
        return
    wh = "Who" if stats.is_person(text[toks[o].start:end].split()) else "What"
    yield Candidate("object", " ".join([wh, aux, subj, verb, *tail]) + "?", toks[o].start, end)


_SAY = "|".join(sorted(SAY_VERBS))
_SAID_AFTER = re.compile(
    r"[\"“](?P<q>[^\"“”]{6,240}?)[,!?]?[\"”][ \t\n]+(?:(?P<v1>" + _SAY + r")[ \t\n]+(?P<w1>(?:the"
    r"[ \t\n]+)?[A-Za-z]+(?:[ \t\n]+[A-Z][a-z]+)?)|(?P<w2>(?:[Tt]he[ \t\n]+(?:[a-z]+[ \t\n]+)?)?"
    r"[A-Z]?[a-z]+(?:[ \t\n]+[A-Z][a-z]+)?)[ \t\n]+(?:[a-z]+ly[ \t\n]+)?(?P<v2>" + _SAY + r"))\b")


_SAID_BEFORE = re.compile(
    r"(?P<w2>\b(?:[Tt]he[ \t\n]+(?:[a-z]+[ \t\n]+)?)?[A-Z][a-z]+(?:[ \t\n]+[A-Z][a-z]+)?)[ \t\n]+"
    r"(?:[a-z]+ly[ \t\n]+)?(?P<v2>" + _SAY + r")[,:]?[ \t\n]+[\"“](?P<q>[^\"“”]{6,240}?)"
    r"[,.!?]?[\"”]")


_SCRIPT = re.compile(r"^(?P<w>[A-Z][A-Z]+)\.[ \t]+(?P<q>[A-Z][^\n.?!]*(?:\n[^\n.?!]+)*[.?!])",
                     re.MULTILINE)


def dialogue(text: str, passage: tuple[int, int], stats: BookStats) -> Iterator[Candidate]:
    """'"Four miles in the hour," the other replied.' -> 'Who replied "Four miles in the hour"?'"""
    found = [*_SAID_AFTER.finditer(text, *passage), *_SAID_BEFORE.finditer(text, *passage)]
    for m in found:
        who, verb = ("w1", "v1") if m.groupdict().get("w1") else ("w2", "v2")
        name = m[who]
        nw = name.split()
        if nw[-1].lower() in STOPWORDS or (nw[0].islower() and nw[0] != "the") or (
                nw[-1][0].islower() and nw[-1].lower() not in PERSON_NOUNS):
            continue
        quote = squash(m["q"]).rstrip(",")
        if len(quote.split()) < 3 or len(quote.split()) > 25:
            continue
        yield Candidate("who", f'Who {m[verb]} "{quote}"?', m.start(who), m.end(who))
    for m in _SCRIPT.finditer(text, *passage):  # a play's layout: "SPHERE.  Define Space."
        quote = squash(m["q"])
        if 3 <= len(quote.split()) <= 25 and m["w"] not in ("I", "NOTE", "CHAPTER", "SECTION"):
            q = f'Who says "{quote.rstrip(".")}"' + ("" if quote[-1] in "?!" else "?")
            yield Candidate("who", q, m.start("w"), m.end("w"))
