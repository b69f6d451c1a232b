"""Connecting a driver to Ray: an existing cluster (`ray start --head` first) or a local one.

Token authentication (Ray 2.60+): `ray start` and a local `ray.init()` write ~/.ray/auth_token and
require it. Our policy: keep it on, and have every BookGPT driver present that token (we set
RAY_AUTH_MODE=token when the token file exists and the user has not chosen a mode). The dashboard
asks for the same token: print it with `ray get-auth-token`.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

import ray

log = logging.getLogger(__name__)
TOKEN_FILE = Path.home() / ".ray" / "auth_token"


def _use_token_if_present() -> bool:
    """Present ~/.ray/auth_token when joining a cluster; True if this call set the mode."""
    if "RAY_AUTH_MODE" not in os.environ and (TOKEN_FILE.is_file() or os.environ.get("RAY_AUTH_TOKEN")):
        os.environ["RAY_AUTH_MODE"] = "token"
        return True
    return False


def connect(address: str = "", namespace: str = "bookgpt", num_cpus: int | None = None) -> str:
    """Join the cluster at `address`, else a running local one, else start a local Ray.

    Returns a sentence saying which, for the user.
    """
    if ray.is_initialized():
        return "using the Ray connection already open"
    we_set = _use_token_if_present()
    if address:
        ray.init(address=address, namespace=namespace, log_to_driver=False)
        return f"connected to the Ray cluster at {address}"
    try:
        ray.init(address="auto", namespace=namespace, log_to_driver=False)
        return "connected to the running Ray cluster (ray start --head)"
    except (ConnectionError, RuntimeError):
        pass
    if we_set:  # a local Ray of our own sets up its token itself
        del os.environ["RAY_AUTH_MODE"]
    ray.init(namespace=namespace, num_cpus=num_cpus, log_to_driver=False)
    return ("no running Ray cluster found, so started a local one for this process (it stops "
            "with it); run `ray start --head` first to keep actors between runs")
