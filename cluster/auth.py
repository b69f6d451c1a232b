"""Ray token authentication, decided before Ray is imported (Ray reads RAY_AUTH_MODE at import).

Ray 2.60 turns token authentication on for `ray start` and a local `ray.init()`, which write
~/.ray/auth_token. Our policy: keep it on, and have every BookGPT driver present that token: when
the token file (or RAY_AUTH_TOKEN) exists and the user has not chosen a mode, RAY_AUTH_MODE=token
is set. The dashboard asks for the same token: print it with `ray get-auth-token`. Every entry
point (`bookgpt`, `bookgpt-serve`, the scripts in cluster/) calls `present_token()` first.

The same moment decides one more setting that Ray reads at import: a driver joining a cluster that
listens on the loopback (`ray start --head --node-ip-address=127.0.0.1`) must not have Ray replace
127.0.0.1 with the machine's network address, where nothing listens (it retries for minutes).
"""

from __future__ import annotations

import logging
import os
import sys
from pathlib import Path

log = logging.getLogger(__name__)
TOKEN_FILE = Path.home() / ".ray" / "auth_token"


LOOPBACK_VAR = "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"  # "0": Ray keeps loopback addresses as given
_LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]", "::1")


def _addresses(argv: list[str]) -> list[str]:
    """The Ray addresses this process may join: --address on its command line, RAY_ADDRESS, and
    the cluster that `ray start` last recorded."""
    out = [a.split("=", 1)[1] for a in argv if a.startswith("--address=")]
    out += [b for a, b in zip(argv, argv[1:]) if a == "--address"]
    out.append(os.environ.get("RAY_ADDRESS", ""))
    record = Path(os.environ.get("RAY_TMPDIR", "/tmp")) / "ray" / "ray_current_cluster"
    try:
        out.append(record.read_text().strip())
    except OSError:
        pass
    return [a for a in out if a]


def keep_loopback(argv: list[str] | None = None) -> bool:
    """Keep a loopback cluster address on the loopback; True if this call set LOOPBACK_VAR."""
    if LOOPBACK_VAR in os.environ or "ray" in sys.modules:
        return False
    if not any(a.rpartition(":")[0] in _LOOPBACK_HOSTS for a in _addresses(argv or sys.argv)):
        return False
    os.environ[LOOPBACK_VAR] = "0"
    return True


def present_token() -> bool:
    """Set RAY_AUTH_MODE=token when a token is at hand; True if this call set it. Also keeps a
    loopback cluster on the loopback (keep_loopback)."""
    keep_loopback()
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
