"""Answers that are figures: a number with what it counts, a measure with its unit (in one unit
or several, "216 ft. 8 in."), fractions in words, and the number words they are read with
(`bookgpt.answer.kinds`, `bookgpt.answer.extract`). Other answers: tests/test_candidates.py."""

from __future__ import annotations

from answering import first_answer

from bookgpt.answer.extract import candidates
from bookgpt.answer.kinds import type_fit


def test_a_measure_is_a_number_with_a_unit_of_its_dimension():
    assert type_fit("speed", "with a velocity c= 300,000 km./sec.", set()) == 1.0
    assert type_fit("speed", "to within one per cent", set()) == 0.5  # a number, no speed
    assert type_fit("length", "the tower stood three hundred feet high", set()) == 1.0
    assert type_fit("length", "in 1840 in London", set()) == 0.5
    # a quantity of another kind contradicts what is asked: no fit, not half of one
    assert type_fit("temperature", "sank 10 feet", set()) == 0.0
    assert type_fit("length", "after 3 hours", set()) == 0.0
    assert type_fit("mass", "it weighed 5 pounds", set()) == 1.0
    # a title alone names no one
    assert type_fit("person", "Lord", set()) == 0.0
    assert type_fit("person", "Lord Kelvin", set()) == 1.0
    assert type_fit("duration", "in six and a quarter minutes", set()) == 1.0
    assert type_fit("money", "they cost £500 and £750", set()) == 1.0
    assert type_fit("mass", "a sack of 5 lbs.", set()) == 1.0
    assert type_fit("measure", "no number here", set()) == 0.0
    assert type_fit("time", "at half-past six on Tuesday", set()) == 1.0  # a clock or a weekday
    assert type_fit("time", "in the old mill", set()) == 0.0
    sents = [("Two travellers left at noon, one of the two by the old road.", 1.0),
             ("The coach went at ten miles an hour on the new road.", 1.0)]
    assert first_answer("How fast did the coach go on the new road?", *sents).startswith(
        "ten miles")


