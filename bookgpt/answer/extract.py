"""Answer candidates shaped by the question, cut from the sentences that answer it.

A question asks for a kind of thing (`bookgpt.answer.asking`): a person, a number or quantity,
a time, a place, a reason, a meaning, or a plain noun phrase. Each sentence of the retrieved windows (and
the sentences after each, where answers often stand) is cut into clauses at punctuation; the
clauses, pairs of neighbouring clauses, a number with what it counts and a reason from its
"because" on are the candidates, trimmed of the question's own words. A candidate scores by
what it adds to the question (content words the question does not have), by how well its
sentence matches the question, by whether it has what the question asks for (a name for "who", a
number for "how many", "because" for "why") and by its length against what such a question needs.
What a sentence itself says the answer is (a label, "the answer is", a name it gives) comes from
`bookgpt.answer.stated` and counts more; clauses are cut by `bookgpt.answer.clauses`, and what
kind of thing a piece holds is read by `bookgpt.answer.kinds`.
"""

from __future__ import annotations

import dataclasses
import functools
import re
from collections.abc import Set
from dataclasses import dataclass

from bookgpt.answer.asking import Asked
from bookgpt.answer.clauses import split_clauses
from bookgpt.answer.kinds import (CAP_WORD, FIGURE, GROUNDS, MEASURES, NAME, QUANTITY, at_opening,
                                  compounds, named_inside, type_fit)
from bookgpt.answer.stated import declared_answers, given_names, offered_answer, stated_figures
from bookgpt.qa.words import PERSON_NOUNS, TAIL_PREPS
from bookgpt.text import UNIT_ABBREVIATIONS, is_content, squash, stem, words

# words that link a sentence to the one before ("Accordingly", "Finally"): they start no answer,
# and alone they are none
_CONNECTIVES = ("accordingly|consequently|moreover|however|besides|indeed|finally|furthermore|"
                "nevertheless|nonetheless|meanwhile|likewise|similarly|lastly|firstly|secondly")
_LEAD = re.compile(r"^(?:and|but|or|so|for|that|which|who|then|thus|hence|yet|while|whereas|"
                   r"therefore|namely|i\.e\.|e\.g\.|that is|" + _CONNECTIVES + r"),?\s+",
                   re.IGNORECASE)
# a list's label opening a piece ("(1) 8d.; (2) 1s.", its bracket cut with the clause before)
_LIST_LABEL = re.compile(r"^\(?(?:\d{1,2}|[a-h]|[ivx]{1,4})\)\s+(?=\S)")
# a numbered puzzle's heading opening its sentence ("57.--The Christmas Geese. Farmer Rouse
# ..."): its number counts nothing, and its title answers nothing
_NUMBERED = re.compile(r"^[\W_]*\d+\.?\s*(?:--|\u2014|\u2013)[^.!?]*[.!?]?")
_SHOUTED = re.compile(r"[^a-z]*[A-Z]{2}[^a-z]*")
# a label alone ("_Answer._", "Problem 1.", "Note:") is no answer
_LABEL_WORD = re.compile(r"[\W_]*(?:answers?|solutions?|ans|problems?|questions?|exercises?|"
                         r"examples?|notes?|hints?)(?:\s*\d+)?[\W_]*", re.IGNORECASE)
# who speaks: a quotation's tag ('," the Captain said', '!" he added') is not what was said
_SPEECH = (r"(?:said|says|say|asked|asks|replied|replies|cried|exclaimed|remarked|answered|added|"
           r"continued|observed|muttered|whispered|shouted|began|went on)")
_TAG_AFTER = re.compile(r"[,!?.]?[\"”’]\s+(?:[\w'’]+\s+){0,4}?" + _SPEECH + r"\b.*$", re.IGNORECASE)
_TAG_ALONE = re.compile(r"(?:[\w'’]+\s+){0,3}" + _SPEECH + r"(?:\s+[\w'’]+){0,3}", re.IGNORECASE)
_CONNECTIVE = re.compile(r"(?:" + _CONNECTIVES + r")\W*", re.IGNORECASE)
# names joined: "from Dunkerque to Barcelona", "Lebombo and Ishango", "Trafalgar Square ... to
# Euston Station" when a question asks for two
_NAMES = re.compile(r"(?:\bfrom\s+)?" + NAME.pattern + r"(?:,?\s+(?:and|or|to)\s+(?:the\s+)?"
                    + NAME.pattern + r")+")
