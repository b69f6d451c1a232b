"""Serving on a real Ray cluster: book model actors, router and merger behind the HTTP front."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import aiohttp
import msgspec
import pytest
import ray

from actors import book_actor_name
from actors.app import Deployment
from actors.backend import RayBackend
from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.merge import TIMINGS_KEYS
from bookgpt.serving.http import create_app
from cluster.ship import cache_root, read_tree
from conftest import TRAINED_BOOKS, ThreadedServer, free_port

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def deployment(trained, ray_cluster):
    root, _ = trained
    # every answer through the merger actor (serve.merge_in=auto is tested on its own below)
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["serve.max_batch_wait_ms=20",
                                                  "serve.merge_in=merger"])
    dep = Deployment(cfg, root)
    yield dep
    dep.teardown()


@pytest.fixture(scope="module")
def server(deployment):
    with ThreadedServer(create_app(RayBackend(deployment))) as srv:
        yield srv


async def ask_many(url: str, n: int, concurrency: int, path="/v1/ask", body=None) -> list[tuple]:
    sem = asyncio.Semaphore(concurrency)
    questions = ["What is the velocity of light?", "What did the two knights ride up the hill?",
                 "What is a co-ordinate system?", "How many hours did they walk?"]

    async def one(s, i):
        async with sem:
            payload = body or {"question": questions[i % 4], "max_new_tokens": 4}
            async with s.post(url + path, json=payload) as r:
                return r.status, await r.text()

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
        return await asyncio.gather(*(one(s, i) for i in range(n)))


def test_many_concurrent_questions_are_all_answered_in_batches(server, deployment):
    results = asyncio.run(ask_many(server.url, 60, 60))
    assert [s for s, _ in results].count(200) == 60, [t for s, t in results if s != 200][:3]
    answers = [json.loads(t) for _, t in results]
    assert all(a["book_id"] in TRAINED_BOOKS and a["candidates"] for a in answers)
    # the same timings as the in-process backend's (tests/test_http.py checks those)
    assert all(set(a["timings_ms"]) == set(TIMINGS_KEYS) for a in answers)
    health = ray.get([hs[0].health.remote() for hs in deployment.books.values()])
    assert max(h["max_batch"] for h in health) > 1, health  # dynamic batching formed batches
    assert sum(h["items"] for h in health) >= 60
    # under load the router's calls to the book actors carry several questions each
    stats = ray.get(deployment.router.stats.remote())
    calls = sum(c for name, (c, _) in stats.items() if name.startswith("book:"))
    requests = sum(n for name, (_, n) in stats.items() if name.startswith("book:"))
    assert requests >= 60 and calls < requests, stats


def _ray_metrics_export(port: int) -> list[tuple[str, str, dict, float]]:
    """Ray's metrics export endpoint of the local node, parsed: (family, type, labels, value) of
    every sample named bookgpt_book_* (Ray may prefix custom metrics with ray_)."""
    from prometheus_client.parser import text_string_to_metric_families

    async def text() -> str:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as s:
            async with s.get(f"http://127.0.0.1:{port}/metrics") as r:
                assert r.status == 200, r.status
                return await r.text()

    return [(s.name, f.type, s.labels, s.value) for f in text_string_to_metric_families(asyncio.run(text()))
            if f.name.removeprefix("ray_").startswith("bookgpt_book_") for s in f.samples]


def test_book_metrics_reach_rays_metrics_export_tagged_with_their_book(server, deployment):
    """What Prometheus scrapes (`ray metrics launch-prometheus`) and the dashboard's Grafana panels
    show: each book actor's queue depth, batch sizes, tokens, tokens/s and latency, on the node's
    metrics export port, tagged with the book, equal to what the actor itself counted."""
    async def ask(book: str, question: str) -> int:
        body = {"question": question, "book_ids": [book], "decoding": "generate",
                "max_new_tokens": 4}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as s:
            async with s.post(server.url + "/v1/ask", json=body) as r:
                return r.status

    async def questions() -> list[int]:
        return await asyncio.gather(*(ask(b, q) for b in TRAINED_BOOKS
                                      for q in ("What is light?", "Who rode up the hill?",
                                                "What is a clock?")))

    assert asyncio.run(questions()) == [200] * 6
    handles = {b: deployment.books[b][0] for b in TRAINED_BOOKS}
    health = dict(zip(handles, ray.get([h.health.remote() for h in handles.values()])))
    worker = dict(zip(handles, ray.get([h.__ray_call__.remote(
        lambda self: ray.get_runtime_context().get_worker_id()) for h in handles.values()])))
    for b, h in health.items():
        assert h["items"] >= 3 and h["tokens"] > 0, (b, h)
    [node] = [n for n in ray.nodes() if n["NodeID"] == health["relativity"]["node_id"]]
    port = node["MetricsExportPort"]

    def of(samples, book: str) -> dict[str, float]:
        """The samples of one book actor (its worker: a restarted actor's old worker may linger
        in the export), by sample name without Ray's prefix (histogram buckets by `le`)."""
        return {name.removeprefix("ray_") + (f"[{float(lb['le'])}]" if "le" in lb else ""): v
                for name, _, lb, v in samples
                if lb.get("book_id") == book and lb.get("WorkerId") == worker[book]}

    def expected(h: dict) -> dict[str, float]:
        # the batch sizes bucket by bucket (Ray's _sum is rebuilt from bucket midpoints: not exact)
        buckets = {f"bookgpt_book_batch_size_bucket[{le}]": sum(n for size, n in h["batch_sizes"].items()
                                                               if size <= le)
                   for le in (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, float("inf"))}
        return {"bookgpt_book_tokens_total": h["tokens"], "bookgpt_book_batch_size_count": h["batches"],
                **buckets, "bookgpt_book_queue_depth": 0.0,
                "bookgpt_book_tokens_per_s": pytest.approx(h["tokens_per_s"], rel=1e-6)}

    # exported on Ray's reporting interval (metrics_report_interval_ms, 10 s by default); a gauge
    # stays in the export for about two intervals after it was last set
    deadline, samples, seen = time.monotonic() + 60, [], {}
    while time.monotonic() < deadline:
        samples = _ray_metrics_export(port)
        seen = {b: of(samples, b) for b in TRAINED_BOOKS}
        if all({k: seen[b].get(k) for k in expected(health[b])} == expected(health[b])
               and "bookgpt_book_latency_ms_count" in seen[b] for b in TRAINED_BOOKS):
            break
        time.sleep(1)
    else:
        pytest.fail(f"Ray's metrics export (127.0.0.1:{port}) never caught up with the book actors: "
                    f"{seen} against {health}")
    types = {name.removeprefix("ray_"): t for name, t, _, _ in samples}
    assert types["bookgpt_book_tokens_total"] == "counter"
    assert types["bookgpt_book_batch_size_count"] == types["bookgpt_book_latency_ms_count"] == "histogram"
    assert types["bookgpt_book_queue_depth"] == types["bookgpt_book_tokens_per_s"] == "gauge"
    assert all(lb.get("book_id") for _, _, lb, _ in samples), samples  # every series names its book
    for b in TRAINED_BOOKS:
        s, h = seen[b], health[b]
        # every answered request's latency, each in a bucket (the last, le=+Inf, holds them all)
        assert 3 <= s["bookgpt_book_latency_ms_count"] <= h["items"], (s, h)
        assert s["bookgpt_book_latency_ms_bucket[inf]"] == s["bookgpt_book_latency_ms_count"]
        assert s["bookgpt_book_latency_ms_sum"] > 0