def test_a_count_keeps_what_it_counts():
    # "how many lanterns": the answer is the number with its lanterns, though the question has them
    sents = [("When the fair was over the children had hung 312 lanterns along the quay.", 1.0)]
    best = first_answer("How many lanterns did the children hang along the quay?", *sents)
    assert best == "312 lanterns"
    # a fraction with its unit: "half a mile", not "half"
    sents = [("The path climbs half a mile above the village before it turns west.", 1.0)]
    got = [c.text for c in candidates("How far above the village does the path climb?", sents)]
    assert got[0] == "half a mile"
    # a fraction in words is a figure whole: "two millionths", not the "two million" inside it
    sents = [("The drift of the pointer comes to about two millionths of its scale.", 1.0)]
    got = [c.text for c in candidates("How large is the drift of the pointer?", sents)]
    assert got[0].endswith("two millionths") and not any(t.endswith("million") for t in got)
    # a word between the number and what is counted belongs to the count: "47 separate roads",
    # not the quantity cut short at "47 separate"; a function word there is trimmed off instead
    sents = [("The surveyors mapped 47 separate roads leading out of the old market town.", 1.0)]
    best = first_answer("How many roads led out of the market town?", *sents)
    assert best == "47 separate roads"
    # what is counted restates nothing: "256 different ways" beats a bare "2" of a formula in
    # the sentence before, and "14" is the question's "fourteen", no answer
    sents = [("On a board of n squares 2n - 2 bishops may always be placed in 2^n ways.", 1.0),
             ("On an ordinary board n is 8; so 14 bishops may be placed in 256 different ways.",
              1.0)]
    best = first_answer("In how many different ways can fourteen bishops be placed?", *sents)
    assert best == "256 different ways"
    # the figure a sentence says its subject is, when the subject is what the question asks
    # about: "the least percentage is 10" over the sum before it, but "n would be 8" states no
    # count of ways
    sents = [("Adding the wounds together, we get 70 + 75 + 80 + 85 = 310, among 100 men.", 1.0),
             ("Therefore the least percentage is 10.", 0.9)]
    assert first_answer("If 70% lost an eye and 85% a leg, at least what percentage lost all "
                        "four?", *sents) == "10"
    # ... or when the subject says the question's superlative in other words ("the smallest
    # flock" asked, "The least number is 7,560" said), its noun beside it: "the smallest number
    # that has seven divisors and no more is 64" is not the least asked for
    sents = [("For example, the smallest number that has seven divisors and no more is 64.", 1.0),
             ("This riddle asks for the smallest number with exactly sixty-four divisors, counting "
              "1 and the number itself.", 1.0),
             ("The least number is 7,560.", 0.9)]
    assert first_answer("What is the smallest flock of sheep that could stand in equal rows in "
                        "exactly sixty-four different ways?", *sents) == "7,560"
    sents = [("On a board of this kind n would be 8; so the bishops may be placed in 256 "
              "different ways.", 1.0)]
    assert first_answer("In how many different ways can the bishops be placed on the board?",
                        *sents) == "256 different ways"
    # a figure in scientific notation is one figure, with what it counts: "1.3 × 10^13 bits", not
    # the power of ten alone; what a figure of several words counts is looked for after all of it
    got = [c.text for c in candidates("Roughly how many bits does the film hold?", [
        ("So the film holds about 1.3 × 10^13 bits of data in all.", 1.0)])]
    assert got[0] == "1.3 × 10^13 bits" and "10^13 bits" not in got
    assert first_answer("How many drops does a litre of water hold?", (
        "A litre of water holds about 6.02 x 10^4 average drops.", 1.0)) == "6.02 x 10^4 average drops"
    assert first_answer("How many sheep grazed on the common?", (
        "On the common grazed two hundred and fifty old sheep, the vicar said.", 1.0)
    ) == "two hundred and fifty old sheep"
    # a hyphenated number is a word of the answer, not a function word to trim: "one-third"
    got = [c.text for c in candidates("What fraction of the catch went to the harbour master?", [
        ("Of the catch, one-third went to the harbour master and the rest to the crew.", 1.0)])]
    assert "one-third" in got
    sents = [("The harbour shelters a fleet of nine which sail out before dawn.", 1.0)]
    best = first_answer("How many boats sail out of the harbour before dawn?", *sents)
    assert best == "nine"


def test_a_measure_in_several_units_is_whole():
    # "118 ft. 4 in.", not "118 ft" cut short of it, nor "4 in"
    sents = [("The length of the rope is thus four times as much--118 ft. 4 in.", 1.0),
             ("The mast stands 90 ft. high.", 0.8)]
    got = [c.text for c in candidates("How long is the rope round the mast?", sents)]
    assert "118 ft. 4 in." in got[:3]
    assert not any(t in ("118 ft", "118 ft.", "4 in", "4 in.") for t in got)
    got = [c.text for c in candidates("How much did the lemonade cost that summer?",
                                      [("The lemonade cost £1 5s. 6d. that summer.", 1.0)])]
    assert got == ["£1 5s. 6d."]
    # ... italics and all, which the answer drops: "1_s._ 7_d._" reads "1s. 7d."
    got = [c.text for c in candidates("How much did he pay for the lemonade?",
                                      [("He paid 1_s._ 7_d._ for the lemonade.", 1.0)])]
    assert got[0] == "1s. 7d." and "1" not in got and "7" not in got
    # a list of measures is several measures, each an answer
    got = [c.text for c in candidates("How long is the longest side?", [
        ("The sides of the triangle are 3 feet, 4 feet and 5 feet long.", 1.0)])]
    assert {"3 feet", "4 feet", "5 feet"} <= set(got)
    # a unit's stop after its figure ends no clause ("3 ft. 6 in. deep"), and a clause ending
    # on one keeps its stop: "216 ft. 8 in.", not "216 ft. 8"
    from bookgpt.answer.clauses import split_clauses
    for text, pieces in [("The hole is 3 ft. 6 in. deep, he said.", ["The hole is 3 ft. 6 in. deep",
                                                                     "he said"]),
                         ("It is four times as much--118 ft. 4 in.", ["It is four times as much",
                                                                    "118 ft. 4 in."])]:
        assert [text[a:b] for a, b in split_clauses(text)] == pieces
    # a measure of full words ending its sentence keeps the clauses around it
    got = [c.text for c in candidates("What did the guide say about the walk?", [
        ("The guide said that the walk to the summit took 3 hours 20 minutes.", 1.0)])]
    assert got and got[0].endswith("took 3 hours 20 minutes")


