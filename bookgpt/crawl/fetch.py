"""HTTP fetching for the crawler: one aiohttp session, bounded concurrency, timeouts, retries."""

from __future__ import annotations

import asyncio
import email.utils
import time
from dataclasses import dataclass

import aiohttp

from bookgpt.config import CrawlConfig


class FetchError(RuntimeError):
    """A source could not be fetched; the message names the URL and the cause."""

    def __init__(self, url: str, cause: str, status: int | None = None):
        super().__init__(f"{cause} ({url})")
        self.url = url
        self.cause = cause
        self.status = status


@dataclass(frozen=True)
class Fetched:
    url: str
    data: bytes
    charset: str | None  # charset declared by the server, if any
    content_type: str


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """Parse a Retry-After header (seconds or an HTTP date) into a delay in seconds."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - (now if now is not None else time.time()))


class Fetcher:
    """Fetches URLs with at most `concurrency` requests in flight; use as an async context manager."""

    def __init__(self, cfg: CrawlConfig):
        self.cfg = cfg
        self._sem = asyncio.Semaphore(cfg.concurrency)
        self._session: aiohttp.ClientSession | None = None

    async def __aenter__(self) -> "Fetcher":
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=self.cfg.timeout_s),
            headers={"User-Agent": self.cfg.user_agent},
            auto_decompress=True,
        )
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._session is not None:
            await self._session.close()

    async def fetch(self, url: str) -> Fetched:
        """GET `url`, retrying timeouts, connection errors, truncated bodies and 5xx with backoff."""
        assert self._session is not None, "use Fetcher as 'async with Fetcher(cfg) as f'"
        delay = self.cfg.backoff_s
        attempts = self.cfg.retries + 1
        for attempt in range(1, attempts + 1):
            wait: float | None = None
            try:
                async with self._sem:
                    return await self._get_once(url)
            except FetchError as exc:
                if exc.status is None or exc.status < 500 or attempt == attempts:
                    raise
                wait = getattr(exc, "retry_after", None)
                last = exc
            except asyncio.TimeoutError:
                last = FetchError(url, f"timed out after {self.cfg.timeout_s:g} s "
                                       f"({attempt} attempt{'s' if attempt > 1 else ''})")
            except aiohttp.ClientPayloadError as exc:
                last = FetchError(url, f"truncated body: the connection closed before the whole "
                                       f"file arrived ({exc.__class__.__name__})")
            except aiohttp.ClientConnectionError as exc:
                last = FetchError(url, f"cannot reach the server: {exc}; check the --mirror URL "
                                       f"and the network")
            if attempt == attempts:
                raise last
            pause = delay if wait is None else max(delay, wait)
            await asyncio.sleep(min(pause, self.cfg.max_backoff_s))
            delay *= 2
        raise AssertionError("unreachable")

    async def _get_once(self, url: str) -> Fetched:
        assert self._session is not None
        async with self._session.get(url) as resp:
            if resp.status == 404:
                raise FetchError(url, "not found (HTTP 404): check the book's id or URL", 404)
            if resp.status >= 400:
                err = FetchError(url, f"server error HTTP {resp.status} {resp.reason or ''}".strip()
                                 + (" after retries" if resp.status >= 500 else ""), resp.status)
                err.retry_after = retry_after_seconds(resp.headers.get("Retry-After"))  # type: ignore[attr-defined]
                raise err
            declared = resp.content_length
            if declared is not None and declared > self.cfg.max_bytes:
                raise FetchError(url, f"source is {declared} bytes, over crawl.max_bytes "
                                      f"({self.cfg.max_bytes})")
            chunks: list[bytes] = []
            size = 0
            async for chunk in resp.content.iter_chunked(1 << 16):
                size += len(chunk)
                if size > self.cfg.max_bytes:
                    raise FetchError(url, f"source exceeds crawl.max_bytes ({self.cfg.max_bytes})")
                chunks.append(chunk)
            data = b"".join(chunks)
            if declared is not None and len(data) < declared and "Content-Encoding" not in resp.headers:
                raise aiohttp.ClientPayloadError(f"got {len(data)} of {declared} bytes")
            return Fetched(url=str(resp.url), data=data, charset=resp.charset,
                           content_type=resp.content_type)
