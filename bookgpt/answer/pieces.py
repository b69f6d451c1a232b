"""The pieces of a sentence that may answer a question: its clauses (asides dropped), pairs of
neighbouring clauses, a number with what it counts, a name, a reason from its "because" on, the
object of the preposition a question asks with; and the trim that cuts the question's own words
and linking words from a piece's ends. `bookgpt.answer.extract` scores them as candidates."""

from __future__ import annotations

import functools
import re
from collections.abc import Set

from bookgpt.answer.asking import Asked
from bookgpt.answer.clauses import split_clauses
from bookgpt.answer.kinds import (CAP_WORD, COMPARED, FIGURE, FIGURED, GROUNDS, NAME, QUANTITY, compounds,
                                  type_fit)
from bookgpt.qa.words import PERSON_NOUNS, TAIL_PREPS
from bookgpt.text import UNIT_ABBREVIATIONS, is_content, stem, words

MAX_WORDS = 20  # a longer piece is a passage, not an answer

# words that link a sentence to the one before ("Accordingly", "Finally"): they start no answer,
# and alone they are none
_CONNECTIVES = ("accordingly|consequently|moreover|however|besides|indeed|finally|furthermore|"
                "nevertheless|nonetheless|meanwhile|likewise|similarly|lastly|firstly|secondly")
_LEAD = re.compile(r"^(?:and|but|or|so|for|that|which|who|then|thus|hence|yet|while|whereas|"
                   r"therefore|namely|i\.e\.|e\.g\.|that is|" + _CONNECTIVES + r"),?\s+",
                   re.IGNORECASE)
# a list's label opening a piece ("(1) 8d.; (2) 1s.", its bracket cut with the clause before)
_LIST_LABEL = re.compile(r"^\(?(?:\d{1,2}|[a-h]|[ivx]{1,4})\)\s+(?=\S)")

# a label alone ("_Answer._", "Problem 1.", "Note:") is no answer
_LABEL_WORD = re.compile(r"[\W_]*(?:answers?|solutions?|ans|problems?|questions?|exercises?|"
                         r"examples?|notes?|hints?)(?:\s*\d+)?[\W_]*", re.IGNORECASE)

_CONNECTIVE = re.compile(r"(?:" + _CONNECTIVES + r")\W*", re.IGNORECASE)

# names joined: "from Dunkerque to Barcelona", "Lebombo and Ishango", "Trafalgar Square ... to
# Euston Station" when a question asks for two
# ... each with its bracketed place, the second after its own preposition or kind: "to Sobral
# (Brazil), and to the island of Principe (West Africa)"
_WHERE = r"(?:\s*\([^()]{1,30}\))?"
_NAMES = re.compile(r"(?:\bfrom\s+)?" + NAME.pattern + _WHERE
                    + r"(?:,?\s+(?:and|or|to)\s+(?:(?:to|in|at)\s+)?(?:the\s+(?:[a-z]+\s+of\s+)?)?"
                    + NAME.pattern + _WHERE + r")+")
# a name with its apposition: "the Vienna philosopher Mach", "Mach, the Vienna philosopher"
_WHO_NOUN = r"(?:" + "|".join(sorted(PERSON_NOUNS | {"thinker", "novelist", "scientist", "poet",
                                                    "inventor", "critic", "historian"})) + r")"
_APPOSED = re.compile(r"(?:" + CAP_WORD + r"\s+)*" + _WHO_NOUN + r"\s+" + NAME.pattern + "|"
                      + NAME.pattern + r",\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,3}?" + _WHO_NOUN
                      + r"\b")
_DESCRIBES = re.compile(r"\s+" + _WHO_NOUN + r"\b")
_INITIAL = re.compile(r"(?:[A-Z]\.){1,3}")

_UNIT_ENDING = re.compile(r"_?" + UNIT_ABBREVIATIONS + r"\._?", re.IGNORECASE)  # "in.", "_d._"

# the object of the preposition a question asks with ("through what"): at most PREP_WORDS words
# with it, and not after a negation ("and not through its phases") nor before a relative ("to
# whom matters of elegance ought to be left")
PREP_WORDS = 8
COMPARED_WORDS = 6  # a comparison's words from its comparative on ("greater than two right angles")

