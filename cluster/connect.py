"""Connecting a driver to Ray: an existing cluster (`ray start --head` first) or a local one.

Token authentication: see cluster/auth.py (the entry points call `present_token()` before Ray is
imported; `connect` does too, for library users who import it first).
"""

from __future__ import annotations

import logging
import socket

from cluster.auth import present_token

present_token()  # before `import ray`: Ray reads RAY_AUTH_MODE when it is imported

import ray  # noqa: E402

log = logging.getLogger(__name__)


def _check_reachable(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when nothing listens at a host:port address."""
    host, sep, port = address.rpartition(":")
    if not sep or "://" in address or not port.isdigit():
        return  # "auto", ray:// client addresses and the like: Ray checks them itself
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as exc:
        raise ConnectionError(f"no Ray cluster answers at {address} ({exc.strerror or exc}); "
                              f"start one there with `ray start --head`, or drop --address to "
                              f"use a local Ray") from None


def connect(address: str = "", namespace: str = "bookgpt", num_cpus: int | None = None) -> str:
    """Join the cluster at `address`, else a running local one, else start a local Ray.

    Returns a sentence saying which, for the user.
    """
    if ray.is_initialized():
        return "using the Ray connection already open"
    if address:
        _check_reachable(address)
        ray.init(address=address, namespace=namespace, log_to_driver=False)
        return f"connected to the Ray cluster at {address}"
    try:
        ray.init(address="auto", namespace=namespace, log_to_driver=False)
        return "connected to the running Ray cluster (ray start --head)"
    except (ConnectionError, RuntimeError):
        pass
    ray.init(namespace=namespace, num_cpus=num_cpus, log_to_driver=False)
    return ("no running Ray cluster found, so started a local one for this process (it stops "
            "with it); run `ray start --head` first to keep actors between runs")