# a name with its apposition: "the Vienna philosopher Mach", "Mach, the Vienna philosopher"
_WHO_NOUN = r"(?:" + "|".join(sorted(PERSON_NOUNS | {"thinker", "novelist", "scientist", "poet",
                                                    "inventor", "critic", "historian"})) + r")"
_APPOSED = re.compile(r"(?:" + CAP_WORD + r"\s+)*" + _WHO_NOUN + r"\s+" + NAME.pattern + "|"
                      + NAME.pattern + r",\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,3}?" + _WHO_NOUN
                      + r"\b")
_DESCRIBES = re.compile(r"\s+" + _WHO_NOUN + r"\b")
_INITIAL = re.compile(r"(?:[A-Z]\.){1,3}")
_AND = re.compile(r"\w \b(?:and|or)\b \w")
_COUNTED_KINDS = frozenset({"number", "time", *MEASURES})  # a figure answers them
_UNIT_ENDING = re.compile(r"_?" + UNIT_ABBREVIATIONS + r"\._?", re.IGNORECASE)  # "in.", "_d._"
_OWNED = re.compile(r"['’]s? (\w+)")  # what a name owns: "'s theorem", "’s axiom"
# a plain-text edition's italics: an underscore opening or closing a word ("_Optica promota_"),
# or opening a unit's abbreviation after its figure ("8_d._"), not one inside a word (a
# subscript, "r_2")
_ITALIC = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])|(?<=\d)_(?=[a-z]{1,3}(?:\.|\b))", re.IGNORECASE)

# the length in words that answers of each type tend to have (a reader's short answer)
_LENGTH = {**dict.fromkeys(MEASURES, 3), "person": 3, "number": 2, "time": 3, "place": 4,
           "reason": 10, "condition": 9, "claim": 9, "meaning": 9, "thing": 7}


# a candidate's score is a product of its features, each lifted to at least its floor: no one
# feature vetoes a candidate alone
MATCH_POWER = 4  # how sharply the best window's sentences beat the others'
NOVELTY_FLOOR = 0.5
LENGTH_FLOOR = 0.6
FIT_FLOOR = 0.5
NEAR_FLOOR = 0.4
# a sentence labelled as an answer matches as well as the best window, and its candidates count
# this much more than others
LABELLED = 1.5
# the object of the preposition a question asks with ("through what"): at most PREP_WORDS words
# with it, ideally PREP_LENGTH, and not after a negation ("and not through its phases")
PREP_WORDS = 8
PREP_LENGTH = 4
_NEGATED = re.compile(r"\b(?:not|nor|never)\s+$", re.IGNORECASE)
# a question asking two things: a candidate with what its sentence says of the other (of at most
# BOTH_WORDS words) counts this much more; the best BOTH_TRIED candidates are tried
BOTH = 1.2
BOTH_WORDS = 6
BOTH_TRIED = 5
# a name after a locative preposition names a place ("born in Yorkshire"), not a person
_LOCATIVE = re.compile(r"\b(?:in|at|near|from|to|into)\s+(?:the\s+)?$", re.IGNORECASE)
STRICT_KINDS = frozenset({"person", "place", "time", "number", *MEASURES})
MAX_WORDS = 20  # a longer piece is a passage, not an answer
OPENING_NAME = 0.5
# a clause that points to what comes next ("This theorem may be stated as follows:", "let us
# consider again the system ...") announces the answer, in the next sentence; it counts this much
ANNOUNCING = 0.5
_ANNOUNCES = re.compile(r"(?:\b(?:as follows|(?:in )?the following(?: [\w-]+){0,3})\W*|\blet us (?:now )?"
                        r"(?:consider|see|examine|take)\b.*|\bwe (?:shall|will) now (?:consider|show|"
                        r"prove|see)\b.*)$", re.IGNORECASE)