# an aside that is a set phrase ("In short", "For example") is one, whatever the question asks
_SET_PHRASE = re.compile(r"(?:in short|in fact|in general|in particular|in truth|in a word|in turn|"
                         r"in any case|in the end|for example|for instance|for the most part|"
                         r"of course|at least|at last|at once|at first|at all events|on the "
                         r"(?:other|one) hand|on the contrary|by the way|to be sure)",
                         re.IGNORECASE)
_NEGATED = re.compile(r"\b(?:not|nor|never)\s+$", re.IGNORECASE)
_RELATIVE = re.compile(r"\s+(?:whom|which|whose|what)\b", re.IGNORECASE)  # "to whom matters ..."


def _counted(text: str, counted: frozenset[str]) -> str:
    """The start of `text` (a number on) up to the thing a question counts, if it comes within
    three words of the number: "575 squares", "255 different ways", "1.3 × 10^13 bits"."""
    toks = text.split()
    figure = FIGURE.match(text)
    lead = len(figure.group().split()) if figure else 1  # the figure's words: "about 1.3 × 10^13"
    ends = [k for k in range(lead, min(len(toks), lead + 3)) if stem(_bare(toks[k])) in counted]
    return " ".join(toks[:ends[-1] + 1]) if counted and ends else ""


def trim(text: str, qstems: Set[str], keep: frozenset[str] = frozenset()) -> str:
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


def cut(sentence: str, asked: Asked) -> list[tuple[str, float]]:
    """(piece, nearness) of a sentence: its clauses (asides dropped unless they hold what is
    asked), pairs of neighbouring clauses, a number's quantity, a reason's "because" clause.
    Nearness (0..1) is how close the piece stands to the clauses that echo the question."""
    clauses = [(a, b) for a, b in split_clauses(sentence)
               if not _aside(sentence[a:b]) or type_fit(asked.kind, sentence[a:b],
                                                         asked.words) == 1.0
               or (asked.prep and opens_with(sentence[a:b].lstrip(), asked.prep)
                   and not _SET_PHRASE.fullmatch(sentence[a:b].strip(" ,;:")))]
    echo = [sum(1 for w in words(sentence[a:b]) if is_content(w) and stem(w) in asked.stems)
            for a, b in clauses]
    total = sum(echo) or 1
    spans = [(i, i) for i in range(len(clauses))] + [(i, i + 1) for i in range(len(clauses) - 1)]
    # what the question asks for, cut out (a quantity, a name), comes before the clauses around
    # it: a text cut from both counts as the piece it is ("Fermat", the name, not what is left of
    # "Since the time of Fermat" once the question's words are trimmed)
    pieces: list[tuple[int, int, str]] = []
    if asked.kind in FIGURED:  # the quantity alone, with what it counts
        # the number with the thing counted, a word or two on: "255 different ways"; where the
        # question's counted thing follows, the quantity's own guess at it (the word after the
        # number, "255 different"), when that word says something, is a cut short of it and
        # gives way (a function word, "eleven which", is trimmed off to the number anyway)
        for i, (a, b) in enumerate(clauses):
            for m in QUANTITY.finditer(sentence, a, b):
                if _in_formula(sentence, m.start(), m.end()):
                    continue  # a term of "2n - 2" counts nothing
                q = _counted(sentence[m.start():b], asked.counted)
                cuts = [q] if q else []
                if not q or len(q) <= len(m.group()) or not is_content(_bare(m.group().split()[-1])):
                    cuts.append(m.group())
                # the shorter first: a text both give counts as the one that says no more
                pieces += [(i, i, c) for c in sorted(cuts, key=len)]
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
                   if m.start() >= a and not _NEGATED.search(sentence, 0, m.start())
                   and not _RELATIVE.match(sentence, m.end())]
    if asked.kind == "comparison":  # the comparative on: "larger than pi", "less by ..."
        pieces += [(i, i, " ".join(sentence[m.start():b].split()[:COMPARED_WORDS]))
                   for i, (a, b) in enumerate(clauses) for m in COMPARED.finditer(sentence, a, b)]
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


def opens_with(text: str, word: str) -> bool:
    """Whether `text` opens with the word `word` (lower case), whole: "through the tides" with
    "through", not "throughout"."""
    head, _, _ = text.partition(" ")
    return head.lower() == word


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
