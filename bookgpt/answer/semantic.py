"""Meaning beyond the question's own words, learnt from the book itself: a small dual encoder
trained by the Inverse Cloze Task on the book's sentences, no pretrained model.

A reader's question often echoes no word of the sentence that answers it ("inquiries" for
"investigations", "madhouses" for "lunatic asylums"), and the answer often stands a sentence or two
after the one that echoes the question. Each sentence of the book is a pseudo-question; the
sentences after it (with it, one time in ten) are its context, the answer-bearing passage a
question's echo is followed by. Two bags of stems (a query tower and a context tower, idf-weighted
sums of 64-dim embeddings) learn to pick each sentence's context among the other contexts of a
batch (in-batch softmax). The towers are separate, so a word learns what tends to follow it, not
only what stands beside it. `ENSEMBLE` such models (seeds 0, 1, ...) are averaged: one model's
ranking varies with its seed by a few questions in a hundred, the average much less. Six rather
than three halved the spread of F1 over seeds on a 48-question blind set (0.155-0.199 -> 0.180 /
0.188) and, right book given over six hand-written sets (308 questions), found 3 more supporting
sentences (F1 +0.002 per question), for twice the training (still seconds a book).

`SentenceIndex.search` adds `SEMANTIC_WEIGHT` x the cosine between the question (query tower)
and each window (context tower) to the window's score, and also scores the windows around the
sentences the encoder alone ranks best (`SEMANTIC_SEEDS`), which may share no word with the
question. Measured on the 86 hand-written readers' questions, right book given: see
docs/answers.md ("Extract decoding").

Training takes about 1.2 s per 1,000 sentences on one core (the six models of the largest
quickstart book, 8,000 sentences: ~10 s on an AMD EPYC); it runs once per book, when its sentence
index is first searched, and is kept on disk (`cached`: under the artifacts' `cache/semantic/`,
by a hash of the text and the settings), so later runs load it in milliseconds. A book of fewer
than `MIN_SENTENCES` sentences gets none (too little text to learn from).
"""

from __future__ import annotations

import hashlib
import io
import logging
import random
import zipfile
from pathlib import Path

import numpy as np

from bookgpt.fsio import atomic_write_bytes

log = logging.getLogger(__name__)

DIM = 64
EPOCHS = 10
BATCH = 128
LEARNING_RATE = 0.05
TEMPERATURE = 0.1
AFTER = 3  # sentences after the pseudo-question that make its context
KEEP_SELF = 0.1  # how often the pseudo-question itself stays in its context
MIN_DF = 2  # stems in fewer sentences have no embedding
ENSEMBLE = 6
MIN_SENTENCES = 200