def test_the_router_keeps_to_what_is_left_of_a_deadline(deployment):
    from bookgpt.messages import AskRequest

    req = AskRequest(question="What is the velocity of light?", max_new_tokens=3)
    late, fresh = ray.get(deployment.router.ask_many.remote([req, req], [0.0, 30.0]))
    # no time left: the books are not asked to compute (dropped or timed out), no hang
    assert late.degraded and all("timed out" in c.error for c in late.candidates), late
    assert not fresh.degraded and fresh.answer, fresh


def test_named_actors_are_found_by_a_second_driver_name(deployment):
    ns = deployment.cfg.serve.namespace
    [name] = deployment.replicas["relativity"]
    assert name.startswith(book_actor_name("relativity", "")[:-1])  # "book:relativity@<key>"
    handle = ray.get_actor(name, namespace=ns)
    assert ray.get(handle.health.remote())["book_id"] == "relativity"


def test_killed_book_actor_answers_whole_or_degraded_then_comes_back(server, deployment):
    handle = deployment.books["relativity"][0]
    before = ray.get(handle.health.remote())["items"]
    body = {"question": "What is the velocity of light?", "book_ids": ["relativity"],
            "max_new_tokens": 8}

    async def scenario():
        load = asyncio.create_task(ask_many(server.url, 80, 8, body=body))
        while ray.get(handle.health.remote())["items"] < before + 8:  # the load is running
            await asyncio.sleep(0.02)
        ray.kill(handle, no_restart=False)
        return await load

    killed_at = time.monotonic()
    results = asyncio.run(scenario())
    # every caller got an answer: whole (the router retried on the restarted actor), degraded
    # (the book is marked failed in the answer) or a clean 503; none hung or crashed
    assert all(s in (200, 503) for s, _ in results), [t for _, t in results][:3]
    answered = [json.loads(t) for s, t in results if s == 200]
    assert len(answered) >= 8, [t for _, t in results][:3]
    for a in answered:
        [cand] = a["candidates"]  # the one book named
        assert cand["book_id"] == "relativity", a
        # degraded exactly when the book failed, and then the failure is named in its candidate
        assert a["degraded"] == bool(cand["error"]), a
        if a["degraded"]:  # its only book failed: no answer, rather than a made-up one
            assert a["abstained"] and a["answer"] == "" and a["book_id"] is None, a
        else:  # whole: answered by the book (before the kill, or asked again once it was back)
            assert not a["abstained"] and a["book_id"] == "relativity" and a["answer"], a
    deadline = time.time() + 60
    while time.time() < deadline:  # the actor restarts and reloads its model
        try:
            if ray.get(handle.health.remote(), timeout=5)["ok"]:
                break
        except Exception:
            time.sleep(0.5)
    else:
        pytest.fail("book actor did not come back")
    health = ray.get(handle.health.remote())
    assert health["uptime_s"] < time.monotonic() - killed_at + 1  # a new process: it was killed
    status, text = asyncio.run(ask_many(server.url, 1, 1, body={**body, "max_new_tokens": 3}))[0]
    assert status == 200 and not json.loads(text)["degraded"], text


