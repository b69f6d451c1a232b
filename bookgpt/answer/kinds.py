"""What kind of thing a piece of text holds, as a question asks for one (`bookgpt.answer.asking`):
a name (capitalised words, not only where any word is), a number or a measure of some dimension
(a number with its unit), a date or a year, a reason, a condition or a claim (the word that gives
it: "because", "when", "that"). Candidates are shaped and scored by it (`bookgpt.answer.extract`),
windows holding it rank higher (`bookgpt.answer.retrieve`), and a chosen answer without it is
less sure (`bookgpt.answer.choose`).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Collection, Set

from bookgpt.qa.words import NUMBER_WORDS
from bookgpt.text import AMOUNT, UNIT_ABBREVIATIONS

_TIME_WORDS = frozenset("century centuries year years age ages bc bce ce ad january february march "
                        "april may june july august september october november december monday "
                        "tuesday wednesday thursday friday saturday sunday noon midnight morning "
                        "evening night dawn dusk o'clock half-past quarter-past".split())
# words that give a reason or a means: a reason's answer starts at one of them
_REASON = re.compile(r"\b(?:because|since|owing to|due to|so that|in order to|on account of|"
                     r"as a result|therefore|hence|thus|by means of|for fear|as a means of|"
                     r"for the (?:purpose|sake) of|with the (?:object|aim|view) of|so as to|"
                     r"in order that|lest|for reasons? of|the reasons? (?:is|was) that|"
                     r"the reason being|in the fact that|"
                     # "Their only reason for their assertion (...) is that without it ..."
                     r"reasons? (?:for|of|why) [^.;:]{0,80}?\b(?:is|was|are|were) that)\b|"
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
                          r"with the (?:object|aim|view)|so as|lest|for reasons?|for|"
                          r"(?:the )?reasons? (?:is|was)(?= that)|(?:the )?reason being|in the fact|"
                          r"(?:\w+ )?reasons? (?:for|of|why) [^.;:]{0,80}?\b(?:is|was|are|were)(?= that))"
                          r"(?: of| to)?"
                          r"(?: the fact)?(?: that)?\s+",
                          re.IGNORECASE)
# words that set a condition: a condition's answer starts at one of them ("when it has been
# derived from the axioms")
_CONDITION_WORDS = r"when|whenever|if|unless|until|as soon as|only if|provided|so long as|as long as"
_CONDITION = re.compile(r"\b(?:" + _CONDITION_WORDS + r")\b", re.IGNORECASE)
_CONDITION_LEAD = re.compile(r"^(?:" + _CONDITION_WORDS + r")(?: that)?\s+", re.IGNORECASE)
# what compares: "larger", "less", "greater than", "the same as", "equal to" (not "no longer",
# "once more", "rather than", "other than")
COMPARATIVES = ("more", "less", "greater", "smaller", "larger", "bigger", "fewer", "higher", "lower",
                "longer", "shorter", "faster", "slower", "better", "worse")
COMPARED = re.compile(r"(?<!\bno )(?<!\bonce )(?<!\bany )\b(?:" + "|".join(COMPARATIVES)
                      + r"|exceeds?|exceeding)\b|\b(?:equal to|the same as)\b|\b(?!(?:rath|oth|eith|"
                      r"whether|neith)er\b)[a-z]+er than\b", re.IGNORECASE)
# a claim's content: what someone says, finds or holds stands in the clause after "that" ("he had
# thought that it came every three years", "learn this lesson, that to be self-contented is vile")
_THAT = re.compile(r"(?<!\bso )(?<!\bsuch )\bthat\b(?! is\b)", re.IGNORECASE)
_THAT_LEAD = re.compile(r"^that\s+", re.IGNORECASE)


def alternation(words: Collection[str]) -> str:
    """A regex matching any of `words` (lower case), as a trie of their letters: Python's
    engine tries a plain alternation's words one by one at every place ("one|two|three..."),
    a trie only the words that share what it has read so far (the number-word patterns ran
    20-25% faster for it)."""
    def branch(ws: list[str]) -> str:
        ends = "" in ws
        by: dict[str, list[str]] = {}
        for w in ws:
            if w:
                by.setdefault(w[0], []).append(w[1:])
        alts = [re.escape(c) + branch(rest) for c, rest in sorted(by.items())]
        if not alts:
            return ""
        body = alts[0] if len(alts) == 1 else "(?:" + "|".join(alts) + ")"
        return "(?:" + body + ")?" if ends else body
    return "(?:" + branch(sorted(set(words))) + ")"


NUMBER_WORDS_RE = alternation(NUMBER_WORDS)  # any number word (stated.py's figures too)
_NUMBER_WORD = re.compile(r"\b" + NUMBER_WORDS_RE + r"\b", re.IGNORECASE)
_TIME_WORD = re.compile(r"\b(?:" + "|".join(_TIME_WORDS) + r")\b", re.IGNORECASE)
# a name: capitalised words, joined by "of", "de", "van" or "von" ("Abbot Alcuin", "Little
# Mendip", "Trafalgar Square", "Duke of York")
# a capitalised word, accented letters too ("Göttingen", "Poincaré", "Erdős", "Łukasiewicz",
# "Čech"): the Latin letters of Unicode's first blocks, by their case
_LATIN = [chr(c) for c in range(0xC0, 0x250) if chr(c).isalpha()]
_UPPER = "[A-Z" + "".join(c for c in _LATIN if c.isupper()) + "]"
_LOWER = "[a-z" + "".join(c for c in _LATIN if c.islower()) + "]+"
CAP_WORD = _UPPER + _LOWER + "(?:" + _UPPER + _LOWER + ")?"  # "FitzGerald", "MacLaurin" whole
# ... with its initials: "F. R. Moulton", "J.J. Thomson"
NAME = re.compile(r"\b(?:(?:Mr|Mrs|Dr|St|Prof)\.\s+)?(?:[A-Z]\.\s?){0,3}" + CAP_WORD
                  + r"(?:(?:(?:\s+(?:of|de|van|von|la|le))?\s+|-)" + CAP_WORD + r")*")
# (not opening a sentence: a stop after a word, not after an initial, "F. R. Moulton")
# (after a title's stop it is a name: "Dr. Dweck"; after a label's colon it opens: "Objective 1:
# Distinguish")
_CAPITAL = re.compile(r"(?:(?<=\bDr\. )|(?<=\bMr\. )|(?<=\bMrs\. )|(?<=\bSt\. )|(?<=\bProf\. )|"
                      r"(?<![^A-Z\s][.!?:]\s))(?<!^)\b" + CAP_WORD)
# a title names no one alone ("Lord", "Sir", "Professor"): "Lord Kelvin" does
_TITLES = frozenset("lord lady sir mr mrs miss dr doctor professor prof king queen prince princess "
                    "captain saint st duke earl bishop father mother brother sister uncle aunt "
                    "general colonel".split())
# nor does a label of the book's own parts ("Fig. 3", "Theorem", "Chapter IV", "Ex. 25")
_LABELS = frozenset(w + plural for w in (
    "fig figure diagram plate table chapter section art article part book vol volume page "
    "theorem lemma corollary proposition prop axiom definition example ex exercise appendix "
    "note").split() for plural in ("", "s"))
_NOT_NAMES = _TITLES | _LABELS
_DIGIT = re.compile(r"(?<![A-Za-z])\d")  # a number, not a label ("M1", "A2")
_FORMULA = re.compile(r"\d\s*\^?\s*[a-zA-Z]\b|\^\s*\(?[a-zA-Z]\b|\b[a-zA-Z]\s*[\^²³]")
# a figure that may be a date ("born in Yorkshire 735"), and one that surely is, as an "in what
# year" question asks: four figures from 1000 to 2099, or a figure with its era ("287 B.C.",
# "A.D. 800"), not any three figures ("solved in 118 moves")
_DATE = re.compile(r"\b\d{3,4}\b")
YEAR = re.compile(r"\b(?:1\d{3}|20\d{2})\b|\b\d{1,4}\s*(?:B\.\s?C\.|A\.\s?D\.|B\.?C\.?E\b|BC\b|AD\b)|"
                  r"\b(?:A\.\s?D\.|AD)\s*\d{1,4}\b")
# a year as a text says one: after a word that leads a date ("in 1840", "of 1693", "since 1850",
# "July 2012", "A.D. 800"), in brackets ("(1840)"), or a decade ("the early 2000s", "the 1850s");
# not a figure that counts ("nearly 2000 years", "in 1728 cubes", "the 2000 men", "from 1 to
# 2024") nor one before the era ("1500 B.C.")
_COUNTED_AFTER = (r"(?!\s*(?:B\.?\s?C|men\b|women\b|people\b|children\b|feet\b|sheep\b|"
                  r"(?!(?:was|is|has|his|this|its|as|us|thus|yes|whereas)\b)[a-z]+s\b))")
_YEAR_SAID = re.compile(r"(?:\b(?:in|of|year|since|until|till|after|before|A\.D\.|"
                        r"[A-Z][a-z]+\.?(?: \d{1,2},?)?)\s+(?:the\s+(?:early\s+|late\s+)?)?|\()"
                        r"(1\d{3}|20\d{2})(?:'?s\b|\b" + _COUNTED_AFTER + r")|"
                        r"\bthe\s+(?:early\s+|late\s+|mid-?)?(1\d{3}|20\d{2})'?s\b")


def years_said(text: str) -> list[int]:
    """The years a text says (`_YEAR_SAID`), in its order."""
    return [int(m.group(1) or m.group(2)) for m in _YEAR_SAID.finditer(text)]


# a figure: in scientific notation ("1.3 × 10^13", "6.02 x 10^23"), in digits ("300,000",
# "6-1/4"), or in words ("twenty-one", "two hundred and fifty")
# (a number word whole: "million" is no figure inside "millionths", nor "seven" in "seventy")
_WORD_NUM = NUMBER_WORDS_RE + r"(?![a-z])"
_VULGAR = "½¼¾⅓⅔⅛⅜⅝⅞⅕"  # a fraction in one character, as HTML editions print them: "6¼", "½"
_NUM = (r"(?:\d[\d,.]*\s*[×x]\s*10\s*\^\s*\(?[-−]?\d+\)?|\d[\d,./^-]*\d[" + _VULGAR + r"]?|\d["
        + _VULGAR + r"]?|[" + _VULGAR + r"]|"
        + _WORD_NUM + r"(?:[ -](?:and )?" + _WORD_NUM + r")*)")
# a number with what it counts: "about 300,000 km. per second", "ten thousand sides"
_ABOUT = r"\b(?:about |nearly |some |over |under |exactly |only )?"
FIGURE = re.compile(_ABOUT + _NUM, re.IGNORECASE)  # the figure alone, "about" and all
QUANTITY = re.compile(_ABOUT + _NUM + r"(?: an?(?= ))?(?: (?:of )?[A-Za-z]+\.?(?: of [a-z]+)?"
                      r"(?: per [A-Za-z]+)?)?", re.IGNORECASE)


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
# a measure in several units, each a figure and its unit, side by side: "216 ft. 8 in.", "3
# hours and 20 minutes", "£1 5s. 6d.", "1_s._ 7_d._" (a list, "3 feet, 4 feet", is several
# measures; pounds go on only in shillings and pence)
_PART = (AMOUNT + r"\s*(?:_?" + UNIT_ABBREVIATIONS + r"\._?|(?:" + _ALL_UNITS
         + r")s?(?![a-z]))")
_PENCE = AMOUNT + r"\s*(?:_?[sd]\._?|shillings?|pence)"
_DIGIT_ANY = re.compile(r"\d")
_COMPOUND = re.compile(r"[£$]\s?\d[\d,]*\d(?:,?\s+" + _PENCE + r")+|[£$]\s?\d(?:,?\s+" + _PENCE
                      + r")+|(?<![\w.])" + _PART + r"(?:\s+(?:and\s+)?" + _PART + r")+",
                      re.IGNORECASE)


@functools.lru_cache(maxsize=1 << 14)
def compounds(text: str) -> tuple[tuple[int, int, str], ...]:
    """(start, end, text) of the measures in several units of a text (`_COMPOUND`), each unit
    named once: "4 feet and 5 feet" is two measures. (Asked of each evidence sentence twice,
    by the cut and by the candidates: kept.)"""
    if not _DIGIT_ANY.search(text):
        return ()
    out = []
    for m in _COMPOUND.finditer(text):
        units = [u for u in re.findall(r"[a-z]+", m.group().lower()) if u != "and"]
        if len(set(units)) == len(units):
            out.append((m.start(), m.end(), m.group()))
    return tuple(out)


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
# kinds a figure answers (a number, a time, a measure), and those a text marks (a figure or a
# name): a book without one has no answer to a question asking for one
FIGURED = frozenset({"number", "time", *MEASURES})
MARKED = FIGURED | {"person", "place"}


# what starts the answer to a "why", a "when is" and a "what did X say": the word that gives the
# reason, sets the condition or opens the claim, and its lead words, which a reader's answer
# leaves out
GROUNDS = {"reason": (_REASON, _REASON_LEAD), "condition": (_CONDITION, _CONDITION_LEAD),
            "claim": (_THAT, _THAT_LEAD)}


def marks(kind: str, text: str) -> bool | frozenset[str]:
    """What of the kind asked for a text holds, in a form that does not depend on the question
    (so that it can be kept per sentence): for a person or a place its capitalised words
    (lower-cased), a question's own to be set aside; for the other kinds whether it has one."""
    if kind in ("person", "place"):
        return frozenset(m.group().lower() for m in _CAPITAL.finditer(" " + text)) - _LABELS
    if kind == "meaning":  # a meaning: a sentence that defines, names or explains a word
        return bool(DEFINES.search(text))
    return type_fit(kind, text, set()) == 1.0


