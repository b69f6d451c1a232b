"""Answer candidates shaped by the question, cut from the sentences that answer it.

A question asks for a kind of thing (`bookgpt.answer.asking`): a person, a number or quantity,
a time, a place, a reason, a meaning, or a plain noun phrase. Each sentence of the retrieved
windows (and the sentences after each, where answers often stand) is cut into pieces
(`bookgpt.answer.pieces`): its clauses, pairs of neighbouring clauses, a number with what it
counts, a reason from its "because" on; trimmed of the question's own words, they are the
candidates. A candidate scores by
what it adds to the question (content words the question does not have), by how well its
sentence matches the question, by whether it has what the question asks for (a name for "who", a
number for "how many", "because" for "why") and by its length against what such a question needs.
What a sentence itself says the answer is (a label, "the answer is", a name it gives) comes from
`bookgpt.answer.stated` and counts more; what kind of thing a piece holds is read by
`bookgpt.answer.kinds`. A question asking two things gets candidates answering both (`_both`).
"""

from __future__ import annotations

import dataclasses
import re
from dataclasses import dataclass

from bookgpt.answer.asking import Asked
from bookgpt.answer.kinds import (CAP_WORD, FIGURED, GROUNDS, MARKED, MEASURES, NAME, at_opening, compounds,
                                  named_inside, type_fit)
from bookgpt.answer.pieces import MAX_WORDS, cut, opens_with, trim
from bookgpt.answer.stated import (declared_answers, defined_term, given_names, offered_answer,
                                   said_meanings, stated_figures)
from bookgpt.text import is_content, question_stems, squash, stem, word_spans, words

# a numbered puzzle's heading opening its sentence ("57.--The Christmas Geese. Farmer Rouse
# ..."): its number counts nothing, and its title answers nothing
_NUMBERED = re.compile(r"^[\W_]*\d+\.?\s*(?:--|\u2014|\u2013)[^.!?]*[.!?]?")
_SHOUTED = re.compile(r"[^a-z]*[A-Z]{2}[^a-z]*")
# who speaks: a quotation's tag ('," the Captain said', '!" he added') is not what was said
_SPEECH = (r"(?:said|says|say|asked|asks|replied|replies|cried|exclaimed|remarked|answered|added|"
           r"continued|observed|muttered|whispered|shouted|began|went on)")
_TAG_AFTER = re.compile(r"[,!?.]?[\"”’]\s+(?:[\w'’]+\s+){0,4}?" + _SPEECH + r"\b.*$", re.IGNORECASE)
_TAG_ALONE = re.compile(r"(?:[\w'’]+\s+){0,3}" + _SPEECH + r"(?:\s+[\w'’]+){0,3}", re.IGNORECASE)
# names, then what they are, in apposition: "London and Wise, the designers of the ... maze"
_DESCRIBED = re.compile("(" + NAME.pattern + r"(?:\s+and\s+" + NAME.pattern + r")?),\s+(?:the|a|an)\s+"
                        r"((?:[\w'’-]+\s+){0,6}?[\w'’-]+)(?=[,;:.)]|$)")
_AND = re.compile(r"\w \b(?:and|or)\b \w")
_OWNED = re.compile(r"['’]s? (\w+)")  # what a name owns: "'s theorem", "’s axiom"
# a plain-text edition's italics: an underscore opening or closing a word ("_Optica promota_"),
# or opening a unit's abbreviation after its figure ("8_d._"), not one inside a word (a
# subscript, "r_2")
_ITALIC = re.compile(r"(?<![^\W_])_+|_+(?![^\W_])|(?<=\d)_(?=[a-z]{1,3}(?:\.|\b))", re.IGNORECASE)

# the length in words that answers of each type tend to have (a reader's short answer)
_LENGTH = {**dict.fromkeys(MEASURES, 3), "person": 3, "number": 2, "time": 3, "place": 4,
           "reason": 10, "comparison": 4, "condition": 9, "claim": 9, "meaning": 9, "thing": 7}


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
PREP_LENGTH = 4  # the ideal length of the object of a preposition asked for ("through the tides")
# a question asking two things: a candidate with what its sentence says of the other (of at most
# BOTH_WORDS words) counts this much more; the best BOTH_TRIED candidates are tried
BOTH = 1.2
BOTH_WORDS = 6
BOTH_TRIED = 5
# a name after a locative preposition names a place ("born in Yorkshire", "met at the old Tabard
# Inn"), not a person; a place asked for that stands after none counts UNLOCATED as much
_LOCATIVE_WORDS = ("in", "at", "near", "from", "into")
_LOCATIVE = re.compile(r"\b(?:" + "|".join(_LOCATIVE_WORDS + ("to",)) + r")\s+(?:the\s+(?:[a-z]+\s+)?)?$",
                       re.IGNORECASE)  # ("relied on General Lee", "went to see Thomas": no place)
