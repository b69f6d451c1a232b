"""The OpenAI-compatible endpoints keep their promises, on a real server over the two tiny
trained books: what is not implemented is refused by name, usage counts real tokens, a book's
completion continues its prompt, and a chat's follow-up is routed with the earlier turns."""

from __future__ import annotations

import json

import pytest

from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.inference import BookModel
from bookgpt.orchestrator import Orchestrator
from bookgpt.paths import BookPaths
from bookgpt.serving.http import create_app
from conftest import ThreadedServer
from http_client import events, post


@pytest.fixture(scope="module")
def server(trained):
    root, _ = trained
    app = create_app(Orchestrator(load_config(CONFIG_DIR / "tiny.yaml"), root))
    with ThreadedServer(app) as srv:
        srv.root = root
        yield srv


def chat(question: str, **extra) -> dict:
    return {"model": "bookgpt", "messages": [{"role": "user", "content": question}], **extra}


@pytest.mark.parametrize("path,extra,named", [
    ("/v1/chat/completions", {"stop": ["\n"]}, ["`stop`"]),
    ("/v1/chat/completions", {"n": 2}, ["`n`"]),
    ("/v1/chat/completions", {"logprobs": True, "top_logprobs": 2}, ["`logprobs`", "`top_logprobs`"]),
    ("/v1/chat/completions", {"presence_penalty": 0.5, "frequency_penalty": 1},
     ["`presence_penalty`", "`frequency_penalty`"]),
    ("/v1/chat/completions", {"logit_bias": {"50256": -100}}, ["`logit_bias`"]),
    ("/v1/chat/completions", {"seed": 7}, ["`seed`", "temperature 0"]),
    ("/v1/chat/completions", {"top_p": 0.9}, ["`top_p`"]),
    ("/v1/chat/completions", {"tools": [{"type": "function", "function": {"name": "f"}}],
                              "tool_choice": "auto"}, ["`tools`", "`tool_choice`"]),
    ("/v1/chat/completions", {"functions": [{"name": "f"}]}, ["`functions`"]),
    ("/v1/chat/completions", {"response_format": {"type": "json_object"}}, ["`response_format`"]),
    ("/v1/completions", {"best_of": 3, "echo": True, "suffix": "end"},
     ["`best_of`", "`echo`", "`suffix`"]),
    ("/v1/completions", {"logprobs": 0}, ["`logprobs`"]),  # 0 still asks for log-probabilities
])
def test_unimplemented_openai_parameters_are_refused_by_name(server, path, extra, named):
    body = chat("What is light?", **extra) if "chat" in path else \
        {"model": "bookgpt/relativity", "prompt": "Light is", **extra}
    status, text, _ = post(server.url + path, body)
    assert status == 400, text
    message = json.loads(text)["error"]["message"]
    assert "does not implement" in message and all(n in message for n in named), message


def test_neutral_values_and_null_are_accepted(server):
    neutral = {"n": 1, "top_p": 1, "presence_penalty": 0, "frequency_penalty": 0.0, "stop": [],
               "logprobs": False, "seed": None, "tools": [], "response_format": {"type": "text"},
               "user": "reader-1"}
    status, text, _ = post(server.url + "/v1/chat/completions", chat("What is light?", **neutral))
    assert status == 200, text


@pytest.mark.parametrize("path,body,message", [
    ("/v1/chat/completions", chat("What is light?", colour="red"), "unknown field `colour`"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "Hi?", "mood": "x"}]},
     "unknown field `mood`"),
    ("/v1/chat/completions", {"messages": [{"role": "user", "content": "What is light?"},
                                           {"role": "assistant", "content": "It is"}]},
     "the last message must be the user's question"),
    ("/v1/chat/completions", {"messages": []}, "`$.messages`"),
    ("/v1/chat/completions", chat("What is light?", min_confidence=1.5), "`$.min_confidence`"),
    ("/v1/completions", {"model": "bookgpt/relativity", "prompt": "Light is",
                         "min_confidence": 0.5}, "`min_confidence` chooses among answers"),
    ("/v1/chat/completions", chat("What is light?", max_tokens=4, max_completion_tokens=5),
     "differ"),
    ("/v1/chat/completions", chat("What is light?", stream_options={"include_usage": True}),
     "`stream_options` goes with"),
    ("/v1/completions", {"model": "bookgpt/relativity", "prompt": ""}, "`$.prompt`"),
    ("/v1/completions", {"model": "bookgpt/relativity", "prompt": "Light is",
                         "decoding": "extract"}, "continues the prompt"),
    ("/v1/completions", {"model": "bookgpt/relativity", "prompt": "Light is", "top_k": 2},
     "`top_k`"),
    ("/v1/completions", {"model": "bookgpt/relativity", "prompt": "the light of the sun " * 40,
                         "max_tokens": 8}, "shorten the prompt or lower max_tokens"),
])
def test_bad_openai_requests_get_a_clear_400(server, path, body, message):
    status, text, _ = post(server.url + path, body)
    assert status == 400, text
    assert message in json.loads(text)["error"]["message"], text


