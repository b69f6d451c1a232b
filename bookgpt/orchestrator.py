"""The in-process backend: route a question, ask the top-K book models concurrently in threads,
merge; or have one book's model continue a prompt. The same steps as the Ray actors (`actors/`),
without Ray."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import msgspec

from bookgpt.answer.book import book_answer, failed
from bookgpt.answer.route import route_request, with_defaults
from bookgpt.config import Config
from bookgpt.errors import AskError, OverloadedError, UnknownBookError
from bookgpt.inference import BookModel
from bookgpt.merge import merged, timings
from bookgpt.messages import (Answer, AskRequest, BookAnswer, BookInfo, ContinueJob,
                              Continuation, RoutedBook)
from bookgpt.paths import BookPaths, router_dir, trained_books
from bookgpt.router import BookRouter
from bookgpt.serving.continuation import continue_batch, counted, prompt_ids
from bookgpt.serving.followup import for_routing, noted
from bookgpt.serving.stream import written


class Orchestrator:
    """Routes and answers in one process; book models load lazily and stay loaded."""

    def __init__(self, cfg: Config, artifacts: Path):
        self.cfg, self.artifacts = cfg, artifacts
        self.router = BookRouter.load(router_dir(artifacts))
        self.book_ids = [b for b in trained_books(artifacts) if b in self.router.book_ids]
        if not self.book_ids:
            raise AskError(f"no fine-tuned book models under {artifacts}/models; run `bookgpt "
                           f"pipeline --all` (or tokenize, pretrain, qa, finetune) first")
        self._models: dict[str, BookModel] = {}

    def model(self, book_id: str) -> BookModel:
        if book_id not in self._models:
            self._models[book_id] = BookModel.load(BookPaths(self.artifacts, book_id),
                                                   device_pref=self.cfg.device,
                                                   score_dtype=self.cfg.serve.score_dtype)
        return self._models[book_id]

    async def ask(self, req: AskRequest) -> Answer:
        t0 = time.perf_counter()
        req = with_defaults(req, self.cfg)
        threshold = self.cfg.router.abstain_threshold
        # a weak follow-up is routed with the conversation's earlier questions
        routed = for_routing(req)
        # an empty question or an unknown book raises AskError here
        routing = route_request(self.router, routed, self.book_ids, req.top_k, threshold)
        t_route = (time.perf_counter() - t0) * 1e3

        async def one(r: RoutedBook) -> BookAnswer:
            try:
                model = await asyncio.to_thread(self.model, r.book_id)
                ans = await asyncio.wait_for(
                    asyncio.to_thread(book_answer, model, r, req.question, req.max_new_tokens,
                                      req.temperature, req.decoding, self.cfg.serve.model_weight),
                    timeout=self.cfg.serve.request_timeout_s)
                return counted(model, [req.question], [ans])[0]
            except Exception as exc:  # a failing book degrades the answer, never the whole query
                return failed(r, f"{type(exc).__name__}: {exc}")

        cands = list(await asyncio.gather(*(one(r) for r in routing)))
        return noted([req], [routed], [merged(req.question, routing, cands, timings(t0, t_route),
                                                    req.min_confidence)])[0]

    def _continuing(self, job: ContinueJob) -> ContinueJob:
        if job.book_id not in self.book_ids:
            raise UnknownBookError(f"unknown or untrained book: {job.book_id}; trained: "
                                   f"{', '.join(self.book_ids)}")
        return msgspec.structs.replace(
            job, max_new_tokens=job.max_new_tokens or self.cfg.serve.max_new_tokens)

    async def complete(self, job: ContinueJob) -> Continuation:
        """The book's model continues the prompt (see bookgpt.serving.continuation)."""
        job = self._continuing(job)
        model = await asyncio.to_thread(self.model, job.book_id)
        prompt_ids(model, job)  # a prompt too long: 400 before any work
        try:
            out = await asyncio.wait_for(asyncio.to_thread(continue_batch, model, [job]),
                                         timeout=self.cfg.serve.request_timeout_s)
        except asyncio.TimeoutError:
            raise OverloadedError(f"no continuation within serve.request_timeout_s "
                                  f"({self.cfg.serve.request_timeout_s:g} s); retry shortly") from None
        return msgspec.structs.replace(out[0], title=self._title(job.book_id))

    async def complete_stream(self, job: ContinueJob):
        """`complete` as it is written: pieces of text, then the Continuation."""
        job = self._continuing(job)
        model = await asyncio.to_thread(self.model, job.book_id)
        prompt_ids(model, job)

        async def run(sink):
            return (await asyncio.to_thread(continue_batch, model, [job], [sink]))[0]

        async for item in written(run, model.decode, lambda c: c.text, strip=False):
            yield (msgspec.structs.replace(item, title=self._title(job.book_id))
                   if isinstance(item, Continuation) else item)

    def _title(self, book_id: str) -> str:
        return BookPaths(self.artifacts, book_id).title_author()[0]

    async def books(self) -> list[BookInfo]:
        out = []
        for book_id in self.book_ids:
            title, author = BookPaths(self.artifacts, book_id).title_author()
            out.append(BookInfo(book_id=book_id, title=title, author=author,
                                ready=book_id in self._models))
        return out

    async def ready(self) -> tuple[bool, dict]:
        return True, {"books": len(self.book_ids), "loaded": len(self._models)}

    async def metrics(self) -> dict[str, list[tuple[dict[str, str], float]]]:
        return {"bookgpt_models_loaded": [({}, float(len(self._models)))]}
