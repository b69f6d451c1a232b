"""The one text module the router, Q&A generation and answering read with (`bookgpt.text`):
sentences, stems, and what is no sentence (headings, footnote marks, rows of stars)."""

from __future__ import annotations

from bookgpt.answer.retrieve import SentenceIndex
from bookgpt.text import question_stems, sentence_spans, stem, words


def test_sentences_skip_abbreviations_and_initials():
    text = "Mr. A. Square met Dr. Sphere. They spoke (e.g. of lines)! Then he left.\n\nNew part"
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == ["Mr. A. Square met Dr. Sphere.", "They spoke (e.g. of lines)!",
                   "Then he left.", "New part"]
    # a mathematics book's references and dotted abbreviations before a capital or a number
    text = ("The new direction (i.e. OQ) is found as in Ex. 25 and Misc. Exs. 22. It was "
            "found by J.J. Thomson in A.D. 1897 and sent to the U.S. Navy. Then more.")
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == ["The new direction (i.e. OQ) is found as in Ex. 25 and Misc. Exs. 22.",
                   "It was found by J.J. Thomson in A.D. 1897 and sent to the U.S. Navy.",
                   "Then more."]
    # an old unit's abbreviation between two figures ends no sentence: "216 ft. 8 in.", "2s.
    # 6d.", italics and all; a stop before a figure after a plain word still does
    text = ("The rope is 118 ft. 4 in. A strange thing follows. He paid 1_s._ 7_d._ and "
            "2s. 6d. more. I have 5 of them. 6 more came. The snow was 5 in. 6 more inches fell. "
            "It spread in the 1860s. 1870 was the year. He paid 2s. 6d. 3 more came. It cost "
            "£98,765, 4s. 3½d. Then 1 hr. 5 min. 27+3/11 sec. passed.")
    got = [text[a:b] for a, b in sentence_spans(text)]
    assert got == ["The rope is 118 ft. 4 in.", "A strange thing follows.",
                   "He paid 1_s._ 7_d._ and 2s. 6d. more.", "I have 5 of them.", "6 more came.",
                   "The snow was 5 in.", "6 more inches fell.", "It spread in the 1860s.",
                   "1870 was the year.", "He paid 2s. 6d.", "3 more came.",
                   "It cost £98,765, 4s. 3½d.", "Then 1 hr. 5 min. 27+3/11 sec. passed."]


def test_stems_meet_across_inflections():
    assert stem("inhabitants") == stem("inhabited") == stem("inhabitant")
    assert stem("simultaneous") == stem("simultaneously")
    assert stem("squares") == stem("squaring")
    assert stem("glass") == "glass"  # not a plural
    assert stem("square") == stem("squares") == stem("squared") == stem("squaring")
    assert stem("circle") == stem("circles") and stem("degree") == stem("degrees")
    assert stem("box") == stem("boxes") and stem("body") == stem("bodies")
    assert stem("fourteen") == stem("14") and stem("seventy") == "70"  # numbers in words
    # words that ask, and stop words, are not matched against the book
    assert question_stems("What did the author say about the velocity of light?") == [
        stem("velocity"), stem("light")]
    # a possessive goes, a French elision's letter too: "d'Alembert's" is Alembert (it had been
    # "d", and Hardy's book, which names d'Alembert's test a dozen times, never named him)
    assert words("d'Alembert's test, l’Hospital's rule, Newton's don't") == [
        "alembert", "test", "hospital", "rule", "newton", "don"]
    assert question_stems("Is d'Alembert's test general?") == [stem("alembert"), stem("test"),
                                                               stem("general")]


def test_headings_are_not_sentences(shared_books):
    index = SentenceIndex((shared_books / "flatland.txt").read_text("utf-8"))
    assert not any(s.startswith("7.  Concerning Irregular") or s == "PART I" for s in
                   index.sentences)
    assert all(len(s) <= 700 for s in index.sentences)
    # a sentence inside a paragraph that ends in a figure is no contents line, and a row of
    # stars between sections is no sentence
    index = SentenceIndex("The Riddle of the Sacks 12.\nOf the Keeper's Lamp 19.\n\n"
                          "Adding the wounds together, we get 310 among 100 men. Therefore the "
                          "least percentage is\n10.\n\n* * * * *\n\nNineteen answers came in.")
    assert index.sentences == ["Adding the wounds together, we get 310 among 100 men.",
                               "Therefore the least percentage is 10.", "Nineteen answers came in."]
    # footnote marks and page numbers in braces are no words of a sentence (nor its end);
    # a root's index, a subscript and an exponent are
    index = SentenceIndex("His tract appeared about 1638.[241] He makes bodies lighter, keeping "
                          "the {109} wound clean.\n\n[241] See the note on sqrt[3](x), K[0] and n^{4}.\n\n"
                          "      eq. 27: file eq27.gif\n")
    assert index.sentences == ["His tract appeared about 1638.", "He makes bodies lighter, keeping "
                               "the wound clean.", "See the note on sqrt[3](x), K[0] and n^{4}."]
