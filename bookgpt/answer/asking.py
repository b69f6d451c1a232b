"""What a question asks for: the kind of thing (`answer_type`: a person, a number or a
measure of some dimension, a time, a place, a reason, a condition, a claim, a comparison, a
meaning, or a plain noun phrase), read from its asking clause, and what its answer is measured
against (`Asked`: its stems and words, what a "how many" counts, whether it asks for two things).
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from bookgpt.answer.kinds import FIGURED, MARKED
from bookgpt.qa.words import NUMBER_WORDS, PERSON_NOUNS
from bookgpt.text import is_content, question_stems, stem, words

# the question asks what something is called: the answer is the name a sentence gives it ("we
# call such a system, briefly, a desarguesian number system"), whose last words may be the
# question's own. "The name of the ratio that ..." asks for a term; "the name of the keeper's
# boat" (one thing's: a possessive follows, not a contraction such as "that's") asks for a name,
# a person question. "Called on", "call out" name nothing ("called in which" does).
_OF_ONE = r"(?![^?]*\b(?!(?:that|it|what|there|here|who|he|she|let)['’]s\b)\w+['’]s\b)"
_CALLED = r"called\b(?!\s+(?:on|upon|for|out|up|back|off)\b)"
_NAMING = re.compile(r"\bwhat (?:\S+ ){0,3}(?:is|are|was|were) (?:\S+ ){1,20}?" + _CALLED + "|"
                     r"\bwhat (?:do|does|did|would|will|should) (?:\S+ ){1,5}call\b"
                     r"(?!\s+(?:on|upon|for|out|up|back|off)\b)|"
                     r"\bwhat (?:name|term)\b|"
                     r"\bwhat (?:is|was|are|were) the (?:names?|term) (?:of|for) (?:the|a|an)\b" + _OF_ONE)
# a question that asks for more than one thing: "which two", "what two kinds", "between which",
# or the same asking word twice ("where was he set down and where must he go?")
_MANY = re.compile(r"\b(?:which|what) (?:\w+ )?(?:two|three|both)(?![\w-])|\bbetween (?:which|what)\b|"
                   r"\b(who|where|when|which)\b.*\band \1\b")
_YEAR_ASKED = re.compile(r"\b(?:what|which) year\b")
# a question that offers its answers: "Is zero a positive or a negative number?", "Was it Clavius
# or Scaliger who ...?", "Does he regard it as more of a science or an art?" (asked with a verb,
# no "what" or "who" before them), "Who came first, Euclid or Archimedes?" (after its comma, last)
_POLAR = re.compile(r"^\W*(?:[^,?]*,\s*)?(?:is|are|was|were|do|does|did|can|could|has|have|must|"
                    r"should|will|would|may|might)\b")
_ASKING_WORD = re.compile(r"\b(?:what|which|who|whom|whose|when|where|why|how)\b")
_ALTERNATIVES = re.compile(r"\b([a-z][a-z'’-]*[a-z]) or (?:an? |the )?([a-z][a-z'’-]*[a-z])\b")
# the kind a question opening with "which" asks for, in its next words: "Which classical theorem
# about ...", "In which magazine ..."
_WHICH = re.compile(r"^\W*(?:\w+ ){0,2}?which (\w+)(?: (\w+))?(?: (\w+))?")
# ... or at its end: "... a remarkable application of which theorem?"
_WHICH_LAST = re.compile(r"\bwhich (\w+)(?: (\w+))?\W*$")
# what a "how many" question counts: the words after it ("how many [different] ways")
_COUNTED = re.compile(r"\bhow (?:many|much) (\w+)(?: (\w+))?")
# a question asking for the object of a preposition, at the head of its clause: "Through what
# has the moon chiefly influenced the earth?", "From what sources did the Arabs take it?", "To
# whom should elegance be left?" (the answer stands after the same preposition: "through the
# tides"); not one that asks for a figure or a time ("at what angle", "in what year"), nor for a
# manner, a sense or a purpose ("by what means", "in what two ways", "for what purposes")
_AUX = (r"(?:do|does|did|is|are|was|were|has|have|had|can|could|will|would|shall|should|must|"
        r"may|might)")
# (... and asks: its verb comes first, "from which direction does ...", not as in a relative
# clause, "the keeper, to whom the lamp was left")
_PREP_ASKED = re.compile(r"(?:^|[,;:]\s+)\W*(through|by|from|with|into|to|under|for|upon|after|"
                         r"against|in|on|at)\s+(?:what|which|whom)\b(?!\s+(?:\w+\s+)?(?:means|sense|"
                         r"senses|ways?|manner|respects?|purposes?|reasons?|extent|degree)\b)"
                         r"(?=(?:,?\s+[\w'’-]+,?)?\s+" + _AUX + r"\b)")  # ("through what, chiefly, has")
# a question that asks two things, its parts joined by "and" before an asking word ("Who introduced
# it, and in what year?", "When and where did it flourish?")
_PARTS = re.compile(r",?\s+and\s+(?=(?:(?:in|at|on|from|to|by|with|about|for) )?"
                    r"(?:what|which|how|who|whom|whose|when|where)\b)")
# a part after "and" asks when it is elliptical ("in what year?", "where") or has a verb of its
# own ("when did he live?", "how old are they?")
_PART_ASKS = re.compile(r"\W*(?:(?:in|at|on|from|to|by|with|about|for) )?(?:what|which|how|who|whom|"
                        r"whose|when|where)(?:\s+[\w'’-]+)?(?:\W*$|(?:\s+[\w'’-]+){0,2}?\s+" + _AUX
                        + r"\b)")


def _group_stems(m: re.Match[str] | None) -> frozenset[str]:
    """The stems of the content words a match's groups caught (none: no match)."""
    return frozenset(stem(w) for w in (m.groups() if m else ()) if w and is_content(w))


