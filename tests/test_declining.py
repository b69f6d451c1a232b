"""Which books a question is asked of, and which questions are declined: a name no best book
uses, a question its best book grounds too little, the author's name that only frames a question
about the book. Finding the sentences in the books asked: tests/test_answers.py."""

from __future__ import annotations

from bookgpt.text import stem


def test_a_book_that_never_uses_a_name_the_question_does_is_not_asked(shared_books):
    """A question about a name none of its best books uses ("the Hubble constant" of books that
    never mention Hubble) is declined; one whose names the book uses ("the Sphere") is not, and
    neither is a question in title case, where every word looks like a name."""
    from bookgpt.answer.asking import question_names
    from bookgpt.messages import AskRequest
    from bookgpt.answer.route import route_request
    from bookgpt.router import BookRouter

    books = {b: (b, (shared_books / f"{b}.txt").read_text("utf-8"))
             for b in ("flatland", "tangled_tale")}
    router = BookRouter.build(books, passage_chars=600)
    ids = list(books)

    def ask(q: str) -> list[str]:
        return [r.book_id for r in route_request(router, AskRequest(question=q), ids, 2, 0.01)]

    assert question_names("What formula did Hardy and Ramanujan find?") == [
        frozenset({stem("hardy")}), frozenset({stem("ramanujan")})]
    assert question_names("What Is The Velocity Of Light?") == []
    assert question_names("In the triangle ABC, what is AB?") == []
    # an acronym names a thing a book must mention; a Roman numeral does not
    assert question_names("When did the LIGO observatory see the waves of Knot VIII?") == [
        frozenset({stem("knot")}), frozenset({stem("ligo")})]
    assert question_names("Which shape does the Square NEVER see?") == [
        frozenset({stem("square")})]  # a stop word in capitals is emphasis, no name
    # a name's eponymous term is part of it: "the Euclid conjecture" is no use of "Euclid"
    assert question_names("Who proved the Euclid conjecture on squares?") == [
        frozenset({stem("euclid"), stem("conjecture")})]
    assert question_names("Is Wilson's theorem true?") == [
        frozenset({stem("wilson"), stem("theorem")})]
    assert question_names("What are Newton's laws of motion?") == [frozenset({stem("newton")})]
    assert ask("What did the Sphere say of the Square?") != []
    assert ask("Who proved the Square conjecture about spheres?") == []
    # a word of the book's title (its author's name, here its id) is no use of an eponym
    assert ask("Who proved the Flatland conjecture about squares and spheres?") == []
    assert ask("How did the NASA rocket tie the knots the travellers tied?") == []
    assert ask("What did Hubble measure about the knots the travellers tied?") == []
    assert ask("How did Ramanujan count the sides of the Square?") == []
    declined = route_request(router, AskRequest(question="How did Ramanujan count the sides of "
                                                "the Square?"), ids, 2, 0.01)
    assert declined.reason.endswith('mentions "Ramanujan"'), declined.reason
    assert ask("How many sides does the Sphere say a Square has?")[0] == "flatland"
    # a name of several words stands whole in one sentence or heading of a book that knows it:
    # Flatland speaks of a sphere and of a Square, but never of "Rubik's Sphere"
    assert ask("How many turns solve Rubik's Sphere?") == []
    assert ask("What did the Chelsea Pensioners lose?")[0] == "tangled_tale"  # a heading's name
    # each name in a book of its own, none in both: declined (it had raised StopIteration),
    # naming the one the best book lacks
    two = route_request(router, AskRequest(question="What did the Chelsea Pensioners say about "
                                           "Lineland?"), ids, 2, 0.01)
    assert two == [] and two.reason.endswith(("Chelsea Pensioners\"", 'Lineland"')), two.reason
    # the same question without the unknown name is answered
    assert ask("What was measured about the knots the travellers tied?") != []
    # a people's adjective before a noun describes, it names nothing a book must mention
    # (neither book speaks of Egypt)
    assert question_names("How thick is the thinnest American coin?") == []
    assert question_names("What did the tutor of a Macedonian king answer?") == []
    # ... and an era is a date ("before Christ"), while "before Newton" names him
    assert question_names("Who knew the riddle three thousand years before Christ?") == []
    assert question_names("Who knew the riddle before Newton?") == [frozenset({stem("newton")})]
    assert ask("How many sides does the Sphere say a Square has, by Egyptian reckoning?")[0] == (
        "flatland")