def _floor(x: float, floor: float) -> float:
    return floor + (1.0 - floor) * x


@dataclass(frozen=True)
class Candidate:
    text: str
    sentence: str  # the sentence it was cut from (the answer's support)
    score: float  # the model-free score (higher is better)


def _counted(text: str, counted: frozenset[str]) -> str:
    """The start of `text` (a number on) up to the thing a question counts, if it comes within
    three words of the number: "575 squares", "255 different ways", "1.3 × 10^13 bits"."""
    toks = text.split()
    figure = FIGURE.match(text)
    lead = len(figure.group().split()) if figure else 1  # the figure's words: "about 1.3 × 10^13"
    ends = [k for k in range(lead, min(len(toks), lead + 3)) if stem(_bare(toks[k])) in counted]
    return " ".join(toks[:ends[-1] + 1]) if counted and ends else ""


def _trim(text: str, qstems: Set[str], keep: frozenset[str] = frozenset()) -> str:
    """Leading conjunctions and the question's own words cut from the ends of a candidate (but
    not, at its end, the stems in `keep`: what a "how many" question counts, or all the
    question's stems for a name given, "a desarguesian number system")."""
    text = _LEAD.sub("", _LIST_LABEL.sub("", text.strip()))
    toks = text.split()
    while toks and _spare(toks[0], qstems) and len(toks) > 1:
        toks.pop(0)
    tail = qstems - keep
    # ... but not the unit of a rate ("43 seconds of arc per century"), nor an old unit's
    # abbreviation after its figure ("216 ft. 8 in.")
    while (toks and _spare(toks[-1], tail) and len(toks) > 1 and toks[-2].lower() != "per"
           and not (toks[-2][-1:].isdigit() and _UNIT_ENDING.fullmatch(toks[-1]))):
        toks.pop()
    return " ".join(toks).strip(" ,;:\"'“”‘’_")


def _spare(token: str, qstems: Set[str]) -> bool:
    """A token the trim may cut: every word of it ("one-third" has two) is a function word or
    one of the question's."""
    if _INITIAL.fullmatch(token):  # a name's initial ("F." of "F. R. Moulton") is no function word
        return False
    return all(stem(w) in qstems or not is_content(w) for w in _parts(token))


@functools.lru_cache(maxsize=1 << 16)
def _parts(token: str) -> tuple[str, ...]:
    return tuple(words(token))


def _bare(token: str) -> str:
    """A token's first word ("one" of "one-third,")."""
    parts = _parts(token)
    return parts[0] if parts else ""


def _aside(piece: str) -> bool:
    """A short clause opened by a preposition is an aside ("In short", "For example", "Of
    course", "In a word"), not an answer, unless it holds what is asked ("at Tours" for a place,
    "in 1840" for a time)."""
    ws = piece.split()
    if _CONNECTIVE.fullmatch(piece) or _LABEL_WORD.fullmatch(piece):
        return True
    return len(ws) <= 3 and ws[0].lower() in TAIL_PREPS | {"of", "in", "on", "at", "for"}


