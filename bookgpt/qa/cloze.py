"""Cloze questions: a sentence with its most specific span blanked ("Fill in the blank: ...")."""

from __future__ import annotations

import re
from collections.abc import Iterator

from bookgpt.qa.patterns import Candidate
from bookgpt.qa.words import STOPWORDS, BookStats, squash, tokens


def cloze(text: str, sents: list[tuple[int, int]], stats: BookStats,
          max_words: int) -> Iterator[Candidate]:
    """A sentence with its most specific span blanked: a name, a number phrase or a rare term."""
    for s, e in sents:
        sent = text[s:e]
        n = len(sent.split())
        if not 6 <= n <= max_words or not re.search(r"[a-z]{3}", sent) or sent.count('"') % 2 \
                or not re.match(r"[\"“‘'(_]*[A-Z0-9]", sent):
            continue
        toks = tokens(text, s, e)
        if sum(len(t.word) for t in toks) < 0.6 * len(sent.replace(" ", "").replace("\n", "")):
            continue
        best, score = None, 0.0
        for j, (w, a, b) in enumerate(toks):
            lw = w.lower()
            if j and stats.is_name(w) and lw not in STOPWORDS:
                sc, k = 3.0, j
                while k + 1 < len(toks) and stats.is_name(toks[k + 1].word) and \
                        not text[toks[k].end:toks[k + 1].start].strip():
                    k += 1
                b = toks[k].end
            elif w[0].isdigit() and j + 1 < len(toks) and toks[j + 1].word.isalpha() and \
                    toks[j + 1].word.lower() not in STOPWORDS and \
                    not text[b:toks[j + 1].start].strip():
                sc, b = 2.5, toks[j + 1].end
            elif j and w.isalpha() and len(w) >= 5 and lw not in STOPWORDS and \
                    stats.freq[lw] >= 2 and not lw.endswith("ly"):
                sc = 1.0 + min(len(w), 12) / 12 - min(stats.freq[lw], 200) / 400
            else:
                continue
            if sc > score:
                best, score = (a, b), sc
        if best:
            q = squash(text[s:best[0]]) + " ____ " + squash(text[best[1]:e])
            q = re.sub(r"\s*[*#=~]{2,}\s*$", "", q)  # a trailing "***" separator is no text
            yield Candidate("cloze", "Fill in the blank: " + " ".join(q.split()), best[0], best[1])