def test_a_question_the_best_book_speaks_of_too_little_is_declined(shared_books):
    """A book grounds a question by the share of its words the book uses and of its adjacent word
    pairs that stand side by side somewhere in it ("liquid oxygen", "sea level"): a question whose
    words the shelf has, but never together, is about something else, and is declined when even
    its best book grounds it below MIN_GROUNDING (and a lower book that grounds it so little has no
    say); the readers' paraphrases are not declined."""
    from bookgpt.answer import route
    from bookgpt.answer.retrieve import SentenceIndex
    from bookgpt.messages import AskRequest
    from bookgpt.router import BookRouter

    filler = [f"The keeper walked the cliff path on night {i} and watched the grey sea."
              for i in range(5)]
    index = SentenceIndex(" ".join(filler + [
        "The oxygen of the air feeds the lamp.", "A liquid fills the glass tube.",
        "Liquid fire spread over the water."]))
    apart = index.grounding("What colour is liquid oxygen?")
    assert index.grounding("What colour is liquid fire?") > apart > 0.0
    assert index.grounding("What colour is plasma?") == 0.0  # a word the book never uses

    books = {b: (b, (shared_books / f"{b}.txt").read_text("utf-8"))
             for b in ("flatland", "tangled_tale")}
    router = BookRouter.build(books, passage_chars=600)
    ids = list(books)

    def ask(q: str) -> list[str]:
        return [r.book_id for r in route.route_request(router, AskRequest(question=q), ids, 2,
                                                       0.01)]

    off = ["At what temperature does liquid oxygen boil at sea level?",
           "How many players are on a basketball team's court at once?"]
    for q in off:
        assert ask(q) == [], q
        # ... though only this rule declines them: the router and the names let them through
        assert max(router.sentence_index(b).grounding(q) for b in ids) < route.MIN_GROUNDING
        declined = route.route_request(router, AskRequest(question=q), ids, 2, 0.01)
        assert "has too few of its words" in declined.reason, declined.reason
    for q in ("What shape are the women in the land of two dimensions?",
              "Why was painting the sides of figures in colours forbidden?",
              "How many pensioners lost an eye, an ear, an arm and a leg?",
              "How are the houses around the square numbered?"):
        assert ask(q), q
    # a lower book that grounds a question too little has no say beside the first
    q = "How many pensioners lost an eye, an ear, an arm and a leg?"
    assert router.sentence_index("flatland").grounding(q) < route.MIN_GROUNDING
    assert ask(q) == ["tangled_tale"]
    # a caller who names the book is answered by it all the same
    assert [r.book_id for r in route.route_request(
        router, AskRequest(question=off[0], book_ids=["tangled_tale"]), ids, 1, 0.01)] == [
        "tangled_tale"]


def test_the_authors_name_only_frames_a_question_about_the_book():
    """"According to Marlowe, ..." of Jane Marlowe's own book: the name finds nothing inside it
    (a sentence that happens to name her is no answer), so retrieval leaves it out."""
    from bookgpt.router import BookRouter

    filler = [f"The keeper walked the cliff path at night number {i} and watched the sea."
              for i in range(12)]
    text = "\n\n".join(filler + [
        "Marlowe stayed one night with the keeper while the storm passed over the cape.",
        "Each night the keeper counted the passing ships and wrote their names in a ledger."])
    router = BookRouter.build({"b": ("The Keeper, by Jane Marlowe", text)}, passage_chars=300)
    index = router.sentence_index("b")
    assert index.framing == {stem("jane"), stem("marlowe")}
    best = index.search("According to Marlowe, what did the keeper count each night?", top=1)[0]
    assert best.text.startswith("Each night the keeper counted")
    index.framing = frozenset()  # without it the author's name picks the wrong sentence
    best = index.search("According to Marlowe, what did the keeper count each night?", top=1)[0]
    assert best.text.startswith("Marlowe stayed")


