"""Routes a question to the books that can answer it, from the books' text alone.

Every book is cut into passages of about `passage_chars` characters (at paragraph, else sentence,
else word boundaries; each keeps its character offset). Passages are indexed with two TF-IDF
vectorizers (sublinear tf, smooth idf, rows L2-normalised), both on lower-cased, accent-stripped
text without English stop words (how it reads text: `bookgpt.router_text`):

- words: unigrams and bigrams;
- characters: 3-5-grams inside each word (char_wb style), which match inflections and related
  forms ("dimensions" ~ "dimension", "differentiate" ~ "differential").

Their cosines are averaged (`WORD_SHARE`). A third, binary index of word keys (the first five
letters of a word, plural "s" removed) gives each passage's *coverage* of the question: the
idf-weighted share of the question's words the passage contains (words no book knows count as
missing). A passage scores cosine x sqrt(coverage), so one rare shared word ("chocolate") is not
enough while a question whose words all occur together is. A book scores the mean of its best
passage score and its centroid cosine (the normalised sum of its passages) x sqrt(its best
coverage). The router abstains when the best book scores below the threshold.

Saved as JSON (vocabularies, passages, manifest) and one .npz of plain numeric arrays: nothing is
pickled and nothing is refitted on load. Every file is written atomically and `meta.json`, which
holds each file's sha256, is written last.
"""

from __future__ import annotations

import functools
import hashlib
import io
import itertools
import json
import zipfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import scipy.sparse as sp
from sklearn.feature_extraction.text import CountVectorizer, TfidfVectorizer

from bookgpt.answer.retrieve import SentenceIndex
from bookgpt.errors import AskError, require_question
from bookgpt.fsio import atomic_write_bytes, atomic_write_json
from bookgpt.router_text import (CHAR_NGRAMS, KEY_CHARS, STOP, char_features, key_features,
                                 tfidf_query, tokens, word_features)
from bookgpt.text import content_stems, passage_spans, query_text

FORMAT, VERSION = "bookgpt-router", 1
BY = ", by "  # a title's author follows it ("A Tangled Tale, by Lewis Carroll": `pipeline`)
META, VOCAB, INDEX, PASSAGES = "meta.json", "vocab.json", "index.npz", "passages.json"
WORD_SHARE = 0.5  # weight of the word cosine; the character n-gram cosine gets the rest
CENTROID_SHARE = 0.5  # weight of the whole-book (centroid) term in a book's score
# a question at least this share of whose words no book uses is for no book: on the readers'
# questions of ../shared/questions/dev.jsonl, in-scope questions reach 0.19 (a paraphrase's
# "pidgin", "scalps"), out-of-scope ones 0.25-0.67 ("teaspoons", "Ahab", "GPS")
UNKNOWN_SHARE = 0.22
# ... a rule that holds only for a shelf that uses many words: in a few pages, most words of a
# fair question are missing (the 12-book shelf has 68,000 distinct words)
UNKNOWN_MIN_VOCABULARY = 20_000
# a book's score is divided by (its passages / the median book's) to this power. The best of many
# passages scores higher by chance, and the largest books won questions that only shared their
# vocabulary. Router top-1 before the windows rank books again, all 12 shelf books: on
# ../shared/questions/dev.jsonl 0.895 -> 0.930 at 0.15 (0.919 at 0.05, 0.930 at 0.1, 0.919 at
# 0.2, 0.884 at 0.3); on 30 questions written blind on the three LaTeX books dev.jsonl does not
# cover, 0.667 -> 0.733 (0.700 at 0.05, 0.667 at 0.1, 0.733 at 0.2)
SIZE_PRIOR = 0.15
MIN_DF = 2  # passages a bigram or character n-gram must occur in; every single word is kept



class RouterError(RuntimeError):
    """The router cannot be built, loaded or asked; the message says what to do."""


@dataclass(frozen=True)
class RouteHit:
    book_id: str
    title: str
    score: float  # raw book score (cosine similarity based); the books' weights are given once
    # their best sentences have ranked them again (bookgpt.answer.route)
    passage: str  # the best matching passage of that book
    passage_start: int  # its character offset in the book's text


@dataclass(frozen=True)
class RouteResult:
    abstained: bool
    books: list[RouteHit]  # best first; empty when abstained


