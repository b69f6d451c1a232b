"""Names as answers: who and where questions answered by the name alone, a name with what the
book calls it, names joined when two are asked for, and capitalised words that are no names
(a sentence's opening word, a label such as "Fig. 3", "a Yorkshireman"). The rest of cutting
answers: tests/test_candidates.py."""

from __future__ import annotations

from answering import first_answer

from bookgpt.answer.extract import candidates


def test_a_who_question_is_answered_by_the_name_alone():
    sents = [("Long after the survey was finished, the old harbour master Josiah Penberthy of "
              "Falmouth wrote down the tale of the wreck for his grandchildren.", 1.0)]
    best = first_answer("Who wrote down the tale of the wreck?", *sents)
    assert best == "Josiah Penberthy of Falmouth"
    where = first_answer("In which town did the harbour master live?", *sents)
    assert "Falmouth" in where and len(where.split()) <= 4
    # a name with its initials, which neither end a sentence nor are trimmed as function words
    sents = [("[See also a recent paper by F. R. Moulton on the lighthouses of the Cornish "
              "coast, printed in the Transactions of the Society.]", 1.0)]
    assert first_answer("Whose paper on the Cornish lighthouses does the editor recommend?",
                        *sents) == "F. R. Moulton"
    # after a title's stop a name goes on; after a label's colon a sentence starts
    from bookgpt.answer.kinds import marks
    assert "dweck" in marks("person", "Research by Dr. Dweck of the college shows it.")
    assert "distinguish" not in marks("person", "See Objective 1: Distinguish the two kinds.")
    # a name with a capital inside it is whole ("FitzGerald", not "Fitz"), and a people's
    # adjective before what the book calls a person describes him ("the Russian mathematician
    # Friedman" answers "Friedman", not "Russian")
    assert first_answer("Together with the admiral, who charted the reef?", (
        "The admiral and FitzGerald charted the reef in a single season.", 1.0)) == "FitzGerald"
    assert first_answer("Which astronomer first mapped the reef?", (
        "Already in those years the Cornish astronomer Penrose mapped the reef.", 1.0)) == "Penrose"
    # "whose measurements" asks who they are by: "measurements by Tregear", not the other name
    assert first_answer("Whose careful soundings found the reef's true depth?", (
        "The chart of Admiral Hawke had marked the reef, and the pilots trusted it.", 1.0), (
        "Later, careful soundings by Tregear found its true depth of nine fathoms.", 0.9)) == (
        "Tregear")
    # a kind of person after "a" is no name ("a Cornishman", "probably a Greek")
    assert first_answer("Who does the keeper name as the first sailor to round the cape?", (
        "The first sailor to round the cape was a Cornishman--no other than Trelawny, master of "
        "the Falcon.", 1.0)) == "Trelawny"
    # a label of the book's own parts names no one: "Fig. 3", "Theorem", "Chapter IV"
    assert first_answer("Which physicist measured how fast the water ran through the pipe?", (
        "How quickly does the water run through the pipe (see the diagram, Fig. 3) when the "
        "physicist Tregarthen opens the valve?", 1.0)) == "Tregarthen"
    assert not marks("person", "as we proved in Theorems 4 and 5 of Chapter II (see Figs. 3, 4).")


def test_a_name_stands_as_near_the_question_as_its_clauses_and_its_best_sentence_counts():
    """A name cut out of its clause is as near the words echoing the question as the clauses
    around it ("Cassini", not the clause before it trimmed to "theory of gravitation requires,
    and Cassini"); and a name two sentences give is scored from the better one (it had kept the
    first sentence read, the one that only names him in passing)."""
    sents = [("Long quarrels arose between the harbour men who believed the reef moved, as the "
              "old charts require, and Penrose, who held that it stood still.", 1.0)]
    assert first_answer("In the quarrel with the harbour men, who held that the reef stood "
                        "still?", *sents) == "Penrose"
    sents = [("The charts of the coast were kept by Penrose in the harbour office.", 0.9),
             ("It was Trelawny who drew the first chart, but Penrose had surely drawn the reef "
              "on his own before him.", 1.0)]
    got = candidates("Who, besides Trelawny, drew the reef first?", sents)
    assert got[0].text == "Penrose" and got[0].sentence.startswith("It was Trelawny"), got[:3]


