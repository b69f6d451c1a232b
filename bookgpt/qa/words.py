"""Word lists for the question patterns, word tokens, and whole-book word statistics (BookStats)."""

from __future__ import annotations

import re
from typing import NamedTuple
from collections import Counter


def _W(s: str) -> frozenset[str]:
    return frozenset(s.split())


PRONOUNS = _W("i me my mine we us our ours you your yours he him his she her hers it its they "
              "them their theirs this that these those which who whom whose what whatever one "
              "ones itself himself herself themselves ourselves myself yourself yourselves there "
              "here such something anything nothing everything someone anyone everyone somebody "
              "nobody all both each either neither none other others another same former latter "
              "thou thee")
STOPWORDS = PRONOUNS | _W(
    "a an the and or but nor so yet for of in on at to from by with without into onto upon over "
    "under about above below between among through during before after since until till as than "
    "then if when where while whether because though although unless is are was were be been "
    "being am do does did done have has had having will would shall should can could may might "
    "must not no yes only also very too just even still ever never always often more most less "
    "least much many some any few several own how why thus hence therefore however indeed now "
    "again once up down out off here well quite rather almost soon already sometimes "
    "nevertheless")
BAD_START = PRONOUNS | _W(
    "and or but nor so yet for if when where while whether because though although unless as "
    "then thus hence therefore however indeed now again once here there not no yes only also "
    "even still perhaps let suppose imagine consider take see say note observe since until after "
    "before to of in on at by with from into upon how why accordingly moreover besides further "
    "furthermore finally first secondly lastly nay oh ah alas well like unlike")
MODALS = _W("will would shall should can could may might must")
AUX = MODALS | _W("is are was were has have had does do did")
SAY_VERBS = _W("said replied answered asked cried exclaimed remarked continued added observed "
               "whispered muttered shouted began suggested echoed returned rejoined interrupted "
               "explained murmured sighed declared insisted protested groaned repeated resumed "
               "says replies answers asks cries")
IRREGULAR = dict(p.split(":") for p in sorted(_W(
    "said:say made:make took:take came:come went:go saw:see found:find gave:give became:become "
    "began:begin knew:know thought:think told:tell felt:feel stood:stand left:leave "
    "brought:bring held:hold ran:run rose:rise fell:fall got:get sat:sit led:lead meant:mean "
    "kept:keep wrote:write taught:teach spoke:speak grew:grow drew:draw built:build sent:send "
    "bore:bear broke:break won:win caught:catch threw:throw sought:seek fought:fight wore:wear "
    "hung:hang met:meet paid:pay sold:sell spent:spend understood:understand heard:hear "
    "lost:lose struck:strike chose:choose forgot:forget hid:hide laid:lay shook:shake "
    "bought:buy drove:drive rode:ride ate:eat shot:shoot sang:sing swore:swear "
    "withdrew:withdraw overcame:overcome undertook:undertake beheld:behold")))
VERBS = AUX | SAY_VERBS | frozenset(IRREGULAR) | _W(
    "says makes takes comes goes sees finds gives becomes begins knows thinks tells feels stands "
    "brings holds runs rises falls gets sits leads means keeps seems lies shows shown proves "
    "remains depends consists contains gives forms moves occurs appears exists follows "
    "represents requires writes teaches speaks grows draws set put struck bears won hung lay")
PERSON_VERBS = _W("said says thought thinks believed believes wrote writes showed shows proved "
                  "proves discovered invented asked replied answered told tells knew knows "
                  "argued argues supposed supposes remarked observed maintained maintains held "
                  "taught teaches claimed claims died lived married spoke speaks felt feels "
                  "found introduced pointed noticed realized recognized stated expressed gave")
PERSON_NOUNS = _W(
    "man men woman women boy boys girl girls king queen prince princess knight knights lady "
    "ladies lord gentleman gentlemen father mother son sons daughter daughters brother sister "
    "uncle aunt wife husband child children author writer reader readers teacher master pupil "
    "professor mathematician mathematicians philosopher philosophers physicist physicists "
    "geometer geometers astronomer astronomers observer observers traveller travellers stranger "
    "friend friends governor doctor priest priests student students person people old young "
    "younger elder other host guest guests visitor companion monarch widow nurse servant captain "
    "judge grandson")
TITLES = _W("Mr Mrs Miss Dr Sir Lord Lady Professor Prof King Queen Captain Saint St General")
DETERMINERS = _W("a an the one some any every each no this that these those our their his her "
                 "its my your")
DET_ALL = (DETERMINERS | _W("every both many most few several such all two three four five six "
                            "seven eight nine ten twelve")) - {"that"}
DEF_DETS = _W("a an the one some any that what nothing only simply merely just")
PREPS = _W("of in on at with for from between among within along across")
TAIL_PREPS = PREPS - {"of"} | _W("by as into upon through over under about")
# numbers written as words ("sixty-four", "a dozen", "one-third")
NUMBER_WORDS = _W("one two three four five six seven eight nine ten eleven twelve thirteen fourteen "
                  "fifteen sixteen seventeen eighteen nineteen twenty thirty forty fifty sixty "
                  "seventy eighty ninety hundred thousand million half third quarter fourth fifth "
                  "dozen score "
                  # fractions: "two millionths of the wave-length", "three-sevenths"
                  "halves thirds fourths fifths sixths sevenths eighths ninths tenths twelfths "
                  "hundredths thousandths millionths")