UNLOCATED = 0.8
# a question asking for two names or more ("To which two places ...?") counts a piece that
# joins none ONE_OF_MANY as much
ONE_OF_MANY = 0.6  # (0.8 until 2026-12-08: one name still beat the two joined, 'Yorkshire ... Tours')
_JOINED = re.compile(r"\b(?:and|or)\b|,")
# ... and a name asked for as a person that stands right after one of them (not "from": "a letter
# from Newton") counts PLACED as much ("my statement in the Introduction"), unless it is a
# possessive ("the flaw in Cauchy's proof")
_PLACE_BEFORE = re.compile(r"\b(?:" + "|".join(w for w in _LOCATIVE_WORDS if w != "from")
                           + r")\s+(?:the\s+)?$", re.IGNORECASE)
PLACED = 0.5
_A_KIND = re.compile(r"\b(?:a|an)\s+$", re.IGNORECASE)
# a year before 1000 said as one ("born in Yorkshire in 735"): three figures after "in" or "circa"
_EARLY_YEAR = re.compile(r"\b(?:in|circa|c\.)\s+$", re.IGNORECASE)
# a name that only a person has, with a title or initials ("Mr. Oscar Hoppe", "M. Arago", "F. R.
# Moulton"), counts PERSONAL as much when a person is asked for
_PERSONAL = re.compile(r"(?:(?:Mr|Mrs|Ms|Dr|Prof)\.\s+|(?:Sir|Lord|Lady|Professor|Captain|Miss|"
                       r"Madame|Monsieur|Herr)\s+|(?:[A-Z]\.\s?){1,3})" + CAP_WORD)
PERSONAL = 1.25
OPENING_NAME = 0.5
# a clause that points to what comes next ("This theorem may be stated as follows:", "let us
# consider again the system ...") announces the answer, in the next sentence; it counts this much
ANNOUNCING = 0.5
_ANNOUNCES = re.compile(r"(?:\b(?:as follows|(?:in )?the following(?: [\w-]+){0,3})\W*|\blet us (?:now )?"
                        r"(?:consider|see|examine|take)\b.*|\bwe (?:shall|will) now (?:consider|show|"
                        r"prove|see)\b.*)$", re.IGNORECASE)


# a "what" or "how" question whose last word is its verb's or its preposition's ("What did they
# first use fractions to show?", "How was the temperature recorded?") leaves its answer where the
# sentence goes on after that word ("... used them to show reciprocals", "recorded by remote
# satellite"): a piece that starts there (at most two function words between, no bracket or stop)
# counts SLOT as much
SLOT = 2.0
_SLOT_ASKED = re.compile(r"^\W*(?i:what|how (?:is|was|are|were|do|does|did|can|could)) "
                         r".*\b[a-z]+\W*$")  # (... that ends on a lower-case word)
_SLOT_GAP = re.compile(r"[()\[\];:.!?]")


def _slot_after(sentence: str, last: str) -> list[tuple[int, int]]:
    """Where a piece would stand right after a use of the stem `last` in `sentence`: (from the
    end of that use, to the start of the first content word after it)."""
    spans = word_spans(sentence)
    out = []
    for i, (_, end, w) in enumerate(spans):
        if not is_content(w) or stem(w) != last:
            continue
        nxt = next((start for start, _, v in spans[i + 1:i + 4] if is_content(v)), None)
        if nxt is not None and not _SLOT_GAP.search(sentence, end, nxt):
            out.append((end, nxt))
    return out


# "Whose recent measurements ...?" asks for the person the sentence says they are by or of
# ("measurements by Zeeman"), or whose they are ("Cauchy's test"): a name standing there counts
# OWNER as much
OWNER = 2.0
_WHOSE = re.compile(r"\bwhose\s+((?:[\w'’-]+\s+){0,2}[\w'’-]+)", re.IGNORECASE)
_BY_OF = re.compile(r"\s+(?:by|of)\s+(?:the\s+)?$", re.IGNORECASE)


def _owned(question: str) -> frozenset[str]:
    """The stems of what a "whose" question asks the owner of (its first three words)."""
    m = _WHOSE.search(question)
    return frozenset(stem(w) for w in words(m.group(1)) if is_content(w)) if m else frozenset()


