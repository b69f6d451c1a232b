"""What a sentence itself says the answer is: what follows an answer's label ("_Answer._--"),
its "the answer is X", the focus of its cleft ("It was Pantocyclus who ..."), for a question
asking what something is called, the name it gives ("... is called the eccentricity"), for
one asking for a figure, the figure its subject is said to be ("the least percentage is 10"),
and for one offering two answers, the one it takes ("an art rather than a science")."""

from __future__ import annotations

import re

from bookgpt.answer.asking import Asked, offer_stem
from bookgpt.answer.clauses import first_clause, unquoted
from bookgpt.answer.kinds import COMPARATIVES, NUMBER_WORDS_RE, SAYS_MEANING
from bookgpt.text import is_content, stem, word_spans, words

# a sentence labelled as a puzzle's answer ("_Answer._--In 6-1/4 minutes.", "Answer: 7,560"): it
# states what was asked outright (a "Solution" label starts the working, not the answer)
_LABEL = re.compile(r"^[\W_]*(?:answers?|ans)[_*]*\s*[.:\u2014\u2013-][\W_]*(?=[^\W_]|$)",
                    re.IGNORECASE)
# ... and one labelled as its solution ("_Solution._--(I adopt that of POLAR STAR)"), whose
# working the answer ends ("Therefore the least percentage is 10.")
_SOLUTION_LABEL = re.compile(r"^[\W_]*(?:solutions?|sol)[_*]*\s*[.:\u2014\u2013-]", re.IGNORECASE)
# ... or says so within a sentence: "the correct answer is 1,992 different ways"
_ANSWER_IS = re.compile(r"\b(?:the|my|our)\s+(?:(?:correct|right|true|only|real)\s+)?(?:answer|"
                        r"solution)\s+(?:is|was|will be)\b(?:\s+that\b)?[\s:,\"'“”‘’_]*",
                        re.IGNORECASE)
# ... or puts it in focus: "It was Pantocyclus--the illustrious Circle--who first convinced ..."
# (a name, or anyone followed by "who": "It is familiar knowledge that ..." is no focus)
_CLEFT = re.compile(r"^[\W_]*[Ii]t (?:was|is) (?=[A-Z][a-z]|.*\bwhom?\b)")


def declared_answers(sentence: str) -> tuple[bool, list[str]]:
    """Whether a sentence is labelled as an answer, and the pieces it declares to be one: all it
    says after its label ("5-1/2, 6-1/2, 7, 4-1/2, 3-1/2"), what follows its "the answer is" (to
    the closing quote when quoted: 'the correct answer is "one-third," although', else to its
    clause's end), and the focus of its cleft ("It was Pantocyclus-- ... --who")."""
    label = _LABEL.match(sentence)
    out = []
    if label:  # all it says, and, when more follows, what it says before its first colon or semicolon
        said = sentence[label.end():]
        head = re.split(r"\s*[:;]\s", said, maxsplit=1)
        out += [unquoted(said)] + ([unquoted(head[0])] if len(head) > 1 else [])
    for m in _ANSWER_IS.finditer(sentence):
        rest = sentence[m.end():]
        if any(q in m.group() for q in "\"“'‘"):
            close = re.search(r"[\"”’]|'(?!\w)", rest)
            rest = rest[:close.start()] if close else rest
        out.append(unquoted(first_clause(rest)))
    cleft = _CLEFT.match(sentence)
    if cleft:
        out.append(first_clause(sentence[cleft.end():]))
    return label is not None, out


# a naming verb: passive ("is called", "termed", "known as"), or active after its subject or a
# modal ("we call", "we will call", "to call"), not the noun ("the first term")
_NAMES_IT = re.compile(r"\b(?:(called|termed|named|known as)|(?:we|they|one|i|you|shall|will|"
                       r"may|might|can|usually|often|to)\s+(?:\w+\s+)?(?:call|term))\b",
                       re.IGNORECASE)

_BY_AGENT = re.compile(r"\s*by\s+[^\"“‘]{1,60}?[\"“‘]([^\"”’]{1,60})[\"”’]")
# what a sentence says a word means follows the saying (not "by means of", "a means")
_MEANS = re.compile(r"\b(?:(?<!\bby )(?<!\ba )(?<!\bno )(?<!\bthe )means|" + SAYS_MEANING
                    + r"|we mean(?: that)?|denotes?|(?:is|are) to be understood(?: as)?)\b[\s,:\"'“‘_]*",
                    re.IGNORECASE)
MEANING_WORDS = 12
_ORIGIN = frozenset("come comes came derive derives derived originate originates originated".split())
_WHAT_BEFORE = re.compile(r"\bwhat\s+$", re.IGNORECASE)


