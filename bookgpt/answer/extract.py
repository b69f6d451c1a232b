"""Answer candidates shaped by the question, cut from the sentences that answer it.

A question asks for a kind of thing (`bookgpt.answer.asking`): a person, a number or quantity,
a time, a place, a reason, a meaning, or a plain noun phrase. Each sentence of the retrieved windows (and
the sentence after each, where answers often stand) is cut into clauses at punctuation; the
clauses, pairs of neighbouring clauses, a number with what it counts and a reason from its
"because" on are the candidates, trimmed of the question's own words. A candidate scores by
what it adds to the question (content words the question does not have), by how well its
sentence matches the question, by whether it has what the question asks for (a name for "who", a
number for "how many", "because" for "why") and by its length against what such a question needs.
What a sentence itself says the answer is (a label, "the answer is", a name it gives) comes from
`bookgpt.answer.stated` and counts more; clauses are cut by `bookgpt.answer.clauses`.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Set
from dataclasses import dataclass

from bookgpt.answer.asking import Asked
from bookgpt.answer.clauses import split_clauses
from bookgpt.answer.stated import declared_answers, given_names, stated_figures
from bookgpt.qa.words import NUMBER_WORDS, PERSON_NOUNS, TAIL_PREPS
from bookgpt.text import is_content, squash, stem, words

# words that link a sentence to the one before ("Accordingly", "Finally"): they start no answer,
# and alone they are none
_CONNECTIVES = ("accordingly|consequently|moreover|however|besides|indeed|finally|furthermore|"
                "nevertheless|nonetheless|meanwhile|likewise|similarly|lastly|firstly|secondly")
_LEAD = re.compile(r"^(?:and|but|or|so|for|that|which|who|then|thus|hence|yet|while|whereas|"
                   r"therefore|namely|i\.e\.|e\.g\.|that is|" + _CONNECTIVES + r"),?\s+",
                   re.IGNORECASE)
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
_TIME_WORDS = frozenset("century centuries year years age ages bc bce ce ad january february march "
                        "april may june july august september october november december monday "
                        "tuesday wednesday thursday friday saturday sunday noon midnight morning "
                        "evening night dawn dusk o'clock half-past quarter-past".split())
# words that give a reason or a means: a reason's answer starts at one of them
_REASON = re.compile(r"\b(?:because|since|owing to|due to|so that|in order to|on account of|"
                     r"as a result|therefore|hence|thus|by means of|for fear|as a means of|"
                     r"for the (?:purpose|sake) of|with the (?:object|aim|view) of|so as to|"
                     r"in order that|lest|for reasons? of)\b|"
                     # a means, as "how" asks for one: "by constructing a geometry"
                     r"\bby (?=\w+ing\b)|"
                     # "for" as a conjunction, after a stop within the sentence: "Windows there
                     # are none in our houses: for the light comes to us alike ..."
                     r"(?:(?<=[;:,] )|^)for\b(?= (?:the|it|he|she|they|we|you|this|that|these|those|"
                     r"there|its|his|her|their|our|a|an|if|when|as|no|all|every|each)\b)",
                     re.IGNORECASE)
# a reason's own words, not part of the reason a reader would give: "owing to the fact that"
_REASON_LEAD = re.compile(r"^(?:because|since|owing to|due to|so that|in order|on account of|"
                          r"as a result|by means of|for fear|as a means|for the (?:purpose|sake)|"
                          r"with the (?:object|aim|view)|so as|lest|for reasons?|for)(?: of| to)?"
                          r"(?: the fact)?(?: that)?\s+",
                          re.IGNORECASE)
# words that set a condition: a condition's answer starts at one of them ("when it has been
# derived from the axioms")
_CONDITION = re.compile(r"\b(?:when|whenever|if|unless|until|as soon as|only if|provided|"
                        r"so long as|as long as)\b", re.IGNORECASE)
_CONDITION_LEAD = re.compile(r"^(?:when|whenever|if|unless|until|as soon as|only if|provided|"
                             r"so long as|as long as)(?: that)?\s+", re.IGNORECASE)
# a claim's content: what someone says, finds or holds stands in the clause after "that" ("he had
# thought that it came every three years", "learn this lesson, that to be self-contented is vile")
_THAT = re.compile(r"(?<!\bso )(?<!\bsuch )\bthat\b(?! is\b)", re.IGNORECASE)
_THAT_LEAD = re.compile(r"^that\s+", re.IGNORECASE)
_NUMBER_WORD = re.compile(r"\b(?:" + "|".join(NUMBER_WORDS) + r")\b", re.IGNORECASE)
_TIME_WORD = re.compile(r"\b(?:" + "|".join(_TIME_WORDS) + r")\b", re.IGNORECASE)
# a name: capitalised words, joined by "of", "de", "van" or "von" ("Abbot Alcuin", "Little
# Mendip", "Trafalgar Square", "Duke of York")
# a capitalised word, accented letters too ("Göttingen", "Poincaré", "Erdős", "Łukasiewicz",
# "Čech"): the Latin letters of Unicode's first blocks, by their case
_LATIN = [chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()]
_CAP_WORD = ("[A-Z" + "".join(c for c in _LATIN if c.isupper()) + "][a-z"
             + "".join(c for c in _LATIN if c.islower()) + "]+")
# ... with its initials: "F. R. Moulton", "J.J. Thomson"
_NAME = re.compile(r"\b(?:[A-Z]\.\s?){0,3}" + _CAP_WORD + r"(?:(?:\s+(?:of|de|van|von|la|le))?\s+"
                   + _CAP_WORD + r")*")
# names joined: "from Dunkerque to Barcelona", "Lebombo and Ishango", "Trafalgar Square ... to
# Euston Station" when a question asks for two
_NAMES = re.compile(r"(?:\bfrom\s+)?" + _NAME.pattern + r"(?:,?\s+(?:and|or|to)\s+(?:the\s+)?"
                    + _NAME.pattern + r")+")
# a name with its apposition: "the Vienna philosopher Mach", "Mach, the Vienna philosopher"
_WHO_NOUN = r"(?:" + "|".join(sorted(PERSON_NOUNS | {"thinker", "novelist", "scientist", "poet",
                                                    "inventor", "critic", "historian"})) + r")"
_APPOSED = re.compile(r"(?:" + _CAP_WORD + r"\s+)*" + _WHO_NOUN + r"\s+" + _NAME.pattern + "|"
                      + _NAME.pattern + r",\s+(?:the|a|an)\s+(?:[\w-]+\s+){0,3}?" + _WHO_NOUN
                      + r"\b")
_INITIAL = re.compile(r"(?:[A-Z]\.){1,3}")
_AND = re.compile(r"\w \b(?:and|or)\b \w")
# (not opening a sentence: a stop after a word, not after an initial, "F. R. Moulton")
# (after a title's stop it is a name: "Dr. Dweck"; after a label's colon it opens: "Objective 1:
# Distinguish")
_CAPITAL = re.compile(r"(?:(?<=\bDr\. )|(?<=\bMr\. )|(?<=\bMrs\. )|(?<=\bSt\. )|(?<=\bProf\. )|"
                      r"(?<![^A-Z\s][.!?:]\s))(?<!^)\b" + _CAP_WORD)
# a title names no one alone ("Lord", "Sir", "Professor"): "Lord Kelvin" does
_TITLES = frozenset("lord lady sir mr mrs miss dr doctor professor prof king queen prince princess "
                    "captain saint st duke earl bishop father mother brother sister uncle aunt "
                    "general colonel".split())
_DIGIT = re.compile(r"(?<![A-Za-z])\d")  # a number, not a label ("M1", "A2")
_FORMULA = re.compile(r"\d\s*\^?\s*[a-zA-Z]\b|\^\s*\(?[a-zA-Z]\b|\b[a-zA-Z]\s*[\^²³]")
# a figure that may be a date ("born in Yorkshire 735"), and one that surely is, as an "in what
# year" question asks: four figures from 1000 to 2099, or a figure with its era ("287 B.C.",
# "A.D. 800"), not any three figures ("solved in 118 moves")
_DATE = re.compile(r"\b\d{3,4}\b")
YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b|\b\d{1,4}\s*(?:B\.\s?C\.|A\.\s?D\.|B\.?C\.?E\b|BC\b|AD\b)|"
                  r"\b(?:A\.\s?D\.|AD)\s*\d{1,4}\b")
_NUM = (r"(?:\d[\d,./^-]*\d|\d|(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
        + r")(?:[ -](?:and )?(?:" + "|".join(sorted(NUMBER_WORDS, key=len, reverse=True))
        + r"))*)")
# a number with what it counts: "about 300,000 km. per second", "ten thousand sides"
_QUANTITY = re.compile(r"\b(?:about |nearly |some |over |under |exactly |only )?" + _NUM
                       + r"(?: an?(?= ))?(?: (?:of )?[A-Za-z]+\.?(?: per [A-Za-z]+)?)?",
                       re.IGNORECASE)


# units of measure by dimension; a measure is a number with its unit ("300,000 km./sec", "6-1/4
# minutes", "three feet high") or a currency before it ("£500")
_LENGTH_UNITS = ("mile|yard|foot|feet|inch|inches|fathom|league|furlong|metre|meter|kilometre|"
                 "kilometer|centimetre|centimeter|millimetre|millimeter|km|cm|mm|ft|yd")
_TIME_UNITS = "second|sec|minute|min|hour|hr|day|week|month|year|century|centuries"
_MASS_UNITS = "lb|lbs|oz|ton|pound|ounce|gram|gramme|kilogram|kg|grain|stone|hundredweight|cwt"
_MONEY_UNITS = "shilling|pence|penny|guinea|dollar|cent|franc|crown|sovereign|pound"
_OTHER_UNITS = ("degree|deg|acre|gallon|pint|quart|bushel|litre|liter|knot|per ?cent|percent|"
                "volt|ampere|watt|calorie")


def _measure(units: str, currency: bool = False) -> re.Pattern[str]:
    unit = "(?:" + units + r")s?\.?(?![a-z])"
    number = r"(?:(?<![A-Za-z])\d[\d,./^-]*|\b" + _NUM + r"(?: and a (?:half|quarter))?)"
    return re.compile((r"[£$]\s?\d|" if currency else "") + number + r"\s*" + unit,
                      re.IGNORECASE)


_ALL_UNITS = "|".join((_LENGTH_UNITS, _TIME_UNITS, _MASS_UNITS, _MONEY_UNITS, _OTHER_UNITS))
# each kind of measure a question can ask for, and what answers it
MEASURES = {
    # a distance alone answers "how fast" too, as "300,000 km." cut from "300,000 km./sec"
    "speed": _measure(_LENGTH_UNITS + "|knot"),
    "length": _measure(_LENGTH_UNITS),
    "duration": _measure(_TIME_UNITS),
    "mass": _measure(_MASS_UNITS),
    "money": _measure(_MONEY_UNITS, currency=True),
    "temperature": re.compile(r"\d\s*\u00b0|" + _measure("degree|deg").pattern, re.IGNORECASE),
    "measure": re.compile(r"\d\s*[\u00b0%]|" + _measure(_ALL_UNITS, currency=True).pattern,
                          re.IGNORECASE),
}

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
MAX_WORDS = 20  # a longer piece is a passage, not an answer
OPENING_NAME = 0.5


def _floor(x: float, floor: float) -> float:
    return floor + (1.0 - floor) * x


@dataclass(frozen=True)
class Candidate:
    text: str
    sentence: str  # the sentence it was cut from (the answer's support)
    score: float  # the model-free score (higher is better)


def _counted(text: str, counted: frozenset[str]) -> str:
    """The start of `text` (a number on) up to the thing a question counts, if it comes within
    three words of the number: "575 squares", "255 different ways"."""
    toks = text.split()
    ends = [k for k in range(1, min(len(toks), 4)) if stem(_bare(toks[k])) in counted]
    return " ".join(toks[:ends[-1] + 1]) if counted and ends else ""


def _trim(text: str, qstems: Set[str], keep: frozenset[str] = frozenset()) -> str:
    """Leading conjunctions and the question's own words cut from the ends of a candidate (but
    not, at its end, the stems in `keep`: what a "how many" question counts, or all the
    question's stems for a name given, "a desarguesian number system")."""
    text = _LEAD.sub("", text.strip())
    toks = text.split()
    while toks and _spare(toks[0], qstems) and len(toks) > 1:
        toks.pop(0)
    tail = qstems - keep
    while toks and _spare(toks[-1], tail) and len(toks) > 1:
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


