"""Finding the sentences that answer a reader's question: sentence retrieval on real books, books
ranked again by their sentences, puzzles' solutions, the books' own encoders, and `bookgpt eval
--questions` on a tiny trained shelf. The text module they read with: tests/test_text.py. Cutting
the answer from the sentences found: tests/test_candidates.py. Which books are asked, and which
questions declined: tests/test_declining.py."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bookgpt.answer.extract import candidates
from bookgpt.answer.readers import overlaps, read_questions
import bookgpt.answer.evidence as evidence_module
import bookgpt.answer.retrieve as retrieve
from bookgpt.answer.evidence import evidence
from bookgpt.answer.retrieve import SentenceIndex
from commands.main import main
from bookgpt.errors import AskError
from bookgpt.text import content_stems, question_stems

from conftest import TRAINED_BOOKS, cut_from

QUESTIONS = Path(__file__).resolve().parents[2] / "shared" / "questions" / "dev.jsonl"


def test_retrieval_finds_the_fact_for_a_handwritten_question(shared_books):
    index = SentenceIndex((shared_books / "relativity.txt").read_text("utf-8"))
    best, found = evidence(index, "What is the velocity of light in vacuo?", windows=3)
    assert best.coverage > 0.9 and found[0].window == 0 and found[0].match == 1.0
    window = " ".join(e.text for e in found if e.window == 0)
    assert "velocity of light" in window and "vacuo" in window
    # the sentence after each window comes with it, marked as a follower
    assert any(e.follows for e in found)


def test_a_window_holding_what_is_asked_wins(shared_books, monkeypatch):
    """"How fast" asks for a number: the window that gives one outranks sentences that only echo
    the question's words, and the number is the answer cut from it."""
    index = SentenceIndex((shared_books / "relativity.txt").read_text("utf-8"))
    question = "How fast does light travel in empty space?"
    best, found = evidence(index, question, windows=3)
    assert "300,000" in best.text
    got = candidates(question, [(e.text, e.match) for e in found])[0].text
    assert "300,000" in got
    # the README's question: many sentences name "the velocity of light" beside a number ("one
    # of the two fundamental assumptions", "within one per cent"), one gives it with its unit
    best, found = evidence(index, "What is the velocity of light?", windows=3)
    assert candidates("What is the velocity of light?",
                      [(e.text, e.match) for e in found])[0].text == "300,000 km."
    # without the bonus, sentences that echo "light ... empty space" win and no number is cut (the
    # words alone: the book's own encoder also lifts the number's window, see the test below)
    monkeypatch.setattr(retrieve, "TYPE_BONUS", 0.0)
    monkeypatch.setattr(retrieve, "SEMANTIC_WEIGHT", 0.0)
    assert "300,000" not in evidence(index, question, windows=3)[0].text


def test_a_sentence_that_defines_answers_what_a_term_means(monkeypatch):
    """A meaning is asked for ("What is a tide-gauge?"): of the sentences that name the term, the
    one that defines it ("is called", "we mean", "signifies") holds what is asked, as a figure
    does for "how many", and its window wins."""
    from bookgpt.answer.kinds import DEFINES

    for said in ("it is called a tide-gauge", "By a tide-gauge we mean", "is usually termed",
                 "must be understood", "a word signifying the passages"):
        assert DEFINES.search(said), said
    assert not DEFINES.search("The tide-gauge stood on the quay.")
    filler = [f"The keeper walked the cliff path on night {i} and watched the grey sea."
              for i in range(8)]
    text = " ".join(filler[:4] + [
        "The old tide-gauge of the harbour stood on the quay beside the lamp.",
        "The keeper wrote in his book every evening."] + filler[4:] + [
        "A post marked in feet, on which the height of the water is read, is called a "
        "tide-gauge."] + filler[:2])
    question = "What is a tide-gauge?"
    monkeypatch.setattr(retrieve, "SEMANTIC_WEIGHT", 0.0)
    best, _ = evidence(SentenceIndex(text), question, windows=3)
    assert "is called a tide-gauge" in best.text
    monkeypatch.setattr(retrieve, "TYPE_BONUS", 0.0)  # the words alone: a tie, the first wins
    assert "is called" not in evidence(SentenceIndex(text), question, windows=3)[0].text