def test_a_measure_keeps_what_it_measures_and_its_rate():
    """"43 seconds of arc per century": the unit's "of arc", and the rate's "per century" though
    the question says "century" too."""
    assert first_answer("How much should the orbit of the planet rotate each century?", (
        "Theory requires that this rotation should amount to 43 seconds of arc per century for "
        "the planet.", 1.0)) == "43 seconds of arc per century"


def test_word_alternation_matches_its_words_and_no_other():
    # the number words as a trie of letters: each word whole, the longest first, nothing else
    import re

    from bookgpt.answer.kinds import alternation
    from bookgpt.qa.words import NUMBER_WORDS
    whole = re.compile(alternation(NUMBER_WORDS) + r"(?![a-z])")
    assert all(whole.fullmatch(w) for w in NUMBER_WORDS)
    assert not any(whole.fullmatch(w) for w in ("seventh", "twen", "millions", "nin", ""))
    assert whole.match("seventy men").group() == "seventy"  # not "seven"
    assert re.fullmatch(alternation(["on", "one", "ones"]), "ones")


def test_a_listed_answer_reads_without_its_label_or_italics_marks():
    """A labelled solution that lists its answers ("_Answer._--(1) 8_d._; (2) 1_s._ 7_d._"): the
    answer is the figure, not "1) 8_d" (the list's label, its bracket cut off with the label
    before it, and the unit's italics cut short of their stop)."""
    sents = [("What did the tea cost, and what the buns?", 0.6),
             ("_Answer._--(1) 8_d._; (2) 1_s._ 7_d._", 0.9)]
    got = [c.text for c in candidates("How much did the tea cost?", sents)]
    assert got[0].startswith("8d"), got
    assert not any(c.startswith(("1)", "2)")) or "_" in c for c in got), got
    sents = [("Which traveller met more trains on the way?", 0.6),
             ("_Answers._--(1) 19. (2) The easterly traveller met 12; the other 8.", 0.9)]
    got = [c.text for c in candidates("How many trains did each traveller meet?", sents)]
    assert "19" in got and not any(c.startswith(("1)", "2)")) for c in got), got


def test_a_numbered_puzzles_heading_is_no_answer():
    """A solution opening with its puzzle's numbered heading ("57.--The Christmas Geese."):
    its number counts nothing and its title answers nothing; the figure after it does."""
    sents = [("57.--The Christmas Geese. The farmer's man took exactly 101 geese to market.", 1.0)]
    got = [c.text for c in candidates("How many geese did the farmer's man take to market?",
                                      sents)]
    assert got[0] == "exactly 101 geese", got
    assert not any(c.startswith(("57", "Christmas")) for c in got), got


def test_a_fraction_in_one_character_is_part_of_its_figure():
    """HTML editions print "6¼" where plain text has "6-1/4": the fraction belongs to the figure,
    and the measure is whole ("3½ inches", not "3")."""
    from bookgpt.answer.kinds import QUANTITY

    assert [m.group() for m in QUANTITY.finditer("In 6¼ minutes, or 5½, and ½ a mile.")] == [
        "6¼ minutes", "5½", "½ a mile."]
    sents = [("So the worm bores through no more than 3½ inches of paper in all.", 1.0)]
    assert candidates("How far does the worm bore?", sents)[0].text.startswith("3½ inches")
