"""The chat page (GET /) in a real headless Chromium, over a real HTTP server on 127.0.0.1 that
serves two real tiny trained books in process. Chromium must be installed (.ci/run installs it):
without it these tests fail, saying how to install it."""

from __future__ import annotations

import asyncio
import fnmatch
import json
import tomllib

import aiohttp
import pytest

from bookgpt.config import CONFIG_DIR, load_config
from bookgpt.orchestrator import Orchestrator
from bookgpt.serving.http import create_app
from bookgpt.serving.page import STATIC
from browser import Chromium, Page, png_pixels
from conftest import REPO, TRAINED_BOOKS, ThreadedServer, cut_from

ON_TOPIC = "What is the velocity of light?"
OFF_TOPIC = "What is the capital of Peru?"
ACCENT = bytes((0x2F, 0x5D, 0x8A))  # the header's colour in style.css


@pytest.fixture(scope="module")
def server(trained):
    root, _ = trained
    app = create_app(Orchestrator(load_config(CONFIG_DIR / "tiny.yaml"), root))
    with ThreadedServer(app) as srv:
        yield srv


def request(method: str, url: str, body: dict | None = None) -> tuple[int, str, dict]:
    async def go():
        async with aiohttp.ClientSession() as s:
            async with s.request(method, url, json=body) as r:
                return r.status, await r.text(), dict(r.headers)
    return asyncio.run(go())


