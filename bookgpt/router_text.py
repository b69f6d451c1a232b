"""How the router reads text, the same at build time and after load: words (lower-cased,
accent-stripped, English stop words out), word bigrams, character 3-5-grams inside words, word
keys (first letters, plural "s" off), and one text's tf-idf vector against a fitted vocabulary."""

from __future__ import annotations

import itertools
import re
from collections import Counter

import numpy as np
from sklearn.feature_extraction.text import ENGLISH_STOP_WORDS

from bookgpt.text import fold

CHAR_NGRAMS = (3, 5)
KEY_CHARS = 5  # a word's key: its first letters

_TOKEN = re.compile(r"(?u)\b\w\w+\b")
STOP = frozenset(ENGLISH_STOP_WORDS)


def tokens(text: str) -> list[str]:
    """Lower-cased, accent-stripped words of two or more characters, English stop words removed."""
    out = []
    for tok in _TOKEN.findall(text.lower()):
        tok = fold(tok)  # per word, so that folding never splits one
        if tok not in STOP:
            out.append(tok)
    return out


def word_features(toks: list[str]) -> list[str]:
    return toks + [f"{a} {b}" for a, b in itertools.pairwise(toks)]


def _ngrams(tok: str) -> list[str]:
    w, (lo, hi) = f" {tok} ", CHAR_NGRAMS
    return [w[i:i + n] for n in range(lo, min(hi, len(w)) + 1) for i in range(len(w) - n + 1)]


def char_features(toks: list[str], cache: dict[str, list[str]] | None = None) -> list[str]:
    """Character 3-5-grams of each word padded with spaces (as sklearn's char_wb)."""
    cache = {} if cache is None else cache
    out: list[str] = []
    for tok in toks:
        if tok not in cache:
            cache[tok] = _ngrams(tok)
        out.extend(cache[tok])
    return out


def _key(tok: str) -> str:
    if len(tok) > 3 and tok.endswith("s") and not tok.endswith("ss"):
        tok = tok[:-1]
    return tok[:KEY_CHARS]


def key_features(toks: list[str]) -> list[str]:
    return [_key(t) for t in toks]


def tfidf_query(feats: list[str], vocab: dict[str, int],
                idf: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Columns and L2-normalised sublinear tf-idf weights of one text (as TfidfVectorizer does)."""
    counts = Counter(f for f in feats if f in vocab)
    if not counts:
        return np.zeros(0, np.int64), np.zeros(0, np.float64)
    cols = np.fromiter((vocab[f] for f in counts), np.int64, len(counts))
    vals = (1.0 + np.log(np.fromiter(counts.values(), np.float64, len(counts)))) * idf[cols]
    return cols, vals / np.linalg.norm(vals)