def test_a_crashed_router_is_asked_again_once_it_is_back(server, deployment):
    router = deployment.router
    body = {"question": "What is the velocity of light?", "max_new_tokens": 3}

    def merged_so_far() -> int:
        return ray.get(router.stats.remote(), timeout=60)["merger"][1]

    start = merged_so_far()

    async def batching(on: bool) -> None:
        async with aiohttp.ClientSession() as s:
            async with s.post(server.url + "/admin/batching", json={"enabled": on}) as r:
                assert r.status == 200

    asyncio.run(batching(False))  # a setting the restarted router must not forget

    async def scenario():
        load = asyncio.create_task(ask_many(server.url, 150, 6, body=body))
        waited = time.monotonic() + 60
        while merged_so_far() < start + 12:  # the load is running
            assert time.monotonic() < waited, "the load never reached the merger"
            await asyncio.sleep(0.02)
        ray.kill(router, no_restart=False)
        return await load

    results = asyncio.run(scenario())
    # the questions caught in the crash were asked again on the restarted router (a 503 with
    # Retry-After only if it stayed down through the retries); never a 500
    assert all(s in (200, 503) for s, _ in results), [t for s, t in results if s != 200][:2]
    assert [s for s, _ in results].count(200) >= 140, [t for s, t in results if s != 200][:2]
    assert merged_so_far() < 150  # a new router process: its counters started again
    assert ray.get(router.batching_on.remote()) is False  # told again by the server
    asyncio.run(batching(True))
    assert ray.get(router.batching_on.remote()) is True


