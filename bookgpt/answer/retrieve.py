"""Find the sentences of a book that answer a question: windows of 1-3 sentences ranked by how
much of the question they cover.

Each book's text is cut into sentences (`bookgpt.text.sentence_spans`), headings and
table-of-contents lines dropped (`bookgpt.answer.headings`). A window of consecutive sentences
scores the idf-weighted share of the question's stems it contains (a stem the book never uses
counts as missing), plus a bonus for each pair of the question's adjacent stems that also stand
side by side in the window ("middle class", "chief circle"), and a bonus when the window holds
what the question asks for (a number for "how many", a name for "who", a reason for "why":
`kinds.type_fit`). The answer is often in the sentence after the one that echoes the question,
which the two- and three-sentence windows reach.

Readers paraphrase: a window also scores `SEMANTIC_WEIGHT` x its cosine with the question in a
small encoder trained on the book's own sentences (`bookgpt.answer.semantic`), and the windows the
encoder ranks best are scored even when they share no word with the question.

Headings that stand alone (short, capitalised paragraphs) cut the book into sections; a heading
that stands twice or three times links its sections, for in a book of puzzles the later one is the
earlier one's solution ("51.--The Secret Lock." ... "51.--The Secret Lock.", "Knot IV." ...
"Answers to Knot IV."). `bookgpt.answer.evidence` adds the solution's best window to the puzzle's.
"""

from __future__ import annotations

import bisect
import functools
import heapq
import itertools
import math
import re
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bookgpt.answer import semantic
from bookgpt.answer.asking import Asked
from bookgpt.answer.headings import heading_key, is_heading, is_title, twins
from bookgpt.answer.kinds import MEASURES, marks, years_said
from bookgpt.answer.stated import labels_answer, labels_solution
from bookgpt.text import content_stems, question_stems, sentence_spans, squash, unmarked

MAX_WINDOW = 3  # sentences per window
_SAYS = re.compile(r"[^\W_]")  # a letter or a digit
BIGRAM_BONUS = 0.15  # per adjacent question stem pair found adjacent, as a share of the coverage
# charge per sentence beyond the first: a tie goes to the shorter window (0.03-0.1 lost 1-5 of
# the 86 readers' questions' supporting sentences at the top)
EXTRA_SENTENCE = 0.01
# share of its coverage added to a window that holds the kind of thing asked for (a number, a
# time, a name, a reason), when the question asks for one: on the 86 readers' questions, right
# book given, supporting sentence first 0.36 -> 0.395 at 0.1-0.4, F1 0.172 -> 0.18
TYPE_BONUS = 0.2
# (a meaning is held by a sentence that defines: "is called", "we mean", `kinds.DEFINES`; over
# dev.jsonl and six blind sets, right book given, supporting quote in the best window 0.602 ->
# 0.607, routed support +2 and top-1 +1)
TYPED = ("number", *MEASURES, "time", "person", "place", "reason", "meaning")
TYPED_SEEDS = 20  # seeds among the best-matching sentences that hold what is asked for...
TYPED_SEEDS_FROM = 200  # ... looked for among this many best-matching sentences
SOLUTION_FOLLOW = 2  # sentences after a solution's label ("_Solution._--") that come with it
SEEDS = 30  # best-matching sentences whose windows are scored
RESCORE = 20  # windows, best coverage first, that the bigram bonus may reorder
# share of the question-window cosine of the book's own encoder added to a window's score, and
# the windows of 3 sentences that encoder ranks best, scored too (0: the lexical ranking alone).
# On the 86 readers' questions, right book given: supporting quote in the best window 0.395 ->
# 0.465, in the best five 0.605 -> 0.709, cited by the chosen answer 0.419 -> 0.465 (docs/answers.md)
SEMANTIC_WEIGHT = 0.2
SEMANTIC_SEEDS = 10
# a name the book uses in at most RARE_NAME sentences (or headings) binds the answer to within
# NAME_REACH sentences of one of them, or to the solution of the puzzle that uses it
# (`SentenceIndex.far_from`). Over dev.jsonl and six blind sets (420 answerable, 72 out of scope):
# out-of-scope declined 0.68 -> 0.81 ("the capital city of Australia", "the novel Pride and
# Prejudice", "which Apollo mission"), three answerable questions declined, all wrongly answered
# before; no F1 moved. 3-12 sentences and 30-100 reach gave the same out-of-scope declines
RARE_NAME = 5
NAME_REACH = 50
MAX_SENTENCE_CHARS = 700  # a longer "sentence" (a table, a list) is cut into pieces of this size
_BLANK = re.compile(r"\n[ \t]*\n")
# what a question's grounding keeps when none of its adjacent word pairs stands side by side in
# the book (`SentenceIndex.grounding`): with `route.MIN_GROUNDING` 0.1, such a question is declined
# when the book lacks about half of its words (0 declined 22% of answerable questions, 0.4 none)
GROUNDING_FLOOR = 0.2