def test_the_books_own_encoder_reaches_an_answer_that_shares_no_word(shared_books, monkeypatch):
    """A reader's paraphrase: the question echoes one sentence ("the origin of light"), the answer
    stands in the next and shares no content word with the question ("inquiries" vs
    "investigations", "madhouses" vs "lunatic asylums"). The encoder trained on the book's own
    sentences (`bookgpt.answer.semantic`) stretches the best window over it; the words alone
    cannot, and leave it a follower of the echo."""
    index = SentenceIndex((shared_books / "flatland.txt").read_text("utf-8"))
    question = "What became of inquiries into the origin of light, after they filled the madhouses?"
    answer = next(s for s in index.sentences if "absolutely prohibited them" in s)
    assert not set(question_stems(question)) & set(content_stems(answer))
    assert index.semantic is not None
    assert answer in index.search(question, top=1)[0].text
    assert index.search(question, top=1)[0].meaning > 0
    monkeypatch.setattr(retrieve, "SEMANTIC_WEIGHT", 0.0)
    assert answer not in index.search(question, top=1)[0].text
    # a text too short to learn from gets no encoder, and is searched by its words alone
    assert SentenceIndex("The cat sat on the mat. The dog lay by the door.").semantic is None


def _readers(book_ids: set[str]) -> list[dict]:
    rows = [json.loads(line) for line in QUESTIONS.read_text("utf-8").splitlines() if line]
    return [r for r in rows if r["book_id"] in book_ids]


def test_retrieval_ranks_readers_supporting_quotes(shared_books):
    """On the readers' questions of two books, with the right book given, the supporting quote
    is in the best window for about a third and in the best five for about half (measured on all
    86 in-scope questions: 0.36 and 0.54); the lexical ranking must not regress below that."""
    books = {"relativity": "relativity.txt", "flatland": "flatland.txt",
             "canterbury_puzzles": "canterbury_puzzles.txt"}
    indexes = {b: SentenceIndex((shared_books / f).read_text("utf-8")) for b, f in books.items()}
    top1 = top5 = 0
    rows = _readers(set(books))
    for r in rows:
        windows = indexes[r["book_id"]].search(r["question"], top=5)
        hits = [overlaps(w.text, r["supporting_quote"]) for w in windows]
        top1 += bool(hits and hits[0])
        top5 += any(hits)
    print(f"top-1 {top1}/{len(rows)}, top-5 {top5}/{len(rows)}")
    assert len(rows) == 30
    assert top1 >= 10 and top5 >= 15


def test_overlap_of_cited_text_and_quote():
    quote = "The quick brown fox jumps over the lazy dog near the river bank."
    assert overlaps("He saw that the quick brown fox jumps over the lazy dog.", quote)
    assert overlaps(quote, "  The quick brown fox\njumps over the lazy dog near the river bank. ")
    assert not overlaps("A brown dog sat near the river.", quote)
    assert not overlaps("", quote)


def test_questions_file_errors_name_the_line(tmp_path):
    bad = tmp_path / "q.jsonl"
    bad.write_text('{"id": "x", "book_id": null, "question": "Why?", "answer": null, '
                   '"supporting_quote": null, "kind": "out_of_scope"}\n{"id": "y"}\n')
    with pytest.raises(AskError, match=r"q.jsonl:2: missing field\(s\) book_id"):
        read_questions(bad)
    bad.write_text("not json\n")
    with pytest.raises(AskError, match="q.jsonl:1: not JSON"):
        read_questions(bad)
    with pytest.raises(AskError, match="no questions file"):
        read_questions(tmp_path / "missing.jsonl")