def said_meanings(sentence: str, asked: Asked, term: tuple[str, ...] = ()) -> list[str]:
    """For a question asking what a word means, what the sentence says it means, after the saying
    ("we mean that they profoundly interpenetrate, ...", "signifying the passages of a mine"), or
    after the term asked about (`defined_term`) and its "is" ("a pixel is | the smallest unit of
    light ...", "Chance is only | the measure of our ignorance"), up to its stop and at most
    MEANING_WORDS words."""
    if asked.kind != "meaning" or asked.words & _ORIGIN:  # (where a word comes from: no meaning)
        return []
    starts = [m.end() for m in _MEANS.finditer(sentence)] + _defined_at(sentence, term)
    return [" ".join(re.split(r"[;.!?]", sentence[at:], maxsplit=1)[0].split()[:MEANING_WORDS])
            for at in starts]


# what a definition question asks about: "What is (meant by) a pixel?", "How does the author
# define chance?"
_TERM_ASKED = re.compile(r"\bwhat (?:is|are|was|were) (?:meant by )?(?:a |an |the )?(.+?)\W*$|"
                         r"\bdefine (?:a |an |the )?(.+?)\W*$", re.IGNORECASE)
TERM_WORDS = 4  # (a longer "term" is a question of another kind: "what is the reason that ...")
# the copula that defines, after the term: "is", "is only", "are simply"; not "is not", "is called"
_DEFINING = re.compile(r"\s+(?:is|are)\s+(?:(?:only|simply|merely|just|then|therefore|thus|"
                       r"essentially|really)\s+)?(?!not\b|called\b|said\b|also\b|to\b|of\b)",
                       re.IGNORECASE)


def defined_term(question: str) -> tuple[str, ...]:
    """The stems of the term a definition question asks about, in order (none: it asks of none)."""
    m = _TERM_ASKED.search(question)
    if not m:
        return ()
    term = tuple(stem(w) for w in words(m.group(1) or m.group(2)) if is_content(w))
    return term if 0 < len(term) <= TERM_WORDS else ()


def _defined_at(sentence: str, term: tuple[str, ...]) -> list[int]:
    """Where what a sentence says the term is starts: after the term's words (function words
    between them allowed: "system of co-ordinates") and a defining "is"."""
    if not term:
        return []
    toks = [(end, stem(w)) for _, end, w in word_spans(sentence) if is_content(w)]
    out = []
    for i in range(len(toks) - len(term) + 1):
        if tuple(st for _, st in toks[i:i + len(term)]) == term:
            copula = _DEFINING.match(sentence, toks[i + len(term) - 1][0])
            if copula:
                out.append(copula.end())
    return out


def given_names(sentence: str, asked: Asked) -> list[tuple[str, float]]:
    """(name, echo) a sentence gives something, for a question asking what it is called: after a
    passive naming verb, its clause ("... it is now called | the specific gravity of the
    material, and ..."); after an active one, the last part of its clause, past the thing named
    ("We will call such a system, briefly, | a desarguesian number system.": without a comma
    between the thing and its name, "we call X Y" gives none). Echo is the share
    of the question's stems that the words before the name hold: how surely the thing named is
    the one asked about."""
    found = list(_NAMES_IT.finditer(sentence))
    if not found:
        return []
    at = found[-1]
    rest = sentence[at.end():]
    if at.group(1):
        # ... past who calls it so, when the name is quoted after them ("called by the maker
        # of chess problems "cooks."")
        agent = _BY_AGENT.match(rest)
        name = unquoted(agent.group(1) if agent else first_clause(rest))
    else:
        parts = [p for p in re.split(r",\s+", unquoted(re.split(r"[;:()\[\]]|--|—|–", rest)[0]))
                 if p.strip()]
        # ... but after "what" the name comes first: "a specimen of what I will call the
        # assumption-trick of controversy, a habit which ..."
        what = _WHAT_BEFORE.search(sentence, 0, at.start())
        name = parts[0] if what and parts else parts[-1] if len(parts) > 1 else ""
    before = {stem(w) for w in words(sentence[:at.start()]) if is_content(w)}
    echo = len(before & asked.stems) / (len(asked.stems) or 1)
    return [(name, echo)] if name else []


# a figure after a copula: "is 10", "must have been 1021", "is therefore 14,833"
_IS_FIGURE = re.compile(r"\b(?:is|are|was|were|be|been)\s+(?:(?:therefore|thus|then|just|exactly|"
                        r"only|precisely|about|nearly|approximately|at least|at most)\s+)?"
                        r"(?=[\d£$]|" + NUMBER_WORDS_RE + r"\b)",
                        re.IGNORECASE)


_AUXILIARIES = frozenset("would will shall should must may might can could have has had therefore "
                         "then thus also".split())

_LEAST = frozenset("smallest least fewest minimum lowest shortest".split())
_MOST = frozenset("largest greatest most maximum highest longest biggest".split())


def _superlative(ws) -> str:
    """Which way a superlative among `ws` points: "least", "most", or "" for none."""
    ws = {w.lower() for w in ws}
    return "least" if ws & _LEAST else "most" if ws & _MOST else ""


