"""The TF-IDF book router on the seven real books in ../shared/books (built once for the module)."""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import re
import shutil
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from bookgpt.router import BookRouter, RouterError, RouteResult
from bookgpt.text import passage_spans as split_passages

BOOKS_DIR = Path(__file__).resolve().parents[2] / "shared" / "books"
BOOK_IDS = ["flatland", "amusements_in_mathematics", "canterbury_puzzles",
            "budget_of_paradoxes_vol1", "relativity", "foundations_of_science", "tangled_tale"]
OFF_TOPIC = "What is the best recipe for chocolate cake with butter?"

# Written by hand without copying the books' sentences (a separate set tuned the design).
PARAPHRASES = {
    "flatland": ["What shape are the women in Flatland?",
                 "Why are the priests considered the highest class?",
                 "How does the square try to explain the third dimension to others?",
                 "Why was painting the sides of figures in colours forbidden?"],
    "relativity": ["How does the speed of light relate to moving observers?",
                   "Do moving clocks run slower than clocks at rest?",
                   "What happens to the length of a measuring rod in motion?",
                   "Can the universe be finite and yet have no boundary?"],
    "tangled_tale": ["What puzzles do the knights solve?",
                     "How many pensioners lost an eye, an ear, an arm and a leg?",
                     "How are the houses around the square numbered?",
                     "Which correspondents sent in correct solutions to the knots?"],
    "amusements_in_mathematics": [
        "What puzzles involve the positions of a clock's hands?",
        "How do you find your way through a maze to the centre?",
        "How do you measure out an exact quantity of liquid using only two jugs?",
        "How many ways can counters be placed on a chessboard so that no two are in line?"],
    "canterbury_puzzles": ["What puzzle did the Miller pose to the other pilgrims?",
                           "How did the jester escape from the castle?",
                           "Which route must the spider take to catch the fly?",
                           "What did the monks do with their fish pond?"],
    "budget_of_paradoxes_vol1": [
        "Who claimed to have squared the circle?",
        "What did the author think of people who deny that the earth moves around the sun?",
        "Which writers thought the value of pi was a simple fraction?",
        "What does the author say about prophecies of the end of the world?"],
    "foundations_of_science": ["Is geometry true or merely a convenient convention?",
                               "What role does intuition play compared with logic in mathematics?",
                               "How can chance produce regular physical laws?",
                               ("How do mathematicians make discoveries after a period of "
                                "unconscious work?")],
}
_SENTENCE = re.compile(r"[^.!?]+[.!?]")
_WORD = re.compile(r"[A-Za-z]{4,}")


def strip_gutenberg(raw: str) -> str:
    lines = raw.splitlines(keepends=True)
    start = next(i for i, line in enumerate(lines) if re.search(r"\*\*\* ?START OF", line))
    end = next(i for i, line in enumerate(lines) if re.search(r"\*\*\* ?END OF", line))
    return "".join(lines[start + 1:end])


def held_out_questions(text: str, n: int = 30) -> list[str]:
    """n sentences spread through the book (10-40 words, mostly letters, >= 6 longer words), each
    turned into a question by dropping every third word."""
    flat = " ".join(text.split())
    cands = [m.group(0).strip() for m in _SENTENCE.finditer(flat)]
    cands = [c for c in cands if 10 <= len(c.split()) <= 40
             and sum(ch.isalpha() for ch in c) > 0.75 * len(c) and len(_WORD.findall(c)) >= 6]
    step = len(cands) / n
    picked = [cands[int(i * step + step / 2)] for i in range(n)]
    return ["What about " + " ".join(w for i, w in enumerate(s.rstrip(".!?").split()) if i % 3 != 2)
            + "?" for s in picked]


@pytest.fixture(scope="module")
def texts() -> dict[str, str]:
    return {b: strip_gutenberg((BOOKS_DIR / f"{b}.txt").read_text("utf-8")) for b in BOOK_IDS}


@pytest.fixture(scope="module")
def router(texts) -> BookRouter:
    return BookRouter.build({b: (b.replace("_", " ").title(), t) for b, t in texts.items()})


