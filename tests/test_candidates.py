"""Cutting the answer from the sentences that answer a question: what a question asks for
(`bookgpt.answer.asking`) and the candidates cut and scored for it (`bookgpt.answer.extract`), on
hand-written sentences. Figures and measures: tests/test_figures.py. A book's choice and its
confidence: tests/test_choose.py. What a question's own shape asks (two offered answers, a
preposition's object, two parts): tests/test_question_shapes.py. Names of people and places:
tests/test_names.py."""

from __future__ import annotations

import pytest

from answering import first_answer

from bookgpt.answer.asking import Asked, answer_type
from bookgpt.answer.extract import candidates
from bookgpt.text import stem


@pytest.mark.parametrize("question, kind", [
    ("How many sides has a hexagon?", "number"),
    ("What is the minimum count of biscuits there could have been?", "number"),
    ("At least what percentage lost all four?", "number"),
    ("What is the quantity of motion called?", "meaning"),
    ("Who discovered the law of gravitation?", "person"),
    ("In what year was the treaty signed?", "time"),
    ("Why does the stone fall?", "reason"),
    ("What does the word 'hypotenuse' mean?", "meaning"),
    ("When the storm came, which bridge was closed?", "thing"),  # the asking clause counts
    ("In which crowded seaside town did they stay?", "place"),
    ("Which famous old astronomer measured it?", "person"),
    ("Why did it fail when the wind rose?", "reason"),  # the first asking word counts
    ("Where does the custom of ringing the bell come from?", "meaning"),  # an origin
    ("What were the town's children singing at the fair?", "thing"),  # "town" is not asked
    # a relative "who" asks nothing; what someone says is a claim
    ("What did the captain say about sailors who deserted?", "claim"),
    ("What lesson did the old sailor learn from the wreck?", "claim"),
    ("What do we mean when we say two clocks agree?", "meaning"),
    # a clause asks with its first words: "as when" later on is no asking clause
    ("What does the book call a rate, as when a cart rolls by?", "thing"),
    ("To whom did she write the letter?", "person"),
    ("How fast does sound travel?", "speed"),  # a measure: a number with its unit
    ("What is the velocity of light?", "speed"),
    ("How far is the lighthouse from the harbour?", "length"),
    ("How heavy was the anchor?", "mass"),
    ("What was the price of the horse?", "money"),
    ("How long did the voyage last?", "measure"),  # a length or a time
    ("What is the name of the keeper's boat?", "person"),  # a name, as "who" asks for one
    ("Which prison does the convict example name?", "place"),
    ("At which university did he lecture?", "place"),
    ("Name the author of the tract.", "person"),
    ("At what hour did the coach leave the inn?", "time"),
    ("What is the capital city of the island?", "place"),
    ("At what temperature does the water boil?", "temperature"),
    ("What is the currently accepted value of the constant?", "number"),
    ("When is a triangle called right-angled?", "condition"),  # "when" in the present
    ("In the second chapter, when can a quantity be neglected?", "condition"),
    ("When did the old mill stop turning?", "time"),  # ... in the past, a time
    # a question that names a reason as what it asks for
    ("What argument did the miller use to claim the wheel was sound?", "reason"),
    ("For what purpose was the wall built?", "reason"),
    ("What causes the tides?", "reason"),
    # after a "what", a "when" or a "where" opens a clause of the question, asking no time or place
    ("What song did the miller sing when the wheel stopped?", "thing"),
    ("What do you call a bridge where two roads cross?", "thing"),  # (a name asked for)
    ("Who was keeper when the storm came?", "person"),
    ("What happens to the tide when the moon is full?", "thing"),
    ("Who, when the old keeper died, took over the lamp?", "person"),  # ... in its own clause
])
def test_answer_type_from_the_asking_clause(question, kind):
    assert answer_type(question) == kind


def test_candidates_answer_what_the_question_asks():
    sents = [("The lighthouse keeper counted exactly forty-two ships in the harbour that winter, "
              "and he wrote the number in his log.", 1.0)]
    best = first_answer("How many ships did the lighthouse keeper count in the harbour?", *sents)
    assert "forty-two" in best and "keeper" not in best
    sents = [("The bridge was closed for a week, because the river had risen above its arches.",
              1.0)]
    best = first_answer("Why was the bridge closed?", *sents)
    assert "river had risen" in best


