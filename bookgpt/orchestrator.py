"""The in-process backend: route a question, ask the top-K book models concurrently in threads,
merge. The same steps as the Ray actors (`actors/`), without Ray."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bookgpt.answer.book import book_answer, failed
from bookgpt.answer.route import route_request, with_defaults
from bookgpt.config import Config
from bookgpt.errors import AskError
from bookgpt.inference import BookModel
from bookgpt.merge import merged, timings
from bookgpt.messages import Answer, AskRequest, BookAnswer, BookInfo, RoutedBook
from bookgpt.paths import BookPaths, router_dir, trained_books
from bookgpt.router import BookRouter


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
                                                   device_pref=self.cfg.device)
        return self._models[book_id]

    async def ask(self, req: AskRequest) -> Answer:
        t0 = time.perf_counter()
        req = with_defaults(req, self.cfg)
        # an empty question or an unknown book raises AskError here
        routing = route_request(self.router, req, self.book_ids, req.top_k,
                                self.cfg.router.abstain_threshold)
        t_route = (time.perf_counter() - t0) * 1e3

        async def one(r: RoutedBook) -> BookAnswer:
            try:
                model = await asyncio.to_thread(self.model, r.book_id)
                return await asyncio.wait_for(
                    asyncio.to_thread(book_answer, model, r, req.question, req.max_new_tokens,
                                      req.temperature, req.decoding, self.cfg.serve.model_weight),
                    timeout=self.cfg.serve.request_timeout_s)
            except Exception as exc:  # a failing book degrades the answer, never the whole query
                return failed(r, f"{type(exc).__name__}: {exc}")

        cands = list(await asyncio.gather(*(one(r) for r in routing)))
        return merged(req.question, routing, cands, timings(t0, t_route))

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
