"""A question's books: the router's best books ranked again by the sentences in each that answer
the question (`bookgpt.answer.retrieve`), with those sentences as each book's evidence."""

from __future__ import annotations

import msgspec

from bookgpt.answer.asking import EPONYM_STEMS, name_written, question_names
from bookgpt.answer.kinds import years_said
from bookgpt.answer.evidence import evidence
from bookgpt.config import Config
from bookgpt.errors import AskError, UnknownBookError, require_question
from bookgpt.messages import AskRequest, RoutedBook
from bookgpt.router import UNKNOWN_SHARE, BookRouter, RouteHit
from bookgpt.text import content_stems

# best windows of sentences sent to each book model: 4 against 3 over dev.jsonl and six blind
# sets, routed, F1 0.2817 -> 0.2856 on the blind sets (+3 answers, one support lost), dev.jsonl
# the same; 5 gave the same as 4, right book given. The book's side answers about a fifth slower
# with it (more sentences to cut candidates from): `bench answer` answer_ms 9.7-13.1 against
# 8.2-9.5 at the session's start, alternated in one run (docs/answers.md)
WINDOWS = 4
# sentences after each window sent with it (answers often stand a sentence or two after the one
# that echoes the question). Over dev.jsonl and blind sets 1-9, 2 against 1: F1 +0.005 to +0.011
# on sets 2, 4 and 5, support +1 on sets 5 and 6, the same answers on the other six; right book
# given, 3 did worse than 2 and 0 worse than 1
FOLLOW = 2
RERANKED = 3  # books ranked again by their best window (top-1 on dev.jsonl's 86: 0.895 -> 0.93)
WINDOW_SHARE = 1.0  # the best window's score against the router's (relative) book score
# a question its best book grounds less (`SentenceIndex.grounding`: the words it uses, and the
# question's word pairs it has side by side) is about something no book speaks of, and is
# declined; a lower book that grounds it less has no say beside the first. Over dev.jsonl and
# blind sets 1-12: out-of-scope declined 85 -> 91 of 128 (the piano's keys, soccer, the four
# colour theorem, liquid nitrogen), one answerable question declined more (a wrong answer), no
# F1 moved; offline, 0.12 declined no more out-of-scope ones but two more answerable, 0.15 one
# in five more out-of-scope ones with false abstention 0.012 -> 0.064 and F1 -0.005
MIN_GROUNDING = 0.1
# what a book gains when the question names its author ("What did Poincaré drink that night?",
# "Which game does Hardy imagine ...?"): as much as the router's best book score, so the author's
# book is asked first unless another's sentences answer far better (over dev.jsonl and six
# blind sets: top-1 +2, support +2, false abstention -2, nothing lost)
AUTHOR_SHARE = 1.0
# what a book gains for saying the question's word pairs side by side (`SentenceIndex.
# side_by_side`: "spinning disc", "first day"), times their share: over dev.jsonl and blind sets
# s-x, top-1 0.839 -> 0.848 on the sets (+3, none lost), dev.jsonl the same; 0.5 won four more
# books on the sets but lost one on dev.jsonl and F1 on both
PAIR_SHARE = 0.25


class Declined(list):
    """No books for a question (an empty list, as callers test it), and why, in words a reader
    can act on."""

    def __init__(self, reason: str):
        super().__init__()
        self.reason = reason


def route_request(router: BookRouter, req: AskRequest, eligible: list[str], top_k: int,
                  threshold: float) -> list[RoutedBook]:
    """The top-K eligible books for a question, weights renormalised over them ([] = abstain),
    each with its best sentences for the question (`bookgpt.answer.retrieve`)."""
    result = route_requests(router, [req], eligible, [top_k], threshold)[0]
    if isinstance(result, Exception):
        raise result
    return result


def route_requests(router: BookRouter, reqs: list[AskRequest], eligible: list[str],
                   top_ks: list[int], threshold: float) -> list[list[RoutedBook] | Exception]:
    """`route_request` for several questions, scored together in one pass over the index; a
    question that cannot be routed (empty, unknown book) gets its exception in its place."""
    out: list[list[RoutedBook] | Exception | None] = [None] * len(reqs)
    todo = []
    for i, req in enumerate(reqs):
        try:
            require_question(req.question)
            if unknown := [b for b in req.book_ids or [] if b not in eligible]:
                raise UnknownBookError(f"unknown or untrained book(s): {', '.join(unknown)}; "
                                       f"trained: {', '.join(eligible) or 'none'}")
        except AskError as exc:
            out[i] = exc
        else:
            todo.append(i)
    if todo:
        try:
            scores, where = router.scores_many([reqs[i].question for i in todo])
        except Exception as exc:  # noqa: BLE001 - each question hears of it, as when asked alone
            for i in todo:
                out[i] = exc
        else:
            for row, i in enumerate(todo):
                try:
                    out[i] = _routed(router, reqs[i], eligible, top_ks[i], threshold,
                                     scores[row], where[row])
                except Exception as exc:  # noqa: BLE001 - one question's failure stays its own
                    out[i] = exc
    return out  # type: ignore[return-value]