def test_a_sentence_labelled_as_the_answer_answers():
    """A puzzle book's "_Answer._--" (or "Solution:") states the answer outright: its sentence
    beats a better-matching one that only talks about the puzzle, and the label is no answer."""
    q = "A ferry leaves every quarter of an hour. How long must the walker wait for the next ferry?"
    sents = [("The walker, says one solver, must wait every 6 minutes for a ferry, but he is "
              "wrong about the walker.", 1.0),
             ("_Answer._--In 7-1/2 minutes.", 0.7)]
    got = candidates(q, sents)
    assert got[0].text == "7-1/2 minutes" and got[0].sentence.startswith("_Answer")
    assert not any(c.text.lower().strip("_.") == "answer" for c in got)
    # ... nor is any label alone
    got = candidates(q, [("_Problem 2._--A ferry leaves the quay every quarter of an hour.", 1.0)],
                     limit=50)
    assert not any(c.text.lower().strip("_. ").startswith("problem") for c in got)
    # a sentence that only starts with the word is no label
    plain = candidates(q, [("Answer me this: must the walker wait 9 minutes?", 0.7)])
    assert all(c.score < got[0].score for c in plain)
    # a labelled answer that goes on to its reasons past a colon: what it says before the colon
    # is the answer, though the whole is too long to be one, and it beats the puzzle restated
    q = "How should the farmer share twenty-four sheep among four pens so that each pen is odd?"
    sents = [("_Problem._--Share twenty-four sheep among four pens so that each pen holds an odd "
              "number.", 1.0),
             ("_Answer._--Put 7 sheep in the first pen, 5 in the second, 9 in the third, and 3 in "
              "the fourth: for 7, 5, 9 and 3 are odd; and together they make up the whole flock of "
              "twenty-four.", 1.0)]
    assert first_answer(q, *sents) == ("Put 7 sheep in the first pen, 5 in the second, 9 in the "
                                       "third, and 3 in the fourth")
    # a sentence that says what the answer is: that, to its closing quote or its clause's end
    sents = [('Few saw that the correct answer is "one-third," though the master explained it '
              "twice over to the four boys.", 0.9),
             ("The boys said four-fourths exceed three-fourths by a fourth.", 1.0)]
    best = first_answer("By what fractional part does four-fourths exceed three-fourths?", *sents)
    assert best == "one-third"