def _pieces(sentence: str, asked: Asked) -> list[tuple[str, float]]:
    """(piece, nearness) of a sentence: its clauses (asides dropped unless they hold what is
    asked), pairs of neighbouring clauses, a number's quantity, a reason's "because" clause.
    Nearness (0..1) is how close the piece stands to the clauses that echo the question."""
    clauses = [(a, b) for a, b in split_clauses(sentence)
               if not _aside(sentence[a:b]) or type_fit(asked.kind, sentence[a:b],
                                                         asked.words) == 1.0
               or (asked.prep and _opens_with(sentence[a:b].lstrip(), asked.prep))]
    echo = [sum(1 for w in words(sentence[a:b]) if is_content(w) and stem(w) in asked.stems)
            for a, b in clauses]
    total = sum(echo) or 1
    spans = [(i, i) for i in range(len(clauses))] + [(i, i + 1) for i in range(len(clauses) - 1)]
    # what the question asks for, cut out (a quantity, a name), comes before the clauses around
    # it: a text cut from both counts as the piece it is ("Fermat", the name, not what is left of
    # "Since the time of Fermat" once the question's words are trimmed)
    pieces: list[tuple[int, int, str]] = []
    if asked.kind in _COUNTED_KINDS:  # the quantity alone, with what it counts
        # the number with the thing counted, a word or two on: "255 different ways"; where the
        # question's counted thing follows, the quantity's own guess at it (the word after the
        # number, "255 different"), when that word says something, is a cut short of it and
        # gives way (a function word, "eleven which", is trimmed off to the number anyway)
        for i, (a, b) in enumerate(clauses):
            for m in QUANTITY.finditer(sentence, a, b):
                if _in_formula(sentence, m.start(), m.end()):
                    continue  # a term of "2n - 2" counts nothing
                q = _counted(sentence[m.start():b], asked.counted)
                cut = [q] if q else []
                if not q or len(q) <= len(m.group()) or not is_content(_bare(m.group().split()[-1])):
                    cut.append(m.group())
                # the shorter first: a text both give counts as the one that says no more
                pieces += [(i, i, c) for c in sorted(cut, key=len)]
        # a measure in several units, whole ("216 ft. 8 in."), though its stops cut clauses
        # (its parts are no answers: `candidates`)
        pieces += [(_at(clauses, a), _at(clauses, b - 1), text)
                   for a, b, text in compounds(sentence)]
    named = len(pieces)  # the pieces from here to `cut` are names cut out of clauses
    if asked.kind in ("person", "place"):  # the name alone: a run of capitalised words
        # (not one before what the book calls a person: "Russian" of "the Russian mathematician
        # Friedman" describes him)
        pieces += [(i, i, m.group()) for i, (a, b) in enumerate(clauses)
                   for m in NAME.finditer(sentence, a, b)
                   if m.group().split()[-1].lower() not in asked.words
                   and not (asked.kind == "person" and _DESCRIBES.match(sentence, m.end()))]
        if asked.kind == "person":  # the name with what the book calls the person
            pieces += [(_at(clauses, m.start()), _at(clauses, m.end() - 1), m.group())
                       for m in _APPOSED.finditer(sentence)]
        if asked.many:  # the names together, as one answer
            pieces += [(_at(clauses, m.start()), _at(clauses, m.end() - 1), m.group())
                       for m in _NAMES.finditer(sentence)]
    cut = len(pieces)
    pieces += [(i, j, sentence[clauses[i][0]:clauses[j][1]]) for i, j in spans]
    if asked.many:  # two things asked for: "X and Y", as many words after "and" as before
        pieces += [(i, i, c) for i, (a, b) in enumerate(clauses)
                   for c in _coordinated(sentence[a:b])]
    if asked.prep:  # the object of the preposition asked with: "through the tides"
        pieces += [(i, i, " ".join(sentence[m.start():b].split()[:PREP_WORDS]))
                   for i, (a, b) in enumerate(clauses)
                   for m in re.finditer(r"\b" + asked.prep + r"\b", sentence[:b], re.IGNORECASE)
                   if m.start() >= a and not _NEGATED.search(sentence, 0, m.start())]
    if asked.kind in GROUNDS:  # the reason itself: from "because" to the end of its clause
        # a reason longer than an answer runs on past it: its first MAX_WORDS words
        pieces += [(i, i, " ".join(sentence[m.start():b].split()[:MAX_WORDS]))
                   for i, (a, b) in enumerate(clauses)
                   for m in GROUNDS[asked.kind][0].finditer(sentence, a, b)]
    # a name cut out of a clause stands as near the echo as the clauses around it do: "Cassini"
    # of "... between the Newtonians who believed the earth flattened, as the theory of
    # gravitation requires, and Cassini" is as near as that pair of clauses
    last = len(clauses) - 1
    pieces[named:cut] = [(max(0, i - 1), min(last, j + 1), raw) for i, j, raw in pieces[named:cut]]
    return [(raw, max((echo[k] / (1 + max(i - k, k - j, 0)) for k in range(len(clauses))),
                      default=0.0) / total) for i, j, raw in pieces]