def _routed(router: BookRouter, req: AskRequest, eligible: list[str], top_k: int,
            threshold: float, score, where) -> list[RoutedBook]:
    eligible = list(req.book_ids) if req.book_ids else eligible
    # books named by the caller are asked even when the router would abstain
    unknown = router.unknown_share(req.question)
    result = router.ranked(score, where, top_k=len(router.book_ids),
                           abstain_threshold=0.0 if req.book_ids else threshold, unknown=unknown)
    if result.abstained:
        return Declined(f"{unknown:.0%} of its words occur in no book" if unknown >= UNKNOWN_SHARE
                        else "no book matches its words closely enough (the router's "
                             f"threshold, {threshold})")
    ranked = [h for h in result.books if h.book_id in eligible]
    hits = ranked[:max(top_k, RERANKED)]
    names = question_names(req.question)  # ("the capital city of Australia", "Ramanujan's")
    # a question that names a book's author ("Which game does Hardy imagine ...?") is about
    # that book, wherever the router ranked it
    authored = {h.book_id for h in ranked if any(
        router.author_surname(h.book_id) in name
        and name - EPONYM_STEMS <= router.author_stems(h.book_id)
        for name in names)}  # the surname: "Augustus" alone is an emperor, not De Morgan
    hits += [h for h in ranked[len(hits):] if h.book_id in authored]
    if not req.book_ids:  # a book that never uses a name the question does cannot answer it
        mentioned = [h for h in hits if _mentions(router, h, names)]
        if names and not mentioned:
            # the name none of them uses, or else (each book uses some of the names, none all
            # of them: "Gompertz" in one, "the Spitalfields Mathematical Society" nowhere as one
            # name) the first the best book lacks
            missing = next((name for name in names if not any(
                _mentions(router, h, [name]) for h in hits)), None) or next(
                name for name in names if not _mentions(router, hits[0], [name]))
            return Declined(f"none of its best books ({', '.join(h.title for h in hits)}) "
                            f'mentions "{name_written(req.question, missing)}"')
        hits = mentioned
        # a book says nothing of a year after the latest it mentions ("in July 2012", "in the
        # early 2000s" of books written a century before)
        year = max(years_said(req.question), default=None)
        if year is not None:
            told = [h for h in hits if (router.sentence_index(h.book_id).latest_year or year) >= year]
            if not told:
                return Declined(f"it asks of {year}, later than any year its best books "
                                f"({', '.join(h.title for h in hits)}) mention")
            hits = told
    # the best few books are ranked again with their best window of sentences: a book that
    # holds a sentence answering the question beats one that only shares its vocabulary (the
    # window's lexical score: each book's own encoder measures meaning on its own scale)
    found = [evidence(router.sentence_index(h.book_id), req.question, WINDOWS, FOLLOW)
             for h in hits]
    top = max((h.score for h in hits), default=0.0)
    fit = [(h.score / top if top > 0 else 0.0) + WINDOW_SHARE * (best.lexical if best else 0.0)
           + PAIR_SHARE * (router.sentence_index(h.book_id).side_by_side(req.question) or 0.0)
           + AUTHOR_SHARE * (h.book_id in authored) for h, (best, _) in zip(hits, found)]
    order = sorted(range(len(hits)), key=lambda i: -fit[i])[:top_k]
    if not req.book_ids:
        grounded = [router.sentence_index(hits[i].book_id).grounding(req.question)
                    >= MIN_GROUNDING for i in order]
        if not grounded[0]:
            return Declined(f"its best book, {hits[order[0]].title}, has too few of its words, "
                            "and too few of them side by side")
        order = [i for i, ok in zip(order, grounded) if ok]
    total = sum(fit[i] for i in order)
    # named books that share no word with the question still get a say, in equal shares
    return [RoutedBook(book_id=hits[i].book_id, title=hits[i].title,
                       weight=fit[i] / total if total > 0 else 1.0 / len(order),
                       score=hits[i].score, passage=hits[i].passage,
                       coverage=found[i][0].coverage if found[i][0] else 0.0,
                       evidence=found[i][1]) for i in order]


def _mentions(router: BookRouter, hit: RouteHit, names: list[frozenset[str]]) -> bool:
    """Whether a routed book uses each name (`SentenceIndex.mentions`), or its title a word of
    it (an author's name)."""
    if not names:
        return True
    index, title = router.sentence_index(hit.book_id), set(content_stems(hit.title))
    # (an eponym, "the Poincaré conjecture", only whole: a book by Poincaré need not know it)
    return all(index.mentions(name) or (name & title and not name & EPONYM_STEMS)
               for name in names)


def with_defaults(req: AskRequest, cfg: Config) -> AskRequest:
    """The request with what it leaves unset taken from the config, filled once where a backend
    takes it in (the in-process one, the router actor)."""
    return msgspec.structs.replace(
        req, top_k=req.top_k or cfg.router.top_k,
        max_new_tokens=req.max_new_tokens or cfg.serve.max_new_tokens,
        decoding=req.decoding or cfg.serve.decoding,
        min_confidence=(cfg.serve.min_confidence if req.min_confidence is None
                        else req.min_confidence))