def test_a_lost_merger_costs_no_answer(server, deployment):
    from actors import MERGER_NAME
    from actors.merger import MergerActor

    body = {"question": "What is a co-ordinate system?", "max_new_tokens": 3}
    ray.kill(deployment.merger, no_restart=True)  # gone for good: every merge call would fail
    results = asyncio.run(ask_many(server.url, 12, 6, body=body))
    assert [s for s, _ in results].count(200) == 12, [t for s, t in results if s != 200][:2]
    assert all(json.loads(t)["candidates"] for _, t in results)  # merged by the router
    # a new merger under the same name is found and used again
    deployment.merger = MergerActor.options(name=MERGER_NAME, namespace=deployment.cfg.serve.namespace,
                                            lifetime="detached").remote()
    deadline = time.monotonic() + 30  # the router looks a missing merger up again after 5 s
    while ray.get(deployment.merger.count.remote()) == 0:
        assert time.monotonic() < deadline, "the router never went back to the merger"
        assert [s for s, _ in asyncio.run(ask_many(server.url, 2, 1, body=body))] == [200] * 2
        time.sleep(0.5)


def test_bad_requests_through_ray(server):
    cases = [({"question": "Hi?", "book_ids": ["no_such_book"]}, 404, "no_such_book"),
             ({"question": "Hi?", "top_k": 0}, 400, "top_k"),
             ({"question": "Hi?", "colour": "red"}, 400, "colour"),
             ({"question": ""}, 400, "question")]
    for body, status, word in cases:
        got, text = asyncio.run(ask_many(server.url, 1, 1, body=body))[0]
        assert got == status and word in text, (body, got, text)


def test_another_process_can_ask_the_named_router(deployment):
    """Scripts reach the named router with ray.get_actor: one question, its answer, or the error
    that names the problem (the same as the HTTP front's 400/404)."""
    from actors import ROUTER_NAME
    from bookgpt.errors import AskError, UnknownBookError
    from bookgpt.messages import AskRequest

    router = ray.get_actor(ROUTER_NAME, namespace=deployment.cfg.serve.namespace)
    ans = ray.get(router.ask.remote(AskRequest(question="What did the two knights ride up the "
                                                        "hill?", max_new_tokens=3)), timeout=60)
    assert ans.candidates and ans.routing and set(ans.timings_ms) == set(TIMINGS_KEYS)
    assert all(c.prompt_tokens > 0 for c in ans.candidates)  # counted by each book's tokenizer
    # a follow-up that routes weakly alone is routed with the earlier questions, on Ray too
    ans = ray.get(router.ask.remote(AskRequest(question="And who wrote it?", max_new_tokens=3,
                                               history=["What is the velocity of light?"])))
    assert ans.routing[0].book_id == "relativity" and ans.routed_on.endswith("who wrote it?")
    for req, error in [(AskRequest(question="  "), AskError),
                       (AskRequest(question="Hi?", book_ids=["nonesuch"]), UnknownBookError)]:
        with pytest.raises(ray.exceptions.RayTaskError) as info:
            ray.get(router.ask.remote(req), timeout=60)
        assert isinstance(info.value.cause, error), info.value