def _opens_with(text: str, word: str) -> bool:
    return text[:len(word) + 1].lower().rstrip() == word and not text[len(word):len(word) + 1].isalnum()


def _coordinated(clause: str) -> list[str]:
    """The coordinations "X and Y" ("X or Y") of a clause: X from the clause's start (its last
    eight words at most), Y as long as X (the parallel conjunct), both within the clause."""
    toks = clause.split()
    out = []
    for k, t in enumerate(toks):
        if t.lower() in ("and", "or") and 0 < k < len(toks) - 1:
            left = toks[max(0, k - 8):k]
            out.append(" ".join(left + toks[k:k + 1 + len(left)]))
    return out


def _at(clauses: list[tuple[int, int]], pos: int) -> int:
    """The clause that character `pos` falls in (or the last one before it)."""
    return max([k for k, (a, _) in enumerate(clauses) if a <= pos] or [0])


# a letter standing alone (a variable) beside a figure, with or without an operator between
# (not "=": "c = 300,000 km./sec" gives the variable's value)
_VARIABLE_BEFORE = re.compile(r"(?<![A-Za-z])[A-Za-z]\s*[-+×*/^]?\s*$")
_VARIABLE_AFTER = re.compile(r"^\s*[-+×*/^]?\s*[A-Za-z](?![A-Za-z])")


def _in_formula(sentence: str, start: int, end: int) -> bool:
    """Whether the figure at [start, end) is a term of a formula, a variable beside it ("2n - 2",
    "x^2 + 1"), not a variable's value ("c= 300,000 km./sec"), a count ("5-1/2 lbs", "256 ways"),
    a plain sum or a figure in scientific notation ("70 + 75 = 310", "1.3 × 10^13")."""
    return bool(_VARIABLE_BEFORE.search(sentence[max(0, start - 4):start])
                or _VARIABLE_AFTER.search(sentence[end:end + 4]))


def _score(raw: str, text: str, match: float, near: float, asked: Asked) -> float | None:
    """The model-free score of a piece (`raw`, `text` once trimmed), or None if it is no answer:
    nothing the question lacks, or too long."""
    ws = [w for w in words(text) if is_content(w)]
    if not ws or all(stem(w) in asked.stems for w in ws):
        return None
    n = len(text.split())
    if n > MAX_WORDS:
        return None
    # what the piece adds, counted before trimming: a clause that restates the question is no
    # answer, however little of it the trim leaves
    whole = [w for w in words(raw) if is_content(w)]
    # ... but what a "how many" counts is no restatement: "256 different ways" says it all
    novelty = sum(1 for w in whole if stem(w) not in asked.stems or stem(w) in asked.counted
                  ) / len(whole)
    ideal = PREP_LENGTH if asked.prep else _LENGTH[asked.kind]
    length_fit = 1.0 / (1.0 + abs(n - ideal) / ideal)
    # a reason is judged on the piece as cut (its "because" is trimmed off as a stop word), and
    # so is a measure (its unit, when the question names it: "6-1/4" of "6-1/4 minutes")
    judged = raw if asked.kind in GROUNDS or asked.kind in MEASURES else text
    fit = 1.0 if asked.prep and _opens_with(raw, asked.prep) else type_fit(asked.kind, judged,
                                                                              asked.words)
    if asked.many and asked.kind in ("meaning", "thing") and _AND.search(text):
        fit = 1.0  # two things asked for, and two given
    return (match ** MATCH_POWER * _floor(novelty, NOVELTY_FLOOR)
            * _floor(length_fit, LENGTH_FLOOR) * _floor(fit, FIT_FLOOR)
            * _floor(near, NEAR_FLOOR))