def _owns(text: str, sentence: str, owned: frozenset[str]) -> bool:
    """Whether a piece stands as the owner of one of `owned` in its sentence: after "N by" or
    "N of", or before "'s N"."""
    at = sentence.find(text)
    if at < 0:
        return False
    before = _BY_OF.search(sentence, 0, at)  # (only a "whose" question's pieces ask this)
    if before and any(stem(w) in owned for w in words(sentence[:before.start()])[-1:]):
        return True
    after = _OWNED.match(sentence, at + len(text))
    return bool(after) and stem(after.group(1).lower()) in owned


def _floor(x: float, floor: float) -> float:
    return floor + (1.0 - floor) * x


@dataclass(frozen=True)
class Candidate:
    text: str
    sentence: str  # the sentence it was cut from (the answer's support)
    score: float  # the model-free score (higher is better)



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
    shaped = _prep_shaped(raw, asked)
    ideal = PREP_LENGTH if shaped else _LENGTH[asked.kind]
    length_fit = 1.0 / (1.0 + abs(n - ideal) / ideal)
    # a reason is judged on the piece as cut (its "because" is trimmed off as a stop word), and
    # so is a measure (its unit, when the question names it: "6-1/4" of "6-1/4 minutes")
    judged = raw if asked.kind in GROUNDS or asked.kind in MEASURES else text
    fit = 1.0 if shaped else type_fit(asked.kind, judged, asked.words)
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


def _described(sentence: str, asked: Asked) -> list[str]:
    """For a "who" question, the names a sentence describes in the question's words, in
    apposition: "London and Wise, the designers of the Hampton Court maze" of "Who designed the
    maze at Hampton Court?"."""
    if asked.kind != "person":
        return []
    out = []
    for m in _DESCRIBED.finditer(sentence):
        said = {stem(w) for w in words(m.group(2)) if is_content(w)}
        named = {stem(w) for w in words(m.group(1))}
        if not at_opening(sentence, m.start()) and (said - named) & asked.stems:
            out.append(m.group(1))
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
    qstems = question_stems(question)
    term = defined_term(question)
    slot_asked = (asked.kind in ("thing", "reason") and not asked.naming and bool(qstems)
                  and _SLOT_ASKED.search(question))
    owned = _owned(question) if asked.kind == "person" else frozenset()
    for sentence, match in sentences:
        given = [(p, (e / best_echo if best_echo else 1.0) * match ** (1 / MATCH_POWER))
                 for p, e in stated_in.get(sentence, [])]
        if _SHOUTED.fullmatch(sentence):  # a heading in capitals ("ANSWERS TO KNOT VI."): it
            continue  # frames its window, but answers nothing
        slots = _slot_after(sentence, qstems[-1]) if slot_asked else []
        labelled, declared = declared_answers(sentence)  # the book says this is the answer
        announces = _ANNOUNCES.search(sentence)
        cue = announces.start() if announces else -1
        # a measure in several units is whole or nothing: "216 ft" is "216 ft. 8 in." cut short
        # (its closing italics' marks are no part a piece must hold: "1_s._ 7_d._")
        whole = ([(a, a + len(text.rstrip("_"))) for a, _, text in compounds(sentence)]
                 if asked.kind in FIGURED else [])
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
                  + [(p, 1.0, True, asked.stems, match) for p in _described(sentence, asked)]
                  + [(p, 1.0, True, asked.stems, match) for p in said_meanings(sentence, asked, term)]
                  + [(p, 1.0, True, asked.stems, m) for p, m in given]
                  + [(r, n, labelled, asked.counted, 1.0 if labelled else match)
                     for r, n in cut(sentence, asked)])
        numbered = _NUMBERED.match(sentence)
        for raw, near, stated, keep, piece_match in pieces:
            if numbered and 0 <= sentence.find(raw) < numbered.end():
                continue  # "57", "57.--The Christmas Geese", "Christmas Geese": no answer
            raw = _TAG_AFTER.sub("", raw)
            if not raw or _TAG_ALONE.fullmatch(raw.strip(" \"'“”‘’_,")):
                continue
            text = trim(raw, asked.stems, keep)
            if asked.prep and opens_with(raw, asked.prep) and not opens_with(text, asked.prep):
                at = raw.find(text)  # "through the tides": its preposition kept
                text = raw[:at] + text if at > 0 else text
            if asked.kind in GROUNDS:
                text = trim(GROUNDS[asked.kind][1].sub("", text), asked.stems)
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
                # (the object of a preposition asked with is the answer's shape, name or not:
                # "to whom": "to the tailor and to the cobbler")
                named = stated or _prep_shaped(text, asked)
                if asked.kind in ("person", "place") and not named and not named_inside(
                        text, sentence, asked.words):
                    score *= OPENING_NAME
                if asked.kind == "place" and not named and not _located(text, sentence):
                    score *= UNLOCATED
                if asked.many and asked.kind in ("person", "place") and not _JOINED.search(text):
                    score *= ONE_OF_MANY  # "which two places": one name is half an answer
                if slots and any(lo <= sentence.find(text, lo) <= hi for lo, hi in slots):
                    score *= SLOT  # it stands where the question's last word leaves off
                if owned and _owns(text, sentence, owned):
                    score *= OWNER
                if asked.kind == "person" and not named:
                    if _PERSONAL.match(text):
                        score *= 1.0 if asked.prep else PERSONAL  # ("to whom": its object)
                    elif _placed(text, sentence):
                        score *= PLACED
                # the answer reads without its italics' marks; its sentence, the citation, keeps
                # them as the book has them
                _keep(out, seen, Candidate(text=_ITALIC.sub("", text), sentence=sentence,
                                           score=score))
    if asked.also:
        for cand in _both(sorted(out, key=lambda c: -c.score)[:BOTH_TRIED], asked):
            _keep(out, seen, cand)
    out.sort(key=lambda c: -c.score)
    return out[:limit]