def marks(kind: str, text: str) -> bool | frozenset[str]:
    """What of the kind asked for a text holds, in a form that does not depend on the question
    (so that it can be kept per sentence): for a person or a place its capitalised words
    (lower-cased), a question's own to be set aside; for the other kinds whether it has one."""
    if kind in ("person", "place"):
        return frozenset(m.group().lower() for m in _CAPITAL.finditer(" " + text))
    return type_fit(kind, text, set()) == 1.0


# where any word is capitalised: a sentence's opening, or a quotation's or a bracket's
_OPENING = re.compile(r"(?:^|[.!?:;]\s|[\"“‘(\[_-])\W*$")
# ... but a title's stop opens nothing ("Mr. Dehn"), nor an initial's after a title, another
# initial or a lower-case word ("Prof. H. S. Carslaw", "by M. Pasch"); after a capitalised word
# it may ("Appendix C. Admit")
_INITIAL_BEFORE = re.compile(r"(?:(?:^|\s)(?:[a-z]\w*|[A-Z]\.|Mr|Mrs|Dr|St|Prof)\.?\s+[A-Z]\.|"
                             r"\b(?:Mr|Mrs|Dr|St|Prof)\.)\s*$")
_NAME_WORD = re.compile(r"\b" + _CAP_WORD)