_ASKING_HEAD = re.compile(r"^\W*(?:(?:and|but|so|then|to|in|at|on|for|from|by|with|of|into|under|"
                          r"after|before|during|between|about|according to|since) ){0,2}"
                          r"(?:what|which|who|whom|whose|when|where|why|how)\b")


def answer_type(question: str) -> str:
    """What a question asks for: person, number, time, place, reason, comparison, meaning or
    thing (or a measure, a condition, a claim). The
    asking clause counts: in "When the fashion swept the country, which two groups stayed?" it is
    the last one."""
    clauses = re.split(r"[,;:]\s+", question.lower())
    asking = [c for c in clauses if _ASKING_WORD.search(c)]
    # a clause asks with its first words ("which two groups stayed?", "to whom did she write"); an
    # asking word later in it is a subordinator ("..., as when a car whizzes by?")
    heads = [c for c in asking if _ASKING_HEAD.match(c)]
    # ... and after a clause that asks "what" or "who", one opening with "when" or "where" is a
    # clause of its own ("Who, when the king died, took the throne?")
    if heads and _HEAD_WORD.match(heads[0].lstrip()):
        heads = heads[:1] + [c for c in heads[1:] if not re.match(r"\W*(?:when|where)\b", c)]
    q = (heads or asking)[-1] if asking else question.lower()
    return _type_of(q)


_PLACE_NOUNS = ("city|cities|capital|town|village|country|countries|island|place|resort|river|"
                "mountain|street|station|county|region|kingdom|port|harbour|harbor|land|nation|continent|"
                "prison|gaol|university|college|church|cathedral|abbey|castle|inn|province|sea|ocean|"
                "lake|valley|bay|observatory|palace")
_PERSON_NOUNS = "|".join(sorted(PERSON_NOUNS | {"astronomer", "novelist", "thinker", "scientist",
                                                "character", "poet", "inventor", "person"}))