def test_openai_streaming_through_ray(server):
    body = {"model": "bookgpt/tangled_tale", "stream": True, "max_tokens": 4,
            "messages": [{"role": "user", "content": "Who are the knights?"}]}
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/chat/completions", body))[0]
    assert status == 200 and text.rstrip().endswith("data: [DONE]")
    events = [json.loads(line[6:]) for line in text.splitlines()
              if line.startswith("data: ") and line != "data: [DONE]"]
    assert len(events) >= 2 and all(e["object"] == "chat.completion.chunk" for e in events)
    assert events[0]["choices"][0]["delta"] == {"role": "assistant"}
    text_streamed = "".join(e["choices"][0]["delta"].get("content", "") for e in events)
    assert text_streamed == events[-1]["bookgpt"]["answer"]
    assert events[-1]["choices"][0]["finish_reason"] is not None


def sse_events(text: str) -> list[dict]:
    assert text.rstrip().endswith("data: [DONE]"), text[-200:]
    return [json.loads(line[6:]) for line in text.splitlines()
            if line.startswith("data: ") and line != "data: [DONE]"]


def test_one_book_streams_its_tokens_as_they_are_written(server, deployment):
    from bookgpt.messages import AnswerJob, BookAnswer

    # the book actor hands over pieces of text while it generates, then the whole answer
    job = AnswerJob(book_id="relativity", question="What is the velocity of light?",
                    decoding="generate", max_new_tokens=8, temperature=1.0)

    async def pieces():
        return [await ref for ref in deployment.books["relativity"][0].answer_stream.remote(job, 30.0)]

    longest = []
    for _ in range(5):  # sampled: a tiny model may end its answer at once now and then
        items = asyncio.run(pieces())
        *texts, final = items
        assert isinstance(final, BookAnswer) and all(isinstance(t, str) for t in texts)
        assert "".join(texts) == final.answer, items
        longest = max(longest, texts, key=len)
    assert len(longest) >= 2, longest  # token by token, not the whole answer at the end
    # and so does the OpenAI completions endpoint, a model naming one book continuing a prompt
    body = {"model": "bookgpt/relativity", "stream": True, "max_tokens": 8, "temperature": 1.0,
            "prompt": "The velocity of light"}
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/completions", body))[0]
    assert status == 200, text
    events = sse_events(text)
    streamed = [e["choices"][0]["text"] for e in events[:-1]]
    assert len(streamed) >= 2 and "".join(streamed) == events[-1]["bookgpt"]["text"]
    assert events[-1]["bookgpt"]["book_id"] == "relativity" and events[-1]["bookgpt"]["title"]
    assert events[-1]["bookgpt"]["prompt_tokens"] > 0
    # not streamed, the same; a prompt too long for the model is a 400 from the book actor
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/completions",
                                        {**body, "stream": False}))[0]
    assert status == 200 and json.loads(text)["usage"]["prompt_tokens"] > 0, text
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/completions",
                                        {**body, "prompt": "the velocity of light " * 40}))[0]
    assert status == 400 and "shorten the prompt" in text, text
    # a routed question cannot stream before its books are merged: it comes after, in pieces
    body = {**body, "model": "bookgpt", "decoding": "generate"}
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/completions", body))[0]
    events = sse_events(text)
    assert status == 200 and "".join(e["choices"][0]["text"] for e in events) == \
        events[-1]["bookgpt"]["answer"]
    # an unknown book is still a 404, not a broken stream
    status, text = asyncio.run(ask_many(server.url, 1, 1, "/v1/completions",
                                        {**body, "model": "bookgpt/nope"}))[0]
    assert status == 404 and "nope" in text