def named_inside(text: str, sentence: str, qwords: Set[str]) -> bool:
    """Whether a name of `text` (not one of the question's words) stands capitalised somewhere
    inside `sentence`, not only where any word is ("Tolstoi explains", "Seat of ..." opening it)."""
    inside = {m.group() for m in _NAME_WORD.finditer(sentence)
              if not _OPENING.search(sentence[:m.start()])
              or _INITIAL_BEFORE.search(sentence[:m.start()])}
    return any(w in inside and w.lower() not in qwords for w in _NAME_WORD.findall(text))


def type_fit(kind: str, text: str, qwords: Set[str]) -> float:
    """How much a candidate looks like what the question asks for, 0..1."""
    if kind == "number":  # a formula ("2^n", "2n - 2") counts in letters, and half fits
        found = bool(_DIGIT.search(text) or _NUMBER_WORD.search(text))
        return 0.5 if found and _FORMULA.search(text) else float(found)
    if kind in MEASURES:  # a number with its unit; a bare number ("two", "three") half fits,
        if MEASURES[kind].search(text):  # and one with another kind of unit not at all ("10 feet"
            return 1.0  # for a temperature, "3 hours" for a length)
        if kind != "measure" and any(p.search(text) for k, p in MEASURES.items()
                                     if k not in (kind, "measure")):
            return 0.0
        return 0.5 if _DIGIT.search(text) or _NUMBER_WORD.search(text) else 0.0
    if kind == "time":
        date = YEAR if "year" in qwords else _DATE  # "in what year": a year, surely
        return float(bool(date.search(text) or _TIME_WORD.search(text)))
    if kind in ("person", "place"):  # a capitalised word, not the question's, nor a bare title
        return float(any(m.group().lower() not in qwords and m.group().lower() not in _TITLES
                         for m in _CAPITAL.finditer(" " + text)))
    if kind == "reason":
        return float(bool(_REASON.search(text)))
    if kind == "condition":
        return float(bool(_CONDITION.search(text)))
    if kind == "claim":
        return float(bool(_THAT.search(text)))
    return 0.5  # a meaning or a thing: no mark tells one apart