class SemanticIndex:
    """One book's encoders: the question's vector and its cosine with any window of sentences."""

    def __init__(self, stems: list[list[str]], idf: dict[str, float], models: int = ENSEMBLE,
                 towers: list[tuple[np.ndarray, np.ndarray]] | None = None):
        """Trained here, or built from `towers` trained before ((query, context) per model, as
        `towers` returns them, for the same sentences)."""
        df: dict[str, int] = {}
        for st in stems:
            for s in set(st):
                df[s] = df.get(s, 0) + 1
        self.vocab = {s: j for j, s in enumerate(sorted(s for s, c in df.items() if c >= MIN_DF))}
        self._weights = np.array([idf[s] for s in sorted(self.vocab)], dtype=np.float32)
        bags = [self._bag(st) for st in stems]
        self._query: list[np.ndarray] = []  # [V, DIM] per model
        self._sums: list[np.ndarray] = []  # each sentence's context vector, [n, DIM] per model
        self.towers = towers or [_train(bags, len(self.vocab), seed) for seed in range(models)]
        for wq, wc in self.towers:
            if wq.shape != (len(self.vocab), DIM) or wc.shape != wq.shape:
                raise ValueError(f"towers of shape {wq.shape} do not fit this text's "
                                 f"{len(self.vocab)} stems")
            self._query.append(wq)
            self._sums.append(_sentence_sums(bags, wc))
        # what a window's norm needs, per sentence and model (two zero rows past the end): its
        # squared norm and its dot products with the next sentence and the one after
        pad = [np.vstack([s, np.zeros((2, s.shape[1]), np.float32)]) for s in self._sums]
        self._sq = np.stack([(p * p).sum(1) for p in pad], axis=1)
        self._next = np.stack([np.append((p[:-1] * p[1:]).sum(1), 0.0) for p in pad], axis=1)
        self._after = np.stack([np.append((p[:-2] * p[2:]).sum(1), [0.0, 0.0]) for p in pad],
                               axis=1)
        n = len(stems)
        self._norm3 = np.sqrt(np.maximum(  # of each window of 3 sentences (fewer at the end)
            self._sq[:n] + self._sq[1:n + 1] + self._sq[2:n + 2]
            + 2 * (self._next[:n] + self._next[1:n + 1] + self._after[:n]), 1e-12))

    def _bag(self, stems: list[str]) -> tuple[np.ndarray, np.ndarray]:
        ids = np.array([self.vocab[s] for s in stems if s in self.vocab], dtype=np.int64)
        return ids, self._weights[ids]

    def query(self, question_stems: list[str], lo: int = 0, hi: int | None = None) -> Meaning | None:
        """The question against sentences [lo, hi) (None: it has no word the encoders know)."""
        ids, w = self._bag(list(dict.fromkeys(question_stems)))
        if not len(ids):
            return None
        hi = len(self._sums[0]) if hi is None else hi
        dots = np.zeros((hi - lo + 2, len(self._query)), np.float32)
        for m, (q, s) in enumerate(zip(self._query, self._sums)):
            v = (q[ids] * w[:, None]).sum(0)
            dots[:hi - lo, m] = s[lo:hi] @ (v / max(float(np.linalg.norm(v)), 1e-9))
        return Meaning(self, dots, lo, hi)


class Meaning:
    """One question's cosines with the windows of sentences [lo, hi), mean over the models."""

    def __init__(self, index: SemanticIndex, dots: np.ndarray, lo: int, hi: int):
        self._index, self._dots, self.lo, self.hi = index, dots, lo, hi

    def cosines(self, first: np.ndarray, last: np.ndarray) -> np.ndarray:
        """Of windows [first, last] (at most 3 sentences) inside [lo, hi)."""
        ix, i = self._index, first - self.lo
        two = (last - first >= 1)[:, None]
        three = (last - first >= 2)[:, None]
        dot = self._dots[i] + two * self._dots[i + 1] + three * self._dots[i + 2]
        norm2 = (ix._sq[first] + two * ix._sq[first + 1] + three * ix._sq[first + 2]
                 + 2 * (two * ix._next[first] + three * (ix._next[first + 1] + ix._after[first])))
        return (dot / np.sqrt(np.maximum(norm2, 1e-12))).mean(axis=1)

    def best(self, k: int) -> list[int]:
        """First sentences of the k windows of 3 sentences (fewer at the end) nearest the question."""
        first = np.arange(self.lo, self.hi)
        if not len(first):
            return []
        if self.lo == 0 and self.hi == len(self._index._norm3):  # the whole book: norms kept
            d = self._dots
            c = ((d[:-2] + d[1:-1] + d[2:]) / self._index._norm3).mean(axis=1)
        else:
            c = self.cosines(first, np.minimum(first + 2, self.hi - 1))
        top = np.argpartition(-c, k)[:k] if len(c) > k else np.arange(len(c))
        return [int(first[i]) for i in top[np.argsort(-c[top], kind="stable")]]


def cache_key(text: str) -> str:
    """What a cached encoder was trained from: its sentences (as `text`) and every setting that
    shapes training."""
    settings = f"{DIM},{EPOCHS},{BATCH},{LEARNING_RATE},{TEMPERATURE},{AFTER},{KEEP_SELF}," \
               f"{MIN_DF},{ENSEMBLE}"
    return hashlib.sha256((settings + "\n" + text).encode("utf-8")).hexdigest()[:32]