def test_a_reason_is_the_clause_after_its_because():
    # "because" is a stop word and is trimmed off the answer, but the piece still holds a reason
    sents = [("The old mill stopped turning in the summer, because the stream that fed its wheel "
              "had dried up to a trickle.", 1.0),
             ("In the summer the miller went fishing on the lake and sold his flour at the "
              "market.", 0.9)]
    best = first_answer("Why did the old mill stop turning in the summer?", *sents)
    assert best == "stream that fed its wheel had dried up to a trickle"
    # a reason the sentence names as such: "has its justification in the fact that", "their
    # only reason for it is that"
    from bookgpt.answer.kinds import type_fit
    assert type_fit("reason", "this choice has its justification in the fact that all points "
                              "on it are equivalent", set()) == 1.0
    assert type_fit("reason", "Their only reason for their assertion (as stated below) is that "
                              "without it the laws fail", set()) == 1.0
    assert first_answer("Why do the keepers say the tide rises?", (
        "Their only reason for saying so is that the moon pulls the water.", 1.0)) == (
        "moon pulls the water")
    # a long reason is cut to its first words, its lead ("owing to the fact that") dropped, and
    # a bracket inside a word ("R[1]") does not end its clause
    sents = [("The lamp could not be lit, owing to the fact that the oil in its reservoir R[1] "
              "had leaked away through a crack which the keeper of the light had never seen in "
              "all his years of service.", 1.0)]
    got = [c.text for c in candidates("Why could the lamp not be lit?", sents)]
    assert got[0].startswith("oil in its reservoir R[1] had leaked away")
    assert not any(t.lower().startswith(("owing", "fact")) for t in got)
    # a purpose is a reason too: "as a means of", "so as to", "for the sake of"
    sents = [("The monks walked the long stone maze on their knees every Lent, as a means of "
              "penance for the sins of the year.", 1.0),
             ("The stone maze in the abbey floor was laid in the year of the great fire.", 1.0)]
    best = first_answer("Why did the monks walk the stone maze?", *sents)
    assert "penance" in best
    # "for" after a stop is a conjunction that gives a reason; "waited for the boat" gives none
    sents = [("The cottages on the island have no chimneys: for the winters there are as warm as "
              "the summers.", 1.0),
             ("The islanders waited for the boat that brought the island its coal.", 1.0)]
    best = first_answer("Why do the island cottages have no chimneys?", *sents)
    assert best.startswith("winters there are as warm")
    # a means answers a "how": "by" before a verb's "-ing" form, not "by the stile"
    sents = [("The ferryman brought the goat across the river first, by rowing it over alone "
              "in his smallest boat.", 1.0),
             ("The ferryman lived by the river with his goat in a cottage of grey stone.", 1.0)]
    best = first_answer("How did the ferryman bring the goat across the river?", *sents)
    assert "rowing it over alone" in best
    # a sentence that names its reason ("The reason was that ...") gives it, lead dropped
    sents = [("The young astronomer published his first treatise in Padua, far from his "
              "college in Aberdeen.", 1.0),
             ("The reason was that he had been studying medicine in Italy for three years.", 1.0)]
    got = [c.text for c in candidates("Why did the young astronomer publish his treatise in "
                                      "Padua?", sents)]
    assert "studying medicine in Italy" in got[0]
    assert not any(t.lower().startswith("reason") for t in got)
    # ... but "the reason is not known" names none
    got = [c.text for c in candidates("Why did the astronomer leave Padua?", [
        ("The reason is not known; the astronomer left Padua in the spring.", 1.0)])]
    assert not any(t.lower().startswith(("known", "not known")) for t in got)


def test_a_condition_is_the_clause_after_its_when():
    sents = [("Long ago the fishermen of the bay would put out to sea with their nets, and they "
              "came home only when the tide turned against the wind in the evening.", 1.0),
             ("The fishermen of the bay put out to sea in their small brown boats.", 1.0)]
    best = first_answer("When do the fishermen of the bay come home?", *sents)
    assert best == "tide turned against the wind in the evening"


def test_the_focus_of_a_cleft_answers():
    """"It was X who ...": X is what a which/who question asks for, however short."""
    sents = [("It was Tremayne--the old keeper of the northern light, as the ballad tells--who "
              "first rang the storm bell over the bay.", 1.0),
             ("The storm bell over the bay was rung by the keepers of the light on wild nights.",
              1.0)]
    assert first_answer("Which keeper first rang the storm bell over the bay?", *sents) == \
        "Tremayne"
    # "It is familiar knowledge that ..." puts nothing in focus
    plain = candidates("What is familiar knowledge about the bay?",
                       [("It is familiar knowledge that the bay freezes in winter.", 1.0)])
    assert all(c.text.lower() != "familiar knowledge" for c in plain)


def test_a_claim_is_the_clause_after_its_that():
    sents = [("In a letter home the old sailor admitted, with some shame, that he had never once "
              "seen the southern lights in forty years at sea.", 1.0),
             ("The old sailor wrote many letters home to his sister.", 1.0)]
    best = first_answer("What did the old sailor admit in a letter home?", *sents)
    assert best.endswith("seen the southern lights in forty years at sea")
    assert not best.startswith(("admitted", "that"))


def test_a_linking_word_starts_no_answer_and_is_none():
    # "Accordingly", "Finally": they tie a sentence to the one before and answer nothing
    for q, sent, want in [
            ("What did the town council do about the old bridge?",
             "Accordingly, the town council voted to pull down the old bridge and build a ferry.",
             "voted to pull down the old bridge and build a ferry"),
            ("How did the sailors name the island?",
             "Consequently, the sailors named it Fog Island after the mist that hid it.",
             "named it Fog Island after the mist that hid")]:
        got = [c.text for c in candidates(q, [(sent, 1.0)])]
        assert got[0] == want
        assert not any(t.split()[0].strip(",").lower() in ("accordingly", "consequently")
                       for t in got)


