"""`bookgpt-serve --watch`: notice finished models and a rebuilt router by their files, and reload.

A fine-tune marks its end with `models/<book>/finetune/done.json` (written atomically after its
last checkpoint; removed when a new fine-tune starts), and `bookgpt build-router` writes
`router/meta.json` last. Their sizes and modification times are the marker: when it changes and
then holds still for one period (a pipeline finishing several books in a row reloads once they
are all done, or once per pause), the server reloads.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)

Marker = tuple[tuple[str, int, int], ...]


def artifacts_marker(artifacts: Path) -> Marker:
    """(path, size, mtime in ns) of every finished fine-tune's marker and of the router's meta."""
    found = [*sorted((artifacts / "models").glob("*/finetune/done.json")),
             artifacts / "router" / "meta.json"]
    out = []
    for path in found:
        try:
            st = path.stat()
        except FileNotFoundError:  # removed meanwhile, or no router yet
            continue
        out.append((str(path.relative_to(artifacts)), st.st_size, st.st_mtime_ns))
    return tuple(out)


async def watch(artifacts: Path, reload: Callable[[], Awaitable[dict[str, Any]]],
                every_s: float = 2.0) -> None:
    """Reload whenever the marker has changed and held still for `every_s` seconds. Runs until
    cancelled; a failed reload is logged and tried again at the next change."""
    served = await asyncio.to_thread(artifacts_marker, artifacts)
    seen = served
    while True:
        await asyncio.sleep(every_s)
        now = await asyncio.to_thread(artifacts_marker, artifacts)
        if now != seen:  # still changing: wait until it holds still
            seen = now
            continue
        if now == served:
            continue
        served = now
        try:
            out = await reload()
        except Exception as exc:  # noqa: BLE001 - the server goes on serving what it served
            log.warning("reload after a change under %s failed: %s", artifacts, exc)
            continue
        log.info("reloaded: added %s, replaced %s, removed %s (%.1f s)", out.get("added"),
                 out.get("replaced"), out.get("removed"), out.get("seconds", 0.0))
