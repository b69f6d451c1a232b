"""Question-answer pairs made from a book's own text by patterns (no external model).

Kinds: definition ("What is X?" from "X is ...", "X means ...", "X is defined as ..."), called,
we_mean ("by X we mean ..."), who (personal subjects and speakers), statement ("What <verb> ...?"
from a noun-phrase subject), object ("What did X discover?"), agent ("By what was X ...?"), why
("... because ..."), heading (chapter and section titles), when (years), how_many (numbers with
units) and cloze ("Fill in the blank: ..."). Each kind is capped at a share of the pairs
(KIND_SHARE) so cloze and number questions cannot swamp the rest.

Every answer is an exact span of the book: ``text[answer_start:answer_start + len(answer)]``
equals the answer, and the answer lies inside its passage. Answers keep the book's own line
breaks; questions are single-line. An empty or tiny text gives no pairs (``[]``), not an error.
"""

from __future__ import annotations

import bisect
import json
import random
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass
from pathlib import Path

from bookgpt.fsio import atomic_write_text
from bookgpt.qa import patterns as P

# the most a kind may make up of a book's pairs; definitions and headings are never capped
KIND_SHARE = {"definition": 1.0, "called": 1.0, "we_mean": 1.0, "heading": 1.0, "why": 1.0,
              "agent": 1.0, "who": 0.35, "statement": 0.35, "object": 0.3, "when": 0.1,
              "how_many": 0.15, "cloze": 0.4}
KIND_ORDER = list(KIND_SHARE)  # preference when two kinds ask the same question
MIN_TEXT_CHARS = 200


@dataclass(frozen=True)
class QAPair:
    question: str
    answer: str
    kind: str
    passage: str  # the source passage: a paragraph, part of one, or a few small ones merged
    passage_start: int  # offset of the passage in the book text
    answer_start: int  # offset of the answer in the book text


# --------------------------------------------------------------------------- passages

ABBREV = P._W("mr mrs ms dr st sir prof vol vols no nos fig figs ch chap pp p art sec sect viz "
              "cf ie eg etc ibid op cit ed eds ii iii iv vi vii viii ix xi xii ca esq jr sr gen")
_SENT_END = re.compile(r"[.!?]+[\"'’”)\]_]*(?=\s+[\"'‘“(\[_]*[A-Z0-9])|\n[ \t]*\n")
_ABBR_TAIL = re.compile(r"([A-Za-z]+)\.?$")


def sentence_spans(text: str, start: int = 0, end: int | None = None) -> list[tuple[int, int]]:
    """Sentences of text[start:end] as absolute (start, end) spans without surrounding space."""
    end = len(text) if end is None else end
    cuts, pos = [], start
    for m in _SENT_END.finditer(text, start, end):
        if m.group()[0] == ".":
            tail = _ABBR_TAIL.search(text, max(start, m.start() - 12), m.start())
            tok = tail.group(1) if tail else ""
            if tok.lower() in ABBREV or (len(tok) == 1 and tok.isupper()):
                continue
        cuts.append((pos, m.end()))
        pos = m.end()
    cuts.append((pos, end))
    out = []
    for s, e in cuts:
        seg = text[s:e]
        if seg.strip():
            s2 = s + len(seg) - len(seg.lstrip())
            out.append((s2, s2 + len(seg.strip())))
    return out


