"""A live shelf on a real Ray cluster: books added and retrained while questions keep coming
(POST /admin/reload, `--watch`), and replicas of a busy book."""

from __future__ import annotations

import asyncio
import json
import shutil
import time

import aiohttp
import pytest
import ray

from actors.app import Deployment
from actors.backend import RayBackend
from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.serving.http import create_app
from bookgpt.serving.watch import artifacts_marker, watch
from commands.main import main
from conftest import ThreadedServer

pytestmark = pytest.mark.slow

QUESTIONS = ["What is the velocity of light?", "What did the two knights ride up the hill?",
             "How many hours did they walk?", "What is a co-ordinate system?"]


async def _load(url: str, n: int, concurrency: int, body: dict | None = None,
                during=None) -> tuple[list[tuple[int, dict]], object]:
    """`n` questions, `concurrency` at a time; `during` (a coroutine) runs meanwhile."""
    sem = asyncio.Semaphore(concurrency)

    async def one(s, i):
        async with sem:
            payload = body or {"question": QUESTIONS[i % len(QUESTIONS)], "max_new_tokens": 4}
            async with s.post(url + "/v1/ask", json=payload) as r:
                return r.status, json.loads(await r.text())

    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=120)) as s:
        side = asyncio.ensure_future(during) if during is not None else None
        results = await asyncio.gather(*(one(s, i) for i in range(n)))
        return results, (await side if side is not None else None)


async def _call(method: str, url: str) -> tuple[int, dict]:
    async with aiohttp.ClientSession() as s:
        async with s.request(method, url) as r:
            return r.status, json.loads(await r.text())


def _book_actors(ns: str, book_id: str) -> list[str]:
    return sorted(a["name"] for a in ray.util.list_named_actors(all_namespaces=True)
                  if a["namespace"] == ns and a["name"].startswith(f"book:{book_id}@"))


@pytest.fixture
def shelf(trained, tmp_path):
    """A copy of the trained shelf serving only tangled_tale; relativity's fine-tune kept aside
    (as if it were still training), and the CLI prefix that works on the copy."""
    root, base = trained
    copy = tmp_path / "shelf"
    shutil.copytree(root, copy)
    aside = tmp_path / "relativity-finetune"
    shutil.move(copy / "models" / "relativity" / "finetune", aside)
    prefix = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(copy)]
    return copy, aside, prefix


def test_a_reload_under_load_adds_a_book_and_retrains_another(shelf, ray_cluster):
    copy, aside, prefix = shelf
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["serve.namespace=live-reload",
                                                  "cluster.actor_num_cpus=0.25"])
    dep = Deployment(cfg, copy)
    ns = cfg.serve.namespace
    try:
        [old_tangled] = _book_actors(ns, "tangled_tale")
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            status, models = asyncio.run(_call("GET", srv.url + "/v1/models"))
            assert status == 200 and "bookgpt/relativity" not in json.dumps(models)
            # the new book finishes training; the served one is fine-tuned again, differently
            shutil.move(aside, copy / "models" / "relativity" / "finetune")
            assert main(prefix + ["--set", "finetune.max_steps=12", "finetune",
                                  "--book-id", "tangled_tale", "--no-progress"]) == 0

            async def reload_soon():
                await asyncio.sleep(0.3)  # questions are in flight
                t0 = time.monotonic()
                status, out = await _call("POST", srv.url + "/admin/reload")
                return status, out, time.monotonic() - t0

            results, (status, out, took) = asyncio.run(
                _load(srv.url, 160, 8, during=reload_soon()))
            assert status == 200, out
            assert out["added"] == ["relativity"] and out["replaced"] == ["tangled_tale"], out
            assert out["removed"] == [] and out["stopped"] == [old_tangled], out
            # no question failed or lost a book through the reload
            bad = [(s, a) for s, a in results if s != 200 or a.get("degraded")]
            assert not bad, bad[:3]
            # the new book is listed and answers; the old actor drained and stopped
            status, models = asyncio.run(_call("GET", srv.url + "/v1/models"))
            assert "bookgpt/relativity" in json.dumps(models)
            body = {"question": "What is the velocity of light?", "book_ids": ["relativity"],
                    "max_new_tokens": 4}
            [(status, ans)], _ = asyncio.run(_load(srv.url, 1, 1, body=body))
            assert status == 200 and ans["book_id"] == "relativity" and not ans["degraded"], ans
            [new_tangled] = _book_actors(ns, "tangled_tale")
            assert new_tangled != old_tangled
            print(f"reload under load: {len(results)} questions, 0 errors, reload {took:.2f} s")
            # nothing changed: a reload changes nothing and stops nothing
            status, out = asyncio.run(_call("POST", srv.url + "/admin/reload"))
            assert status == 200 and out["added"] == out["replaced"] == out["stopped"] == []
            # a removed book: its actor drains and stops, and it is no longer listed or asked
            [relativity] = _book_actors(ns, "relativity")
            shutil.rmtree(copy / "models" / "relativity" / "finetune")
            status, out = asyncio.run(_call("POST", srv.url + "/admin/reload"))
            assert status == 200 and out["removed"] == ["relativity"], out
            assert out["stopped"] == [relativity] and _book_actors(ns, "relativity") == []
            status, models = asyncio.run(_call("GET", srv.url + "/v1/models"))
            assert "bookgpt/relativity" not in json.dumps(models)
            [(status, ans)], _ = asyncio.run(_load(srv.url, 1, 1, body=body))
            assert status == 404 and "relativity" in json.dumps(ans), ans
    finally:
        dep.teardown()


