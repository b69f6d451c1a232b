"""What a question's own shape asks for, and the candidates that give it: the one of two answers
it offers, the object of the preposition it asks with, both parts of a two-part question, a place
after a locative, names described in the question's words (`bookgpt.answer.asking`,
`bookgpt.answer.extract`), on hand-written sentences."""

from __future__ import annotations

from answering import first_answer

from bookgpt.answer.asking import Asked
from bookgpt.answer.clauses import split_clauses
from bookgpt.answer.kinds import COMPARED
from bookgpt.text import stem


def test_a_question_that_offers_two_answers_gets_the_one_its_sentence_takes():
    """"Is it X or Y?": the offered answers are the question's own words, which no other
    candidate may be; a sentence naming both takes one ("an art rather than a science", "not a
    trade but a craft") or neither ("neither hot nor cold"); one naming only one need not."""
    assert Asked.of("Is the old mill a granary or a chapel?").offered == (
        stem("granary"), stem("chapel"))
    assert Asked.of("Who sailed first, Cabot or Hudson?").offered == (stem("cabot"), stem("hudson"))
    assert Asked.of("Can a wall be built with two or three stones?").offered == ()  # a number
    assert Asked.of("What is the difference between a granary or a chapel?").offered == ()
    assert Asked.of("Is the old mill a granary?").offered == ()
    q = "Does the keeper think of lamp-trimming as a trade or a craft?"
    said = [("The keeper held that lamp-trimming is a craft rather than a trade, learnt by doing.",
             1.0)]
    assert first_answer(q, *said) == "craft"
    said = [("Lamp-trimming, he said, is not a _trade_, but a _craft_ of the cliffs.", 1.0)]
    assert first_answer(q, *said) == "craft"
    said = [("Lamp-trimming, he said, is neither a trade nor a craft, but a duty.", 1.0)]
    assert first_answer(q, *said) == "neither"
    said = [("The keeper learnt his craft from his father on the cliffs.", 1.0)]
    assert first_answer(q, *said) != "craft"


def test_a_question_asking_a_prepositions_object_gets_it_with_its_preposition():
    """"Through what ...?", "From which side ...?": the answer stands after the same preposition
    in the sentence (not after a negated one), and reads with it; "by what means", "in what
    sense", a figure's or a time's preposition ("at what angle", "in what year") ask no such
    object."""
    assert Asked.of("Through what did the river shape the valley?").prep == "through"
    assert Asked.of("Through what, chiefly, did the river shape the valley?").prep == "through"
    assert Asked.of("In the old town, from which side does the wind blow?").prep == "from"
    assert Asked.of("To whom did the keeper leave the lamp?").prep == "to"
    # a relative clause after a comma asks nothing ("..., to whom the lamp was left")
    assert Asked.of("Who was the keeper, to whom the lamp was left?").prep == ""
    # a place asked for is a name, not any phrase after "in"; a set phrase is no answer
    said = ("Dorrit died in great pain in the spring of that year, at his house in England.", 1.0)
    assert first_answer("In which country did Dorrit die?", said) == "England"
    for q in ("By what means did they cross the river?", "In what sense is the lamp old?",
              "For what purposes was the tower built?", "At what angle does the road climb?",
              "In what year was the tower built?", "What did the river shape?"):
        assert Asked.of(q).prep == "", q
    said = ("It was, in the end, through the floods, and not through its slow wearing of the "
            "rock, that the river chiefly shaped the valley.", 1.0)
    assert first_answer("Through what has the river chiefly shaped the valley?", said) == (
        "through the floods")
    # "to whom": the object of "to", name or not, and not the relative "to whom" itself
    said = ("I kept to the rule of that wise keeper J. Trelawny, according to whom all lamps "
            "ought to be left to the boatmen.", 1.0)
    assert first_answer("According to the keeper, to whom should the lamps be left?", said) == (
        "to the boatmen")
    said = ("The travellers in the hill country reckon distances in hours of walking, leaving "
            "miles to the map-makers.", 1.0)
    assert first_answer("In hill country, in what unit are distances reckoned?", said) == (
        "in hours of walking")


