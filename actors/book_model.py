"""BookModelActor: one book's model on its device, behind a bounded queue with dynamic batching."""

from __future__ import annotations

import asyncio
import time

import msgspec
import ray
from ray.util import metrics

from bookgpt.config import Config
from bookgpt.inference import BookModel
from bookgpt.messages import AnswerJob, BookAnswer, ContinueJob, Continuation
from bookgpt.answer.book import TokenSink, answer_batch
from bookgpt.paths import BookPaths
from bookgpt.serving.batcher import DynamicBatcher
from bookgpt.serving.continuation import continue_batch, counted, prompt_ids
from bookgpt.serving.stream import written
from bookgpt.train.runtime import set_threads
from cluster.ship import Bundle, unpack


@ray.remote(max_restarts=-1, max_task_retries=0, max_concurrency=1000)
class BookModelActor:
    def __init__(self, cfg_builtins: dict, bundle: Bundle, book_id: str, num_cpus: float = 1.0,
                 batching: bool = True, fingerprint: str = ""):
        cfg = msgspec.convert(cfg_builtins, Config)
        set_threads(num_cpus)
        self.book_id, self._fingerprint = book_id, fingerprint
        # the model's files come through the object store into a node-local cache: any node works
        # (Ray warns of a blocking ray.get in an async actor here: harmless, it is the constructor)
        root, self.fetched = unpack(bundle)
        self.model = BookModel.load(BookPaths(root, book_id), device_pref=cfg.device,
                                    score_dtype=cfg.serve.score_dtype)
        s = cfg.serve
        self.max_wait_s = s.max_batch_wait_ms / 1e3
        self.batcher = DynamicBatcher(self._run,
                                      max_batch=s.max_batch_size if batching else 1,
                                      max_wait_s=s.max_batch_wait_ms / 1e3 if batching else 0.0,
                                      max_queue=s.max_queue, on_batch=self._observe)
        tags = {"book_id": book_id}
        self.m_queue = metrics.Gauge("bookgpt_book_queue_depth", "requests waiting",
                                     tag_keys=("book_id",))
        self.m_batch = metrics.Histogram("bookgpt_book_batch_size", "generation batch sizes",
                                         boundaries=[1, 2, 4, 8, 16, 32], tag_keys=("book_id",))
        self.m_tokens = metrics.Counter("bookgpt_book_tokens", "new tokens generated",
                                        tag_keys=("book_id",))
        self.m_rate = metrics.Gauge("bookgpt_book_tokens_per_s",
                                    "tokens generated or scored per second of model time",
                                    tag_keys=("book_id",))
        self.m_latency = metrics.Histogram("bookgpt_book_latency_ms",
                                           "time from a request's arrival to its answer",
                                           boundaries=[5, 10, 25, 50, 100, 250, 500, 1000, 2500],
                                           tag_keys=("book_id",))
        for m in (self.m_queue, self.m_batch, self.m_tokens, self.m_rate, self.m_latency):
            m.set_default_tags(tags)
        self.tokens = 0
        self.started = time.monotonic()

    def _run(self, items: list[tuple[AnswerJob | ContinueJob, TokenSink | None]]
             ) -> list[BookAnswer | Continuation]:
        """One batch (in the batcher's thread): questions answered and prompts continued, each kind
        batched; a streamed job's sink hears its tokens as made."""
        out: list = [None] * len(items)
        for kind in (AnswerJob, ContinueJob):
            idx = [i for i, (j, _) in enumerate(items) if isinstance(j, kind)]
            if not idx:
                continue
            jobs, sinks = [items[i][0] for i in idx], [items[i][1] for i in idx]
            done = (counted(self.model, [j.question for j in jobs],
                            answer_batch(self.model, jobs, sinks))
                    if kind is AnswerJob else continue_batch(self.model, jobs, sinks))
            for i, r in zip(idx, done):
                out[i] = r
        return out

    async def answer_many(self, jobs: list[AnswerJob | ContinueJob],
                          timeouts_s: list[float]) -> list[BookAnswer | Continuation | Exception]:
        """Several questions (or prompts to continue) in one call (the router coalesces its calls
        under load): each gets its answer, or the exception that stopped it (a prompt too long,
        queue full, deadline passed), in order."""
        arrived = time.monotonic()
        self.m_queue.set(self.batcher.depth() + len(jobs))
        results = await asyncio.gather(*(self._one(j, arrived + t)
                                         for j, t in zip(jobs, timeouts_s)),
                                       return_exceptions=True)
        self.m_queue.set(self.batcher.depth())
        return [r if isinstance(r, (BookAnswer, Continuation, Exception)) else RuntimeError(repr(r))
                for r in results]

    async def answer_stream(self, job: AnswerJob | ContinueJob, timeout_s: float):
        """The answer (or continuation) as it is written: pieces of text (str) as the tokens come,
        then the whole BookAnswer (or Continuation). Generated answers and continuations stream
        token by token; an extracted phrase comes whole. The job joins the same batches as every
        other."""
        deadline = time.monotonic() + timeout_s
        if isinstance(job, ContinueJob):
            prompt_ids(self.model, job)  # a prompt too long is refused before the stream begins
            text_of, strip = (lambda c: c.text), False
        else:
            text_of, strip = (lambda a: a.answer), True
        async for item in written(lambda sink: self._one(job, deadline, sink), self.model.decode,
                                  text_of, strip):
            yield item

    async def _one(self, job: AnswerJob | ContinueJob, deadline: float,
                   sink: TokenSink | None = None) -> BookAnswer | Continuation:
        arrived = time.monotonic()
        if isinstance(job, ContinueJob):
            prompt_ids(self.model, job)  # refused before it joins a batch (one bad job fails all)
        ans = await self.batcher.submit((job, sink), deadline)
        self.m_latency.observe((time.monotonic() - arrived) * 1e3)
        return ans

    def _observe(self, answers: list[BookAnswer | Continuation]) -> None:
        """Metrics of one batch (on the loop, once per batch rather than once per request)."""
        self.m_batch.observe(len(answers))
        tokens = sum(a.completion_tokens if isinstance(a, Continuation) else a.tokens
                     for a in answers)
        if tokens > 0:  # Ray's Counter refuses increments <= 0
            self.m_tokens.inc(tokens)
        self.tokens += tokens
        if self.batcher.stats.busy_s > 0:
            self.m_rate.set(self.tokens / self.batcher.stats.busy_s)

    async def set_batching(self, on: bool, max_batch: int) -> None:
        self.batcher.max_batch = max_batch if on else 1
        self.batcher.max_wait_s = self.max_wait_s if on else 0.0

    async def fingerprint(self) -> str:
        """What this actor was built from (config, files, batching): a changed one is replaced."""
        return self._fingerprint

    async def health(self) -> dict:
        """Answers while a batch is generating: generation runs off the event loop."""
        s = self.batcher.stats
        up = time.monotonic() - self.started
        return {"book_id": self.book_id, "ok": True, "queue": self.batcher.depth(),
                "busy": self.batcher.running, "batches": s.batches, "items": s.items,
                "max_batch": s.max_batch, "dropped": s.dropped, "rejected": s.rejected,
                "batch_sizes": dict(s.sizes), "tokens": self.tokens,
                "tokens_per_s": self.tokens / s.busy_s if s.busy_s else 0.0, "uptime_s": up,
                "device": self.model.device, "files_fetched": self.fetched,
                "node_id": ray.get_runtime_context().get_node_id()}