def test_eval_questions_on_a_tiny_trained_shelf(trained, capsys):
    root, base = trained
    assert main(base + ["eval", "--questions", str(QUESTIONS), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    inside = _readers(set(TRAINED_BOOKS))
    outside = _readers({None})
    assert out["asked"] == len(inside) + len(outside) == len(out["rows"])
    assert out["questions"] == len(inside) and out["out_of_scope"] == len(outside)
    assert out["skipped_untrained"] == out["questions_file"] - out["asked"] > 0
    for row in out["rows"]:
        if row["book_id"] is None:
            continue
        assert row["abstained"] or row["answer"]
        # an answer is cut from the text it cites
        assert row["abstained"] or cut_from(row["answer"], row["support"])
    # the router tells two books apart on readers' questions, and the scores are computed from
    # the rows (not copied from elsewhere)
    assert out["book_top1"] >= 0.8
    assert out["book_top1"] <= out["book_top2"] <= out["book_top3_ranked"]
    f1 = sum(r["f1"] for r in out["rows"] if r["book_id"]) / len(inside)
    assert out["f1"] == pytest.approx(f1, abs=1e-4)
    assert set(out["by_kind"]) == {r["kind"] for r in inside}
    # questions that avoid the book's names and those that use them, apart
    names = out["by_names"]
    assert set(names) == {"uses names", "avoids names"}
    for label, avoid in (("uses names", False), ("avoids names", True)):
        rows = [r for r in out["rows"] if r["book_id"] and r["avoids_names"] is avoid]
        assert names[label]["questions"] == len(rows) == sum(
            1 for q in inside if q["avoids_proper_nouns"] is avoid) > 0
        assert names[label]["f1"] == pytest.approx(sum(r["f1"] for r in rows) / len(rows),
                                                   abs=1e-4)
    assert sum(b["questions"] for b in out["by_confidence"]) == sum(
        1 for r in out["rows"] if r["book_id"] and not r["abstained"])
    # the same answers merged again at each least confidence: the configured one's row is the
    # headline, and a higher one declines at least as many questions of either kind
    at = {t["min_confidence"]: t for t in out["by_min_confidence"]}
    mine = at[out["min_confidence"]]
    assert (mine["f1"], mine["support_hit"], mine["false_abstention"],
            mine["out_of_scope_abstained"]) == (out["f1"], out["support_hit"],
                                                out["false_abstention"],
                                                out["out_of_scope_abstained"])
    for key in ("false_abstention", "out_of_scope_abstained"):
        declined = [at[t][key] for t in sorted(at)]
        assert declined == sorted(declined), (key, declined)
    assert at[max(at)]["false_abstention"] > at[0.0]["false_abstention"]
    assert main(base + ["eval", "--questions", str(root / "nope.jsonl")]) == 2
    assert "no questions file" in capsys.readouterr().err
    # serve.min_confidence is the least confidence an answer needs: 1 declines every question
    q = "What is the velocity of light in vacuo?"
    assert main(base + ["--set", "serve.min_confidence=1", "ask", q, "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["abstained"] is True
    assert main(base + ["--set", "serve.min_confidence=1.5", "ask", q]) == 2
    assert "min_confidence" in capsys.readouterr().err


def test_model_weight_gives_the_book_model_a_say(trained, capsys):
    """serve.model_weight 0 chooses without the model (no token scored); above 0 the model scores
    the shortlist; a negative weight is a config error."""
    _, base = trained
    q = "What is the velocity of light in vacuo?"
    for weight in (0.0, 0.5):
        assert main(base + ["--set", f"serve.model_weight={weight}", "ask", q, "--json",
                            "--book-id", "relativity"]) == 0
        ans = json.loads(capsys.readouterr().out)
        cand = ans["candidates"][0]
        assert (cand["tokens"] > 0) == (weight > 0) and (cand["mean_logprob"] is None) == (
            weight == 0)
        assert cut_from(ans["answer"], ans["support"])
    assert main(base + ["--set", "serve.model_weight=-1", "ask", q]) == 2


def test_books_are_ranked_again_by_the_sentences_that_answer():
    """The router prefers the book that repeats the question's words; the book with a sentence
    that answers it is asked first once the best books are ranked again by their best window."""
    from bookgpt.messages import AskRequest
    from bookgpt.answer.route import route_request
    from bookgpt.router import BookRouter

    alpha = ("Alpha", "\n\n".join([
        "Light travels in straight lines through the glass, and the light bends at the surface.",
        "Light and shade make the picture; the light of the lamp was dim and the light flickered.",
        "The light from the window fell across the floor, light upon light.",
        "The carpenter sawed the oak. The nails were bought in town. The bench was done by noon.",
        "A velocity is a speed in a direction, and the velocity changes when the cart turns."]))
    beta = ("Beta", "\n\n".join([
        "The gardener planted roses along the wall and watered them each morning.",
        "Sound is slow. The velocity of light is about 300,000 kilometres in each second.",
        "The orchard gave apples and pears in the autumn, and the hedges were trimmed."]))
    router = BookRouter.build({"alpha": alpha, "beta": beta}, passage_chars=200)
    q = "What is the velocity of light?"
    assert router.route(q, abstain_threshold=0.0).books[0].book_id == "alpha"
    routed = route_request(router, AskRequest(question=q), ["alpha", "beta"], 2, 0.0)
    assert [r.book_id for r in routed] == ["beta", "alpha"]
    assert routed[0].weight > routed[1].weight
    assert routed[0].evidence[0].text.startswith("The velocity of light is about 300,000")


def test_an_answer_two_sentences_after_the_echo_reaches_the_evidence():
    """The sentence that echoes a question is often followed by one that says nothing to it and
    then by the answer: the two sentences after each window go with it (route.FOLLOW), and the
    answer is among the candidates."""
    from bookgpt.answer.choose import shortlist
    from bookgpt.answer.book import job_for
    from bookgpt.answer.route import route_request
    from bookgpt.messages import AskRequest
    from bookgpt.router import BookRouter

    book = ("Harbour Tales", "\n\n".join([
        "The harbour town had a lighthouse on the northern rock, and a keeper who lived in it alone.",
        "Visitors often asked the keeper of the lighthouse what he burned in the great lamp. He "
        "would look out to sea for a long while before he spoke. Whale oil from the northern "
        "fisheries was his fuel, every night of the winter.",
        "The fishing boats came home at dusk, and the nets were mended on the quay.",
        "In the spring the gulls nested on the rock below the lamp room."]))
    router = BookRouter.build({"harbour": book}, passage_chars=200)
    q = "What did the keeper of the lighthouse burn in the great lamp?"
    routed = route_request(router, AskRequest(question=q), ["harbour"], 1, 0.0)[0]
    assert routed.evidence[0].text.startswith("Visitors often asked")
    after = [e.text for e in routed.evidence if e.window == 0 and e.follows]
    assert after[0].startswith("He would look out") and after[1].startswith("Whale oil"), after
    found = [c.text for c in shortlist(job_for(routed, q, 1, decoding="extract"))]
    assert any(c.startswith("Whale oil from the northern fisheries") for c in found), found


def test_a_puzzles_solution_section_is_searched_with_it():
    """A heading that stands twice (the puzzle, then its solution under "Answers to ...") links
    the two sections: a question matching the puzzle also gets the solution's sentences."""
    text = "\n\n".join([
        "1.--THE CLOCKMAKER'S LOCK.",
        "A clockmaker fitted his shop door with a lock of three brass dials, each dial bearing "
        "ten letters. Which word of three letters opened the clockmaker's lock?",
        "2.--THE FERRYMAN.",
        "A ferryman must carry a goat, a wolf and a cabbage across a narrow river.",
        "[Illustration]",
        "SOLUTIONS.",
        "ANSWERS TO THE CLOCKMAKER'S LOCK.",
        "Only one vowel could be formed on the middle dial, so the word was plainly TWO. The "
        "other dials give no word at all.",
        "[Illustration]",
        "2.--THE FERRYMAN.",
        "The goat goes over first and comes back with the cabbage left behind."])
    index = SentenceIndex(text)
    q = "Which three-letter word opened the clockmaker's lock with brass dials?"
    _, found = evidence(index, q, windows=1)
    texts = [e.text for e in found]
    assert texts[0].startswith("A clockmaker fitted") or texts[0].startswith("1.--THE")
    solution = [e for e in found if "plainly TWO" in e.text]
    assert solution and solution[0].window == 1  # a window of its own, after the puzzle's
    assert solution[0].match == 1.0  # it answers as well as the puzzle matched
    # the solution's opening comes too, though the question's words found another window of it,
    # and a window the question's own words found in the solution matches as the puzzle does
    _, found = evidence(index, "Which word of three letters opened the lock? Other dials?", windows=3)
    assert all(e.match == 1.0 for e in found if "plainly TWO" in e.text or "no word" in e.text)
    # "[Illustration]" stands twice too, but names no section: it links nothing
    assert all("goat goes over" not in t for t in texts)


def test_a_labelled_answer_after_its_puzzle_comes_with_it(monkeypatch):
    """A puzzle's "_Answer._--" a few sentences after the window that matches the question comes
    with that window, and is the answer: the window itself stops at the puzzle."""
    text = ("The ferry runs all day. A farmer keeps ducks and hens in one yard, and counts thirty "
            "heads and eighty legs among them. Required the number of each kind of bird. The "
            "puzzle came from a country almanac. _Answer._--Ten ducks and twenty hens. The mill "
            "stands by the river.")
    index = SentenceIndex(text)
    q = "How many ducks and hens does the farmer keep, with thirty heads and eighty legs?"
    best, found = evidence(index, q, windows=1)
    assert "eighty legs" in best.text and "Answer" not in best.text
    assert [e.text for e in found][-1] == "_Answer._--Ten ducks and twenty hens."
    assert all(e.window == 0 for e in found)  # part of the puzzle's window, as its followers
    best = candidates(q, [(e.text, e.match) for e in found])[0]
    assert best.sentence.startswith("_Answer._") and best.text.startswith("Ten ducks")
    # a labelled answer standing alone as a paragraph (heading-like) still comes; one past the
    # next puzzle's heading does not
    alone = text.replace(" _Answer._", "\n\n_Answer._").replace(" The mill", "\n\nThe mill")
    assert evidence(SentenceIndex(alone), q, windows=1)[1][-1].text.startswith("_Answer._")
    # ... however short: a one-word answer on a line of its own is no heading
    short = alone.replace("_Answer._--Ten ducks and twenty hens.", '_Answer._--"Ten."')
    assert '_Answer._--"Ten."' in SentenceIndex(short).sentences
    assert evidence(SentenceIndex(short), q, windows=1)[1][-1].text == '_Answer._--"Ten."'
    other = text.replace(" The puzzle came", "\n\n7.--THE MILLER'S PUZZLE.\n\nThe puzzle came")
    assert all("Answer" not in e.text for e in evidence(SentenceIndex(other), q, windows=1)[1])
    # a solution's label opens its working: its first sentences come, where the answer ends it
    solved = text.replace("_Answer._--Ten ducks and twenty hens.", "_Solution._--I take the "
                          "neatest of those sent in. Each bird has one head. So the hens are twenty.")
    assert evidence(SentenceIndex(solved), q, windows=1)[1][-1].text == "So the hens are twenty."
    # without it, only the next sentence follows the window
    monkeypatch.setattr(evidence_module, "ANSWER_WITHIN", 0)
    assert all("Answer" not in e.text for e in evidence(index, q, windows=1)[1])


def test_a_books_encoder_is_kept_and_loaded_again(shared_books, tmp_path):
    """Trained once per book and text: a second index of the same text loads the kept encoder
    (the same cosines, without training), a changed text trains its own, and a broken cache file
    is only a slower start."""
    import time

    import numpy as np

    text = (shared_books / "flatland.txt").read_text("utf-8")
    first = SentenceIndex(text, tmp_path)
    t0 = time.perf_counter()
    trained = first.semantic
    train_s = time.perf_counter() - t0
    [kept] = list(tmp_path.iterdir())
    again = SentenceIndex(text, tmp_path)
    t0 = time.perf_counter()
    loaded = again.semantic
    assert time.perf_counter() - t0 < train_s / 3
    stems = first.stems[100] + first.stems[101]
    a, b = trained.query(stems), loaded.query(stems)
    ends = np.arange(0, 50)
    assert np.allclose(a.cosines(ends, ends + 2), b.cosines(ends, ends + 2))
    assert SentenceIndex(text[: len(text) // 2], tmp_path).semantic is not None
    assert len(list(tmp_path.iterdir())) == 2  # another text, another encoder
    kept.write_bytes(b"not an npz file")
    assert SentenceIndex(text, tmp_path).semantic is not None  # trained again, not an error