def _pieces(sentence: str, asked: Asked) -> list[tuple[str, float]]:
    """(piece, nearness) of a sentence: its clauses (asides dropped unless they hold what is
    asked), pairs of neighbouring clauses, a number's quantity, a reason's "because" clause.
    Nearness (0..1) is how close the piece stands to the clauses that echo the question."""
    clauses = [(a, b) for a, b in split_clauses(sentence)
               if not _aside(sentence[a:b]) or type_fit(asked.kind, sentence[a:b],
                                                         asked.words) == 1.0]
    echo = [sum(1 for w in words(sentence[a:b]) if is_content(w) and stem(w) in asked.stems)
            for a, b in clauses]
    total = sum(echo) or 1
    spans = [(i, i) for i in range(len(clauses))] + [(i, i + 1) for i in range(len(clauses) - 1)]
    pieces = [(i, j, sentence[clauses[i][0]:clauses[j][1]]) for i, j in spans]
    if asked.kind in ("number", "time") or asked.kind in MEASURES:  # the quantity alone, with what it counts
        # the number with the thing counted, a word or two on: "255 different ways"; where the
        # question's counted thing follows, the quantity's own guess at it (the word after the
        # number, "255 different"), when that word says something, is a cut short of it and
        # gives way (a function word, "eleven which", is trimmed off to the number anyway)
        for i, (a, b) in enumerate(clauses):
            for m in _QUANTITY.finditer(sentence, a, b):
                if _in_formula(sentence, m.start(), m.end()):
                    continue  # a term of "2n - 2" counts nothing
                q = _counted(sentence[m.start():b], asked.counted)
                if not q or len(q) <= len(m.group()) or not is_content(_bare(m.group().split()[-1])):
                    pieces.append((i, i, m.group()))
                if q:
                    pieces.append((i, i, q))
    if asked.kind in ("person", "place"):  # the name alone: a run of capitalised words
        pieces += [(i, i, m.group()) for i, (a, b) in enumerate(clauses)
                   for m in _NAME.finditer(sentence, a, b)
                   if m.group().split()[-1].lower() not in asked.words]
        if asked.kind == "person":  # the name with what the book calls the person
            pieces += [(_at(clauses, m.start()), _at(clauses, m.end() - 1), m.group())
                       for m in _APPOSED.finditer(sentence)]
        if asked.many:  # the names together, as one answer
            pieces += [(_at(clauses, m.start()), _at(clauses, m.end() - 1), m.group())
                       for m in _NAMES.finditer(sentence)]
    if asked.many:  # two things asked for: "X and Y", as many words after "and" as before
        pieces += [(i, i, c) for i, (a, b) in enumerate(clauses)
                   for c in _coordinated(sentence[a:b])]
    if asked.kind in _GROUNDS:  # the reason itself: from "because" to the end of its clause
        # a reason longer than an answer runs on past it: its first MAX_WORDS words
        pieces += [(i, i, " ".join(sentence[m.start():b].split()[:MAX_WORDS]))
                   for i, (a, b) in enumerate(clauses)
                   for m in _GROUNDS[asked.kind][0].finditer(sentence, a, b)]
    return [(raw, max((echo[k] / (1 + max(i - k, k - j, 0)) for k in range(len(clauses))),
                      default=0.0) / total) for i, j, raw in pieces]