# up to two words between "which"/"what" and the noun it asks about ("which crowded seaside
# town"), but no verb: in "what were the island fishermen carrying" the island is no question's
_FILLER = r"(?:(?!(?:is|are|was|were|do|does|did|has|have|had|will|would|can|could) )\w+ ){0,2}"
# what each kind of question looks like; the one that starts first in the asking clause wins
_ASKS = [
    # a measure: how fast, how far, how heavy, the velocity or the price of something
    ("speed", re.compile(r"\bhow fast\b|\bat what (?:rate|speed)\b|\bwhat speed\b|"
                         r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:velocity|speed)\b")),
    ("length", re.compile(r"\bhow (?:far|high|wide|deep|tall)\b|\bat what (?:distance|height|"
                          r"depth)\b|\bwhat (?:distance|height|length)\b|\bwhat (?:is|was|are|"
                          r"were) the (?:\w+ )?(?:distance|length|height|depth|diameter|radius)\b")),
    ("duration", re.compile(r"\bhow old\b|\bwhat age\b|\bwhat (?:is|was) the (?:\w+ )?age\b")),
    ("mass", re.compile(r"\bhow heavy\b|\bwhat weight\b|"
                        r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:weight|mass)\b")),
    ("money", re.compile(r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:price|cost)\b|"
                         r"\bhow much (?:did|does|do|would|will) (?:\S+ ){1,4}(?:cost|pay|paid)\b")),
    ("temperature", re.compile(r"\bhow (?:hot|cold)\b|\bat what temperature\b|"
                               r"\bwhat (?:is|was) the (?:\w+ )?temperature\b")),
    ("measure", re.compile(r"\bhow (?:long|big|large)\b|\bwhat size\b|"
                           r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:size|area|volume)\b")),
    ("number", re.compile(
        r"\bhow (?:many|much|often)\b|\bat what angle\b|\bwhat (?:number|value|angle)\b|"
        r"\b(?:what|which) (?:fraction|fractional part|proportion|percentage|ratio|multiple)\b|"
        r"\bwhat (?:is|was|are|were) the (?:\w+ ){0,2}(?:value|number|sum|total|smallest|largest|"
        r"least|greatest|fewest|minimum|maximum|percentage|proportion)\b|"
        r"\bwhat (?:is|was|are|were) the (?:\w+ ){0,2}count of\b")),
    # "who" asks at the head of its clause ("Who...", "To whom..."); after a noun it is a relative
    # ("competitors who sent...")
    # ... and so does a name asked for: "what is the name of", "name the author"
    ("person", re.compile(r"^\W*(?:\w+ )?who(?:m|se)?\b|\b(?:which|what) " + _FILLER + r"(?:"
                          + _PERSON_NOUNS + r")s?\b|"
                          r"\bwhat (?:is|was|are|were) the names? of\b(?!\s+(?:the|a|an)\b" + _OF_ONE + ")|"
                          r"^\W*name (?:the|a|an|one|two|three)\b")),
    # "when" at the head of its clause, in the present: a condition ("When is a proposition called
    # true?"); in the past, a time ("When did he live?")
    ("condition", re.compile(r"^\W*(?:\w+ )?when (?:is|are|can|could|does|do|should|must|may|"
                             r"will|would)\b")),
    ("time", re.compile(r"\bwhen\b|\b(?:what|which) (?:year|century|date|time|age|day|hour|"
                        r"month|season)\b")),
    # where a word or a custom comes from asks for its origin, not a place
    ("meaning", re.compile(r"\bwhere (?:do|does|did) (?:\S+ ){1,8}(?:come|derive|originate)\b")),
    ("place", re.compile(r"\bwhere\b|\b(?:which|what) " + _FILLER + r"(?:" + _PLACE_NOUNS
                         + r")s?\b|\bwhat (?:is|was|are|were) the (?:\w+ )?(?:" + _PLACE_NOUNS
                         + r")\b(?=\s+(?:of|in|on|at|where|that|which|called|named)\b|\s*\?|\s*$)")),
    # a question that names what it asks for as a reason: "what argument did he use", "what
    # two reasons", "for what purpose", "what causes magnetism"
    ("reason", re.compile(r"\b(?:what|which) (?:\w+ )?(?:reasons?|arguments?|grounds|purpose|"
                          r"motives?|explanations?)\b|\bwhat (?:causes|caused)\b")),
    # what someone says, admits, concludes or learns: the content of a claim
    ("claim", re.compile(r"\bwhat (?:\S+ ){0,3}(?:do|does|did|would|will|can|could) "
                         r"(?:(?!mean\b)\S+ ){1,6}?"
                         r"(?:say|admit|announce|claim|write|think|believe|argue|propose|suggest|"
                         r"conclude|decide|hold|maintain|declare|state|tell|explain|remark|reply|"
                         r"learn|draw|discover|realise|realize|find|want to know)\b")),
    # how one thing compares with another: more, less, the same
    ("comparison", re.compile(r"\bhow (?:do|does|did|would|will|must) (?:\S+ ){1,10}?compare\b")),
    ("reason", re.compile(r"\bwhy\b|\bhow (?:do|does|did|could|can|would|is|are|was|were|will|"
                          r"should|might|must)\b|\bby what means\b|\bwhat (?:made|makes)\b")),
    ("meaning", re.compile(r"\bmean\b|\bmeaning\b|\bdefin\w*|\bwhat (?:is|are) (?:a|an|the)\b|"
                           r"\bcalled\b")),
]


# after a "what" or a "which", a "when" or a "where" opens a clause of the question's own ("What
# phrase did the farmer use when his sheep gave birth?"), it asks for no time
_HEAD_WORD = re.compile(r"\b(?:what|which|who|whom|whose)\b")
_SUBORDINATOR = re.compile(r"(?:when|where|why|how)\b")


def _type_of(q: str) -> str:
    head = _HEAD_WORD.search(q)
    found = [(m.start(), rank, kind) for rank, (kind, pattern) in enumerate(_ASKS)
             for m in [pattern.search(q)] if m
             and not (head and m.start() > head.start() and _SUBORDINATOR.match(q, m.start()))]
    return min(found)[2] if found else "thing"


# a name in a question: a run of capitalised words (each of three letters or more, not all
# capitals: "ABC" is a figure's label), not opening the question or a sentence or quote in it
_NAME_RUN = re.compile(r"(?<![.!?:;\"“‘(]\s)(?<![\"“‘(])\b[A-Z][^\W\d_]*[a-z][^\W\d_]*(?:['’]s)?"
                       r"(?:[ -][A-Z][^\W\d_]*[a-z][^\W\d_]*(?:['’]s)?)*")


# a people's or a place's adjective describes, it names nothing a book must mention: "a famous
# Macedonian king", "the thinnest American coin", "a figure of Greek myth"
_PEOPLE_SUFFIX = re.compile(r"(?:ian|ese|ish)$")  # "Italian", "Chinese", "English"
_PEOPLES = frozenset("american european african french german greek roman dutch swiss welsh arab "
                     "arabic hindu".split())  # ... and those the suffix does not tell


def _describes(name: str, after: str) -> bool:
    """Whether a one-word name stands as an adjective of its people or place, before a noun."""
    word = name.lower()
    return (" " not in name and after[:1].islower()
            and (word in _PEOPLES or bool(_PEOPLE_SUFFIX.search(word))))


def question_names(question: str) -> list[frozenset[str]]:
    """The names a question uses, each as the stems of its words ("Hardy and Ramanujan": two
    names), none for a question in title case, where every word is capitalised."""
    return [st for _, st in _names_written(question)]


# an era is a date, no name a book must use ("several thousand years before Christ")
_ERA = re.compile(r"\b(?:before|after) (?:Jesus )?Christ$|\b(?:birth|death) of (?:Jesus )?Christ$")
# a name's eponymous term is part of it ("the Kepler conjecture")
_EPONYMS = ("theorem", "conjecture", "hypothesis", "constant", "paradox", "equation", "postulate",
            "axiom", "formula", "law")
_EPONYM = re.compile(r"\s+(?:" + "|".join(_EPONYMS) + r")\b")
EPONYM_STEMS = frozenset(stem(t) for t in _EPONYMS)  # a name's term, not its person


def name_written(question: str, name: frozenset[str]) -> str:
    """One of `question_names` as the question writes it ("Ramanujan's")."""
    return next(written for written, st in _names_written(question) if st == name)


def _names_written(question: str) -> list[tuple[str, frozenset[str]]]:
    """(name as written, its stems) for `question_names`."""
    ws = question.split()
    if sum(1 for w in ws if w[:1].isupper()) > len(ws) / 2:
        return []
    out = []
    text = question.strip()
    for m in _NAME_RUN.finditer(text, 1):
        if _describes(m.group(), text[m.end():].lstrip()) or _ERA.search(text, 0, m.end()):
            continue
        written = m.group()
        # a name's eponymous term is part of it: "the Kepler conjecture" is no use of "Kepler"
        # alone ("Wilson's theorem", "Hubble constant")
        term = _EPONYM.match(text, m.end())
        if term:
            written = text[m.start():term.end()]
        st = frozenset(stem(w) for w in words(written) if is_content(w) and len(w) >= 3)
        if st:
            out.append((written, st))
    # an acronym of four letters or more names a thing too ("the LIGO observatory", "NASA"), not
    # a Roman numeral ("Knot VIII"), a figure's label ("triangle ABC") nor a stop word written for
    # emphasis ("NEVER")
    for m in _ACRONYM.finditer(text):
        low = m.group(1).lower()
        if not _ROMAN.fullmatch(m.group(1)) and is_content(low):
            out.append((m.group(), frozenset({stem(low)})))
    return out


_ACRONYM = re.compile(r"\b([A-Z]{4,8})s?\b")
_ROMAN = re.compile(r"M{0,4}(?:CM|CD|D?C{0,3})(?:XC|XL|L?X{0,3})(?:IX|IV|V?I{0,3})")


@dataclass(frozen=True)
class Asked:
    """What candidates are measured against: the question's stems and words, and its kind. One
    question is read once (`of` is cached): its books' retrieval, cut and choice all ask."""

    stems: frozenset[str]
    words: frozenset[str]
    kind: str
    counted: frozenset[str] = frozenset()  # stems of what a "how many" question counts
    many: bool = False  # it asks for two things or more
    naming: bool = False  # it asks what something is called
    year: bool = False  # it asks for a year ("in what year"), which only a figure gives
    which: frozenset[str] = frozenset()  # stems of the kind a "which" asks for ("which planet")
    offered: tuple[str, ...] = ()  # stems of the two answers an "X or Y?" question offers
    prep: str = ""  # the preposition whose object a question asks for ("through what": through)
    # the kind of thing the other part of a two-part question asks for, when a text marks it ("who
    # ..., and in what year": the kind is a time, this a person); "" for a question of one part
    also: str = ""

    @classmethod
    @functools.lru_cache(maxsize=4096)
    def of(cls, question: str) -> Asked:
        low = question.lower()
        kind = answer_type(question)
        return cls(frozenset(question_stems(question)), frozenset(words(question)),
                   kind, _group_stems(_COUNTED.search(low)), bool(_MANY.search(low)),
                   bool(_NAMING.search(low)), bool(_YEAR_ASKED.search(low)),
                   _group_stems(_WHICH.match(low) or _WHICH_LAST.search(low)), _offered(low),
                   _prep_asked(low, kind), _also(low, kind))


def _prep_asked(low: str, kind: str) -> str:
    """The preposition a question asks the object of (`_PREP_ASKED`), "" if none, or if what it
    asks for (`kind`) is a figure or a time, which its own candidates give."""
    m = _PREP_ASKED.search(low)
    return m.group(1) if m and kind not in FIGURED else ""


def _also(low: str, kind: str) -> str:
    """The kind the other part of a two-part question asks for (`Asked.also`), other than the
    question's `kind`."""
    parts = _PARTS.split(low)
    if len(parts) < 2 or not all(_PART_ASKS.match(p) for p in parts[1:]):
        return ""  # ("... when the storm came and when the lamp failed?": a clause, no part)
    return next((k for k in map(_type_of, parts) if k != kind and k in MARKED), "")


def _offered(low: str) -> tuple[str, ...]:
    """The stems of the two answers a question offers ("a positive or a negative number":
    positive, negative): two content words joined by "or", in a question asked with a verb
    before any asking word, or standing last after its comma ("Who came first, Euclid or
    Archimedes?")."""
    m = _ALTERNATIVES.search(low)
    if not m or not all(is_content(w) and w not in NUMBER_WORDS for w in m.groups()):
        return ()  # ("two or three points" offers no choice)
    polar = _POLAR.match(low) and not _ASKING_WORD.search(low, 0, m.start())
    last = re.fullmatch(r"[^,]*,\s*(?:an? |the )?" + re.escape(m.group()) + r"\W*", low)
    return tuple(offer_stem(w) for w in m.groups()) if polar or last else ()


def offer_stem(word: str) -> str:
    """The stem an offered answer is matched by: of its last word, a possessive and an elision
    dropped, either apostrophe ("d'Alembert's", "Newton’s": "alembert", "newton")."""
    ws = words(word)
    return stem(ws[-1]) if ws else ""