def streamed(url: str, body: dict) -> tuple[str, dict]:
    """A streamed chat completion: the text its pieces add up to, and the final `bookgpt`."""
    status, text, _ = request("POST", url + "/v1/chat/completions", {**body, "stream": True})
    assert status == 200, text
    events = [line[6:] for line in text.splitlines() if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    pieces = "".join(c["choices"][0].get("delta", {}).get("content", "") for c in chunks)
    return pieces, chunks[-1]["bookgpt"]


def test_the_page_and_its_files_are_served_with_nothing_from_elsewhere(server):
    status, html, headers = request("GET", server.url + "/")
    assert status == 200 and headers["Content-Type"].startswith("text/html")
    assert '<meta name="viewport"' in html and "/static/app.js" in html and "/static/style.css" in html
    for name in ("app.js", "style.css"):
        status, text, _ = request("GET", f"{server.url}/static/{name}")
        assert status == 200 and text == (STATIC / name).read_text()
    for path in STATIC.iterdir():  # no CDN, no web font: the page works offline
        text = path.read_text()
        assert "http://" not in text and "https://" not in text and "//cdn" not in text, path.name
    assert request("GET", server.url + "/static/nope.js")[0] == 404


def test_the_page_ships_in_the_package():
    """A non-editable install carries the static files: pyproject's package data names them."""
    data = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    globs = data["bookgpt.serving"]
    names = sorted(p.relative_to(STATIC.parent).as_posix() for p in STATIC.iterdir())
    assert names == ["static/app.js", "static/index.html", "static/style.css"]
    assert all(any(fnmatch.fnmatch(n, g) for g in globs) for n in names), (names, globs)


def test_the_streamed_chat_takes_book_ids_and_top_k(server):
    both = {"model": "bookgpt", "messages": [{"role": "user", "content": ON_TOPIC}]}
    _, ans = streamed(server.url, {**both, "book_ids": TRAINED_BOOKS, "top_k": 1})
    assert len(ans["routing"]) == 1
    _, ans = streamed(server.url, {**both, "book_ids": TRAINED_BOOKS, "top_k": 2})
    assert {r["book_id"] for r in ans["routing"]} == set(TRAINED_BOOKS)
    _, ans = streamed(server.url, {**both, "book_ids": ["tangled_tale"], "top_k": 2})
    assert [r["book_id"] for r in ans["routing"]] == ["tangled_tale"]
    status, text, _ = request("POST", server.url + "/v1/chat/completions",
                              {**both, "model": "bookgpt/relativity", "book_ids": ["relativity"]})
    assert status == 400 and "`$.book_ids`" in text
    status, text, _ = request("POST", server.url + "/v1/chat/completions", {**both, "top_k": 0})
    assert status == 400 and "`$.top_k`" in text


# what the page shows of its answers: text, pieces streamed, provenance
SHOWN = """[...document.querySelectorAll('.msg.bot')].map(m => ({
  state: m.dataset.state, pieces: Number(m.dataset.pieces),
  text: m.querySelector('.text').textContent,
  abstained: m.classList.contains('abstained'),
  book: m.querySelector('.book cite')?.textContent ?? null,
  confidence: m.querySelector('.confidence')?.textContent ?? null,
  support: m.querySelector('.support')?.textContent ?? null,
  passage: m.querySelector('.passage p')?.textContent ?? null,
  weights: [...m.querySelectorAll('.weights li')].map(li => li.textContent),
  all: m.innerText}))"""


async def ask_on_page(page: Page, question: str, answers: int, click: bool = False) -> dict:
    """Types a question, sends it (Enter, or a click on Ask) and waits for its streamed answer."""
    await page.type_text("#question", question)
    assert await page.js("document.querySelector('#question').value") == question
    await (page.click("#send") if click else page.press_enter())
    await page.wait_for(f"document.querySelectorAll('.msg.bot[data-state=done], "
                        f".msg.bot[data-state=error]').length === {answers}")
    return (await page.js(SHOWN))[-1]


def posted_bodies(page: Page) -> list[dict]:
    return [json.loads(e["params"]["request"]["postData"]) for e in page.events
            if e["method"] == "Network.requestWillBeSent"
            and e["params"]["request"]["url"].endswith("/v1/chat/completions")]


def check_screenshot(png: bytes, width: int, height: int) -> None:
    """A drawn page, not a blank one: its size, many colours, and the header in its colour."""
    w, h, rows = png_pixels(png)
    assert (w, h) == (width, height)
    colours = {row[i:i + 3] for row in rows for i in range(0, len(row), 3)}
    assert len(colours) > 50, f"only {len(colours)} colours: a blank page?"
    assert rows[5][15:18] == ACCENT, "the header is not in the stylesheet's colour"


def test_the_page_streams_answers_with_their_provenance(server, tmp_path):
    # what the server answers, asked directly
    direct, ans = streamed(server.url, {"messages": [{"role": "user", "content": ON_TOPIC}]})
    assert not ans["abstained"] and len(direct.split(" ")) >= 2, ans
    off_direct, off = streamed(server.url, {"messages": [{"role": "user", "content": OFF_TOPIC}]})
    assert off["abstained"] and off_direct == "", "the tiny shelf no longer abstains on this question"

    async def go():
        async with Chromium() as browser:
            page = await browser.new_page()
            await page.resize(1280, 800)
            await page.goto(server.url + "/")
            await page.wait_for("document.querySelectorAll('#books input').length > 0")
            ticks = await page.js("[...document.querySelectorAll('#books input')].map(t => t.value)")
            assert sorted(ticks) == sorted(TRAINED_BOOKS)

            shown = await ask_on_page(page, ON_TOPIC, 1)
            assert shown["state"] == "done" and shown["text"] == ans["answer"]
            # it came as it was streamed, word by word
            assert shown["pieces"] == len(ans["answer"].split(" ")), shown
            assert shown["book"] == ans["title"] and not shown["abstained"]
            assert shown["confidence"] == f"Confidence {round(ans['confidence'] * 100)}%"
            assert shown["support"] == ans["support"] and cut_from(ans["answer"], shown["support"])
            assert shown["passage"] == ans["passage"]
            # (one line a routed book: a second book that grounds the question too little has
            # no say, `route.MIN_GROUNDING`)
            assert len(shown["weights"]) == len(ans["routing"]) >= 1
            for line, routed in zip(shown["weights"], ans["routing"]):
                assert routed["title"] in line and f"weight {round(routed['weight'] * 100)}%" in line
            assert "Not in these books" not in shown["all"]
            desktop = await page.screenshot()

            shown = await ask_on_page(page, OFF_TOPIC, 2, click=True)
            assert shown["state"] == "done" and shown["abstained"]
            assert shown["text"] == "Not in these books." and shown["book"] is None
            # ... and says why, as the server does for the same request (on the tiny shelf: no
            # book matches its words closely enough)
            body = {k: v for k, v in posted_bodies(page)[-1].items() if k != "stream"}
            _, again = await asyncio.to_thread(streamed, server.url, body)
            assert again["abstained"] and again["declined"], again
            assert f"No book was asked: {again['declined']}." in shown["all"], shown["all"]
            # the conversation goes with a question (a follow-up is routed with it), and does
            # not lend a question about nothing on the shelf a book
            assert posted_bodies(page)[-1]["messages"] == [
                {"role": "user", "content": ON_TOPIC}, {"role": "assistant", "content": ans["answer"]},
                {"role": "user", "content": OFF_TOPIC}]

            # one book ticked, generated: the request names its model and decoding
            await page.click("#books input[value=relativity]")
            await page.js("(s => { s.value = 'generate'; s.dispatchEvent(new Event('change')); })"
                          "(document.querySelector('#decoding'))")
            shown = await ask_on_page(page, ON_TOPIC, 3)
            assert shown["state"] == "done"
            body = posted_bodies(page)[-1]
            assert body["model"] == "bookgpt/relativity" and body["decoding"] == "generate"
            assert body["stream"] is True and "book_ids" not in body
            assert len(shown["weights"]) <= 1 and all("Relativity" in w for w in shown["weights"])

            # both ticked, top-K 1: the routed model over those books, one of them asked
            await page.click("#books input[value=tangled_tale]")
            await page.js("document.querySelector('#decoding').value = ''")
            await page.type_text("#top-k", "1")
            shown = await ask_on_page(page, ON_TOPIC, 4)
            body = posted_bodies(page)[-1]
            assert body["model"] == "bookgpt" and sorted(body["book_ids"]) == sorted(TRAINED_BOOKS)
            assert body["top_k"] == 1 and "decoding" not in body
            assert shown["state"] == "done" and len(shown["weights"]) == 1

            # an API key, when given, goes with every request to the API
            def api_requests():
                return [e["params"]["request"] for e in page.events
                        if e["method"] == "Network.requestWillBeSent"
                        and "/v1/" in e["params"]["request"]["url"]]
            before = len(api_requests())
            assert before >= 5 and all("Authorization" not in r["headers"] for r in api_requests())
            await page.type_text("#api-key", "sekrit")
            await page.js("document.querySelector('#api-key').dispatchEvent(new Event('change'))")
            await page.wait_for("document.querySelector('#books .loading').hidden && "
                                "document.querySelectorAll('#books input').length === 2")
            shown = await ask_on_page(page, OFF_TOPIC, 5)
            assert shown["state"] == "done" and shown["abstained"]
            sent = api_requests()[before:]
            assert {r["url"].removeprefix(server.url) for r in sent} == {"/v1/books", "/v1/chat/completions"}
            assert all(r["headers"].get("Authorization") == "Bearer sekrit" for r in sent), sent

            assert page.exceptions() == []
            urls = page.requested_urls()
            assert urls and all(u.startswith(server.url + "/") for u in urls), urls
            await page.close()
            return desktop

    desktop = asyncio.run(go())
    (tmp_path / "page.png").write_bytes(desktop)
    check_screenshot(desktop, 1280, 800)


def test_the_page_fits_a_phone_screen(server):
    async def go():
        async with Chromium() as browser:
            page = await browser.new_page()
            await page.resize(390, 844, mobile=True)
            await page.goto(server.url + "/")
            await page.wait_for("document.querySelectorAll('#books input').length > 0")
            assert await page.js("document.querySelector('#settings').open") is False
            shown = await ask_on_page(page, ON_TOPIC, 1, click=True)
            assert shown["state"] == "done" and shown["book"] and shown["support"]
            # nothing wider than the screen, and the question box and its button on it
            assert await page.js("document.documentElement.scrollWidth <= window.innerWidth")
            for sel in ("#question", "#send", ".msg.bot .text"):
                box = await page.js(f"(r => [r.left, r.right, r.bottom])"
                                    f"(document.querySelector('{sel}').getBoundingClientRect())")
                assert 0 <= box[0] < box[1] <= 390 and box[2] <= 844, (sel, box)
            assert page.exceptions() == []
            png = await page.screenshot()
            await page.close()
            return png

    check_screenshot(asyncio.run(go()), 390, 844)