def test_bench_serve_reports_both_phases_and_the_overhead(server, deployment, trained):
    from bookgpt.bench.serve_bench import bench_serve

    # 16 clients at once: while one Ray call is out, the questions behind it gather
    r = bench_serve(server.url, clients=16, requests=48, cfg=deployment.cfg, artifacts=trained[0],
                    max_new_tokens=4)
    for phase in ("batching_on", "batching_off"):
        assert r[phase]["ok"] == 48 and r[phase]["errors"] == 0, r[phase]
    # unbatched, every request is a Ray call and a generation batch of its own on every hop
    assert r["batching_off"]["mean_batch"] == 1.0, r["batching_off"]
    assert r["batching_off"]["requests_per_ray_call"] == 1.0, r["batching_off"]
    # batched, concurrent questions share Ray calls and the book models' batches
    assert r["batching_on"]["requests_per_ray_call"] > 1.0, r["batching_on"]
    assert r["batching_on"]["mean_batch"] > 1.0, r["batching_on"]
    assert r["pairs"] == 60 and r["served_one_token_p50_ms"] > 0
    assert r["in_process_one_token_p50_ms"] > 0 and "http_ray_overhead_p50_ms" in r


@pytest.mark.parametrize("merge_in", ["router", "auto"])
def test_the_router_merges_alone_questions_or_all(trained, ray_cluster, merge_in):
    """router: no merger actor at all. auto (the default): a question alone is merged by the
    router (one Ray hop less), questions in flight together by the merger actor."""
    root, _ = trained
    cfg = load_config(CONFIG_DIR / "tiny.yaml", [f"serve.merge_in={merge_in}",
                                                  f"serve.namespace=bookgpt_merge_{merge_in}"])
    dep = Deployment(cfg, root)
    try:
        assert (dep.merger is None) == (merge_in == "router")
        merged_by_actor = (lambda: ray.get(dep.merger.count.remote())) if dep.merger else int
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            alone = asyncio.run(ask_many(srv.url, 4, 1))
            assert merged_by_actor() == 0  # one at a time: the router merged each
            together = asyncio.run(ask_many(srv.url, 24, 24))
        for results in (alone, together):
            assert [s for s, _ in results].count(200) == len(results), results[:2]
            answers = [json.loads(text) for _, text in results]
            assert all(a["candidates"] and "books" in a["timings_ms"] for a in answers)
            assert any(not a["abstained"] and a["answer"] for a in answers)
        if merge_in == "auto":
            assert merged_by_actor() > 0  # under load the merger actor took merges
    finally:
        dep.teardown()


def test_full_queues_give_503_with_retry_after_never_500(trained, ray_cluster):
    """A flood beyond every queue (serve.max_queue=1): the overflow is told to come back (503,
    Retry-After), what fits is answered, nothing fails as a server error."""
    root, _ = trained
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["serve.max_queue=1",
                                                  "serve.namespace=bookgpt_full_queues"])
    dep = Deployment(cfg, root)

    async def flood(url: str, n: int) -> list[tuple[int, str, str | None]]:
        body = {"question": "What is the velocity of light?", "max_new_tokens": 8}
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
            async def one():
                async with s.post(url + "/v1/ask", json=body) as r:
                    return r.status, await r.text(), r.headers.get("Retry-After")
            return await asyncio.gather(*(one() for _ in range(n)))

    try:
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            results = asyncio.run(flood(srv.url, 60))
            after = asyncio.run(flood(srv.url, 1))  # the flood over, a question is answered
    finally:
        dep.teardown()
    statuses = [st for st, _, _ in results]
    assert set(statuses) <= {200, 503}, [t for st, t, _ in results if st not in (200, 503)][:2]
    assert statuses.count(503) > 0 and statuses.count(200) > 0, statuses
    for st, text, retry in results:
        if st == 503:
            assert retry == "1" and "retry" in json.loads(text)["error"]["message"], text
    assert after[0][0] == 200, after