# what starts the answer to a "why", a "when is" and a "what did X say": the word that gives the
# reason, sets the condition or opens the claim, and its lead words, which a reader's answer
# leaves out
_GROUNDS = {"reason": (_REASON, _REASON_LEAD), "condition": (_CONDITION, _CONDITION_LEAD),
            "claim": (_THAT, _THAT_LEAD)}


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
    ideal = _LENGTH[asked.kind]
    length_fit = 1.0 / (1.0 + abs(n - ideal) / ideal)
    # a reason is judged on the piece as cut (its "because" is trimmed off as a stop word), and
    # so is a measure (its unit, when the question names it: "6-1/4" of "6-1/4 minutes")
    judged = raw if asked.kind in _GROUNDS or asked.kind in MEASURES else text
    fit = type_fit(asked.kind, judged, asked.words)
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
    for m in _NAME.finditer(sentence):
        if _OPENING.search(sentence[:m.start()]) or m.group().lower() in asked.words:
            continue
        near = words(sentence[max(0, m.start() - 30):m.end() + 30])
        if any(stem(w) in asked.which for w in near):
            out.append(m.group())
    return out


def candidates(question: str, sentences: list[tuple[str, float]], limit: int = 24) -> list[Candidate]:
    """Scored candidate answers from `sentences` ((sentence, match score 0..1) pairs, the
    retrieved windows' sentences and their followers), best first, at most `limit`."""
    asked = Asked.of(question)
    seen: set[str] = set()
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
        # (piece, nearness, stated, what the trim keeps at its end, match): what the book says
        # the answer is, or the name it gives when a name is asked for, is stated; a labelled
        # answer matches as the best window does
        pieces = ([(p, 1.0, True, asked.counted, 1.0 if labelled else match) for p in declared]
                  + [(p, 1.0, True, asked.stems, match) for p in _kind_named(sentence, asked)]
                  + [(p, 1.0, True, asked.stems, m) for p, m in given]
                  + [(r, n, labelled, asked.counted, 1.0 if labelled else match)
                     for r, n in _pieces(sentence, asked)])
        for raw, near, stated, keep, piece_match in pieces:
            raw = _TAG_AFTER.sub("", raw)
            if not raw or _TAG_ALONE.fullmatch(raw.strip(" \"'“”‘’_,")):
                continue
            text = _trim(raw, asked.stems, keep)
            if asked.kind in _GROUNDS:
                text = _trim(_GROUNDS[asked.kind][1].sub("", text), asked.stems)
            if not text or text.lower() in seen:
                continue
            seen.add(text.lower())
            score = _score(raw, text, piece_match, near, asked)
            if score is not None:
                score *= LABELLED if stated else 1.0
                if asked.kind in ("person", "place") and not stated and not named_inside(
                        text, sentence, asked.words):
                    score *= OPENING_NAME
                out.append(Candidate(text=text, sentence=sentence, score=score))
    out.sort(key=lambda c: -c.score)
    return out[:limit]