def split_passages(text: str, max_chars: int = 600) -> list[tuple[int, str]]:
    """(offset, passage) pairs covering the text's paragraphs, each at most `max_chars` long.

    Long paragraphs are cut at sentence ends (a sentence longer than max_chars at a space),
    small neighbours are merged. ``text[offset:offset + len(passage)] == passage``.
    """
    if max_chars < 1:
        raise ValueError(f"max_chars must be positive, got {max_chars}")
    pieces: list[tuple[int, int]] = []
    for m in re.finditer(r"\S(?:.*?\S)?(?=[ \t]*\n[ \t]*\n|\s*\Z)", text, re.DOTALL):
        s, e = m.span()
        if e - s <= max_chars:
            pieces.append((s, e))
            continue
        cur = None
        for a, b in sentence_spans(text, s, e):
            while b - a > max_chars:  # one over-long sentence: cut at the last space
                cut = max(text.rfind(" ", a + max_chars // 2, a + max_chars),
                          text.rfind("\n", a + max_chars // 2, a + max_chars))
                cut = cut if cut > a else a + max_chars
                if cur:
                    pieces.append(cur)
                    cur = None
                end = cut
                while end > a and text[end - 1].isspace():
                    end -= 1
                pieces.append((a, end))
                a = cut
                while a < b and text[a].isspace():
                    a += 1
            if a >= b:
                continue
            if cur and b - cur[0] <= max_chars:
                cur = (cur[0], b)
            else:
                if cur:
                    pieces.append(cur)
                cur = (a, b)
        if cur:
            pieces.append(cur)
    merged: list[tuple[int, int]] = []
    small = max(1, max_chars // 4)
    for s, e in pieces:
        if merged and (merged[-1][1] - merged[-1][0] < small or e - s < small) \
                and e - merged[-1][0] <= max_chars:
            merged[-1] = (merged[-1][0], e)
        else:
            merged.append((s, e))
    return [(s, text[s:e]) for s, e in merged]


# --------------------------------------------------------------------------- book statistics

class BookStats:
    """Whole-book word counts: names, people, and verb base forms seen in the book."""

    def __init__(self, text: str):
        self.freq = Counter(w.lower() for w in re.findall(r"[A-Za-z]+", text))
        self.lower = Counter(re.findall(r"\b[a-z]+\b", text))
        self.cap_mid = Counter(re.findall(r"(?<=[a-z,;])[ \t\n]+([A-Z][a-z]+)", text))
        say, titles = "|".join(P.SAY_VERBS), "|".join(P.TITLES)
        people = re.findall(r"\b(?:" + say + r")\s+(?:the\s+)?([A-Z][a-z]+)", text)
        people += re.findall(r"\b([A-Z][a-z]+)\s+(?:" + say + r")\b", text)
        people += re.findall(r"\b(?:" + titles + r")\.?\s+([A-Z][a-z]+)", text)
        people += re.findall(r"\b([A-Z][a-z]+)\s+(?:has\s+|had\s+)?(?:thought|thinks|believed|"
                             r"believes|wrote|writes|discovered|invented|died|lived|married|argued|"
                             r"claimed|supposed|spoke|proved)\b", text)
        self.people = {p for p in people if p.lower() not in P.STOPWORDS}

    def is_name(self, w: str) -> bool:
        return w[:1].isupper() and self.cap_mid[w] >= 2 and self.cap_mid[w] > self.lower[w.lower()]

    def is_person(self, np_words: list[str]) -> bool:
        cut = next((k for k, w in enumerate(np_words) if w.lower() in P.PREPS), len(np_words))
        head = [w for w in np_words[:cut] if w.lower() not in P.DETERMINERS]
        if any(w in self.people or w.rstrip(".") in P.TITLES for w in head):
            return True
        return bool(head) and head[-1].lower() in P.PERSON_NOUNS

    def base(self, verb: str) -> str | None:
        """Base form of a past (-ed, irregular) or third-person (-s) verb, if the book has it."""
        if verb in P.IRREGULAR:
            return P.IRREGULAR[verb]
        if verb.endswith(("ied", "ies")):
            cands = [verb[:-3] + "y"]
        elif verb.endswith("ed"):
            cands = [verb[:-3], verb[:-2]] if verb[-3] == verb[-4] else [verb[:-2], verb[:-1]]
        elif verb.endswith("es"):
            cands = [verb[:-2], verb[:-1]]
        elif verb.endswith("s"):
            cands = [verb[:-1]]
        else:  # a base form: accept it when the book also inflects it
            forms = (verb + "s", verb + "es", verb + "ed", verb + "d", verb + "ing",
                     verb[:-1] + "ied", verb[:-1] + "ing")
            return verb if verb in P.VERBS or any(self.lower[f] for f in forms) else None
        best = max(cands, key=lambda c: self.lower[c])
        return best if self.lower[best] > 0 and len(best) > 2 else None


# --------------------------------------------------------------------------- numbers

NUMBER_WORDS = ("two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
                "seventy eighty ninety hundred thousand million dozen")
NOT_UNITS = P._W("is was has does this thus his as us its yes ours always perhaps sometimes less "
                 "unless whereas besides towards afterwards sides steps times others ones days")


_YEAR = re.compile(r"\b(?P<prep>[Ii]n|since|until|till|about|after|before|by|from)\s+"
                   r"(?:the\s+year\s+)?(?P<y>1[0-9]{3}|20[0-9]{2})(?![\d,.]\d)")
_NUMS = NUMBER_WORDS.replace(" ", "|")
_NUM = re.compile(r"(?<![\d.,§])\b(?P<n>\d{1,3}(?:,\d{3})+|\d+(?:\.\d+)?|(?:" + _NUMS + "|"
                  + _NUMS.title() + r")(?:[ -](?:" + _NUMS + r"))*)\s+(?P<u>[a-z]{4,}s)\b")


def _clause(text: str, s: int, e: int, a: int) -> tuple[int, int]:
    """The clause of sentence [s, e) around offset a (cut at ; : -- and sentence ends)."""
    lo = s
    for m in re.finditer(r";|:|--|—", text[s:a]):
        lo = s + m.end()
    m = re.search(r";|:|--|—", text[a:e])
    return lo, (a + m.start() if m else e)


def numbers(text: str, sents: list[tuple[int, int]], stats: BookStats) -> Iterator[P.Candidate]:
    for s, e in sents:
        for m in _YEAR.finditer(text, s, e):  # "X happened in 1905." -> "X happened: in what year?"
            lo, hi = _clause(text, s, e, m.start())
            left = P.squash(text[lo:m.start()]).rstrip(" ,")
            right = P.squash(text[m.end():hi]).strip(" ,")
            prep = m["prep"].lower()
            q = f"{left} {prep} what year {right}" if left and right else \
                f"{left or right}: {prep} what year"
            q = re.sub(r"[^\w)\]]+(?=:)|[^\w)\]]+$", "", q)
            if len((left + " " + right).split()) >= 3:
                yield "when", q[0].upper() + q[1:] + "?", m.start("y"), m.end("y")
        for m in _NUM.finditer(text, s, e):
            prev = re.search(r"(\S+)\s*$", text[s:m.start()])
            if m["u"] in NOT_UNITS or re.match(r"1[5-9]\d\d$|20\d\d$", m["n"]) or prev and (
                    prev.group(1).lower() in P.DET_ALL | P.CONJ | P._W("first last next") or
                    not prev.group(1)[-1].isalnum() and prev.group(1)[-1] not in ",;:"):
                continue
            lo, hi = _clause(text, s, e, m.start())
            before = P.squash(text[lo:m.start()]).lstrip("\"'“‘(")
            after = P.squash(text[m.start("u"):hi]).rstrip(" .,;!?\"'”’)")
            q = f"{before} how many {after}".strip() if before else f"How many {after}"
            q = q[0].upper() + q[1:] + "?"
            yield "how_many", q, m.start(), m.end()


# --------------------------------------------------------------------------- headings

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
    ws = re.sub(r"[\W_]+$", "", P.squash(t)).split()
    if t.upper() != t:
        return " ".join([ws[0].lower() if ws[0].lower() in P.DETERMINERS else ws[0], *ws[1:]])
    return " ".join("-".join(p.capitalize() if stats.is_name(p.capitalize()) else p.lower()
                             for p in w.split("-")) for w in ws)


def headings(text: str, stats: BookStats) -> Iterator[P.Candidate]:
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
        if not _title_ok(P.squash(title)):
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
        yield "heading", f"What is {name} {num}{where} about?", title_s, t_end
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
        yield "heading", q, m.start("label"), m.end("num")
    yield from _bare_headings(text)


_BARE_HEAD = re.compile(r"(?:\A|\n[ \t]*\n)[ \t]*(?P<t>[A-Z][A-Z0-9 ,;:'’\-]{8,90}[A-Z0-9.?]?)"
                        r"[ \t]*\n[ \t]*\n\s*(?P<p>[A-Z\"“][^\n]*\n[^\n]+)")


def _bare_headings(text: str) -> Iterator[P.Candidate]:
    """An unnumbered all-capitals title over prose: 'Which section begins "In your schooldays"?'"""
    for m in _BARE_HEAD.finditer(text):
        title, para = m["t"].strip(), P.squash(m["p"])
        if len(title.split()) < 2 or _HEAD.match(title) or title.startswith("BY ") or \
                not re.search(r"[a-z]{3}.*[a-z]{3}", para):
            continue
        opening = re.sub(r"[^\w]+$", "", " ".join(para.split()[:8]))
        yield "heading", f'Which section begins "{opening} ..."?', m.start("t"), m.end("t")


# --------------------------------------------------------------------------- cloze

def cloze(text: str, sents: list[tuple[int, int]], stats: BookStats,
          max_words: int) -> Iterator[P.Candidate]:
    """A sentence with its most specific span blanked: a name, a number phrase or a rare term."""
    for s, e in sents:
        sent = text[s:e]
        n = len(sent.split())
        if not 6 <= n <= max_words or not re.search(r"[a-z]{3}", sent) or sent.count('"') % 2 \
                or not re.match(r"[\"“‘'(_]*[A-Z0-9]", sent):
            continue
        toks = P.tokens(text, s, e)
        if sum(len(t[0]) for t in toks) < 0.6 * len(sent.replace(" ", "").replace("\n", "")):
            continue
        best, score = None, 0.0
        for j, (w, a, b) in enumerate(toks):
            lw = w.lower()
            if j and stats.is_name(w) and lw not in P.STOPWORDS:
                sc, k = 3.0, j
                while k + 1 < len(toks) and stats.is_name(toks[k + 1][0]) and \
                        not text[toks[k][2]:toks[k + 1][1]].strip():
                    k += 1
                b = toks[k][2]
            elif w[0].isdigit() and j + 1 < len(toks) and toks[j + 1][0].isalpha() and \
                    toks[j + 1][0].lower() not in P.STOPWORDS and \
                    not text[b:toks[j + 1][1]].strip():
                sc, b = 2.5, toks[j + 1][2]
            elif j and w.isalpha() and len(w) >= 5 and lw not in P.STOPWORDS and \
                    stats.freq[lw] >= 2 and not lw.endswith("ly"):
                sc = 1.0 + min(len(w), 12) / 12 - min(stats.freq[lw], 200) / 400
            else:
                continue
            if sc > score:
                best, score = (a, b), sc
        if best:
            q = P.squash(text[s:best[0]]) + " ____ " + P.squash(text[best[1]:e])
            q = re.sub(r"\s*[*#=~]{2,}\s*$", "", q)  # a trailing "***" separator is no text
            yield "cloze", "Fill in the blank: " + " ".join(q.split()), best[0], best[1]


# --------------------------------------------------------------------------- filters

_TRIM_END = ".,;:!?-—–_*'\"’“”‘ \t\n"
_TRIM_START = ",;:-—–_*'\"’“”‘ \t\n"


def _trim(text: str, a: int, b: int) -> tuple[int, int]:
    """Shrink [a, b) past surrounding punctuation and unbalanced brackets or quotes."""
    for _ in range(4):
        while a < b and text[a] in _TRIM_START:
            a += 1
        while b > a and text[b - 1] in _TRIM_END:
            b -= 1
        span = text[a:b]
        if span.endswith(")") and span.count("(") < span.count(")"):
            b -= 1
        elif span.startswith("(") and span.count("(") > span.count(")"):
            a += 1
        else:
            break
    return a, b


DANGLING = P.CONJ | P.PREPS | P.DET_ALL | P.AUX | P._W("to by as than into upon not the a an")


def answer_ok(answer: str, min_words: int, max_words: int) -> bool:
    """Bounded length, no pronoun-only or stopword-only answers, brackets and quotes balanced."""
    n = len(answer.split())
    if not min_words <= n <= max_words:
        return False
    toks = re.findall(r"[A-Za-z0-9]+", answer.lower())
    if not toks or all(t in P.STOPWORDS for t in toks) or toks[-1] in DANGLING:
        return False
    return balanced(answer)


def balanced(s: str) -> bool:
    return (s.count("(") == s.count(")") and s.count("[") == s.count("]")
            and s.count('"') % 2 == 0 and s.count("“") == s.count("”"))


def normalise_question(q: str) -> str:
    return " ".join(re.sub(r"[^a-z0-9]+", " ", q.lower()).split())


# --------------------------------------------------------------------------- generation

def _candidates(text: str, passages: list[tuple[int, str]], max_q_words: int):
    stats = BookStats(text)
    for k, (ps, passage) in enumerate(passages):
        sents = sentence_spans(text, ps, ps + len(passage))
        for gen in (P.clauses, numbers):
            for c in gen(text, sents, stats):
                yield k, c
        for c in P.dialogue(text, (ps, ps + len(passage)), stats):
            yield k, c
        for c in cloze(text, sents, stats, max_q_words - 4):
            yield k, c
    starts = [s for s, _ in passages]
    for c in headings(text, stats):
        yield bisect.bisect_right(starts, c[2]) - 1, c


def _balance(by_kind: dict[str, list], max_pairs: int) -> int:
    """The largest total T <= max_pairs the kinds can fill with each kind within its share."""
    def fill(t: int) -> int:
        return sum(min(len(v), int(KIND_SHARE.get(k, 0.1) * t)) for k, v in by_kind.items())

    lo, hi = 0, min(max_pairs, sum(len(v) for v in by_kind.values()))
    while lo < hi:
        mid = (lo + hi + 1) // 2
        lo, hi = (mid, hi) if fill(mid) >= mid else (lo, mid - 1)
    return lo


def generate_pairs(text: str, *, max_pairs: int = 5000, min_answer_words: int = 1,
                   max_answer_words: int = 30, max_question_words: int = 40,
                   passage_chars: int = 600, seed: int = 1337) -> list[QAPair]:
    """Question-answer pairs from the book text, deterministic for a seed, in a seeded order.

    Returns [] for an empty or tiny text (fewer than MIN_TEXT_CHARS non-space characters).
    """
    if max_pairs < 0 or min_answer_words < 1 or max_answer_words < min_answer_words:
        raise ValueError("need max_pairs >= 0 and 1 <= min_answer_words <= max_answer_words")
    if len("".join(text.split())) < MIN_TEXT_CHARS or max_pairs == 0:
        return []
    passages = split_passages(text, passage_chars)
    seen: set[str] = set()
    by_kind: dict[str, list[QAPair]] = {}
    cands = sorted(_candidates(text, passages, max_question_words),
                   key=lambda kc: (KIND_ORDER.index(kc[1][0]) if kc[1][0] in KIND_ORDER else 99,
                                   kc[1][2]))
    for k, (kind, question, a, b) in cands:
        a, b = _trim(text, a, b)
        ps, passage = passages[k]
        if not ps <= a < b <= ps + len(passage):
            continue
        answer = text[a:b]
        question = " ".join(question.split())
        norm_q = normalise_question(question)
        if (len(question.split()) > max_question_words or len(norm_q.split()) < 3
                or norm_q in seen or not answer_ok(answer, min_answer_words, max_answer_words)
                or not balanced(question)):
            continue
        if kind != "cloze" and f" {normalise_question(answer)} " in f" {norm_q} ":
            continue  # the question gives its answer away
        seen.add(norm_q)
        by_kind.setdefault(kind, []).append(QAPair(question, answer, kind, passage, ps, a))
    total = _balance(by_kind, max_pairs)
    rng = random.Random(seed)
    out: list[QAPair] = []
    for kind in sorted(by_kind, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 99):
        take = min(len(by_kind[kind]), int(KIND_SHARE.get(kind, 0.1) * total), total - len(out))
        out += rng.sample(by_kind[kind], take)
    rng.shuffle(out)
    return out


def split_pairs(pairs: list[QAPair], val_fraction: float,
                seed: int) -> tuple[list[QAPair], list[QAPair]]:
    """(train, validation) by source passage: all pairs of a passage go to the same side.

    Passages are drawn in a seeded order into validation until it holds ~val_fraction of the
    pairs; both sides keep the input order. With 2+ passages and 0 < val_fraction < 1 neither
    side is empty.
    """
    if not 0.0 <= val_fraction < 1.0:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    groups: dict[int, int] = {}
    for p in pairs:
        groups[p.passage_start] = groups.get(p.passage_start, 0) + 1
    keys = sorted(groups)
    random.Random(seed).shuffle(keys)
    target, n_val, val_keys = val_fraction * len(pairs), 0, set()
    for key in keys[:-1]:  # the last passage always stays in training
        if n_val >= target:
            break
        if n_val + groups[key] - target > target - n_val and n_val > 0:
            continue  # this passage would overshoot more than leaving it out undershoots
        val_keys.add(key)
        n_val += groups[key]
    train = [p for p in pairs if p.passage_start not in val_keys]
    val = [p for p in pairs if p.passage_start in val_keys]
    return train, val


# --------------------------------------------------------------------------- files

def write_jsonl(path: str | Path, pairs: list[QAPair]) -> None:
    """One JSON object per line, written atomically."""
    atomic_write_text(path, "".join(json.dumps(asdict(p), ensure_ascii=False) + "\n"
                                    for p in pairs))


def read_jsonl(path: str | Path) -> list[QAPair]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    return [QAPair(**json.loads(line)) for line in lines if line.strip()]