def test_a_books_completion_continues_its_prompt(server):
    prompt = "The velocity of light"
    body = {"model": "bookgpt/relativity", "prompt": prompt, "max_tokens": 6, "temperature": 0}
    status, text, _ = post(server.url + "/v1/completions", body)
    assert status == 200, text
    obj = json.loads(text)
    choice = obj["choices"][0]
    # the book's own model, writing greedily from the prompt: the same text as asked directly
    model = BookModel.load(BookPaths(server.root, "relativity"), device_pref="cpu")
    direct = model.complete([prompt], max_new_tokens=6, temperature=0.0)[0]
    assert choice["text"] == direct.text and choice["text"]  # (a tiny model writes spaces, too)
    assert choice["finish_reason"] == ("stop" if direct.stopped else "length")
    assert obj["model"] == "bookgpt/relativity" and obj["bookgpt"]["book_id"] == "relativity"
    assert obj["bookgpt"]["title"]  # the book's title, for provenance
    assert obj["usage"] == {"prompt_tokens": len(model.encode(prompt)),
                            "completion_tokens": len(direct.tokens),
                            "total_tokens": len(model.encode(prompt)) + len(direct.tokens)}
    # max_tokens is honoured, and sampling (temperature) writes something else now and then
    status, text, _ = post(server.url + "/v1/completions", {**body, "max_tokens": 2})
    assert json.loads(text)["usage"]["completion_tokens"] <= 2
    sampled = {json.loads(post(server.url + "/v1/completions",
                               {**body, "temperature": 1.5})[1])["choices"][0]["text"]
               for _ in range(6)}
    assert len(sampled) > 1, sampled


def test_a_books_completion_streams_and_ends_with_its_usage(server):
    body = {"model": "bookgpt/tangled_tale", "prompt": "The two knights", "max_tokens": 8,
            "stream": True, "stream_options": {"include_usage": True}}
    status, text, headers = post(server.url + "/v1/completions", body)
    assert status == 200 and headers["Content-Type"].startswith("text/event-stream"), text
    evs = events(text)
    *pieces, final, usage = evs
    streamed = "".join(e["choices"][0]["text"] for e in pieces)
    assert streamed == final["bookgpt"]["text"] and final["choices"][0]["finish_reason"] in (
        "stop", "length")
    assert usage["choices"] == [] and usage["usage"]["completion_tokens"] == \
        final["bookgpt"]["completion_tokens"] and usage["usage"]["prompt_tokens"] > 0
    # a prompt too long is a status, not a broken stream
    status, text, _ = post(server.url + "/v1/completions",
                           {**body, "prompt": "the knights rode up the hill " * 30})
    assert status == 400 and "shorten the prompt" in text


def test_usage_counts_the_question_in_the_answering_books_tokens(server):
    question = "What did the two knights ride up the hill?"
    status, text, _ = post(server.url + "/v1/chat/completions", chat(question, max_tokens=6))
    assert status == 200, text
    obj = json.loads(text)
    book = obj["bookgpt"]["book_id"]
    model = BookModel.load(BookPaths(server.root, book), device_pref="cpu")
    answer = obj["choices"][0]["message"]["content"]
    assert answer and obj["usage"] == {
        "prompt_tokens": len(model.encode(question)), "completion_tokens": len(model.encode(answer)),
        "total_tokens": len(model.encode(question)) + len(model.encode(answer))}
    # the routed model on /v1/completions answers the prompt as a question: the same usage
    status, text, _ = post(server.url + "/v1/completions",
                           {"model": "bookgpt", "prompt": question, "max_tokens": 6})
    assert json.loads(text)["usage"]["prompt_tokens"] == len(model.encode(question))


def test_a_follow_up_is_routed_with_the_earlier_turns(server):
    alone = json.loads(post(server.url + "/v1/chat/completions", chat("And who wrote it?"))[1])
    # on its own, "wrote" sends it to the story book
    assert alone["bookgpt"]["routing"][0]["book_id"] == "tangled_tale", alone["bookgpt"]["routing"]
    assert alone["bookgpt"]["routed_on"] == ""
    talk = [{"role": "system", "content": "Answer from the books."},
            {"role": "user", "content": "What is the velocity of light?"},
            {"role": "assistant", "content": "300,000 km."},
            {"role": "user", "content": "And who wrote it?"}]
    status, text, _ = post(server.url + "/v1/chat/completions", {"model": "bookgpt",
                                                                 "messages": talk})
    assert status == 200, text
    ans = json.loads(text)["bookgpt"]
    assert ans["routing"][0]["book_id"] == "relativity", ans["routing"]
    assert ans["question"] == "And who wrote it?"  # the books are asked the follow-up itself
    assert ans["routed_on"] == "What is the velocity of light? And who wrote it?"
    # a question that routes well alone changes the subject: the earlier turns do not drag it
    talk[-1] = {"role": "user", "content": "What did the two knights ride up the hill?"}
    ans = json.loads(post(server.url + "/v1/chat/completions",
                          {"model": "bookgpt", "messages": talk})[1])["bookgpt"]
    assert ans["routing"][0]["book_id"] == "tangled_tale" and ans["routed_on"] == ""
    # a question of its own about nothing on the shelf stays "not in these books", whatever was
    # asked before it: the earlier turns lend it no book
    talk[-1] = {"role": "user", "content": "What is the capital of Peru?"}
    ans = json.loads(post(server.url + "/v1/chat/completions",
                          {"model": "bookgpt", "messages": talk})[1])["bookgpt"]
    assert ans["abstained"] and ans["routed_on"] == "", ans
    # a chat may ask for surer answers than serve.min_confidence, as /v1/ask may
    talk[-1] = {"role": "user", "content": "What did the two knights ride up the hill?"}
    for least, declined in ((0.0, False), (1.0, True)):
        ans = json.loads(post(server.url + "/v1/chat/completions",
                              {"model": "bookgpt", "messages": talk,
                               "min_confidence": least})[1])["bookgpt"]
        assert ans["abstained"] is declined and ans["candidates"], ans
    # /v1/ask takes the earlier questions as `history`
    ans = json.loads(post(server.url + "/v1/ask", {
        "question": "And who wrote it?", "history": ["What is the velocity of light?"]})[1])
    assert ans["routing"][0]["book_id"] == "relativity" and ans["routed_on"]