@dataclass(frozen=True)
class Window:
    """Sentences [first, last] of a book, with their score for one question."""

    score: float
    coverage: float  # idf-weighted share of the question's stems it contains, 0..1
    first: int
    last: int
    text: str  # the window's sentences on one line
    meaning: float = 0.0  # the part of `score` from the book's own encoder (weight x cosine)

    @property
    def lexical(self) -> float:
        """The score from the question's words alone: comparable across books, whose encoders'
        cosines are not."""
        return self.score - self.meaning


class SentenceIndex:
    """One book's sentences with an inverted index of their stems."""

    def __init__(self, text: str, cache_dir: Path | None = None,
                 framing: frozenset[str] = frozenset()):
        """`cache_dir`: where the book's trained encoder is kept between runs (none: trained in
        each process that searches the book). `framing`: stems that only frame a question about
        this book ("according to Whitehead", "in Hilbert's setup"), its author's name, which finds
        nothing inside it; searches leave them out."""
        self.cache_dir = cache_dir
        self.framing = framing
        self.sentences: list[str] = []
        # (the sentence after it, its stems) of each heading and contents line
        self._heading_stems: list[tuple[int, frozenset[str]]] = []
        self._heads: list[tuple[int, str]] = []  # (first sentence under it, heading key)
        text = unmarked(text)  # "about 1638.[241] He makes": two sentences, no "241]"
        spans = sentence_spans(text)
        for n, (a, b) in enumerate(spans):
            before = text[spans[n - 1][1]:a] if n else "\n\n"
            after = text[b:spans[n + 1][0]] if n + 1 < len(spans) else "\n\n"
            if _BLANK.search(before) and _BLANK.search(after) and is_title(text[a:b]):
                self._heads.append((len(self.sentences), heading_key(text[a:b])))
            alone = "\n" in before and "\n" in after  # a line (or lines) of its own
            while b - a > MAX_SENTENCE_CHARS:
                cut = text.rfind(" ", a + MAX_SENTENCE_CHARS // 2, a + MAX_SENTENCE_CHARS)
                cut = cut if cut > a else a + MAX_SENTENCE_CHARS
                self._add(text[a:cut], alone=False)
                a = cut
            self._add(text[a:b], alone)
        self._marks: dict[str, dict[int, bool | frozenset[str]]] = defaultdict(dict)
        self._head_starts = [start for start, _ in self._heads]
        self._twins = twins(self._heads, len(self.sentences))
        self.stems = [content_stems(s) for s in self.sentences]
        self.postings: dict[str, list[int]] = defaultdict(list)
        for i, stems in enumerate(self.stems):
            for s in set(stems):
                self.postings[s].append(i)
        n = len(self.sentences)
        self._unknown_idf = math.log(1.0 + n)
        self.idf = {s: math.log(1.0 + (n - len(p) + 0.5) / (len(p) + 0.5))
                    for s, p in self.postings.items()}
        self._semantic: semantic.SemanticIndex | None | bool = False  # False: not built yet
        self._pairs: set[tuple[str, str]] | None = None  # adjacent stems, built on first use
        self._mentioned: dict[frozenset[str], tuple[list[int], frozenset[int]]] = {}  # `_uses`

    def prepare(self) -> SentenceIndex:
        """Train (or load) the book's encoder now rather than on its first search: a server does
        this before it takes questions."""
        _ = self.semantic
        return self

    @property
    def semantic(self) -> semantic.SemanticIndex | None:
        """The book's own encoder (`bookgpt.answer.semantic`), trained on first use; None for a
        text too short to learn from."""
        if self._semantic is False:
            # keyed by what it learns from, the sentences' stems, not the text: a change in how
            # the text is cut into sentences or words is a change in the encoder
            path = None
            if self.cache_dir is not None:
                key = semantic.cache_key("\n".join(" ".join(st) for st in self.stems))
                path = self.cache_dir / f"{key}.npz"
            self._semantic = (semantic.cached(path, self.stems, self.idf)
                              if len(self.sentences) >= semantic.MIN_SENTENCES else None)
        return self._semantic

    def _add(self, sentence: str, alone: bool) -> None:
        sentence = squash(sentence)
        # a rule or a row of stars between sections ("* * * * *") says nothing and would
        # stand where a window's follower, the sentence after it, should
        if not _SAYS.search(sentence):
            return
        if is_heading(sentence, alone):  # no answer, but it names what the book speaks of
            self._heading_stems.append((len(self.sentences), frozenset(content_stems(sentence))))
        else:
            self.sentences.append(sentence)

    def weights(self, stems: list[str]) -> dict[str, float]:
        """Each distinct stem's share of the total idf of a question's stems."""
        raw = {s: self.idf.get(s, self._unknown_idf) for s in dict.fromkeys(stems)}
        total = sum(raw.values())
        return {s: w / total for s, w in raw.items()} if total > 0 else {}

    def query_stems(self, question: str) -> list[str]:
        """The stems of a question this book is searched for: its framing left out, unless
        nothing else is left."""
        qstems = question_stems(question)
        return [st for st in qstems if st not in self.framing] or qstems

    def grounding(self, question: str) -> float:
        """How much of what a question speaks of this book speaks of anywhere, 0..1: the share of
        the question's words (idf-weighted) the book uses, times how many of the question's
        adjacent word pairs ("liquid nitrogen", "heart transplant", "capital city") stand side by
        side somewhere in it (each missing pair costing a share of 1 - GROUNDING_FLOOR)."""
        qstems = self.query_stems(question)
        weights = self.weights(qstems)
        used = sum(w for s, w in weights.items() if s in self.postings)
        side_by_side = self.side_by_side(question)
        if side_by_side is None:
            return used
        return used * (GROUNDING_FLOOR + (1.0 - GROUNDING_FLOOR) * side_by_side)

    def side_by_side(self, question: str) -> float | None:
        """The share of a question's adjacent word pairs (content stems: "liquid nitrogen",
        "spinning disc") that stand side by side somewhere in the book; None if it has none."""
        qstems = self.query_stems(question)
        pairs = [(a, b) for a, b in zip(qstems, qstems[1:]) if a != b]
        if not pairs:
            return None
        if self._pairs is None:
            self._pairs = {p for stems in self.stems for p in zip(stems, stems[1:])}
        return sum(p in self._pairs for p in pairs) / len(pairs)

    def holds(self, asked: Asked, k: int) -> bool:
        """Whether sentence k holds the kind of thing asked for (`extract.marks`, kept)."""
        kept = self._marks[asked.kind]
        found = kept.get(k)
        if found is None:
            found = kept[k] = marks(asked.kind, self.sentences[k])
        return bool(found - asked.words) if isinstance(found, frozenset) else found

    def mentions(self, name: frozenset[str]) -> bool:
        """Whether the book uses a name (as stems: `asking.question_names`): all its words
        together in one sentence or heading at least. A book that speaks of Fermat, and
        elsewhere of a last theorem, never names "Fermat's Last Theorem"; one about Rubik's
        cube says "Rubik"."""
        if not name:
            return True
        return bool(self.mentioned_at(name))

    @functools.cached_property
    def latest_year(self) -> int | None:
        """The latest year the book says (`kinds.years_said`), None if it says none."""
        return max((y for sentence in self.sentences for y in years_said(sentence)), default=None)

    def mentioned_at(self, name: frozenset[str]) -> list[int]:
        """The sentences that use a name (`mentions`), a heading's the sentence after it."""
        return self._uses(name)[0]

    def _uses(self, name: frozenset[str]) -> tuple[list[int], frozenset[int]]:
        """(`mentioned_at`, those of them that are headings or titles), kept per name: the
        evidence asks for each of its sentences."""
        if name not in self._mentioned:
            postings = sorted((self.postings.get(s, ()) for s in name), key=len)
            together = set(postings[0]).intersection(*postings[1:]) if name and postings[0] else set()
            headings = {k for k, heading in self._heading_stems if name and name <= heading}
            at = sorted(together | headings)
            # a title kept as a sentence heads its section too
            self._mentioned[name] = (at, frozenset(headings | set(at).intersection(self._head_starts)))
        return self._mentioned[name]

    def far_from(self, name: frozenset[str], k: int) -> bool:
        """Whether sentence k stands far from every use of a name the book uses rarely (at most
        RARE_NAME sentences and headings): more than NAME_REACH sentences away, and not in the
        solution section of a puzzle that uses it, nor in the section a heading that uses it
        opens (a chapter named "The Dead Reckoning" speaks of it all through). A book that names
        a thing once or twice answers questions about it near there, or not at all ("the
        capital city of Australia", where a puzzle's hero had gone out to Australia)."""
        at, headed = self._uses(name)
        if not at or len(at) > RARE_NAME or name <= self.framing:
            return False
        for p in at:
            if abs(p - k) <= NAME_REACH or (p in headed and p <= k < self._next_heading(p)):
                return False
            section = self.solution_of(p)
            if section is not None and section[0] <= k < section[1]:
                return False
        return True

    def _next_heading(self, k: int) -> int:
        """The first sentence under the next heading after sentence k (the end: none)."""
        at = bisect.bisect_right(self._head_starts, k)
        return self._head_starts[at] if at < len(self._head_starts) else len(self.sentences)

    def labelled_after(self, k: int, within: int) -> int | None:
        """The first sentence labelled as an answer ("_Answer._--") among the `within` after
        sentence k (or the SOLUTION_FOLLOW-th after one labelled as a solution), if no other
        heading comes first (a labelled answer standing alone is a heading itself)."""
        heading = self._next_heading(k)
        for j in range(k + 1, min(len(self.sentences), k + 1 + within)):
            if labels_answer(self.sentences[j]):
                return j
            if labels_solution(self.sentences[j]):  # the working's first sentences come too,
                return min(j + SOLUTION_FOLLOW, self._next_heading(j) - 1)  # in its section
            if j == heading:
                return None
        return None

    def solution_of(self, k: int) -> tuple[int, int] | None:
        """(start, end) of the later section under the same heading as sentence k's (a puzzle's
        solution), if there is one."""
        at = bisect.bisect_right(self._head_starts, k) - 1
        return self._twins.get(self._heads[at][0]) if at >= 0 else None

    def search(self, question: str, top: int = 5,
               within: tuple[int, int] | None = None) -> list[Window]:
        """The `top` best windows for `question`, best first, no two sharing a sentence (only
        among sentences [start, end) when `within` is given)."""
        qstems = self.query_stems(question)
        weights = self.weights(qstems)
        if not weights:
            return []
        pairs = {(a, b) for a, b in zip(qstems, qstems[1:]) if a != b}
        asked = Asked.of(question)
        lo, hi = within or (0, len(self.sentences))
        has: dict[int, set[str]] = defaultdict(set)  # sentence -> the question stems it holds
        for s in weights:
            for i in self.postings.get(s, ()):
                if lo <= i < hi:
                    has[i].add(s)
        if not has:
            return []
        encoder = self.semantic if SEMANTIC_WEIGHT else None
        meant = encoder.query(qstems, lo, hi) if encoder is not None else None

        # (sums over sets of stems are `math.fsum`s: a plain sum's last bits follow the
        # process's hash seed, and so did ties between windows and candidates)
        alone = {i: math.fsum(weights[s] for s in stems) for i, stems in has.items()}

        def covered(first: int, last: int) -> float:
            if first == last:
                return alone.get(first, 0.0)
            found: set[str] = set()
            for k in range(first, last + 1):
                found |= has.get(k, set())
            return math.fsum(weights[s] for s in found)

        kind_asked = asked.kind in TYPED
        fits: dict[int, bool] = {}  # sentence -> it holds the kind of thing asked for

        def holds(k: int) -> bool:
            found = fits.get(k)
            if found is None:
                found = fits[k] = self.holds(asked, k)
            return found

        def typed(first: int, last: int) -> bool:
            return kind_asked and any(holds(k) for k in range(first, last + 1))

        # windows around the best-matching sentences (each window must contain one of them), and
        # around the best of those that hold the kind of thing asked for
        near = heapq.nlargest(TYPED_SEEDS_FROM if kind_asked else SEEDS, alone,
                              key=lambda i: (alone[i], -i))
        seeds = near[:SEEDS]
        if kind_asked:
            seeds += list(itertools.islice((i for i in near if holds(i)), TYPED_SEEDS))
        if meant is not None:  # the sentences of the windows the encoder alone ranks best
            seeds += [k for i in meant.best(SEMANTIC_SEEDS)
                      for k in range(i, min(hi, i + MAX_WINDOW))]
        spans = sorted({(first, last) for i in set(seeds)
                        for first in range(max(lo, i - MAX_WINDOW + 1), i + 1)
                        for last in range(i, min(hi, first + MAX_WINDOW))})
        meaning = {span: SEMANTIC_WEIGHT * c for span, c in zip(spans, meant.cosines(
            *np.array(spans, dtype=np.int64).T).tolist())} if meant is not None else {}

        def rough_score(a: int, b: int) -> float:
            cover = covered(a, b)
            return (cover * (1.0 + TYPE_BONUS * typed(a, b)) - EXTRA_SENTENCE * (b - a)
                    + meaning.get((a, b), 0.0))

        rough = sorted(((rough_score(a, b), a, b) for a, b in spans),
                       key=lambda t: (-t[0], t[2] - t[1], t[1]))
        # the bigram bonus can reorder only the windows near the top
        scored = [self._window(a, b, weights, pairs, typed(a, b), meaning.get((a, b), 0.0))
                  for _, a, b in rough[:RESCORE]]
        ranked = sorted(scored, key=lambda w: (-w.score, w.last - w.first, w.first))
        out: list[Window] = []
        used: set[int] = set()
        for w in ranked:
            span = set(range(w.first, w.last + 1))
            if span & used:
                continue
            out.append(w)
            used |= span
            if len(out) == top:
                break
        return out

    def _window(self, first: int, last: int, weights: dict[str, float],
                pairs: set[tuple[str, str]], typed: bool, meaning: float = 0.0) -> Window:
        stems: list[str] = []
        for k in range(first, last + 1):
            stems.extend(self.stems[k])
        present = set(stems)
        coverage = sum(w for s, w in weights.items() if s in present)
        bigrams = len(pairs & set(zip(stems, stems[1:]))) if pairs else 0
        text = " ".join(self.sentences[first:last + 1])
        score = (coverage * (1.0 + BIGRAM_BONUS * bigrams + TYPE_BONUS * typed)
                 - EXTRA_SENTENCE * (last - first) + meaning)
        return Window(score=score, coverage=coverage, first=first, last=last, text=text,
                      meaning=meaning)