@pytest.fixture(scope="module")
def saved(router, tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("router")
    router.save(d)
    return d


def ranked(router: BookRouter, question: str) -> tuple[list[str], float]:
    r = router.route(question, top_k=len(router.book_ids), abstain_threshold=0.0)
    return [h.book_id for h in r.books], r.books[0].score


def test_held_out_sentences_route_to_their_book(router, texts):
    top1, scores = [], []
    for book, text in texts.items():
        for q in held_out_questions(text):
            order, best = ranked(router, q)
            top1.append(order[0] == book)
            scores.append(best)
    print(f"held-out top-1 {np.mean(top1):.3f}, best score min {min(scores):.3f} "
          f"median {np.median(scores):.3f}")
    assert len(top1) == 30 * len(texts)
    assert np.mean(top1) >= 0.9
    assert min(scores) > 0.05  # none abstains at the default threshold


def test_generated_validation_questions_route_to_their_book(router, texts):
    """The Q&A generator's held-out questions (all kinds, cloze included) across the shared books."""
    from bookgpt.qa.pairs import generate_pairs, split_pairs

    hits, n = 0, 0
    per_book = {}
    for book, text in texts.items():
        _, val = split_pairs(generate_pairs(text, max_pairs=1500), 0.1, 1337)
        val = val[:60]
        ok = sum(ranked(router, p.question)[0][0] == book for p in val)
        per_book[book] = round(ok / len(val), 2)
        hits, n = hits + ok, n + len(val)
    print(f"generated validation questions: top-1 {hits / n:.3f} over {n}; {per_book}")
    assert n >= 300
    assert hits / n >= 0.9, per_book


def test_paraphrased_questions_route_to_their_book(router):
    top1, top2, scores = [], [], []
    for book, questions in PARAPHRASES.items():
        for q in questions:
            order, best = ranked(router, q)
            top1.append(order[0] == book)
            top2.append(book in order[:2])
            scores.append(best)
            assert not router.route(q).abstained, q
    print(f"paraphrases top-1 {np.mean(top1):.3f} top-2 {np.mean(top2):.3f}, best score min "
          f"{min(scores):.3f} median {np.median(scores):.3f}")
    # measured top-1 0.750 (21/28), top-2 0.893 (25/28): the misses are Dudeney puzzles on
    # knights, clocks and numbered houses that his other book has too, and "pi" writers
    assert np.mean(top1) >= 0.7 and np.mean(top2) >= 0.85


def test_inflected_words_still_match(router):
    # character n-grams and word keys match other forms of the book's words
    order, _ = ranked(router, "How do the Flatlanders perceive the dimensioned figures?")
    assert order[0] == "flatland"
    order, _ = ranked(router, "What about differentiating the gravitation fields?")
    assert "relativity" in order[:2]


def test_off_topic_question_abstains(router):
    r = router.route(OFF_TOPIC)
    assert r == RouteResult(abstained=True, books=[])
    _, best = ranked(router, OFF_TOPIC)
    assert best < 0.05
    assert router.route(OFF_TOPIC, abstain_threshold=0.0).books  # 0 never abstains


# Hand-written questions that no book of the shelf covers
OFF_TOPIC_SET = [
    "Which football team won the league last season?", "How do I reset my wireless router?",
    "What time does the pharmacy on Main Street open?", "How do I bake sourdough bread?",
    "Who won the world cup in 2018?", "What is the price of bitcoin today?",
    "How do I install Python on Windows?", "How many calories are in a banana?",
    "Which airline has the cheapest flights to Tokyo?", "What are the symptoms of the flu?",
    "How do I make cold brew coffee?", "Who is the lead singer of Coldplay?"]


def test_default_threshold_declines_off_topic_questions_not_paraphrases(router):
    from bookgpt.config import RouterConfig

    threshold = RouterConfig().abstain_threshold
    declined = [router.route(q, abstain_threshold=threshold).abstained for q in OFF_TOPIC_SET]
    print(f"off-topic declined {sum(declined)}/{len(declined)} at {threshold}")
    # measured 7/12 (0.07 alone declined more of these, but also 10 of 86 readers' questions in
    # ../shared/questions/dev.jsonl; 0.04 with the unknown-words rule declines one of those)
    assert sum(declined) >= 0.5 * len(declined)
    for q in (q for qs in PARAPHRASES.values() for q in qs):
        assert not router.route(q, abstain_threshold=threshold).abstained, q


def test_stopword_only_or_unknown_questions_abstain(router):
    for q in ("What is it?", "Why? How?", "Zyxqv plorbnik quuxable?", "???"):
        assert router.route(q).abstained, q
    # a word is known in its inflections and derived forms, even of a stop word: "betweenness"
    # ("between"), "sharpness" are no sign of a question about something else
    assert router.unknown_share("Who first studied the betweenness of points on a line?") == 0.0
    assert router.unknown_share("How do plorbniks measure the sharpness of a zyxqv?") == 0.5


def test_empty_question_is_an_error(router):
    for q in ("", "   \n"):
        with pytest.raises(RouterError, match="empty"):
            router.route(q)
    with pytest.raises(RouterError, match="top_k"):
        router.route("What is a square?", top_k=0)


def test_hits_are_sorted_and_weights_sum_to_one(router, texts):
    from bookgpt.answer.route import route_request
    from bookgpt.messages import AskRequest

    for q, k in [("What shape are the women in the land of two dimensions?", 2),
                 # (not "How does the speed of light relate to moving observers?": the relativity
                 # book never says "speed" or "relate", nor any of its word pairs, and declines it,
                 # `route.MIN_GROUNDING`)
                 ("Do moving clocks run slower than clocks at rest?", 3),
                 ("Who claimed to have squared the circle?", 10)]:
        r = router.route(q, top_k=k)
        assert not r.abstained and len(r.books) == min(k, len(BOOK_IDS))
        assert [h.score for h in r.books] == sorted((h.score for h in r.books), reverse=True)
        # weights are given once, after the books' sentences rank them again
        routed = route_request(router, AskRequest(question=q), BOOK_IDS, k, 0.04)
        assert len(routed) == min(k, len(BOOK_IDS))
        assert sum(b.weight for b in routed) == pytest.approx(1.0)
        assert [b.weight for b in routed] == sorted((b.weight for b in routed), reverse=True)
        for h in r.books:
            text = texts[h.book_id]
            assert text[h.passage_start:h.passage_start + len(h.passage)] == h.passage
            assert h.title == h.book_id.replace("_", " ").title()


def test_query_latency(router):
    questions = [q for qs in PARAPHRASES.values() for q in qs]
    router.route(questions[0])
    t0 = time.perf_counter()
    for q in questions:
        router.route(q)
    ms = (time.perf_counter() - t0) * 1e3 / len(questions)
    print(f"route: {ms:.2f} ms per question")
    assert ms < 25  # measured about 0.5 ms on 2 cores


def test_save_load_round_trip_is_identical_and_pickle_free(router, saved, monkeypatch):
    calls = []
    real_load = np.load

    def spy(*args, **kwargs):
        calls.append(kwargs.get("allow_pickle"))
        return real_load(*args, **kwargs)

    monkeypatch.setattr(np, "load", spy)
    loaded = BookRouter.load(saved)
    assert calls and all(c is False for c in calls)
    assert loaded.book_ids == router.book_ids
    for qs in PARAPHRASES.values():
        for q in qs + [OFF_TOPIC]:
            a, b = router.scores(q), loaded.scores(q)
            assert np.array_equal(a[0], b[0]) and np.array_equal(a[1], b[1])
            assert router.route(q, top_k=3) == loaded.route(q, top_k=3)
    files = sorted(p.name for p in saved.iterdir())
    assert files == ["index.npz", "meta.json", "passages.json", "vocab.json"]
    for p in saved.iterdir():
        assert p.read_bytes()[:1] != b"\x80", p  # the pickle protocol marker
    with zipfile.ZipFile(saved / "index.npz") as z:
        for name in z.namelist():
            assert z.read(name)[:6] == b"\x93NUMPY", name
            arr = real_load(io.BytesIO(z.read(name)), allow_pickle=False)
            assert arr.dtype != object
    meta = json.loads((saved / "meta.json").read_text())
    assert [b["book_id"] for b in meta["books"]] == BOOK_IDS


def _copy(saved: Path, tmp_path: Path) -> Path:
    d = tmp_path / "router"
    shutil.copytree(saved, d)
    return d


def test_missing_router_or_files(saved, tmp_path):
    with pytest.raises(RouterError, match="no router at .*bookgpt build-router"):
        BookRouter.load(tmp_path / "nothing")
    for name in ("index.npz", "vocab.json", "passages.json"):
        d = _copy(saved, tmp_path / name)
        (d / name).unlink()
        with pytest.raises(RouterError, match=f"{name} is missing"):
            BookRouter.load(d)


def test_corrupt_files(saved, tmp_path):
    d = _copy(saved, tmp_path / "flip")
    data = bytearray((d / "vocab.json").read_bytes())
    data[len(data) // 2] ^= 0x01
    (d / "vocab.json").write_bytes(bytes(data))
    with pytest.raises(RouterError, match="does not match its manifest"):
        BookRouter.load(d)

    d = _copy(saved, tmp_path / "meta")
    (d / "meta.json").write_text("{not json")
    with pytest.raises(RouterError, match="corrupt router manifest"):
        BookRouter.load(d)

    d = _copy(saved, tmp_path / "version")
    meta = json.loads((d / "meta.json").read_text())
    (d / "meta.json").write_text(json.dumps(meta | {"version": 99}))
    with pytest.raises(RouterError, match="version 99"):
        BookRouter.load(d)

    # a pickled array with a matching checksum is still refused: nothing is unpickled
    d = _copy(saved, tmp_path / "pickle")
    buf = io.BytesIO()
    np.savez(buf, X_data=np.array([{"evil": 1}], dtype=object))
    (d / "index.npz").write_bytes(buf.getvalue())
    meta = json.loads((d / "meta.json").read_text())
    meta["files"]["index.npz"]["sha256"] = hashlib.sha256(buf.getvalue()).hexdigest()
    (d / "meta.json").write_text(json.dumps(meta))
    with pytest.raises(RouterError, match="corrupt router"):
        BookRouter.load(d)


def test_any_small_books_route_from_text_alone(tmp_path):
    books = {
        "garden": ("The Garden", ("Roses need pruning in early spring. Tomatoes grow best in "
                                  "full sun and need staking.\n\nCompost feeds the soil; worms "
                                  "turn it over.")),
        "sea": ("The Sea", ("A sailor reefs the mainsail when the wind rises. The anchor holds "
                            "the boat in the harbour.\n\nTides follow the moon twice a day.")),
    }
    r = BookRouter.build(books, passage_chars=200)
    assert r.route("When should I prune my roses?").books[0].book_id == "garden"
    assert r.route("Why do sailors reef a sail in strong winds?").books[0].book_id == "sea"
    assert r.route("What is a quasar?").abstained
    r.save(tmp_path / "r")
    assert BookRouter.load(tmp_path / "r").route("tides and moon").books[0].book_id == "sea"
    with pytest.raises(RouterError, match="no books"):
        BookRouter.build({})
    with pytest.raises(RouterError, match="no text"):
        BookRouter.build({"blank": ("Blank", "  \n\n ")})


def test_split_passages_offsets_and_limits(texts):
    text = texts["relativity"]
    spans = split_passages(text, 1200)
    assert all(0 < e - s <= 1500 for s, e in spans)
    assert all(a[1] <= b[0] for a, b in itertools.pairwise(spans))
    assert all(text[s:e] == text[s:e].strip() for s, e in spans)
    covered = " ".join(text[s:e] for s, e in spans)
    assert len(covered.split()) == len(text.split())  # nothing but whitespace is left out
    long = "word " * 1000  # no sentence ends: cut at spaces
    assert all(e - s <= 300 for s, e in split_passages(long, 300))


def test_scores_many_matches_one_by_one(router):
    """A router actor scores a whole batch of questions in one pass: the same numbers and
    passages as scoring each alone, including a question that shares no word with any book."""
    questions = [q for qs in PARAPHRASES.values() for q in qs] + [OFF_TOPIC, "zzqx qxzz", "the of"]
    scores, where = router.scores_many(questions)
    assert scores.shape == where.shape == (len(questions), len(router.book_ids))
    for j, q in enumerate(questions):
        one, at = router.scores(q)
        np.testing.assert_allclose(scores[j], one, atol=1e-12)
        assert np.array_equal(where[j], at), q
        assert router.ranked(scores[j], where[j], top_k=2) == router.route(q, top_k=2)
    assert not scores[-2].any() and not scores[-1].any()  # no known word: nothing scores
    none, nowhere = router.scores_many([])
    assert none.shape == nowhere.shape == (0, len(router.book_ids))


def test_route_requests_batch_keeps_each_questions_fate(router):
    from bookgpt.errors import AskError, UnknownBookError
    from bookgpt.messages import AskRequest
    from bookgpt.answer.route import route_request, route_requests

    reqs = [AskRequest(question="What shape are the women in Flatland?"),
            AskRequest(question="   "),
            AskRequest(question="Do moving clocks run slower?", book_ids=["nonesuch"]),
            AskRequest(question=OFF_TOPIC),
            AskRequest(question="What puzzles do the knights solve?", book_ids=["relativity"])]
    top_ks = [2, 2, 2, 3, 1]
    out = route_requests(router, reqs, BOOK_IDS, top_ks, 0.07)
    assert isinstance(out[1], AskError) and "empty" in str(out[1])
    assert isinstance(out[2], UnknownBookError) and "nonesuch" in str(out[2])
    assert out[3] == []  # off topic: the router abstains
    assert [r.book_id for r in out[4]] == ["relativity"]  # a named book is asked regardless
    for req, k, got in zip(reqs, top_ks, out):
        if not isinstance(got, Exception):
            assert got == route_request(router, req, BOOK_IDS, k, 0.07)
    # the only book that uses the question's name ("Flatland") is the only one asked
    assert [r.book_id for r in out[0]] == ["flatland"]


def test_route_requests_failure_reaches_each_question_not_the_batch(router, monkeypatch):
    from bookgpt.errors import AskError
    from bookgpt.messages import AskRequest
    from bookgpt.answer.route import route_requests

    def broken(questions):
        raise MemoryError("index unreadable")

    monkeypatch.setattr(router, "scores_many", broken)
    out = route_requests(router, [AskRequest(question="What is a square?"),
                                  AskRequest(question=""),
                                  AskRequest(question="Who are the knights?")],
                         BOOK_IDS, [2, 2, 2], 0.07)
    assert isinstance(out[0], MemoryError) and out[2] is out[0]
    assert isinstance(out[1], AskError)


def test_a_books_score_is_discounted_by_its_size_not_its_cover(monkeypatch):
    """The best of many passages scores higher by chance: each book's score is divided by its
    passage count's SIZE_PRIOR power relative to the median book's. Whether any book covers a
    question is judged on the undiscounted scores."""
    import bookgpt.router as router_module

    para = "Roses need pruning in early spring, and tomatoes grow best in full sun."
    books = {"one": ("One", para),
             "two": ("Two", "\n\n".join([para, "Compost feeds the soil of the garden beds."])),
             "many": ("Many", "\n\n".join([f"Page {i}: the weather, the harbour and the tides "
                                           f"of spring, and roses {i}." for i in range(8)]))}
    q = "When should roses be pruned in spring?"
    monkeypatch.setattr(router_module, "SIZE_PRIOR", 0.0)
    plain = BookRouter.build(books, passage_chars=100)
    monkeypatch.setattr(router_module, "SIZE_PRIOR", 0.15)
    r = BookRouter.build(books, passage_chars=100)
    counts = np.diff(np.append(r.book_starts, len(r.passages)))
    assert counts.tolist() == [1, 2, 8]
    want = plain.scores(q)[0] * (counts / 2.0) ** -0.15
    assert np.allclose(r.scores(q)[0], want)
    assert r.scores(q)[0][1] == pytest.approx(plain.scores(q)[0][1])  # the median book: as is
    # a threshold between the best discounted and undiscounted score does not abstain
    best = plain.scores(q)[0].max()
    assert not r.route(q, abstain_threshold=best * 0.99).abstained
    assert r.route(q, abstain_threshold=best * 1.01).abstained