def _prep_shaped(text: str, asked: Asked) -> bool:
    """Whether a piece is the object of the preposition a question asks with, which has the
    answer's shape ("through the tides"; "to whom": "to the cobbler", no name needed), unless a
    place is asked for, which a name gives ("in which country": not "in great pain")."""
    return bool(asked.prep) and asked.kind != "place" and opens_with(text, asked.prep)


def _placed(text: str, sentence: str) -> bool:
    """Whether a piece of a sentence stands where a place does, right after "in", "at", "near"
    or "into" ("my statement in the Introduction"), and owns nothing ("in Cauchy's proof"), or
    where a kind of person does, right after "a" or "an" ("probably a Greek", "was a
    Yorkshireman--no other than Alcuin"): no person's name."""
    at = sentence.find(text)
    return at >= 0 and (bool(_PLACE_BEFORE.search(sentence, 0, at))
                        and not _OWNED.match(sentence, at + len(text))
                        or bool(_A_KIND.search(sentence, 0, at)))


def _located(text: str, sentence: str) -> bool:
    """Whether a piece of a sentence stands after a locative preposition ("at the old Tabard Inn")."""
    at = sentence.find(text)
    return at >= 0 and (text.split(" ", 1)[0].lower() in _LOCATIVE_WORDS  # "from Syria and ..."
                        or bool(_LOCATIVE.search(sentence, 0, at)))


def _both(best: list[Candidate], asked: Asked) -> list[Candidate]:
    """For a question that asks two things ("Who introduced it, and in what year?"), each of the
    best candidates that answers its part with the nearest short piece of its sentence that
    answers the other ("1985, Jean-Paul Doignon and Jean-Claude Falmagne"), in the sentence's
    order."""
    other = dataclasses.replace(asked, kind=asked.also, many=True, prep="", also="")
    out = []
    for cand in best:
        if (asked.kind in MARKED and type_fit(asked.kind, cand.text, asked.words) < 1.0
                or type_fit(asked.also, cand.text, asked.words) == 1.0):
            continue  # no answer to its own part, or one to both already
        # (where the candidate stands: its text has lost the sentence's italics' marks)
        plain = _ITALIC.sub("", cand.sentence)
        at = plain.find(cand.text)
        if at < 0:
            continue
        found = []
        for raw, _ in cut(cand.sentence, other):
            text = trim(raw, asked.stems)
            where = cand.sentence.find(text)
            if (text and len(text.split()) <= BOTH_WORDS and where >= 0
                    and text.lower() not in cand.text.lower()
                    and cand.text.lower() not in text.lower()
                    and (type_fit(asked.also, text, asked.words) == 1.0
                         or asked.also == "time" and bool(_EARLY_YEAR.search(cand.sentence, 0, where))
                         and text.isdigit() and len(text) == 3)
                    and (asked.also not in ("person", "place")
                         or named_inside(text, cand.sentence, asked.words)
                         and bool(_LOCATIVE.search(cand.sentence, 0, where))
                         == (asked.also == "place"))):
                text = _ITALIC.sub("", text)
                where = max(0, plain.find(text))
                found.append((abs(where - at), -len(text), where, text))
        if found:
            _, _, where, text = min(found)
            both = (cand.text, text)  # in the order the sentence says them
            out.append(Candidate(text=", ".join(both if where > at else both[::-1]),
                                 sentence=cand.sentence, score=cand.score * BOTH))
    return out