def cached(path: Path | None, stems: list[list[str]], idf: dict[str, float]) -> SemanticIndex:
    """The encoder kept at `path` (see `cache_key`), else one trained now and kept there (written
    atomically; a cache that cannot be read or written is only a slower start)."""
    if path is not None and path.is_file():
        try:
            with np.load(path, allow_pickle=False) as z:
                towers = [(z[f"query{m}"], z[f"context{m}"]) for m in range(ENSEMBLE)]
            return SemanticIndex(stems, idf, towers=towers)
        except (OSError, ValueError, KeyError, zipfile.BadZipFile) as exc:
            log.warning("ignoring the unreadable encoder cache %s (%s); training again", path, exc)
    index = SemanticIndex(stems, idf)
    if path is not None:
        arrays = {f"{kind}{m}": t for m, pair in enumerate(index.towers)
                  for kind, t in zip(("query", "context"), pair)}
        buf = io.BytesIO()
        np.savez(buf, **arrays)
        try:
            atomic_write_bytes(path, buf.getvalue())
        except OSError as exc:
            log.warning("could not keep the encoder in %s (%s)", path, exc)
    return index


def _sentence_sums(bags: list[tuple[np.ndarray, np.ndarray]], wc: np.ndarray) -> np.ndarray:
    out = np.zeros((len(bags), wc.shape[1]), np.float32)
    for i, (ids, w) in enumerate(bags):
        if len(ids):
            out[i] = (wc[ids] * w[:, None]).sum(0)
    return out


def _train(bags: list[tuple[np.ndarray, np.ndarray]], vocab: int,
           seed: int) -> tuple[np.ndarray, np.ndarray]:
    """(query tower, context tower) embeddings, [vocab, DIM] each, by the Inverse Cloze Task."""
    import torch
    import torch.nn.functional as F

    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small batches: one thread is fastest, and leaves the others free
    try:
        rng = random.Random(seed)
        gen = torch.Generator().manual_seed(seed)
        towers = [torch.nn.EmbeddingBag(vocab, DIM, mode="sum") for _ in range(2)]
        for t in towers:
            with torch.no_grad():
                t.weight.copy_(torch.randn(vocab, DIM, generator=gen) * 0.1)
        query, context = towers
        opt = torch.optim.Adam([query.weight, context.weight], lr=LEARNING_RATE)
        n = len(bags)
        usable = [i for i in range(n) if len(bags[i][0])]

        def batch_of(rows: list[tuple[np.ndarray, np.ndarray]]):
            ids = np.concatenate([r[0] for r in rows])
            w = np.concatenate([r[1] for r in rows])
            offsets = np.cumsum([0] + [len(r[0]) for r in rows[:-1]])
            return torch.from_numpy(ids), torch.from_numpy(offsets), torch.from_numpy(w)

        for _ in range(EPOCHS):
            rng.shuffle(usable)
            for b in range(0, len(usable), BATCH):
                ids = usable[b:b + BATCH]
                if len(ids) < 2:
                    continue
                ctx = []
                for i in ids:
                    keep = [bags[k] for k in range(i, min(n, i + AFTER + 1))
                            if k != i or rng.random() < KEEP_SELF]
                    ctx.append((np.concatenate([k[0] for k in keep] or [np.zeros(0, np.int64)]),
                                np.concatenate([k[1] for k in keep] or [np.zeros(0, np.float32)])))
                q = F.normalize(query(*batch_of([bags[i] for i in ids])), dim=-1)
                c = F.normalize(context(*batch_of(ctx)), dim=-1)
                logits = q @ c.T / TEMPERATURE
                y = torch.arange(len(ids))
                loss = (F.cross_entropy(logits, y) + F.cross_entropy(logits.T, y)) / 2
                opt.zero_grad()
                loss.backward()
                opt.step()
        return query.weight.detach().numpy().copy(), context.weight.detach().numpy().copy()
    finally:
        torch.set_num_threads(threads)