def test_two_things_asked_for_are_answered_by_a_coordination():
    sents = [("In those days the town's guild recognised two rules, namely, the rule of the "
              "closed shop and the rule of the fixed price these were never written down.", 1.0)]
    best = first_answer("Which two rules did the town's guild recognise?", *sents)
    # ("rule", the question's own word, is trimmed from the front)
    assert best == "closed shop and the rule of the fixed price"
    # "two" outside the asking phrase asks for nothing twice
    assert not Asked.of("Why did the two-wheeled cart overturn?").many
    assert not Asked.of("Which three-letter word opened the lock?").many


def test_asides_and_long_pieces_are_no_answers():
    sents = [("In short, for example, the keeper of the old lighthouse on the northern cape of the "
              "island, who had watched the sea there for many long and stormy years, counted the "
              "ships.", 1.0)]
    got = [c.text for c in candidates("What did the keeper count?", sents)]
    assert got and not any(t.lower().startswith(("short", "example", "in short", "for example"))
                           for t in got)
    assert all(len(t.split()) <= 20 for t in got)
    # an aside that holds what is asked stays: a place
    got = [c.text for c in candidates("Where was Alcuin buried?",
                                      [("He was buried, at Tours, in his old age.", 1.0)])]
    assert "Tours" in got[0] and "Tours" in got
    # a heading in capitals frames its window but answers nothing
    got = [c.text for c in candidates("What does the keeper's word mean?", [
        ("ANSWERS TO THE KEEPER'S RIDDLE.", 1.0),
        ("The keeper's word means a lamp that never goes out.", 0.8)])]
    assert got and not any(t.isupper() for t in got)
    # who speaks is not what was said: a quotation's tag is cut off, alone it is no answer
    sents = [('"They weighed the sacks five times," the Captain said, "and the scales broke."',
              1.0)]
    got = [c.text for c in candidates("How often were the sacks weighed?", sents, limit=50)]
    assert "five times" in got
    assert not any("said" in t or t.lower() == "captain" for t in got)


def test_a_question_asking_what_something_is_called_gets_the_name_given():
    """"What is X called?" is answered by the name a sentence gives: after a passive naming verb
    its clause, after an active one the last part of its clause, and the name keeps its last
    words even when the question has them ("... number system")."""
    q = "What is a number system called in which multiplication is not commutative?"
    assert first_answer(q, ("In such a number system multiplication is not commutative, and "
                            "the laws of operation hold otherwise.", 1.0),
                        ("We will call such a system, briefly, a skew number system.", 0.85)
                        ) == "skew number system"
    q = "What is the ratio of a body's weight to that of an equal volume of water called?"
    assert first_answer(q, ("This ratio is the same for any lump of one metal: it is called the "
                            "specific gravity of the metal, and depends on its nature only.", 1.0)
                        ) == "specific gravity of the metal"
    # "the first term" is a noun, not a naming verb
    assert first_answer(q, ("The first term, the ratio, and the sum fix the series.", 1.0),
                        ("We call such a system, in short, a skew number system.", 0.9)
                        ) == "skew number system"
    # "what do X call Y" asks for a name, and a quoted name after who calls it so is the name
    q = "What do keepers of the old lights call a wave that breaks twice?"
    assert first_answer(q, ("The pilots dread a wave that breaks twice--called by the keepers of "
                            'the old lights "doublers."', 1.0),
                        ("No keeper of the lights is ever aware of more than one such wave in a "
                         "night.", 1.0)) == "doublers"
    # after "what I call" the name comes first, and what follows its comma describes it
    q = "What does the keeper call his habit of counting the waves before he sleeps?"
    assert first_answer(q, ("Counting the waves before sleep is a specimen of what I will call "
                            "the tide-tally of the keeper, a habit which all lighthouse men "
                            "share.", 1.0)) == "tide-tally of the keeper"
    # what asks for a name: not a visit "called on", a contraction is no possessive
    assert not Asked.of("What was the reason Holmes called on Watson?").naming
    assert Asked.of("What is the name of the ratio that's used for conics?").naming
    assert Asked.of("What is the name of the keeper's boat?").kind == "person"
    # a question that does not ask for a name does not take the words after "called"
    assert first_answer("Why did the crowd cheer?", (
        "The crowd cheered because the king, called the Bold, had come home.", 1.0)
    ) != "Bold"