TIME_WORDS = _W("time times day days year years hour hours minute minutes way moment instant "
                "morning evening night week weeks month months")
CONJ = _W("and but that while when if because since so for then where whereas although though as "
          "until till unless hence thus therefore now whence whilst or nor")
NO_CLAUSE = _W("if unless whether though although that as")  # hypothetical or dependent clauses
SUBJ_PRONOUNS = _W("i we you he she they")
AFTER_VERB = _W("a an the this these those its his her their our my your some any no not to into "
                "on upon in at with from for by through up out down as that it them him us me "
                "itself themselves only also all both every each two three many more less")
NON_HEAD = _W("following same other first second third fourth fifth last former latter whole "
              "alone itself rest relative respective")
ADVERBS = _W("often always never also still then thus therefore indeed now only sometimes "
             "usually generally already soon thereby evidently certainly really merely")
NOT_ED = _W("hundred kindred indeed speed breed creed steed naked sacred wicked rugged crooked "
            "ragged beloved learned aged need seed deed bed red")
PLURALS = _W("men women children people feet teeth mice data phenomena criteria police cattle")
LY_NOUNS = _W("family assembly supply monopoly anomaly ally belly folly jelly lily rally italy "
              "reply fly july")
NO_OBJECT = _W("call see go come according let make get put take set cut read become became "
               "becomes seem seemed seems remain remained remains appear appeared appears look "
               "looked looks grow grew grows")
THAT_VERBS = _W("see know find show prove believe think admit assume suppose conclude observe "
                "notice remark recognize recognise understand learn hold maintain affirm deny "
                "state feel realize realise perceive discover infer deduce establish demonstrate "
                "verify agree declare explain answer reply imagine expect fear hope teach tell")
MEAN_VERBS = {"means": "mean", "meant": "mean", "denotes": "denote", "signifies": "signify"}
_WORD = re.compile(r"[A-Za-z](?:[A-Za-z'’]|-(?=[A-Za-z]))*|\d+(?:[.,]\d+)*")


def squash(s: str) -> str:
    """One line of text: whitespace collapsed and the `_italic_` markers of Gutenberg removed."""
    return " ".join(s.replace("_", " ").split())


class Tok(NamedTuple):
    """A word of a text and where it stands: text[start:end] == word."""

    word: str
    start: int
    end: int


def tokens(text: str, s: int, e: int) -> list[Tok]:
    """The words of text[s:e], with their offsets in `text`."""
    return [Tok(m.group(), m.start(), m.end()) for m in _WORD.finditer(text, s, e)]


class BookStats:
    """Whole-book word counts: names, people, and verb base forms seen in the book."""

    def __init__(self, text: str):
        self.freq = Counter(w.lower() for w in re.findall(r"[A-Za-z]+", text))
        self.lower = Counter(re.findall(r"\b[a-z]+\b", text))
        self.cap_mid = Counter(re.findall(r"(?<=[a-z,;])[ \t\n]+([A-Z][a-z]+)", text))
        say, titles = "|".join(SAY_VERBS), "|".join(TITLES)
        people = re.findall(r"\b(?:" + say + r")\s+(?:the\s+)?([A-Z][a-z]+)", text)
        people += re.findall(r"\b([A-Z][a-z]+)\s+(?:" + say + r")\b", text)
        people += re.findall(r"\b(?:" + titles + r")\.?\s+([A-Z][a-z]+)", text)
        people += re.findall(r"\b([A-Z][a-z]+)\s+(?:has\s+|had\s+)?(?:thought|thinks|believed|"
                             r"believes|wrote|writes|discovered|invented|died|lived|married|argued|"
                             r"claimed|supposed|spoke|proved)\b", text)
        self.people = {p for p in people if p.lower() not in STOPWORDS}

    def is_name(self, w: str) -> bool:
        return w[:1].isupper() and self.cap_mid[w] >= 2 and self.cap_mid[w] > self.lower[w.lower()]

    def is_person(self, np_words: list[str]) -> bool:
        cut = next((k for k, w in enumerate(np_words) if w.lower() in PREPS), len(np_words))
        head = [w for w in np_words[:cut] if w.lower() not in DETERMINERS]
        if any(w in self.people or w.rstrip(".") in TITLES for w in head):
            return True
        return bool(head) and head[-1].lower() in PERSON_NOUNS

    def base(self, verb: str) -> str | None:
        """Base form of a past (-ed, irregular) or third-person (-s) verb, if the book has it."""
        if verb in IRREGULAR:
            return IRREGULAR[verb]
        if verb.endswith(("ied", "ies")):
            cands = [verb[:-3] + "y"]
        elif verb.endswith("ed"):
            cands = [verb[:-3], verb[:-2]] if verb[-3] == verb[-4] else [verb[:-2], verb[:-1]]
        elif verb.endswith("es"):
            cands = [verb[:-2], verb[:-1]]
        elif verb.endswith("s"):
            cands = [verb[:-1]]
        else:  # a base form: accept it when the book also inflects it
            forms = (verb + "s", verb + "es", verb + "ed", verb + "d", verb + "ing",
                     verb[:-1] + "ied", verb[:-1] + "ing")
            return verb if verb in VERBS or any(self.lower[f] for f in forms) else None
        best = max(cands, key=lambda c: self.lower[c])
        return best if self.lower[best] > 0 and len(best) > 2 else None
