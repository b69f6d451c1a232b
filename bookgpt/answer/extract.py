"""Answer candidates shaped by the question, cut from the sentences that answer it.

A question asks for a kind of thing (`answer_type`): a person, a number or quantity, a time, a
place, a reason, a meaning, or a plain noun phrase. Each sentence of the retrieved windows (and
the sentence after each, where answers often stand) is cut into clauses at punctuation; the
clauses, their halves and pairs of neighbouring clauses are the candidates. A candidate scores by
what it adds to the question (content words the question does not have), by how well its
sentence matches the question, by whether it has what the question asks for (a name for "who", a
number for "how many", "because" for "why") and by its length against what such a question needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bookgpt.text import is_content, question_stems, squash, stem, words

_CLAUSE_CUT = re.compile(r"\s*(?:[;:()\[\]]|--|—|–|,(?=\s)|\.(?=\s|$)|[!?](?=\s|$))\s*")
_LEAD = re.compile(r"^(?:and|but|or|so|for|that|which|who|then|thus|hence|yet|while|whereas|"
                   r"therefore|namely|i\.e\.|e\.g\.|that is)\s+", re.IGNORECASE)
_NUMBER_WORDS = frozenset(
    "one two three four five six seven eight nine ten eleven twelve thirteen fourteen fifteen "
    "sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty seventy eighty ninety "
    "hundred thousand million half third quarter fourth fifth dozen score".split())
_TIME_WORDS = frozenset("century centuries year years age ages bc bce ce ad january february march "
                        "april may june july august september october november december".split())
_REASON = re.compile(r"\b(?:because|since|owing to|due to|for|so that|in order|as|therefore|"
                     r"hence|thus|by|through)\b", re.IGNORECASE)
_CAPITAL = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-z]+")
_DIGIT = re.compile(r"\d")
_NUM = (r"(?:\d[\d,./^-]*\d|\d|(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
        + r")(?:[ -](?:and )?(?:" + "|".join(sorted(_NUMBER_WORDS, key=len, reverse=True))
        + r"))*)")
# a number with what it counts: "about 300,000 km. per second", "ten thousand sides"
_QUANTITY = re.compile(r"\b(?:about |nearly |some |over |under |exactly |only )?" + _NUM
                       + r"(?: (?:of )?[A-Za-z]+\.?(?: per [A-Za-z]+)?)?", re.IGNORECASE)

# the length in words that answers of each type tend to have (a reader's short answer)
_LENGTH = {"person": 3, "number": 2, "time": 3, "place": 4, "reason": 10, "meaning": 9,
           "thing": 7}


@dataclass(frozen=True)
class Candidate:
    text: str
    sentence: str  # the sentence it was cut from (the answer's support)
    score: float  # the model-free score (higher is better)


def answer_type(question: str) -> str:
    """What a question asks for: person, number, time, place, reason, meaning or thing. The
    asking clause counts: in "When the fashion swept the country, which two groups stayed?" it is
    the last one."""
    clauses = [c for c in re.split(r"[,;:]\s+", question.lower()) if "?" in c or c is not None]
    asking = [c for c in clauses if re.search(r"\b(?:what|which|who|whom|whose|when|where|why|"
                                              r"how)\b", c)]
    q = asking[-1] if asking else question.lower()
    return _type_of(q)


def _type_of(q: str) -> str:
    if re.search(r"\bwhat (?:is|was|are|were) the (?:\w+ )?(?:velocity|speed|distance|length|"
                 r"weight|value|number|size|height|depth|area|volume|temperature|mass|price|"
                 r"cost|sum|total|diameter|radius)\b", q):
        return "number"
    if re.search(r"\bhow (?:many|much|long|far|big|large|fast|old|high|often|heavy|wide)\b|"
                 r"\bwhat (?:number|size|length|value|angle|age|speed)\b|\bat what angle\b", q):
        return "number"
    if re.search(r"\bwho(?:m|se)?\b|\bwhich (?:\w+ )?(?:man|person|author|astronomer|writer|"
                 r"thinker|novelist|character|mathematician|philosopher|king|circle|scientist)\b",
                 q):
        return "person"
    if re.search(r"\bwhen\b|\bwhat (?:year|century|date|time)\b|\bhow old\b", q):
        return "time"
    if re.search(r"\bwhere\b|\bwhich (?:city|cities|country|island|town|place|resort)\b", q):
        return "place"
    if re.search(r"\bwhy\b|\bhow (?:do|does|did|could|can|would|is|are|was)\b|\bby what means\b|"
                 r"\bwhat made\b|\bwhat makes\b", q):
        return "reason"
    if re.search(r"\bmean\b|\bmeaning\b|\bdefin\w*|\bwhat is (?:a|an|the)\b|\bcalled\b", q):
        return "meaning"
    return "thing"


def _clauses(sentence: str) -> list[tuple[int, int]]:
    """(start, end) of the sentence's clauses: the pieces between punctuation."""
    out, pos = [], 0
    for m in [*_CLAUSE_CUT.finditer(sentence), None]:
        end = m.start() if m else len(sentence)
        a, b = pos, end
        while a < b and sentence[a] in " \"'“”‘’_*":
            a += 1
        while b > a and sentence[b - 1] in " \"'“”‘’_*":
            b -= 1
        if any(c.isalnum() for c in sentence[a:b]):
            out.append((a, b))
        pos = m.end() if m else len(sentence)
    return out


