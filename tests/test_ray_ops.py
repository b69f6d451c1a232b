"""Operating a deployment on a real Ray cluster: where merges run, full queues, a graceful
shutdown and a second driver, the metrics Ray exports, capacity checks."""

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

from actors.app import Deployment
from actors.backend import RayBackend
from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.serving.http import create_app
from cluster.ship import cache_root, read_tree
from conftest import TRAINED_BOOKS, ThreadedServer, free_port
from ray_client import ask_many, get_status

pytestmark = pytest.mark.slow


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
        # a request's least confidence reaches whichever merges it: no book is that sure
        before = merged_by_actor()
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            unsure = asyncio.run(ask_many(srv.url, 8, 8, body={
                "question": "What did the two knights ride up the hill?", "min_confidence": 1.0}))
        answers = [json.loads(text) for _, text in unsure]
        assert all(a["abstained"] and a["candidates"] and not a["answer"] for a in answers)
        if merge_in == "auto":  # some of the eight in flight together were the merger's
            assert merged_by_actor() > before
        # a question routing declines says why, whichever merges it
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            off = asyncio.run(ask_many(srv.url, 8, 8, body={
                "question": "What is the best recipe for chocolate cake with butter?"}))
        answers = [json.loads(text) for _, text in off]
        assert all(a["abstained"] and not a["candidates"] and a["declined"] == answers[0]["declined"]
                   for a in answers), answers[:1]
        assert "book" in answers[0]["declined"], answers[0]  # which rule: the tiny shelf's
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
                if asyncio.run(get_status(url + "/readyz")) == 200:
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

