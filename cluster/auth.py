"""Ray token authentication, decided before Ray is imported (Ray reads RAY_AUTH_MODE at import).

Ray 2.60 turns token authentication on for `ray start` and a local `ray.init()`, which write
~/.ray/auth_token. Our policy: keep it on, and have every BookGPT driver present that token: when
the token file (or RAY_AUTH_TOKEN) exists and the user has not chosen a mode, RAY_AUTH_MODE=token
is set. The dashboard asks for the same token: print it with `ray get-auth-token`. Every entry
point (`bookgpt`, `bookgpt-serve`, the scripts in cluster/) calls `present_token()` first.
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)
TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def present_token() -> bool:
    """Set RAY_AUTH_MODE=token when a token is at hand; True if this call set it."""
    if "RAY_AUTH_MODE" in os.environ:
        return False
    if not (TOKEN_FILE.is_file() or os.environ.get("RAY_AUTH_TOKEN")
            or os.environ.get("RAY_AUTH_TOKEN_PATH")):
        return False
    if "ray" in sys.modules:
        # too late for this process, and a mode that its Ray ignores would only mislead the
        # processes it starts: leave the environment as it is
        log.debug("Ray is imported already; not choosing an auth mode")
        return False
    os.environ["RAY_AUTH_MODE"] = "token"
    return True
