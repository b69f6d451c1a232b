"""Request ids, the access log and the API key, on a real server over the two tiny trained books;
and the warning bookgpt-serve gives before it listens beyond this machine without a key."""

from __future__ import annotations

import json
import logging
import re

import pytest

from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.orchestrator import Orchestrator
from bookgpt.serving.auth import API_KEY_ENV, api_key_from, exposure_warning
from bookgpt.serving.http import create_app
from commands.serve import build_parser, http_front
from conftest import ThreadedServer
from http_client import get, post

KEY = "s3cret-Key_for.tests"


@pytest.fixture(scope="module")
def backend(trained):
    return Orchestrator(load_config(CONFIG_DIR / "tiny.yaml"), trained[0])


@pytest.fixture(scope="module")
def logged(backend):
    with ThreadedServer(create_app(backend, access_log=True)) as srv:
        yield srv


@pytest.fixture(scope="module")
def locked(backend):
    with ThreadedServer(create_app(backend, api_key=KEY)) as srv:
        yield srv


def test_the_request_id_is_echoed_or_made(logged):
    _, _, headers = get(logged.url + "/v1/books", {"X-Request-Id": "client-42.a"})
    assert headers["X-Request-Id"] == "client-42.a"
    _, _, one = get(logged.url + "/healthz")
    _, _, two = get(logged.url + "/healthz")
    assert re.fullmatch(r"[0-9a-f]{32}", one["X-Request-Id"]) and one["X-Request-Id"] != \
        two["X-Request-Id"]
    # on errors and on streams too
    status, _, headers = get(logged.url + "/no/such/path", {"X-Request-Id": "r-404"})
    assert status == 404 and headers["X-Request-Id"] == "r-404"
    status, _, headers = post(logged.url + "/v1/ask", {"question": ""}, {"X-Request-Id": "r-400"})
    assert status == 400 and headers["X-Request-Id"] == "r-400"
    body = {"model": "bookgpt/relativity", "prompt": "Light is", "max_tokens": 3, "stream": True}
    status, _, headers = post(logged.url + "/v1/completions", body, {"X-Request-Id": "r-sse"})
    assert status == 200 and headers["X-Request-Id"] == "r-sse"
    # an id that cannot be echoed safely is refused, and the reply carries a new one
    status, text, headers = get(logged.url + "/healthz", {"X-Request-Id": "x" * 200})
    assert status == 400 and "X-Request-Id must be" in json.loads(text)["error"]["message"]
    assert re.fullmatch(r"[0-9a-f]{32}", headers["X-Request-Id"])


def test_the_access_log_names_each_request(logged, backend, caplog):
    caplog.set_level(logging.INFO, logger="bookgpt.access")
    post(logged.url + "/v1/chat/completions",
         {"messages": [{"role": "user", "content": "What is light?"}], "user": "reader-7"},
         {"X-Request-Id": "log-me"})
    get(logged.url + "/v1/books/nope")  # a 404
    lines = [r.getMessage() for r in caplog.records if r.name == "bookgpt.access"]
    assert any('"POST /v1/chat/completions" 200' in m and "id=log-me" in m
               and "user='reader-7'" in m for m in lines), lines
    assert any('"GET /v1/books/nope" 404' in m for m in lines), lines
    caplog.clear()
    with ThreadedServer(create_app(backend)) as quiet:  # off by default
        get(quiet.url + "/healthz")
    assert not [r for r in caplog.records if r.name == "bookgpt.access"]


@pytest.mark.parametrize("method,path", [("GET", "/v1/models"), ("GET", "/v1/books"),
                                         ("POST", "/v1/ask"), ("POST", "/admin/batching")])
def test_the_api_key_guards_v1_and_admin(locked, method, path):
    send = (lambda h: get(locked.url + path, h)) if method == "GET" else \
        (lambda h: post(locked.url + path, {"question": "What is light?"}, h))
    status, text, headers = send({})
    assert status == 401 and headers["WWW-Authenticate"] == "Bearer"
    assert "Authorization: Bearer <key>" in json.loads(text)["error"]["message"]
    status, text, _ = send({"Authorization": f"Bearer {KEY}x"})
    assert status == 401 and "not this server's" in json.loads(text)["error"]["message"]
    status, text, _ = send({"Authorization": KEY})  # no scheme
    assert status == 401
    status, text, _ = send({"Authorization": f"Bearer {KEY}"})
    assert status != 401, text  # let in (/admin/batching then says this backend has none: 400)


def test_probes_and_metrics_stay_open_behind_a_key(locked):
    for path in ("/healthz", "/readyz", "/metrics"):
        assert get(locked.url + path)[0] == 200, path
    assert 'status="401"' in get(locked.url + "/metrics")[1]  # the refusals are counted


def test_the_key_comes_from_the_environment_first(monkeypatch):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    assert api_key_from("") == "" and api_key_from("from-config") == "from-config"
    monkeypatch.setenv(API_KEY_ENV, "from-env")
    assert api_key_from("from-config") == "from-env"
    monkeypatch.setenv(API_KEY_ENV, "has a space")
    with pytest.raises(ValueError, match=f"{API_KEY_ENV}: an API key must be printable ASCII"):
        api_key_from("")


@pytest.mark.parametrize("host,key,warned", [
    ("127.0.0.1", "", False), ("localhost", "", False), ("::1", "", False),
    ("0.0.0.0", "", True), ("", "", True), ("192.168.1.5", "", True), ("myhost", "", True),
    ("0.0.0.0", KEY, False)])
def test_listening_beyond_this_machine_without_a_key_warns(host, key, warned):
    warning = exposure_warning(host, key)
    assert (warning is not None) == warned
    if warned:
        assert "without an API key" in warning and API_KEY_ENV in warning


def test_bookgpt_serve_warns_and_keeps_the_key_from_the_actors(monkeypatch, caplog):
    monkeypatch.delenv(API_KEY_ENV, raising=False)
    caplog.set_level(logging.WARNING, logger="bookgpt-serve")
    cfg = load_config(CONFIG_DIR / "tiny.yaml")
    actors_cfg, front = http_front(build_parser().parse_args(["--host", "0.0.0.0",
                                                              "--access-log"]), cfg)
    assert any("without an API key" in r.getMessage() for r in caplog.records)
    assert front == {"host": "0.0.0.0", "port": 8000, "api_key": "", "access_log": True}
    caplog.clear()
    monkeypatch.setenv(API_KEY_ENV, KEY)
    actors_cfg, front = http_front(build_parser().parse_args(["--host", "0.0.0.0"]), cfg)
    assert front["api_key"] == KEY and not caplog.records  # a key: no warning
    assert actors_cfg.serve.api_key == "" and actors_cfg.serve.access_log is False