def test_a_clause_that_announces_what_follows_is_no_answer():
    """"... may be stated as follows:": the answer comes next, in the sentence after, not in the
    clause that announces it."""
    q = "What does the theorem of proportion say about two parallel lines that cut an angle?"
    sents = [("This theorem of proportion may be stated as follows:", 1.0),
             ("If two parallel lines cut off the segments a, b and c, d from the arms of an angle, "
              "then a is to b as c is to d.", 1.0)]
    best = candidates(q, sents)[0]
    assert best.sentence.startswith("If two parallel lines"), best


def test_what_is_asked_for_is_cut_before_the_clauses_around_it():
    """A name (or a quantity) cut out on its own comes before the clauses around it, so a text
    both give counts as the name: "Fermat", not the clause "Since the time of Fermat" trimmed
    down, whose other words (the question's own) make it say less."""
    q = "Since whose time has it been known that every positive integer is a sum of four squares?"
    s = ("Since the time of Fermat, it has been known that every positive integral rational "
         "number can be represented as the sum of four squares.")
    assert first_answer(q, (s, 1.0)) == "Fermat"


def test_an_answer_reads_without_its_italics_marks_but_its_citation_keeps_them():
    # a plain-text edition marks italics with underscores; the answer drops them, a subscript
    # ("r_2") keeps its underscore, and the cited sentence stays as the book has it
    sentence = ("In 1663 he published his _Optica promota_, a work of his youth.", 1.0)
    found = candidates("What did he publish in 1663?", [sentence])
    assert found[0].text == "Optica promota, a work of his youth"
    assert "Optica promota" in [c.text for c in found]
    assert not any("_" in c.text for c in found)
    assert found[0].sentence == sentence[0]
    assert first_answer("What is the outer radius called?",
                        ("The outer radius is called r_2 in the figure.", 1.0)).startswith("r_2")


def test_a_what_question_ending_on_its_verb_is_answered_where_the_sentence_goes_on():
    # "What did they use the beacons to signal?": the answer stands right after "signal" in the
    # sentence that says it, though a closer-matching sentence holds more of the question's words
    sents = [("Two hundred years ago, the fishermen of the cove built beacons on the cliffs.", 1.0),
             ("They first lighted the beacons to signal storms.", 0.95)]
    assert first_answer("What did the fishermen of the cove first light beacons to signal?",
                        *sents) == "storms"
    # ... and not past a bracket or a stop, nor after a function word of the same stem
    from bookgpt.answer.extract import _slot_after
    assert _slot_after("They lit them to signal storms.", stem("signal")) == [(23, 24)]
    assert _slot_after("They lit them to signal (as was the custom).", stem("signal")) == []
    assert _slot_after("She saw what the trees shed: leaves.", stem("she")) == []
    # ... and a "how" question ending on its verb, where the sentence goes on after that verb
    sents = [("The old well of the village, deep and cold, was a wonder of its age because its "
              "water never failed.", 1.0),
             ("Each spring the old well was emptied by passing buckets from hand to hand.", 0.85)]
    assert first_answer("How was the old well of the village emptied?", *sents) == (
        "passing buckets from hand to hand")


def test_a_definition_question_takes_what_the_sentence_says_its_term_is():
    sents = [("Every keeper kept a record of the waves and of the lamps in the tally book, and "
              "each keeper signed the book at dawn.", 1.0),
             ("Among the keepers, a tally book is simply the ledger of waves counted between "
              "two lightings of the lamp.", 0.9)]
    assert first_answer("What is a tally book?", *sents) == (
        "ledger of waves counted between two lightings of the lamp")
    from bookgpt.answer.stated import defined_term
    assert defined_term("How does the author define chance?") == (stem("chance"),)
    assert defined_term("What is meant by a Galileian system of co-ordinates?") == tuple(
        stem(w) for w in ("galileian", "system", "co", "ordinates"))