class BookRouter:
    """Picks the books whose text best matches a question; see the module docstring."""

    def __init__(self, book_ids: list[str], titles: list[str], passages: list[str],
                 passage_starts: np.ndarray, book_starts: np.ndarray, vocabs: dict[str, list[str]],
                 idf: dict[str, np.ndarray], X: sp.csc_matrix, centroids: sp.csc_matrix,
                 keys: sp.csc_matrix, params: dict):
        self.book_ids, self.titles = book_ids, titles
        self.passages, self.passage_starts, self.book_starts = passages, passage_starts, book_starts
        self.vocabs, self.idf, self.params = vocabs, idf, params
        # the best of more passages is higher by chance: a book's score is divided by its
        # passage count's SIZE_PRIOR power, relative to the shelf's median book (1 for a book
        # of median size, and for a shelf of one)
        counts = np.diff(np.append(book_starts, len(passages))).astype(float)
        self._size_prior = ((counts / np.median(counts)) ** -SIZE_PRIOR if len(counts)
                            else np.ones(0))
        self._index = {k: {t: i for i, t in enumerate(v)} for k, v in vocabs.items()}
        self.X, self.centroids, self.keys = X, centroids, keys
        self._sentences: dict[str, SentenceIndex] = {}
        # where each book's trained sentence encoder is kept: ARTIFACTS/cache/semantic beside a
        # router loaded from ARTIFACTS/router (none for a router built in memory)
        self.cache_dir: Path | None = None

    def sentence_index(self, book_id: str) -> SentenceIndex:
        """The book's sentences, indexed for finding the ones that answer a question (built from
        the indexed passages on first use, then kept)."""
        if book_id not in self._sentences:
            b = self.book_ids.index(book_id)
            end = int(self.book_starts[b + 1]) if b + 1 < len(self.book_ids) else len(self.passages)
            self._sentences[book_id] = SentenceIndex(
                "\n\n".join(self.passages[int(self.book_starts[b]):end]), self.cache_dir,
                framing=self.author_stems(book_id))
        return self._sentences[book_id]

    def author_stems(self, book_id: str) -> frozenset[str]:
        """The stems of a book's author's name, from its title ("..., by Lewis Carroll"); none
        when the title names no author."""
        return self._author(book_id)[0]

    def author_surname(self, book_id: str) -> str | None:
        """The stem of the author's surname (the name's last word before any bracket: "Poincaré"
        of "Henri Poincaré (tr. George Bruce Halsted)"), None when the title names no author."""
        return self._author(book_id)[1]

    @functools.cache  # noqa: B019 - one router per process, kept for its life
    def _author(self, book_id: str) -> tuple[frozenset[str], str | None]:
        _, by, author = self.titles[self.book_ids.index(book_id)].rpartition(BY)
        named = content_stems(author.split("(")[0]) if by else []
        return (frozenset(content_stems(author)) if by else frozenset(),
                named[-1] if named else None)

    def unknown_share(self, question: str) -> float:
        """The share of the question's words that no indexed book uses (in any common inflection or
        derived form):
        a question mostly about things the books never mention is for no book. 0 for a shelf of
        fewer than UNKNOWN_MIN_VOCABULARY distinct words, where it says little."""
        toks = list(dict.fromkeys(tokens(query_text(question))))
        vocab = self._index["word"]
        if not toks or len(vocab) < UNKNOWN_MIN_VOCABULARY:
            return 0.0

        def known(t: str) -> bool:
            forms = [t, t + "s", t + "es", t + "ing", t + "ed", t + "d", t[:-1] + "ing"]
            # ... and derived forms: "betweenness" of "between", "boundedness", "continuity"
            for suffix in ("s", "es", "ed", "ing", "ly", "ness", "ment", "ments", "ity", "ities"):
                if t.endswith(suffix) and len(t) - len(suffix) > 2:
                    forms += [t[:-len(suffix)], t[:-len(suffix)] + "e"]
            # a stop word is in no vocabulary, but every book has it ("between" of "betweenness")
            return any(f in vocab or f in STOP for f in forms) or not t.isalpha()

        return sum(1 for t in toks if not known(t)) / len(toks)

    # -- build --
    @classmethod
    def build(cls, books: dict[str, tuple[str, str]], *, passage_chars: int = 1200,
              max_features: int = 200_000) -> BookRouter:
        """Index `books` (book_id -> (title, text)). `max_features` caps each vocabulary."""
        if not books:
            raise RouterError("no books to index; crawl some first (`bookgpt crawl`)")
        if passage_chars < 100 or max_features < 100:
            raise RouterError(f"passage_chars must be >= 100 and max_features >= 100 (got "
                              f"{passage_chars}, {max_features}); fix router.* in the config")
        ids, titles, texts, starts, book_starts = [], [], [], [], []
        for book_id, entry in books.items():
            if not (isinstance(book_id, str) and book_id and isinstance(entry, (tuple, list))
                    and len(entry) == 2 and all(isinstance(x, str) for x in entry)):
                raise RouterError(f"book {book_id!r}: expected a non-empty id and (title, text) "
                                  f"strings")
            title, text = entry
            spans = passage_spans(text, passage_chars)
            if not spans:
                raise RouterError(f"book {book_id!r} has no text to index; re-crawl it or drop it")
            ids.append(book_id)
            titles.append(title or book_id)
            book_starts.append(len(texts))
            texts.extend(text[s:e] for s, e in spans)
            starts.extend(s for s, _ in spans)
        min_df = MIN_DF if len(texts) >= 50 else 1
        toks = [tokens(t) for t in texts]
        # every word is kept (a name said once still routes), but only the bigrams and character
        # n-grams found in min_df passages: the rest is noise that would fill max_features
        pair_df = Counter(g for t in toks for g in set(word_features(t)[len(t):]))
        pairs = {g for g, c in pair_df.items() if c >= min_df}
        cache: dict[str, list[str]] = {}
        mats, vocabs, idf = [], {}, {}
        for name, analyzer, mdf in (
                ("word", lambda t: t + [g for g in word_features(t)[len(t):] if g in pairs], 1),
                ("char", lambda t: char_features(t, cache), min_df)):
            vec = TfidfVectorizer(analyzer=analyzer, sublinear_tf=True, min_df=mdf,
                                  max_features=max_features, dtype=np.float32)
            try:
                mats.append(vec.fit_transform(toks))
            except ValueError:  # empty vocabulary: only stop words, digits or symbols
                raise RouterError("the books contain no indexable words (only stop words, digits "
                                  "or symbols?); check their text.txt") from None
            vocabs[name] = vec.get_feature_names_out().tolist()
            idf[name] = vec.idf_.astype(np.float64)
        keyvec = CountVectorizer(analyzer=key_features, binary=True, dtype=np.float32)
        keys = keyvec.fit_transform(toks)
        vocabs["key"] = keyvec.get_feature_names_out().tolist()
        df = np.bincount(keys.indices, minlength=keys.shape[1])
        idf["key"] = np.log((1.0 + len(texts)) / (1.0 + df)) + 1.0
        a = WORD_SHARE
        X = sp.hstack([mats[0] * np.float32(np.sqrt(a)),
                       mats[1] * np.float32(np.sqrt(1 - a))]).tocsr()
        bounds = itertools.pairwise([*book_starts, len(texts)])
        sums = sp.vstack([sp.csr_matrix(X[s:e].sum(axis=0)) for s, e in bounds])
        norms = np.sqrt(np.asarray(sums.multiply(sums).sum(axis=1)).ravel())
        centroids = sp.diags(1.0 / np.maximum(norms, 1e-12)) @ sums
        params = {"passage_chars": passage_chars, "max_features": max_features, "min_df": min_df,
                  "word_share": WORD_SHARE, "centroid_share": CENTROID_SHARE,
                  "char_ngrams": list(CHAR_NGRAMS), "key_chars": KEY_CHARS}
        return cls(ids, titles, texts, np.array(starts, np.int64), np.array(book_starts, np.int64),
                   vocabs, idf, X.tocsc(), centroids.astype(np.float32).tocsc(),
                   keys.tocsc(), params)

    # -- query --
    def _query_vector(self, toks: list[str]) -> tuple[np.ndarray, np.ndarray]:
        wc, wv = tfidf_query(word_features(toks), self._index["word"], self.idf["word"])
        cc, cv = tfidf_query(char_features(toks), self._index["char"], self.idf["char"])
        a = self.params["word_share"]
        return (np.concatenate([wc, cc + len(self.vocabs["word"])]),
                np.concatenate([wv * np.sqrt(a), cv * np.sqrt(1 - a)]))

    def _coverage(self, toks_each: list[list[str]]) -> np.ndarray:
        """Passages x questions: idf-weighted share of each question's word keys a passage has."""
        index, idf = self._index["key"], self.idf["key"]
        unknown = np.log(1.0 + len(self.passages)) + 1.0  # a key no passage has: rarest of all
        kinds_each = [set(key_features(toks)) for toks in toks_each]
        cols, inv = np.unique(np.fromiter((index[k] for kinds in kinds_each for k in kinds
                                           if k in index), np.int64), return_inverse=True)
        weights = np.zeros((len(cols), len(toks_each)))
        at = 0
        for j, kinds in enumerate(kinds_each):
            known = [index[k] for k in kinds if k in index]
            total = idf[known].sum() + unknown * (len(kinds) - len(known))
            if total > 0:
                weights[inv[at:at + len(known)], j] = idf[known] / total
            at += len(known)
        if not len(cols):
            return np.zeros((len(self.passages), len(toks_each)))
        return np.asarray(self.keys[:, cols] @ weights)

    def scores(self, question: str) -> tuple[np.ndarray, np.ndarray]:
        """(score of each book, index of each book's best passage) for a question."""
        score, where = self.scores_many([question])
        return score[0], where[0]

    def scores_many(self, questions: list[str]) -> tuple[np.ndarray, np.ndarray]:
        """Questions x books: each book's score and the index of its best passage. One sparse
        product for all the questions: a router actor scores a batch of questions in about half
        the time of one by one (scipy's per-call cost dominates such small queries)."""
        if not questions:
            return np.zeros((0, len(self.book_ids))), np.zeros((0, len(self.book_ids)), np.int64)
        toks_each = [tokens(query_text(q)) for q in questions]
        vecs = [self._query_vector(toks) for toks in toks_each]
        cols, inv = np.unique(np.concatenate([c for c, _ in vecs] + [np.zeros(0, np.int64)]),
                              return_inverse=True)
        q = np.zeros((len(cols), len(questions)))
        at = 0
        for j, (c, v) in enumerate(vecs):
            q[inv[at:at + len(c)], j] = v
            at += len(c)
        n = len(self.passages)
        sims = (np.asarray(self.X[:, cols] @ q) if len(cols)
                else np.zeros((n, len(questions))))
        cov = np.sqrt(self._coverage(toks_each))
        per_passage = sims * cov
        best = np.maximum.reduceat(per_passage, self.book_starts, axis=0)
        best_cov = np.maximum.reduceat(cov, self.book_starts, axis=0)
        cent = (np.asarray(self.centroids[:, cols] @ q) if len(cols)
                else np.zeros((len(self.book_ids), len(questions))))
        lam = self.params["centroid_share"]
        score = ((1 - lam) * best + lam * cent * best_cov) * self._size_prior[:, None]
        bounds = list(itertools.pairwise([*self.book_starts.tolist(), n]))
        where = np.array([[s + int(np.argmax(per_passage[s:e, j])) for s, e in bounds]
                          for j in range(len(questions))], np.int64)
        # a question no passage shares a feature with: zero scores, each book's first passage
        return np.maximum(score.T, 0.0), where

    def route(self, question: str, top_k: int = 2, abstain_threshold: float = 0.04) -> RouteResult:
        """The `top_k` best books for `question`, or an abstention when the best scores below
        `abstain_threshold` or at least UNKNOWN_SHARE of its words are in no book (a threshold of
        0 never abstains). An empty question is an error."""
        try:
            require_question(question)
        except AskError as exc:  # the router's callers hear of the router
            raise RouterError(str(exc)) from None
        return self.ranked(*self.scores(question), top_k, abstain_threshold,
                           self.unknown_share(question))

    def ranked(self, score: np.ndarray, where: np.ndarray, top_k: int = 2,
               abstain_threshold: float = 0.04, unknown: float = 0.0) -> RouteResult:
        """`route` from one question's row of `scores_many` and its `unknown_share`."""
        if top_k < 1:
            raise RouterError(f"top_k must be at least 1 (got {top_k})")
        order = np.argsort(-score, kind="stable")[:top_k]
        # whether any book covers the question is judged without the size prior, which only
        # ranks them (score rows come from scores_many, discounted by it)
        covered = float((score / self._size_prior).max()) if len(score) else 0.0
        if covered < abstain_threshold or (abstain_threshold > 0 and unknown >= UNKNOWN_SHARE):
            return RouteResult(abstained=True, books=[])
        hits = []
        for b in order:
            p = int(where[b])
            hits.append(RouteHit(book_id=self.book_ids[b], title=self.titles[b],
                                 score=float(score[b]), passage=self.passages[p],
                                 passage_start=int(self.passage_starts[p])))
        return RouteResult(abstained=False, books=hits)

    # -- persistence --
    def save(self, directory: Path) -> None:
        """Write the router to `directory` (see the module docstring for the format)."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        (directory / META).unlink(missing_ok=True)  # a crash mid-save leaves "no router", not a mix
        arrays = {"passage_starts": self.passage_starts, "book_starts": self.book_starts}
        for name, m in (("X", self.X), ("centroids", self.centroids), ("keys", self.keys)):
            arrays.update({f"{name}_data": m.data, f"{name}_indices": m.indices,
                           f"{name}_indptr": m.indptr,
                           f"{name}_shape": np.array(m.shape, np.int64)})
        arrays.update({f"idf_{k}": v for k, v in self.idf.items()})
        buf = io.BytesIO()
        np.savez_compressed(buf, **arrays)
        blobs = {INDEX: buf.getvalue(),
                 VOCAB: json.dumps(self.vocabs, ensure_ascii=False).encode("utf-8"),
                 PASSAGES: json.dumps({"passages": self.passages},
                                      ensure_ascii=False).encode("utf-8")}
        for name, data in blobs.items():
            atomic_write_bytes(directory / name, data)
        atomic_write_json(directory / META, {
            "format": FORMAT, "version": VERSION, "params": self.params,
            "books": [{"book_id": b, "title": t} for b, t in zip(self.book_ids, self.titles)],
            "passages": len(self.passages),
            "vocabulary": {k: len(v) for k, v in self.vocabs.items()},
            "files": {n: {"sha256": hashlib.sha256(d).hexdigest(), "bytes": len(d)}
                      for n, d in blobs.items()}})

    @classmethod
    def load(cls, directory: Path) -> BookRouter:
        """Read a router written by `save`, verifying every file against the manifest."""
        directory = Path(directory)
        rebuild = "rebuild it with `bookgpt build-router`"
        if not (directory / META).is_file():
            raise RouterError(f"no router at {directory}; run `bookgpt build-router`")
        try:
            meta = json.loads((directory / META).read_text("utf-8"))
            files, params, books = meta["files"], meta["params"], meta["books"]
        except (ValueError, KeyError, TypeError) as exc:
            raise RouterError(f"corrupt router manifest {directory / META} ({exc}); "
                              f"{rebuild}") from None
        if meta.get("format") != FORMAT or meta.get("version") != VERSION:
            raise RouterError(f"{directory} holds router format {meta.get('format')!r} version "
                              f"{meta.get('version')!r}, this code reads version {VERSION}; "
                              f"{rebuild}")
        blobs = {}
        for name in (INDEX, VOCAB, PASSAGES):
            path = directory / name
            if not path.is_file():
                raise RouterError(f"router file {path} is missing; {rebuild}")
            data = path.read_bytes()
            if name not in files or hashlib.sha256(data).hexdigest() != files[name].get("sha256"):
                raise RouterError(f"router file {path} does not match its manifest (corrupt or "
                                  f"partly written); {rebuild}")
            blobs[name] = data
        try:
            vocabs = json.loads(blobs[VOCAB])
            passages = json.loads(blobs[PASSAGES])["passages"]
            with np.load(io.BytesIO(blobs[INDEX]), allow_pickle=False) as z:
                arr = {k: z[k] for k in z.files}
            mats = {name: sp.csc_matrix((arr[f"{name}_data"], arr[f"{name}_indices"],
                                         arr[f"{name}_indptr"]), shape=tuple(arr[f"{name}_shape"]))
                    for name in ("X", "centroids", "keys")}
            idf = {k: arr[f"idf_{k}"] for k in ("word", "char", "key")}
            router = cls([b["book_id"] for b in books], [b["title"] for b in books], passages,
                         arr["passage_starts"], arr["book_starts"], vocabs, idf, mats["X"],
                         mats["centroids"], mats["keys"], params)
            consistent = router._consistent()
        except (ValueError, KeyError, TypeError, IndexError, AttributeError, OSError,
                zipfile.BadZipFile) as exc:
            raise RouterError(f"corrupt router in {directory} ({type(exc).__name__}: {exc}); "
                              f"{rebuild}") from None
        if not consistent:
            raise RouterError(f"router files in {directory} disagree with each other (shapes or "
                              f"offsets); {rebuild}")
        router.cache_dir = directory.parent / "cache" / "semantic"
        return router

    def _consistent(self) -> bool:
        """Shapes, offsets and parameters agree with each other."""
        n, nb = len(self.passages), len(self.book_ids)
        nw, nc, nk = (len(self.vocabs[k]) for k in ("word", "char", "key"))
        ok = (nb > 0 and self.X.shape == (n, nw + nc) and self.centroids.shape == (nb, nw + nc)
              and self.keys.shape == (n, nk) and len(self.passage_starts) == n
              and len(self.book_starts) == nb and self.book_starts[0] == 0
              and np.all(np.diff(self.book_starts) > 0) and self.book_starts[-1] < n
              and [len(self.idf[k]) for k in ("word", "char", "key")] == [nw, nc, nk]
              and 0 <= float(self.params["word_share"]) <= 1
              and 0 <= float(self.params["centroid_share"]) <= 1
              and all(isinstance(p, str) for p in self.passages))
        return bool(ok)