# a sentence that defines, names or explains a word: "is called a Galileian system", "we mean
# that", "by triumphs must be understood", "means "without"", "signifying the passages of a mine"
# (the words that say what a word means, which `stated.said_meanings` reads on from)
SAYS_MEANING = r"meaning|signif(?:y|ies|ying|ied)|that is to say|in other words"
DEFINES = re.compile(r"\b(?:is|are|was|were|be|been) (?:\w+ly |then |now |also )?(?:called|termed|named|"
                     r"known as|defined|said to be)\b|\bwe (?:\w+ly )?(?:call|mean|understand|define)\b|"
                     r"\bmeans?\b|\b(?:" + SAYS_MEANING + r")\b|\bunderstood\b|\bunderstand by\b",
                     re.IGNORECASE)


# where any word is capitalised: a sentence's opening, or a quotation's or a bracket's
_OPENING = re.compile(r"(?:^|[.!?:;]\s|[\"“‘(\[_-])\W*$")
# ... but a title's stop opens nothing ("Mr. Dehn"), nor an initial's after a title, another
# initial or a lower-case word ("Prof. H. S. Carslaw", "by M. Pasch"); after a capitalised word
# it may ("Appendix C. Admit")
_INITIAL_BEFORE = re.compile(r"(?:(?:^|\s)(?:[a-z]\w*|[A-Z]\.|Mr|Mrs|Dr|St|Prof)\.?\s+[A-Z]\.|"
                             r"\b(?:Mr|Mrs|Dr|St|Prof)\.)\s*$")
_NAME_WORD = re.compile(r"\b" + CAP_WORD)


def at_opening(sentence: str, at: int) -> bool:
    """Whether a word at `at` stands where any word is capitalised (a sentence's, a quotation's
    or a bracket's opening), not after a title or an initial."""
    before = sentence[:at]
    return bool(_OPENING.search(before)) and not _INITIAL_BEFORE.search(before)


def named_inside(text: str, sentence: str, qwords: Set[str]) -> bool:
    """Whether a name of `text` (not one of the question's words) stands capitalised somewhere
    inside `sentence`, not only where any word is ("Tolstoi explains", "Seat of ..." opening it)."""
    inside = {m.group() for m in _NAME_WORD.finditer(sentence) if not at_opening(sentence, m.start())}
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
        return float(any((w := m.group().lower()) not in qwords and w not in _NOT_NAMES
                         for m in _CAPITAL.finditer(" " + text)))
    if kind == "reason":
        return float(bool(_REASON.search(text)))
    if kind == "comparison":
        return float(bool(COMPARED.search(text)))
    if kind == "condition":
        return float(bool(_CONDITION.search(text)))
    if kind == "claim":
        return float(bool(_THAT.search(text)))
    return 0.5  # a meaning or a thing: no mark tells one apart
