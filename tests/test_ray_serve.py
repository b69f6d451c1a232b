"""Serving on a real Ray cluster: questions through the HTTP front, the router, the book actors
and the merger; crashes, deadlines and streams."""

from __future__ import annotations

import asyncio
import json
import time

import aiohttp
import pytest
import ray

from actors import book_actor_name
from bookgpt.merge import TIMINGS_KEYS
from conftest import TRAINED_BOOKS
from ray_client import ask_many

pytestmark = pytest.mark.slow


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