def _kind_named(sentence: str, asked: Asked) -> list[str]:
    """For a "which planet" question, the names a sentence gives beside the kind asked for
    ("Mercury, the planet which lies nearest the sun", "the planet Mercury")."""
    if asked.kind != "thing" or not asked.which:
        return []
    out = []
    for m in NAME.finditer(sentence):
        if at_opening(sentence, m.start()) or m.group().lower() in asked.words:
            continue
        near = words(sentence[max(0, m.start() - 30):m.end() + 30])
        if any(stem(w) in asked.which for w in near):
            # the kind a name owns is part of it: "Pascal's theorem", "Euclid's axiom"
            owned = _OWNED.match(sentence, m.end())
            own = owned and stem(owned.group(1).lower()) in asked.which
            out.append(m.group() + owned.group() if own else m.group())
    return out


def _cuts(piece: str, sentence: str, spans: list[tuple[int, int]]) -> bool:
    """Whether a piece cuts one of the sentence's spans, holding part of it but not all."""
    at = sentence.find(piece)
    end = at + len(piece)
    return at >= 0 and any(at < b and end > a and not (at <= a and end >= b) for a, b in spans)


def _announcing(piece: str, sentence: str, cue: int) -> bool:
    """Whether a piece reaches into the end of its sentence that announces what follows, from
    character `cue` on (-1: the sentence announces nothing)."""
    at = sentence.find(piece) if cue >= 0 else -1
    return at >= 0 and at + len(piece) > cue


def _keep(out: list[Candidate], seen: dict[str, int], cand: Candidate) -> None:
    """Add a candidate, or, when another sentence gave the same text, keep the better scored
    of the two: "Fermat" of the sentence that echoes the question, not of the first one read."""
    at = seen.get(cand.text.lower())
    if at is None:
        seen[cand.text.lower()] = len(out)
        out.append(cand)
    elif out[at].score < cand.score:
        out[at] = cand


def candidates(question: str, sentences: list[tuple[str, float]], limit: int = 24) -> list[Candidate]:
    """Scored candidate answers from `sentences` ((sentence, match score 0..1) pairs, the
    retrieved windows' sentences and their followers), best first, at most `limit`."""
    asked = Asked.of(question)
    seen: dict[str, int] = {}  # a candidate's text (lower case) -> its place in `out`
    tried: set[tuple[str, str]] = set()  # (text, sentence) pieces cut already
    out: list[Candidate] = []
    # a name a sentence gives, for a question asking what something is called, matches by how
    # much of the question the words before it hold, against the best such echo among the
    # sentences (`stated.given_names`): "... are called its "free" periods" over "... is called resonance".
    # The echo's share enters to the MATCH_POWER, as a match does; its sentence's match once
    sentences = [(squash(s), match) for s, match in sentences]
    stated_in = {s: given_names(s, asked) for s, _ in sentences} if asked.naming else {}
    # ... and so does the figure a sentence says its subject is, for a question asking for one
    # ("Therefore the least percentage is 10.")
    if asked.kind == "number" or asked.kind in MEASURES:
        stated_in = {s: stated_in.get(s, []) + stated_figures(s, asked) for s, _ in sentences}
    best_echo = max((e for found in stated_in.values() for _, e in found), default=0.0)
    for sentence, match in sentences:
        given = [(p, (e / best_echo if best_echo else 1.0) * match ** (1 / MATCH_POWER))
                 for p, e in stated_in.get(sentence, [])]
        if _SHOUTED.fullmatch(sentence):  # a heading in capitals ("ANSWERS TO KNOT VI."): it
            continue  # frames its window, but answers nothing
        labelled, declared = declared_answers(sentence)  # the book says this is the answer
        announces = _ANNOUNCES.search(sentence)
        cue = announces.start() if announces else -1
        # a measure in several units is whole or nothing: "216 ft" is "216 ft. 8 in." cut short
        # (its closing italics' marks are no part a piece must hold: "1_s._ 7_d._")
        whole = ([(a, a + len(text.rstrip("_"))) for a, _, text in compounds(sentence)]
                 if asked.kind in _COUNTED_KINDS else [])
        # the answer a question offers that the sentence takes ("art" of "an art rather than a
        # science", "neither"): a question word, or a stop word, but what was asked, and stated
        for p in offered_answer(sentence, asked):
            _keep(out, seen, Candidate(text=p, sentence=sentence,
                                       score=match ** MATCH_POWER * LABELLED))
        # (piece, nearness, stated, what the trim keeps at its end, match): what the book says
        # the answer is, or the name it gives when a name is asked for, is stated; a labelled
        # answer matches as the best window does
        pieces = ([(p, 1.0, True, asked.counted, 1.0 if labelled else match) for p in declared]
                  + [(p, 1.0, True, asked.stems, match) for p in _kind_named(sentence, asked)]
                  + [(p, 1.0, True, asked.stems, m) for p, m in given]
                  + [(r, n, labelled, asked.counted, 1.0 if labelled else match)
                     for r, n in _pieces(sentence, asked)])
        numbered = _NUMBERED.match(sentence)
        for raw, near, stated, keep, piece_match in pieces:
            if numbered and 0 <= sentence.find(raw) < numbered.end():
                continue  # "57", "57.--The Christmas Geese", "Christmas Geese": no answer
            raw = _TAG_AFTER.sub("", raw)
            if not raw or _TAG_ALONE.fullmatch(raw.strip(" \"'“”‘’_,")):
                continue
            text = _trim(raw, asked.stems, keep)
            if asked.prep and _opens_with(raw, asked.prep) and not _opens_with(text, asked.prep):
                at = raw.find(text)  # "through the tides": its preposition kept
                text = raw[:at] + text if at > 0 else text
            if asked.kind in GROUNDS:
                text = _trim(GROUNDS[asked.kind][1].sub("", text), asked.stems)
            if not text or (text.lower(), sentence) in tried:
                continue
            tried.add((text.lower(), sentence))
            if whole and _cuts(text, sentence, whole):
                continue
            score = _score(raw, text, piece_match, near, asked)
            if score is not None:
                score *= LABELLED if stated else 1.0
                if not stated and _announcing(text, sentence, cue):
                    score *= ANNOUNCING
                if asked.kind in ("person", "place") and not stated and not named_inside(
                        text, sentence, asked.words):
                    score *= OPENING_NAME
                # the answer reads without its italics' marks; its sentence, the citation, keeps
                # them as the book has them
                _keep(out, seen, Candidate(text=_ITALIC.sub("", text), sentence=sentence,
                                           score=score))
    if asked.also:
        for cand in _both(sorted(out, key=lambda c: -c.score)[:BOTH_TRIED], asked):
            _keep(out, seen, cand)
    out.sort(key=lambda c: -c.score)
    return out[:limit]


