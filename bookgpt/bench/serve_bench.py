"""`bookgpt bench serve`: drive a running bookgpt-serve with N concurrent clients.

Measures questions/s, latency percentiles and errors with dynamic batching on and off (toggled
through POST /admin/batching), and the cost of HTTP+Ray per question against the in-process
orchestrator (one new token each, so generation time is small beside the overhead; the two are
asked alternately, question by question, and the median of the paired differences is reported).
"""

from __future__ import annotations

import asyncio
import statistics
import time
from pathlib import Path

import aiohttp

QUESTIONS = ["What is the velocity of light?", "What did the knights ride up the hill?",
             "How many sides has a square in Flatland?", "What is a co-ordinate system?",
             "What did the Governor of Kgovjni want?", "What is the theory of relativity?",
             "Who is the Sphere?", "How many hours did they walk?"]


def percentile(xs: list[float], q: float) -> float:
    if not xs:
        return 0.0
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(q / 100 * (len(xs) - 1))))]


async def drive(url: str, clients: int, requests: int, max_new_tokens: int,
                decoding: str = "generate", book_ids: list[str] | None = None) -> dict:
    """`requests` questions from `clients` concurrent clients (all to `book_ids` when given: one
    hot book, say)."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    counter = iter(range(requests))

    async def client(session: aiohttp.ClientSession) -> None:
        for i in counter:
            body = {"question": QUESTIONS[i % len(QUESTIONS)], "max_new_tokens": max_new_tokens,
                    "decoding": decoding}
            if book_ids:
                body["book_ids"] = book_ids
            t0 = time.perf_counter()
            try:
                async with session.post(url + "/v1/ask", json=body) as r:
                    await r.read()
                    if r.status != 200:
                        errors[str(r.status)] = errors.get(str(r.status), 0) + 1
                        continue
            except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                continue
            latencies.append(time.perf_counter() - t0)

    conn = aiohttp.TCPConnector(limit=clients)
    async with aiohttp.ClientSession(connector=conn, timeout=aiohttp.ClientTimeout(total=120)) as s:
        start = time.perf_counter()
        await asyncio.gather(*(client(s) for _ in range(clients)))
        wall = time.perf_counter() - start
    ms = [x * 1e3 for x in latencies]
    return {"clients": clients, "requests": requests, "ok": len(latencies),
            "errors": sum(errors.values()), "error_kinds": errors,
            "questions_per_s": round(len(latencies) / wall, 2),
            "p50_ms": round(percentile(ms, 50), 1), "p95_ms": round(percentile(ms, 95), 1),
            "p99_ms": round(percentile(ms, 99), 1), "seconds": round(wall, 2)}


_COUNTERS = ("bookgpt_book_batches_total", "bookgpt_book_items_total", "bookgpt_ray_calls_total",
             "bookgpt_ray_call_requests_total")


async def counters(url: str) -> dict[str, float]:
    """Batches and requests the book actors have run, and Ray calls and the requests they carried,
    so far: each summed over its labels from GET /metrics (absent ones are 0)."""
    async with aiohttp.ClientSession() as s:
        async with s.get(url + "/metrics") as r:
            text = await r.text()
    totals = dict.fromkeys(_COUNTERS, 0.0)
    for line in text.splitlines():
        name = line.split("{", 1)[0].split(" ", 1)[0]
        if name in totals:
            totals[name] += float(line.rsplit(" ", 1)[1])
    return totals


async def set_batching(url: str, enabled: bool) -> None:
    async with aiohttp.ClientSession() as s:
        async with s.post(url + "/admin/batching", json={"enabled": enabled}) as r:
            if r.status != 200:
                raise RuntimeError(f"the server refused to switch batching ({r.status}): "
                                   f"{await r.text()}")


def paired_overhead(url: str, cfg, artifacts: Path, n: int = 60) -> dict:
    """What HTTP+Ray add to one question (one new token): each question is asked of the server and
    then of the in-process orchestrator, alternately, so that both see the same machine load."""
    from bookgpt.messages import AskRequest
    from bookgpt.orchestrator import Orchestrator

    orch = Orchestrator(cfg, artifacts)

    async def run() -> tuple[list[float], list[float]]:
        served, local = [], []
        async with aiohttp.ClientSession() as s:
            for i in range(n + 5):  # the first 5 pairs warm up (model loading, connections)
                q = QUESTIONS[i % len(QUESTIONS)]
                t0 = time.perf_counter()
                async with s.post(url + "/v1/ask", json={"question": q, "max_new_tokens": 1,
                                                         "decoding": "generate"}) as r:
                    await r.read()
                    if r.status != 200:
                        raise RuntimeError(f"the server answered {r.status}: {await r.text()}")
                t1 = time.perf_counter()
                await orch.ask(AskRequest(question=q, max_new_tokens=1, decoding="generate"))
                t2 = time.perf_counter()
                if i >= 5:
                    served.append((t1 - t0) * 1e3)
                    local.append((t2 - t1) * 1e3)
        return served, local

    served, local = asyncio.run(run())
    return {"served_one_token_p50_ms": round(statistics.median(served), 2),
            "in_process_one_token_p50_ms": round(statistics.median(local), 2),
            "http_ray_overhead_p50_ms": round(statistics.median(
                [a - b for a, b in zip(served, local)]), 2), "pairs": len(served)}


def bench_serve(url: str, clients: int, requests: int, cfg=None, artifacts: Path | None = None,
                max_new_tokens: int = 16, decoding: str = "generate",
                book_ids: list[str] | None = None) -> dict:
    url = url.rstrip("/")
    out: dict = {"benchmark": "serve", "url": url, "decoding": decoding,
                 "max_new_tokens": max_new_tokens, "book_ids": book_ids or "routed"}

    def phase(n_clients: int, n: int, new_tokens: int = max_new_tokens) -> dict:
        before = asyncio.run(counters(url))
        res = asyncio.run(drive(url, n_clients, n, new_tokens, decoding, book_ids))
        d = {k: v - before[k] for k, v in asyncio.run(counters(url)).items()}
        batches, calls = d["bookgpt_book_batches_total"], d["bookgpt_ray_calls_total"]
        res["mean_batch"] = round(d["bookgpt_book_items_total"] / batches, 2) if batches else 0.0
        # requests per Ray call, over every hop (server -> router -> books, router -> merger)
        res["requests_per_ray_call"] = (round(d["bookgpt_ray_call_requests_total"] / calls, 2)
                                        if calls else 0.0)
        return res

    asyncio.run(set_batching(url, True))
    phase(min(clients, 8), 16)  # warm-up
    out["batching_on"] = phase(clients, requests)
    asyncio.run(set_batching(url, False))
    out["batching_off"] = phase(clients, requests)
    asyncio.run(set_batching(url, True))
    off = out["batching_off"]["questions_per_s"] or 1e-9
    out["batching_speedup"] = round(out["batching_on"]["questions_per_s"] / off, 2)
    # one client, one new token written: what HTTP and Ray add to a question
    if cfg is not None and artifacts is not None:
        out.update(paired_overhead(url, cfg, artifacts))
    else:
        out["served_one_token_p50_ms"] = asyncio.run(drive(url, 1, 40, 1, "generate"))["p50_ms"]
    return out