def test_an_answer_far_from_every_use_of_a_rare_name_is_none(shared_books):
    """A book that names a thing once or twice answers a question about it near there (or in the
    solution of the puzzle that names it) or not at all: The Canterbury Puzzles mentions Australia
    in one story only, so "the capital city of Australia" found elsewhere in it (a Chinese city's
    fortifications, as the shelf answered) is no answer. A name the book uses often (the Squire)
    and the author's own name bind no answer."""
    import msgspec

    from bookgpt.answer import choose
    from bookgpt.answer.asking import question_names
    from bookgpt.answer.evidence import evidence
    from bookgpt.answer.retrieve import NAME_REACH, RARE_NAME, SentenceIndex
    from bookgpt.messages import AnswerJob

    index = SentenceIndex((shared_books / "canterbury_puzzles.txt").read_text("utf-8"),
                          framing=frozenset({stem("dudeney")}))
    australia = question_names("What is the capital city of Australia?")[0]
    uses = index.mentioned_at(australia)
    assert 1 <= len(uses) <= RARE_NAME
    assert not index.far_from(australia, uses[0] + NAME_REACH)
    assert index.far_from(australia, uses[-1] + NAME_REACH + 1)
    assert index.far_from(australia, uses[0] - NAME_REACH - 1)
    solution = index.solution_of(uses[0])  # the story is a puzzle, its solution far after it
    assert solution is not None and solution[0] > uses[-1] + NAME_REACH
    assert not index.far_from(australia, solution[0])
    squire = question_names("What did the Squire give?")[0]
    assert len(index.mentioned_at(squire)) > RARE_NAME
    assert not index.far_from(squire, len(index.sentences) - 1)
    assert not index.far_from(frozenset({stem("dudeney")}), len(index.sentences) - 1)

    # the evidence says which of its sentences stand far, and an answer cut from one has
    # confidence 0 (the merge passes over the book)
    question = "What is the capital city of Australia?"
    _, found = evidence(index, question, windows=3, follow=2)
    at = {s: k for k, s in enumerate(index.sentences)}
    assert all(e.far == index.far_from(australia, at[e.text]) for e in found)
    assert any(e.far for e in found) and not all(e.far for e in found)

    def chosen(far: bool) -> choose.Choice:
        job = AnswerJob(book_id="b", question=question, passage="", coverage=1.0,
                        evidence=[msgspec.structs.replace(e, far=far) for e in found])
        return choose.choose(job, choose.shortlist(job), None, 0.0)

    assert chosen(far=False).confidence > 0.0
    assert chosen(far=True).confidence == 0.0
    # the sentences near Australia say nothing of a capital city: the far ones stay in the
    # shortlist (and decline, when one of them is chosen)
    job = AnswerJob(book_id="b", question=question, passage="", coverage=1.0, evidence=found)
    far = {e.text for e in found if e.far}
    assert any(c.sentence in far for c in choose.shortlist(job))


def test_a_sentence_near_a_rare_name_that_says_more_of_the_question_answers(shared_books):
    """"How many doors are there on each side of the Square at Little Mendip?": the puzzle's
    statement in the answers' chapter ("A Square has 20 doors on each side") stands far from
    Little Mendip, the story's "Twenty doors on a side!" near it, and it answers: the far
    sentences answer nothing while a near one says something of the question besides the name."""
    from bookgpt.answer import choose
    from bookgpt.answer.evidence import evidence
    from bookgpt.answer.retrieve import SentenceIndex
    from bookgpt.messages import AnswerJob

    index = SentenceIndex((shared_books / "tangled_tale.txt").read_text("utf-8"))
    question = "How many doors are there on each side of the Square at Little Mendip?"
    _, found = evidence(index, question, windows=4, follow=2)
    assert any(e.far for e in found)
    job = AnswerJob(book_id="b", question=question, passage="", coverage=1.0, evidence=found)
    chosen = choose.choose(job, choose.shortlist(job), None, 0.0)
    assert chosen.answer == "Twenty doors" and chosen.confidence > 0.0


def test_a_question_naming_a_books_author_is_about_that_book(shared_books, monkeypatch):
    """"What does Hardy say about the squaring of the circle?" is for Hardy's Course of Pure
    Mathematics, though De Morgan's Budget of Paradoxes speaks of circle-squaring far more: a
    question that names the author of a book on the shelf is asked of that book first."""
    from bookgpt.answer import retrieve, route
    from bookgpt.crawl.extract import latex_to_text
    from bookgpt.messages import AskRequest
    from bookgpt.router import BookRouter

    monkeypatch.setattr(retrieve, "SEMANTIC_WEIGHT", 0.0)  # words alone: no encoders to train
    hardy = latex_to_text((shared_books / "tex" / "course_of_pure_mathematics.tex")
                          .read_text("utf-8"))
    books = {"hardy": ("A Course of Pure Mathematics, by G. H. Hardy", hardy),
             "budget": ("A Budget of Paradoxes, by Augustus De Morgan",
                        (shared_books / "budget_of_paradoxes_vol1.txt").read_text("utf-8"))}
    router = BookRouter.build(books, passage_chars=1200)

    def first(question: str) -> str:
        return route.route_request(router, AskRequest(question=question), list(books), 2,
                                   0.01)[0].book_id

    assert first("What does Hardy say about the squaring of the circle?") == "hardy"
    assert first("What does De Morgan say about the squaring of the circle?") == "budget"
    monkeypatch.setattr(route, "AUTHOR_SHARE", 0.0)  # the router and the windows alone
    assert first("What does Hardy say about the squaring of the circle?") == "budget"