def test_a_question_asking_two_things_gets_both_from_one_sentence():
    """"Who ..., and in what year?", "When and where ...?": the kind of the other part is read, and
    a candidate answering one part takes what its sentence gives of the other; a question of one
    part, or whose other part no text marks ("and why ...?"), asks nothing more."""
    assert Asked.of("Who built the lighthouse, and in what year?").also == "person"
    assert Asked.of("When and where did the old guild of weavers meet?").also == "place"
    for q in ("In the old town, from which direction does the wind blow?",
              "What did the keeper do when the storm came and when the lamp failed?",
              "When the storm came, which two boats stayed out?",
              "Did the keeper light the lamp, and why did he stop?"):
        assert Asked.of(q).also == "", q
    said = ("The lighthouse was built in 1791 by the engineers Thomas Ledger and Walter Crane, "
            "who came from the north.", 1.0)
    answer = first_answer("Who built the lighthouse, and in what year?", said)
    assert "1791" in answer and "Thomas Ledger and Walter Crane" in answer
    said = ("The weavers' guild met from 1717 to 1845 in Spitalfields, near the river.", 1.0)
    answer = first_answer("When and where did the weavers' guild meet?", said)
    assert "1717" in answer and "Spitalfields" in answer


def test_a_place_asked_for_stands_after_a_locative_preposition():
    """"Where ...?": of the names in a sentence, one after "at", "in", "from" (a word or two
    between) is a place; one after "of" names something else ("the shrine of Saint Anne")."""
    said = ("A band of drovers, on their road to the shrine of Saint Anne, gathered at the old "
            "Crown Inn before they rode.", 1.0)
    assert first_answer("Where did the drovers gather before they rode?", said) == "Crown Inn"


def test_who_is_answered_by_the_names_a_sentence_describes_in_the_questions_words():
    """"Who designed the maze?": "... by Hobbs and Lane, the designers of the Kew maze, from
    their book _The Garden_" gives the names before the apposition, not the book's title."""
    said = ("Of the plans I give, one is by Hobbs and Lane, the designers of the Kew maze, "
            "from their book, _The Garden Plan_, of 1706.", 1.0)
    assert first_answer("Who were the designers of the famous hedge maze at Kew?", said) == (
        "Hobbs and Lane")


def test_who_is_answered_by_a_person_not_by_a_name_where_a_place_stands():
    """"Who ...?": a name right after "in" or "at" ("in the Preface") stands where a place does,
    unless it owns something ("in Abel's proof"), and a name with a title or initials ("Mr. Silas
    Wren", "M. Dupin") is surely a person's."""
    said = ("Mr. Silas Wren, of Bristol, tells me that, after reading my remark in the Preface, he "
            "took up the case of eleven and at last showed the number to be a prime.", 1.0)
    assert first_answer("Who showed that the number made of eleven ones is a prime?",
                        said) == "Mr. Silas Wren"
    said = ("The forged letter was written, and posted to Paris, chiefly in the hope of deceiving "
            "M. Dupin, the prefect's old rival, into believing it.", 1.0)
    assert first_answer("Whom was the forged letter chiefly meant to deceive?", said) == "M. Dupin"
    from bookgpt.answer.extract import _placed
    assert _placed("Preface", "after reading my remark in the Preface, he wrote")
    assert not _placed("Abel", "Nobody saw the flaw in Abel's proof until Hansteen did.")