def stated_figures(sentence: str, asked: Asked) -> list[tuple[str, float]]:
    """(figure, echo) a sentence states its subject to be, for a question asking for a number
    or a quantity: "Therefore the least percentage is | 10." Echo is the share of the question's
    stems in the subject (its clause up to the copula): how surely the figure is the one asked
    for. A subject with none of them states nothing asked."""
    out = []
    superlative = _superlative(asked.words)
    for m in _IS_FIGURE.finditer(sentence):
        head = sentence[:m.start()].rstrip(" ,")  # "... the wrong hat, is 14,833"
        subject = [w for w in words(head[max(head.rfind(c) for c in ",;:(") + 1:])
                   if w not in _AUXILIARIES]
        # a superlative the question asks with, said in the subject in its words or others of
        # the same sense ("the smallest company" asked, "The least number is 7,560." said)
        # (the subject ends with it and its noun: not "the smallest number that has seven
        # divisors and no more is 64")
        same = bool(superlative) and superlative == _superlative(subject[-2:])
        echo = (len({stem(w) for w in subject if is_content(w)} & asked.stems) + same) / (
            len(asked.stems) or 1)
        figure = first_clause(sentence[m.end():]).rstrip(" .")
        # the subject's last word is the question's: "the least percentage", "the wrong hat",
        # not a variable's value ("on an ordinary chessboard n would be 8")
        if subject and (stem(subject[-1]) in asked.stems or same) and figure:
            out.append((figure, echo))
    return out


def labels_solution(sentence: str) -> bool:
    """Whether a sentence opens with a solution's label ("_Solution._--", "Solution:")."""
    return _SOLUTION_LABEL.match(sentence) is not None


def labels_answer(sentence: str) -> bool:
    """Whether a sentence opens with an answer's label ("_Answer._--", "Answer:", "Ans.")."""
    return _LABEL.match(sentence) is not None


# how a sentence that names both offered answers takes one, or neither: "neither positive nor
# negative", "not true or false", "an art rather than a science", "not a science but an art"
_WORD = re.compile(r"[^\W\d_](?:[^\W_]|['’-])*")  # (no italics' underscore)
_NEITHER = re.compile(r"\bneither\b|\bnot\b[^.;:]*\bor\b", re.IGNORECASE)
_RATHER_THAN = re.compile(r"(?<![^\W_])([^\W_]+)_* rather than\b", re.IGNORECASE)
# "A is more general than B", "it is less general, theoretically, than B" (not after "not")
_THAN = re.compile(r"(?<!\bnot )(?<!\bno )\b(" + "|".join(COMPARATIVES) + r")\b((?:[\s,]+[a-z]+){0,3})"
                   r"[\s,]+than (?:that of |those of |the |an? )?_*([^\W\d_](?:[^\W_]|['’-])*)",
                   re.IGNORECASE)
_OPPOSITES = [("more", "less"), ("more", "fewer"), ("greater", "less"), ("greater", "smaller"),
              ("larger", "smaller"), ("bigger", "smaller"), ("higher", "lower"),
              ("longer", "shorter"), ("faster", "slower"), ("better", "worse")]
_OPPOSITE = {w: frozenset(b for a, b in _OPPOSITES if a == w) | frozenset(
    a for a, b in _OPPOSITES if b == w) for w in COMPARATIVES}
_NOT_BUT = re.compile(r"\bnot (?:an? |the )?\w+,? but (?:an? |the )?_*([^\W_]+)", re.IGNORECASE)


def offered_answer(sentence: str, asked: Asked) -> list[str]:
    """For a question offering two answers ("Is zero a positive or a negative number?"), the one
    a sentence that names both takes ("an art rather than a science", "not a science but an
    art"), or "neither" ("neither positive nor negative"). (A sentence naming one alone need not
    take it: over the readers' questions, one that did answered wrongly.)"""
    if not asked.offered:
        return []
    named = {offer_stem(w) for w in _WORD.findall(sentence)} & set(asked.offered)
    if len(named) < 2:
        return []
    for pattern in (_RATHER_THAN, _NOT_BUT):
        m = pattern.search(sentence)
        if m and offer_stem(m.group(1)) in asked.offered:
            return [m.group(1)]
    # "Which is more general, A or B?": "... more general than B" takes A, "less general than B"
    # takes B (the question's own sense between: "more elegant than B" says nothing of it)
    m = _THAN.search(sentence)
    if m and offer_stem(m.group(3)) in asked.offered and any(
            stem(w) in asked.stems for w in words(m.group(2))):
        said, loser = m.group(1).lower(), offer_stem(m.group(3))
        if said in asked.words:
            return [next(w for w in _WORD.findall(sentence)
                         if offer_stem(w) in asked.offered and offer_stem(w) != loser)]
        if _OPPOSITE[said] & asked.words:
            return [m.group(3)]
    return ["neither"] if _NEITHER.search(sentence) else []