def _both(best: list[Candidate], asked: Asked) -> list[Candidate]:
    """For a question that asks two things ("Who introduced it, and in what year?"), each of the
    best candidates that answers its part with the nearest short piece of its sentence that
    answers the other ("1985, Jean-Paul Doignon and Jean-Claude Falmagne"), in the sentence's
    order."""
    other = dataclasses.replace(asked, kind=asked.also, many=True, prep="", also="")
    out = []
    for cand in best:
        if (asked.kind in STRICT_KINDS and type_fit(asked.kind, cand.text, asked.words) < 1.0
                or type_fit(asked.also, cand.text, asked.words) == 1.0):
            continue  # no answer to its own part, or one to both already
        at = cand.sentence.find(cand.text)
        found = []
        for raw, _ in _pieces(cand.sentence, other):
            text = _trim(raw, asked.stems)
            where = cand.sentence.find(text)
            if (text and len(text.split()) <= BOTH_WORDS and where >= 0
                    and text.lower() not in cand.text.lower()
                    and cand.text.lower() not in text.lower()
                    and type_fit(asked.also, text, asked.words) == 1.0
                    and (asked.also not in ("person", "place")
                         or named_inside(text, cand.sentence, asked.words)
                         and bool(_LOCATIVE.search(cand.sentence, 0, where))
                         == (asked.also == "place"))):
                found.append((abs(where - at) if at >= 0 else 0, -len(text), where, text))
        if found:
            _, _, where, text = min(found)
            both = (cand.text, _ITALIC.sub("", text))  # in the order the sentence says them
            out.append(Candidate(text=", ".join(both if where > at else both[::-1]),
                                 sentence=cand.sentence, score=cand.score * BOTH))
    return out