def test_how_one_thing_compares_with_another_is_answered_by_a_comparative():
    """"How does X compare with Y?" asks for more, less or the same ("a smaller number", "equal
    to it"), not for any clause that restates X."""
    assert Asked.of("How does the rope's length compare with the tower's height?").kind == (
        "comparison")
    said = ("When the keeper measured the rope against the tower, he found that the rope's length "
            "was a smaller number of feet, whereas the old plans had given it as the tower's "
            "height exactly.", 1.0)
    assert first_answer("How does the rope's length compare with the tower's height?",
                        said) == "smaller number of feet"
    # "no longer" and "rather than" compare nothing; a footnote's mark after a comma ends a clause
    assert not COMPARED.search("it is no longer painted, rather than gilded")
    plain = "he will not obtain the number p, but a larger number,** whereas of course it is"
    assert "but a larger number" in [plain[a:b] for a, b in split_clauses(plain)]


def test_which_of_two_offered_is_more_so_is_read_from_a_comparison():
    """"Which rule is more useful, Horner's or Newton's?": "... more useful than Newton's" takes
    the other one, "... less useful, in practice, than Newton's" takes Newton's; names with an
    apostrophe are offered too."""
    question = "Which rule is more useful in practice, Horner's or Newton's?"
    assert len(Asked.of(question).offered) == 2
    said = ("For hand work Horner's rule is more useful than Newton's, though both are old.", 1.0)
    assert first_answer(question, said) == "Horner's"
    said = ("We shall find that Horner's is less useful, in practice, than Newton's, for Newton's "
            "rule needs no table.", 1.0)
    assert first_answer(question, said) == "Newton's"


def test_where_and_in_what_year_takes_the_place_and_an_early_year():
    """"Where and in what year was he born?": the place answers the question's kind, and a year
    before 1000 said after "in" ("in 812") answers its second part; the place alone is no
    figure-less failure of "in what year" (its confidence stays)."""
    from bookgpt.answer.choose import choose, shortlist
    from bookgpt.messages import AnswerJob, Evidence

    question = "Where and in what year was the abbot Wulfric born?"
    said = ("The oldest of these riddles is by the abbot Wulfric, who was born at Whitby in 812 "
            "and died at Rheims, an old man.")
    assert first_answer(question, (said, 1.0)) == "Whitby, 812"
    job = AnswerJob(book_id="b", question=question, passage="", coverage=1.0,
                    evidence=[Evidence(text=said, match=1.0, window=0, follows=False, echo=1.0)])
    cands = [c for c in shortlist(job) if c.text == "Whitby"]
    assert cands and choose(job, cands, None, 0.0).confidence > 0.0


def test_which_two_places_takes_both_names_with_their_brackets_and_kinds():
    """"To which two places were the ships sent?": "to Corfu (Greece), and to the island of Malta
    (Mediterranean)" is one answer, not "Corfu" alone (half of it)."""
    said = ("The admiralty fitted out two ships -- to Corfu (Greece), and to the island of Malta "
            "(Mediterranean) -- and sent its best surveyors with them.", 1.0)
    assert first_answer("To which two places were the admiralty's ships sent?", said) == (
        "Corfu (Greece), and to the island of Malta (Mediterranean)")


def test_what_a_word_means_is_read_after_the_saying():
    """"What does 'to wobble' mean?": what follows "meaning", "we mean that", "signifying" is what
    the sentence says the word means, and it beats the clause that restates the question; not for
    where a word comes from."""
    said = ('In the talk of the river folk the verb "to wobble" is used in a sense of its own, '
            'meaning, "to-cross-the-weir-without-a-pole"; and the old men frown at it.', 1.0)
    assert first_answer("Among the river folk, what does the verb 'to wobble' mean?", said) == (
        "to-cross-the-weir-without-a-pole")
    said = ("The word \"staithe\" is derived from an old word signifying the landing place of a "
            "boat.", 1.0)
    assert first_answer("Where does the word \"staithe\" come from?", said).startswith(
        "derived from")
    from bookgpt.answer.stated import said_meanings  # "by means of" says no meaning
    assert said_meanings("He raised it by means of a pole, and a staithe means a landing place.",
                         Asked.of("What does staithe mean?")) == ["a landing place"]
