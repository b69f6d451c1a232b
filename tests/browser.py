"""A real headless Chromium driven over the DevTools protocol (a websocket, with aiohttp's client),
and a small PNG reader for its screenshots. Chromium comes from Debian (`apt-get install
chromium`; .ci/run installs it); nothing here reaches beyond 127.0.0.1."""

from __future__ import annotations

import asyncio
import base64
import json
import shutil
import struct
import subprocess
import tempfile
import time
import zlib
from pathlib import Path

import aiohttp

# Headless, and quiet: this machine's network is closed, and without these Chromium tries to
# reach Google (sync, component updates, field trials, QUIC probes).
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--remote-debugging-address=127.0.0.1",
         "--remote-debugging-port=0"]


def chromium_path() -> str:
    """Chromium's executable, or an AssertionError that says how to install it."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    assert path, ("Chromium is not installed; the page tests drive a real headless browser: "
                  "run `apt-get install chromium chromium-driver` (.ci/run does so when it is missing)")
    return path


class Page:
    """One tab of a headless Chromium: send DevTools commands, keep the events that come."""

    def __init__(self, ws: aiohttp.ClientWebSocketResponse):
        self.ws = ws
        self.events: list[dict] = []
        self._next = 0
        self._waiting: dict[int, asyncio.Future] = {}
        self._reader = asyncio.create_task(self._read())

    async def _read(self) -> None:
        async for msg in self.ws:
            data = json.loads(msg.data)
            if "id" in data and data["id"] in self._waiting:
                self._waiting.pop(data["id"]).set_result(data)
            elif "method" in data:
                self.events.append(data)

    async def send(self, method: str, **params) -> dict:
        self._next += 1
        fut = asyncio.get_running_loop().create_future()
        self._waiting[self._next] = fut
        await self.ws.send_str(json.dumps({"id": self._next, "method": method, "params": params}))
        reply = await asyncio.wait_for(fut, 30)
        if "error" in reply:
            raise RuntimeError(f"{method}: {reply['error']}")
        return reply["result"]

    async def js(self, expression: str):
        """The value of a JavaScript expression in the page (awaited if it is a promise)."""
        out = await self.send("Runtime.evaluate", expression=expression, returnByValue=True,
                              awaitPromise=True)
        if "exceptionDetails" in out:
            raise RuntimeError(f"{expression!r}: {out['exceptionDetails']}")
        return out["result"].get("value")

    async def wait_for(self, expression: str, timeout: float = 30.0):
        """Polls a JavaScript expression until it is truthy; returns its value."""
        deadline = time.monotonic() + timeout
        while True:
            value = await self.js(expression)
            if value:
                return value
            assert time.monotonic() < deadline, f"timed out waiting for {expression!r}"
            await asyncio.sleep(0.05)

    async def goto(self, url: str) -> None:
        await self.send("Page.navigate", url=url)
        await self.wait_for("document.readyState === 'complete'")

    async def type_text(self, selector: str, text: str) -> None:
        """Focus a field and type into it as a keyboard would (input events fire)."""
        await self.js(f"document.querySelector({json.dumps(selector)}).focus()")
        for ch in text:
            await self.send("Input.dispatchKeyEvent", type="keyDown", text=ch)
            await self.send("Input.dispatchKeyEvent", type="keyUp")

    async def press_enter(self) -> None:
        key = {"key": "Enter", "code": "Enter", "windowsVirtualKeyCode": 13}
        await self.send("Input.dispatchKeyEvent", type="keyDown", text="\r", **key)
        await self.send("Input.dispatchKeyEvent", type="keyUp", **key)

    async def click(self, selector: str) -> None:
        """A real mouse click at the middle of an element."""
        box = await self.js(f"(r => [r.x + r.width / 2, r.y + r.height / 2])(document"
                            f".querySelector({json.dumps(selector)}).getBoundingClientRect())")
        for kind in ("mousePressed", "mouseReleased"):
            await self.send("Input.dispatchMouseEvent", type=kind, x=box[0], y=box[1],
                            button="left", clickCount=1)

    async def resize(self, width: int, height: int, mobile: bool = False) -> None:
        await self.send("Emulation.setDeviceMetricsOverride", width=width, height=height,
                        deviceScaleFactor=1, mobile=mobile)

    async def screenshot(self) -> bytes:
        return base64.b64decode((await self.send("Page.captureScreenshot", format="png"))["data"])

    def exceptions(self) -> list[str]:
        return [json.dumps(e["params"]["exceptionDetails"])[:500] for e in self.events
                if e["method"] == "Runtime.exceptionThrown"]

    def requested_urls(self) -> list[str]:
        return [e["params"]["request"]["url"] for e in self.events
                if e["method"] == "Network.requestWillBeSent"]

    async def close(self) -> None:
        self._reader.cancel()
        await self.ws.close()


class Chromium:
    """A headless Chromium with a fresh profile in a temporary directory, for one `async with`."""

    async def __aenter__(self) -> "Chromium":
        exe = chromium_path()
        self.profile = tempfile.mkdtemp(prefix="bookgpt-chromium-")
        self.proc = subprocess.Popen([exe, *FLAGS, f"--user-data-dir={self.profile}", "about:blank"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                     start_new_session=True)
        port_file = Path(self.profile) / "DevToolsActivePort"
        deadline = time.monotonic() + 30
        while not (port_file.exists() and port_file.read_text().strip()):
            assert self.proc.poll() is None, f"Chromium exited at start with {self.proc.returncode}"
            assert time.monotonic() < deadline, "Chromium did not open its DevTools port in 30 s"
            await asyncio.sleep(0.05)
        self.port = int(port_file.read_text().split()[0])
        self.session = aiohttp.ClientSession()
        return self

    async def new_page(self) -> Page:
        """The open tab, with page, runtime and network events on."""
        async with self.session.get(f"http://127.0.0.1:{self.port}/json/list") as r:
            targets = await r.json()
        target = next(t for t in targets if t["type"] == "page")
        ws = await self.session.ws_connect(target["webSocketDebuggerUrl"], max_msg_size=0)
        page = Page(ws)
        for domain in ("Page", "Runtime", "Network"):
            await page.send(f"{domain}.enable")
        return page

    async def __aexit__(self, *exc: object) -> None:
        await self.session.close()
        self.proc.terminate()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)
        shutil.rmtree(self.profile, ignore_errors=True)


def png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Width, height and the RGB rows of an 8-bit RGB or RGBA PNG (as Chromium writes them): enough
    of the format to tell a blank screenshot from a drawn one."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, b"", None
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos:pos + 8])
        data = png[pos + 8:pos + 8 + length]
        if kind == b"IHDR":
            header = struct.unpack(">IIBBBBB", data)
        elif kind == b"IDAT":
            idat += data
        pos += 12 + length
    assert header, "a PNG without its IHDR"
    width, height, depth, colour, _, _, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, f"unexpected PNG kind {header}"
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(idat), width * bpp
    assert len(raw) == height * (stride + 1), "truncated PNG data"
    rows, prev = [], bytearray(stride)
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1:start + 1 + stride])
        if kind == 2:  # up
            line = bytearray((a + b) & 0xFF for a, b in zip(line, prev))
        elif kind in (1, 3, 4):  # sub, average, paeth: each byte after the one to its left
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                if kind == 1:
                    line[i] = (line[i] + left) & 0xFF
                elif kind == 3:
                    line[i] = (line[i] + (left + prev[i]) // 2) & 0xFF
                else:
                    up, corner = prev[i], prev[i - bpp] if i >= bpp else 0
                    p = left + up - corner
                    pa, pb, pc = abs(p - left), abs(p - up), abs(p - corner)
                    line[i] = (line[i] + (left if pa <= pb and pa <= pc else
                                          up if pb <= pc else corner)) & 0xFF
        rows.append(bytes(line) if bpp == 3 else
                    bytes(b for i, b in enumerate(line) if i % 4 != 3))
        prev = line
    return width, height, rows


def distinct_colours(png: bytes) -> tuple[int, int, int]:
    """Width, height and the number of distinct RGB colours of a PNG."""
    width, height, rows = png_pixels(png)
    seen = {row[i:i + 3] for row in rows for i in range(0, len(row), 3)}
    return width, height, len(seen)