def _trim(text: str, qstems: set[str]) -> str:
    """Leading conjunctions and the question's own words cut from the ends of a candidate."""
    text = _LEAD.sub("", text.strip())
    toks = text.split()
    while toks and (stem(_bare(toks[0])) in qstems or not is_content(_bare(toks[0]))) \
            and len(toks) > 1:
        toks.pop(0)
    while toks and (stem(_bare(toks[-1])) in qstems or not is_content(_bare(toks[-1]))) \
            and len(toks) > 1:
        toks.pop()
    return " ".join(toks).strip(" ,;:\"'“”‘’_")


def _bare(token: str) -> str:
    ws = words(token)
    return ws[0] if ws else ""


def _type_fit(kind: str, text: str, qwords: set[str]) -> float:
    """How much a candidate looks like what the question asks for, 0..1."""
    ws = words(text)
    if kind == "number":
        return float(bool(_DIGIT.search(text)) or any(w in _NUMBER_WORDS for w in ws))
    if kind == "time":
        return float(bool(re.search(r"\b\d{3,4}\b", text)) or any(w in _TIME_WORDS for w in ws))
    if kind in ("person", "place"):
        names = [m.group() for m in _CAPITAL.finditer(" " + text)
                 if m.group().lower() not in qwords]
        return min(1.0, len(names) / 1.0)
    if kind == "reason":
        return float(bool(_REASON.search(text)))
    return 0.5  # a meaning or a thing: no mark tells one apart


def candidates(question: str, sentences: list[tuple[str, float]], limit: int = 24) -> list[Candidate]:
    """Scored candidate answers from `sentences` ((sentence, match score 0..1) pairs, the
    retrieved windows' sentences and their followers), best first, at most `limit`."""
    qstems = set(question_stems(question))
    qwords = set(words(question))
    kind = answer_type(question)
    ideal = _LENGTH[kind]
    seen: set[str] = set()
    out: list[Candidate] = []
    for sentence, match in sentences:
        sentence = squash(sentence)
        clauses = _clauses(sentence)
        echo = [sum(1 for w in words(sentence[a:b]) if is_content(w) and stem(w) in qstems)
                for a, b in clauses]
        total = sum(echo) or 1
        spans = [(i, i) for i in range(len(clauses))] + [(i, i + 1) for i in range(len(clauses) - 1)]
        pieces = [(i, j, sentence[clauses[i][0]:clauses[j][1]]) for i, j in spans]
        if kind in ("number", "time"):  # the quantity alone, with what it counts
            pieces += [(i, i, m.group()) for i, (a, b) in enumerate(clauses)
                       for m in _QUANTITY.finditer(sentence, a, b)]
        for i, j, raw in pieces:  # each a piece of the sentence
            # the answer stands beside the words that echo the question
            near = max((echo[k] / (1 + max(i - k, k - j, 0)) for k in range(len(clauses))),
                       default=0.0) / total
            text = _trim(raw, qstems)
            key = text.lower()
            if not text or key in seen:
                continue
            seen.add(key)
            ws = [w for w in words(text) if is_content(w)]
            if not ws:
                continue
            novel = [w for w in ws if stem(w) not in qstems]
            if not novel:
                continue
            novelty = len(novel) / len(ws)
            n = len(text.split())
            length_fit = 1.0 / (1.0 + abs(n - ideal) / ideal)
            fit = _type_fit(kind, text, qwords)
            score = (match ** 4 * (0.5 + 0.5 * novelty) * (0.6 + 0.4 * length_fit)
                     * (0.5 + 0.5 * fit) * (0.4 + 0.6 * near))
            out.append(Candidate(text=text, sentence=sentence, score=score))
    out.sort(key=lambda c: -c.score)
    return out[:limit]