def test_bookgpt_serve_shuts_down_gracefully(trained, ray_cluster, deployment):
    """Also: a second driver with other settings replaces the actors; its actors outlive it."""
    root, _ = trained
    ns = deployment.cfg.serve.namespace
    old_key = ray.get(deployment.books["relativity"][0].fingerprint.remote())
    [old_name] = deployment.replicas["relativity"]
    port = free_port()
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "commands.serve", "--config", str(CONFIG_DIR / "tiny.yaml"),
         "--artifacts", str(root), "--address", ray_cluster, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 90
        while time.time() < deadline:
            try:
                if asyncio.run(_get(url + "/readyz")) == 200:
                    break
            except aiohttp.ClientError:
                time.sleep(0.5)
        else:
            pytest.fail("bookgpt-serve did not become ready:\n" + proc.stdout.read())

        async def scenario():
            load = asyncio.create_task(ask_many(url, 12, 12, body={
                "question": "What is the velocity of light?", "max_new_tokens": 24}))
            await asyncio.sleep(0.2)
            proc.send_signal(signal.SIGTERM)
            return await load

        results = asyncio.run(scenario())
        assert [s for s, _ in results].count(200) == 12, results[:2]
        assert proc.wait(60) == 0
        assert "actors stay" in proc.stdout.read()
        # the old settings' actor drained and stopped; the new one stays
        [name] = [a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == ns and a["name"].startswith("book:relativity@")]
        assert name != old_name
        survivor = ray.get_actor(name, namespace=ns)
        assert ray.get(survivor.health.remote(), timeout=30)["ok"]
        # built from tiny.yaml without the fixture's batch wait: a new actor, not the stale one
        assert ray.get(survivor.fingerprint.remote()) != old_key
        # its driver is gone but its files are not (a detached actor owns them): restarted where
        # its node-local cache is missing (as on another node after a node failure), the actor
        # fetches them from the object store again instead of dying for good
        files = (read_tree(root, "models/relativity/tokenizer.json")
                 | read_tree(root, "models/relativity/finetune/best.pt"))
        shutil.rmtree(cache_root({rel: (hashlib.sha256(b).hexdigest(), []) for rel, b
                                  in files.items()}))
        first_pid = ray.get(survivor.__ray_call__.remote(lambda self: os.getpid()))
        ray.kill(survivor, no_restart=False)
        deadline = time.time() + 60
        while True:  # until a new process answers (the kill itself takes a moment)
            assert time.time() < deadline, "the book actor never came back"
            try:
                if ray.get(survivor.__ray_call__.remote(lambda self: os.getpid()),
                           timeout=30) != first_pid:
                    break
            except ray.exceptions.ActorUnavailableError:
                pass
            time.sleep(0.5)
        health = ray.get(survivor.health.remote(), timeout=30)
        assert health["ok"] and health["files_fetched"] == 2, health
    finally:
        if proc.poll() is None:
            proc.kill()
        # the actors it left for the next bookgpt-serve hold CPUs the later tests need
        for a in ray.util.list_named_actors(all_namespaces=True):
            if a["namespace"] == ns and a["name"].startswith("book:"):
                ray.kill(ray.get_actor(a["name"], namespace=ns), no_restart=True)


async def _get(url: str) -> int:
    async with aiohttp.ClientSession() as s:
        async with s.get(url) as r:
            return r.status


def test_messages_round_trip_between_processes():
    from bookgpt.messages import Answer, BookAnswer
    ans = Answer(question="q", answer="a", book_id="b", title="t", confidence=0.5, abstained=False,
                 candidates=[BookAnswer(book_id="b", answer="a")])
    assert msgspec.json.decode(msgspec.json.encode(ans), type=Answer) == ans


def test_more_book_actors_than_cpus_fail_fast_with_the_setting_to_change(trained, ray_cluster):
    """Two books at 1.5 CPUs each fit one by one on the 2-CPU cluster, not together: Ray would
    start one and leave the other waiting; the deployment says which setting to lower."""
    from cluster.resources import InfeasibleError

    root, _ = trained
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["cluster.actor_num_cpus=1.5"])
    start = time.monotonic()
    with pytest.raises(InfeasibleError, match=r"2 book model actors at 1.5 CPUs each need 3 CPUs; "
                                              r"the cluster has 2.*cluster.actor_num_cpus=1"):
        Deployment(cfg, root)
    assert time.monotonic() - start < 10