def test_a_which_question_takes_the_name_beside_the_kind_it_asks_for():
    """"Which planet ...?": the name the sentence gives beside "planet" is the answer, not the
    clause around it."""
    sents = [("The sole exception among the orbits is Mercury, the planet which lies nearest the "
              "sun, whose ellipse turns slowly.", 1.0)]
    assert candidates("Which planet has an orbit whose ellipse turns slowly?", sents)[0].text == "Mercury"
    assert candidates("What turns slowly in the orbit?", sents)[0].text != "Mercury"
    # the kind a name owns is part of the answer: "Pascal's theorem", not "Pascal"
    sents = [("The whole theory of areas rests, as we shall see, upon Pascal's theorem alone.", 1.0)]
    assert candidates("Which theorem does the theory of areas rest upon?", sents)[0].text == (
        "Pascal's theorem")
    # ... and so does a "which" that ends the question
    assert candidates("The theory of areas rests upon which theorem?", sents)[0].text == (
        "Pascal's theorem")


def test_a_word_that_only_opens_its_sentence_is_no_name_beside_one_inside():
    """"Let", "Perhaps" stand capitalised where any word does; a name inside a sentence
    ("Prof. H. S. Carslaw") answers a "who" before them."""
    got = candidates("From whose textbook did the author take the piston example?", [
        ("Let a gas be compressed under a piston.", 1.0),
        ("I borrow this piston example from the textbook of Prof. H. S. Carslaw.", 0.9)])
    assert got[0].text.endswith("H. S. Carslaw")


def test_names_together_and_with_their_apposition():
    sents = [("The first mail coach ran from Bristol to Bath in the spring of that year.", 1.0)]
    # two asked for: the names together ("towns", plural, asks for a place too)
    best = first_answer("Between which two towns did the first mail coach run?", *sents)
    assert best == "Bristol to Bath"
    # one asked for: one name
    assert first_answer("Which town did the first mail coach leave?", *sents) == "Bristol"
    # which thinker: the name with what the book calls him, on either side of it
    sents = [("The famous Danish astronomer Brahe held that the comet lay beyond the moon.", 1.0)]
    best = first_answer("Which thinker held that the comet lay beyond the moon?", *sents)
    assert best == "Danish astronomer Brahe"
    sents = [("The tale was first told by Hallam, the Cornish historian, in a letter home.", 1.0)]
    best = first_answer("Which writer first told the tale?", *sents)
    assert best == "Hallam, the Cornish historian"
    # a name keeps its title's abbreviation and its hyphened parts ("Mr. Pell", "North-Eastern")
    sents = [("The lighthouse was first lit by Mr. Pell, who kept it for forty years.", 1.0)]
    assert first_answer("Who first lit the lighthouse?", *sents) == "Mr. Pell"
    sents = [("When the gale came the fishing boats lay in the North-Eastern harbour.", 1.0)]
    assert first_answer("Where did the fishing boats lie when the gale came?", *sents) == (
        "North-Eastern")


def test_where_and_where_is_answered_by_both_places():
    got = first_answer("Where was the old keeper born, and where did he die?", (
        "The old keeper, who was born in Penzance in 1801 and died at Falmouth in 1870, kept the "
        "light for forty years.", 1.0))
    assert "Penzance" in got and "Falmouth" in got, got


def test_names_with_accented_letters_are_whole_names():
    assert first_answer("Where did the professor first lecture on geometry?", (
        "He gave these lectures at the University of Göttingen in the winter.", 1.0)
    ) == "University of Göttingen"
    got = [c.text for c in candidates("Who measured the arc with him?", [
        ("The arc was measured by Delambre and by his colleague Méchain.", 1.0)])]
    assert "Méchain" in got and not any(t.endswith(" M") or t == "chain" for t in got)
    assert first_answer("Who proved it?", ("The theorem was proved by Paul Erdős in a short "
                                          "note.", 1.0)) == "Paul Erdős"
    assert first_answer("Who introduced it?", ("The cohomology was introduced by Eduard Čech "
                                              "later.", 1.0)) == "Eduard Čech"
