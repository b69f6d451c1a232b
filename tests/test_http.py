"""The HTTP front on a real aiohttp server on 127.0.0.1, over the in-process orchestrator."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families

from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.merge import TIMINGS_KEYS
from bookgpt.orchestrator import Orchestrator
from bookgpt.serving.http import create_app
from conftest import TRAINED_BOOKS, ThreadedServer, cut_from


@pytest.fixture(scope="module")
def server(trained):
    root, _ = trained
    cfg = load_config(CONFIG_DIR / "tiny.yaml")
    app = create_app(Orchestrator(cfg, root), max_body_bytes=4096)
    with ThreadedServer(app) as srv:
        yield srv


async def _post(url, body, raw=False):
    async with aiohttp.ClientSession() as s:
        data = body if raw else json.dumps(body)
        async with s.post(url, data=data, headers={"Content-Type": "application/json"}) as r:
            return r.status, await r.text(), r.headers


def post(url, body, raw=False):
    return asyncio.run(_post(url, body, raw))


def get(url):
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.get(url) as r:
                return r.status, await r.text()
    return asyncio.run(go())


def test_ask_returns_answer_with_provenance(server):
    status, text, _ = post(server.url + "/v1/ask", {"question": "What did the two knights ride up the hill?",
                                                    "top_k": 2, "max_new_tokens": 6})
    assert status == 200, text
    ans = json.loads(text)
    assert ans["abstained"] is False and ans["book_id"] in TRAINED_BOOKS
    # the same keys as the Ray backend's (tests/test_ray_serve.py checks those)
    assert ans["candidates"] and ans["routing"] and set(ans["timings_ms"]) == set(TIMINGS_KEYS)
    # extract decoding (the default): the answer is a phrase of the sentence it cites
    assert ans["support"] and cut_from(ans["answer"], ans["support"])
    status, text, _ = post(server.url + "/v1/ask", {"question": "What did the two knights ride up the hill?",
                                                    "decoding": "generate", "max_new_tokens": 6})
    written = json.loads(text)
    assert status == 200 and written["support"] == "", text
    # a written answer cites nothing and is no calibrated chance, so no least confidence holds it
    # back: it is declined only when every book wrote a blank (the tiny test models may repeat
    # a space or a newline)
    assert written["candidates"] and not any(c["calibrated"] for c in written["candidates"])
    assert written["abstained"] == all(not c["answer"].strip() for c in written["candidates"])
    # a request may ask for surer answers than serve.min_confidence: no extracted answer is that
    # sure, and the books' candidates still come back with their confidences
    status, text, _ = post(server.url + "/v1/ask", {"question": "What did the two knights ride up the hill?",
                                                    "min_confidence": 1.0})
    sure = json.loads(text)
    assert status == 200 and sure["abstained"] and not sure["answer"], text
    assert sure["candidates"] and all(c["confidence"] < 1.0 for c in sure["candidates"])


@pytest.mark.parametrize("body,status,message", [
    (b"{not json", 400, "malformed JSON"),
    ({"question": "hi", "colour": "red"}, 400, "unknown field `colour`"),
    ({"question": 42}, 400, "`$.question`"),
    ({"question": "hi", "top_k": 0}, 400, "`$.top_k`"),
    ({"question": "hi", "temperature": 9}, 400, "`$.temperature`"),
    ({"question": "hi", "decoding": "beam"}, 400, "`$.decoding`"),
    ({"question": "hi", "min_confidence": 2}, 400, "`$.min_confidence`"),
    ({"question": ""}, 400, "`$.question`"),
    ({"question": "   "}, 400, "empty"),
    ({"question": "x" * 3000}, 400, "limit is 2000"),
    ({"question": "hi", "book_ids": ["nope"]}, 404, "unknown or untrained book"),
    ({"question": "hi", "history": ["ok", "y" * 2500]}, 400, "`$.history[1]` is 2500 characters"),
    ({"question": "hi", "history": "What is light?"}, 400, "`$.history`"),
])
def test_bad_input_gets_a_clear_error(server, body, status, message):
    got, text, _ = post(server.url + "/v1/ask", body, raw=isinstance(body, bytes))
    assert got == status, text
    assert message in json.loads(text)["error"]["message"]


def test_body_over_the_limit_is_413(server):
    got, text, _ = post(server.url + "/v1/ask", {"question": "x" * 5000})
    assert got == 413 and "limit" in json.loads(text)["error"]["message"]


def test_openai_chat_completions_and_streaming(server):
    body = {"model": "bookgpt", "messages": [{"role": "system", "content": "be brief"},
                                             {"role": "user", "content": "What is light?"}],
            "max_tokens": 5, "temperature": 0, "n": 1, "user": "x"}
    status, text, _ = post(server.url + "/v1/chat/completions", body)
    assert status == 200, text
    obj = json.loads(text)
    assert obj["object"] == "chat.completion" and obj["model"].startswith("bookgpt/")
    content = obj["choices"][0]["message"]["content"]
    status, text, headers = post(server.url + "/v1/chat/completions", {**body, "stream": True})
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream")
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert chunks[0]["choices"][0]["delta"] == {"role": "assistant"}
    streamed = "".join(c["choices"][0]["delta"].get("content", "") for c in chunks)
    assert streamed == content and chunks[-1]["choices"][0]["finish_reason"] == "stop"


def test_openai_completions_one_book_and_unknown_model(server):
    status, text, _ = post(server.url + "/v1/completions",
                           {"model": "bookgpt/relativity", "prompt": "What is time?", "max_tokens": 4})
    assert status == 200 and json.loads(text)["model"] == "bookgpt/relativity"
    # a book's completion continues the prompt (tests/test_http_openai.py says more)
    assert json.loads(text)["object"] == "text_completion" and "text" in json.loads(text)["bookgpt"]
    status, text, _ = post(server.url + "/v1/completions", {"model": "gpt-4", "prompt": "x"})
    assert status == 404 and "unknown model" in text


def test_models_books_health_and_metrics(server):
    status, text = get(server.url + "/v1/models")
    ids = {m["id"] for m in json.loads(text)["data"]}
    assert status == 200 and {"bookgpt", "bookgpt/relativity", "bookgpt/tangled_tale"} <= ids
    status, text = get(server.url + "/v1/books")
    assert {b["book_id"] for b in json.loads(text)["books"]} == set(TRAINED_BOOKS)
    assert get(server.url + "/healthz")[0] == 200 and get(server.url + "/readyz")[0] == 200
    status, text = get(server.url + "/metrics")
    assert status == 200
    families = {f.name: f for f in text_string_to_metric_families(text)}  # Prometheus reads it
    asked = [s for s in families["bookgpt_http_requests"].samples
             if s.name == "bookgpt_http_requests_total" and s.labels["route"] == "/v1/ask"]
    assert {s.labels["status"] for s in asked} >= {"200", "400", "404"}, asked
    assert any(s.name == "bookgpt_http_latency_seconds_bucket"
               for s in families["bookgpt_http_latency_seconds"].samples)
    assert families["bookgpt_models_loaded"].samples[0].value >= 1  # the backend's gauge


class FailingStream(Orchestrator):
    """The real orchestrator, whose one-book stream breaks after its first piece (as a router
    crashing mid-answer would): the error path of a stream whose 200 is already sent."""

    async def ask_stream(self, req):
        yield "Half"
        from bookgpt.errors import OverloadedError
        raise OverloadedError("the router actor is restarting; retry shortly")


def test_a_stream_that_fails_after_its_200_ends_with_an_error_event(trained):
    root, _ = trained
    app = create_app(FailingStream(load_config(CONFIG_DIR / "tiny.yaml"), root))
    body = {"model": f"bookgpt/{TRAINED_BOOKS[0]}", "stream": True,
            "messages": [{"role": "user", "content": "What is light?"}]}
    with ThreadedServer(app) as srv:
        status, text, _ = post(srv.url + "/v1/chat/completions", body)
        _, metrics = get(srv.url + "/metrics")
    assert status == 200
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert json.loads(events[0])["choices"][0]["delta"] == {"role": "assistant"}
    assert json.loads(events[1])["choices"][0]["delta"]["content"] == "Half"
    assert json.loads(events[2])["error"]["type"] == "overloaded"  # told in the stream
    assert events[-1] == "[DONE]"  # which still ends properly
    assert "bookgpt_http_stream_errors_total 1.0" in metrics