def test_watch_reloads_once_a_fine_tune_is_done(shelf):
    """The marker is the finished fine-tunes' done.json and the router's meta.json."""
    copy, aside, _ = shelf
    before = artifacts_marker(copy)
    assert [p for p, _, _ in before] == ["models/tangled_tale/finetune/done.json",
                                         "router/meta.json"]
    calls: list[float] = []

    async def reload():
        calls.append(time.monotonic())
        return {"added": ["relativity"]}

    async def scenario():
        task = asyncio.create_task(watch(copy, reload, every_s=0.1))
        await asyncio.sleep(0.35)
        assert calls == []  # nothing changed
        shutil.move(aside, copy / "models" / "relativity" / "finetune")
        for _ in range(50):
            await asyncio.sleep(0.1)
            if calls:
                break
        await asyncio.sleep(0.4)
        task.cancel()

    asyncio.run(scenario())
    assert len(calls) == 1  # once, after the change held still
    assert "models/relativity/finetune/done.json" in [p for p, _, _ in artifacts_marker(copy)]


def test_a_busy_books_replicas_share_its_questions_and_absorb_a_death(trained, ray_cluster):
    root, _ = trained
    cfg = load_config(CONFIG_DIR / "tiny.yaml", ["serve.namespace=live-replicas",
                                                  "cluster.actor_num_cpus=0.25",
                                                  "serve.max_batch_wait_ms=5"])
    cfg = __import__("commands.serve", fromlist=["with_replicas"]).with_replicas(
        cfg, ["relativity=2"])
    dep = Deployment(cfg, root)
    try:
        assert [len(dep.replicas[b]) for b in ("relativity", "tangled_tale")] == [2, 1]
        first, second = dep.books["relativity"]
        body = {"question": "What is the velocity of light?", "book_ids": ["relativity"],
                "max_new_tokens": 4}
        with ThreadedServer(create_app(RayBackend(dep))) as srv:
            results, _ = asyncio.run(_load(srv.url, 64, 16, body=body))
            assert all(s == 200 and not a["degraded"] for s, a in results)
            items = [ray.get(h.health.remote())["items"] for h in (first, second)]
            assert min(items) > 0 and sum(items) >= 64, items  # both replicas answered

            async def kill_one():
                await asyncio.sleep(0.2)
                ray.kill(first, no_restart=False)

            results, _ = asyncio.run(_load(srv.url, 96, 16, body=body, during=kill_one()))
            # the other replica took the dead one's questions while Ray restarted it
            bad = [(s, a) for s, a in results if s != 200 or a.get("degraded")]
            assert not bad, bad[:3]
            status, ready = asyncio.run(_call("GET", srv.url + "/v1/books"))
            assert status == 200
    finally:
        dep.teardown()