def test_a_question_about_a_year_after_the_books_latest_is_declined(shared_books):
    """A book tells nothing of a year after the latest it says: Flatland's latest is "the year
    2000" its narrator dreams of, so "in July 2012" is declined, and "in 1999" is not."""
    from bookgpt.answer.kinds import years_said
    from bookgpt.answer.route import route_request
    from bookgpt.messages import AskRequest
    from bookgpt.router import BookRouter

    assert years_said("Which particle was found in July 2012, and in the early 2000s?") == [
        2012, 2000]
    assert years_said("Nearly 2000 years before, 1728 cubes were cut (1840).") == [1840]
    assert years_said("The sum from 1 to 2024 of the 2000 men, in 1500 B.C.") == []
    assert years_said("In 1905 was it so? In the 1850s it was.") == [1905, 1850]
    from bookgpt.crawl.extract import strip_gutenberg

    text = strip_gutenberg((shared_books / "flatland.txt").read_text("utf-8"))  # no 2008 e-book
    router = BookRouter.build({"flatland": ("Flatland, by Edwin A. Abbott", text)},
                              passage_chars=600)
    assert router.sentence_index("flatland").latest_year == 2000

    def ask(q: str):
        return route_request(router, AskRequest(question=q), ["flatland"], 2, 0.01)

    later = ask("What did the Sphere proclaim to the Square in the year 2012?")
    assert later == [] and "2012" in later.reason, later.reason
    assert [r.book_id for r in ask("What did the Sphere proclaim to the Square in 1999?")] == [
        "flatland"]


def test_a_rare_name_in_a_heading_binds_the_answer_to_its_whole_section():
    """A chapter named "The Dead Reckoning" speaks of it all through, however long: an answer
    anywhere in that chapter stands near the name, one in the next chapter does not."""
    from bookgpt.answer.asking import question_names
    from bookgpt.answer.retrieve import NAME_REACH, SentenceIndex

    def walks(tag: str, n: int) -> str:
        return " ".join(f"The keeper {tag} walked the cliff path on night {i} and watched the "
                        f"grey sea." for i in range(n))

    long = NAME_REACH + 30
    index = SentenceIndex(f"THE OLD LIGHTHOUSE\n\n{walks('a', 5)}\n\nTHE DEAD RECKONING\n\n"
                          f"{walks('b', long)}\n\nTHE LAST WATCH\n\n{walks('c', long)}")
    name = question_names("In The Dead Reckoning, why did the keeper walk?")[0]
    (heading,) = index.mentioned_at(name)
    assert not index.far_from(name, heading + long)  # the chapter's last sentence
    assert index.far_from(name, heading + long + NAME_REACH)  # well into the next chapter


def test_a_book_that_says_the_questions_word_pairs_side_by_side_ranks_higher(monkeypatch):
    """Two books use every word of "How long does the spinning top keep its balance?", one with
    "spinning top" side by side: it gains `route.PAIR_SHARE` x its share of the question's word
    pairs in the books' ranking, the other nothing."""
    from bookgpt.answer import retrieve, route
    from bookgpt.messages import AskRequest
    from bookgpt.router import BookRouter

    monkeypatch.setattr(retrieve, "SEMANTIC_WEIGHT", 0.0)
    books = {"toys": ("Toys", "A spinning top will keep its balance for a long time on a smooth "
                              "floor. The boys kept the top spinning all afternoon."),
             "mill": ("Mills", "The top of the mill was spinning in the wind, a long time, and "
                               "the miller kept his balance on the ladder.")}
    router = BookRouter.build(books, passage_chars=200)
    question = "How long does the spinning top keep its balance?"
    assert router.sentence_index("toys").side_by_side(question) > 0.0
    assert router.sentence_index("mill").side_by_side(question) == 0.0

    def weights() -> dict[str, float]:
        return {r.book_id: r.weight for r in route.route_request(
            router, AskRequest(question=question), list(books), 2, 0.0)}

    monkeypatch.setattr(route, "PAIR_SHARE", 0.0)
    before = weights()
    monkeypatch.setattr(route, "PAIR_SHARE", 1.0)
    after = weights()
    assert after["toys"] > before["toys"] and after["mill"] < before["mill"]
