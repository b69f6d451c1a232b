"""`bookgpt-serve`: connect to Ray, create or reuse the actors, and serve HTTP on 127.0.0.1."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys

import msgspec
from aiohttp import web

from bookgpt.config import Config, ConfigError
from cluster.auth import present_token
from bookgpt.device import DeviceError
from bookgpt.errors import AskError
from bookgpt.paths import artifacts_root
from bookgpt.serving.auth import api_key_from, exposure_warning
from bookgpt.serving.http import create_app
from bookgpt.serving.watch import watch
from commands.options import add_config_options, config_from

log = logging.getLogger("bookgpt-serve")


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="bookgpt-serve",
                                description="Serve every trained book behind one HTTP endpoint, "
                                            "with one Ray actor per book model.")
    add_config_options(p)
    p.add_argument("--address", default=None,
                   help="Ray address (default: the running cluster, else a local one)")
    p.add_argument("--host", default=None, help="bind address (default serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, default=None, help="port (default serve.port, 8000)")
    p.add_argument("--no-batching", action="store_true", help="one request per generation")
    p.add_argument("--access-log", action="store_true",
                   help="log one line per request: status, time, request id (serve.access_log)")
    p.add_argument("--teardown", action="store_true",
                   help="kill the actors on exit (default: they stay for the next bookgpt-serve)")
    p.add_argument("--replicas", metavar="N|BOOK=N", action="append", default=[],
                   help="book model actors per book (serve.replicas), or for one book "
                        "(serve.book_replicas), e.g. --replicas flatland=2; repeatable")
    p.add_argument("--watch", metavar="SECONDS", type=float, nargs="?", const=2.0, default=None,
                   help="reload by itself when a book finishes training or the router is "
                        "rebuilt (looks every SECONDS, default 2); POST /admin/reload does it "
                        "on demand")
    return p


def with_replicas(cfg: Config, specs: list[str]) -> Config:
    """The config with --replicas applied: "N" for every book, "BOOK=N" for one."""
    serve = cfg.serve
    per_book = dict(serve.book_replicas)
    for spec in specs:
        book, sep, n = spec.rpartition("=")
        if not n.isdigit() or not 1 <= int(n) <= 64 or (sep and not book):
            raise ConfigError(f"--replicas {spec!r}: give N or BOOK=N with N from 1 to 64, "
                              f"e.g. --replicas 2 or --replicas flatland=2")
        if sep:
            per_book[book] = int(n)
        else:
            serve = msgspec.structs.replace(serve, replicas=int(n))
    return msgspec.structs.replace(cfg, serve=msgspec.structs.replace(serve,
                                                                      book_replicas=per_book))


def http_front(args: argparse.Namespace, cfg: Config) -> tuple[Config, dict]:
    """The HTTP front's own settings (create_app's host, port, api_key, access_log), a warning
    logged when the API is open to other machines without a key, and the config the actors are
    built from without them: the key never travels in actor arguments, and a new key or access
    log setting does not rebuild the actors."""
    try:
        key = api_key_from(cfg.serve.api_key)
    except ValueError as exc:
        raise ConfigError(str(exc)) from None
    host, port = args.host or cfg.serve.host, args.port or cfg.serve.port
    if warning := exposure_warning(host, key):
        log.warning(warning)
    actors_cfg = msgspec.structs.replace(
        cfg, serve=msgspec.structs.replace(cfg.serve, api_key="", access_log=False))
    return actors_cfg, {"host": host, "port": port, "api_key": key,
                        "access_log": args.access_log or cfg.serve.access_log}


def main(argv: list[str] | None = None) -> int:
    present_token()  # before Ray is imported: Ray reads RAY_AUTH_MODE at import
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    try:
        cfg, front = http_front(args, with_replicas(config_from(args), args.replicas))
        from actors.app import Deployment
        from actors.backend import RayBackend
        from cluster.connect import connect

        print(f"bookgpt-serve: {connect(args.address or cfg.cluster.address, cfg.serve.namespace)}",
              flush=True)
        artifacts = artifacts_root(cfg)
        dep = Deployment(cfg, artifacts, batching=not args.no_batching)
    except (ConfigError, DeviceError, AskError, RuntimeError, ConnectionError) as exc:
        print(f"bookgpt-serve: error: {exc}", file=sys.stderr)
        return 2
    host, port = front["host"], front["port"]
    backend = RayBackend(dep)
    app = create_app(backend, max_body_bytes=cfg.serve.max_body_bytes, api_key=front["api_key"],
                     access_log=front["access_log"])
    if args.watch is not None:
        async def watching(app: web.Application):
            task = asyncio.create_task(watch(artifacts, backend.reload, max(0.1, args.watch)))
            yield
            task.cancel()
        app.cleanup_ctx.append(watching)
    print(f"bookgpt-serve: {len(dep.book_ids)} books ({', '.join(dep.book_ids)}) on "
          f"http://{host}:{port}  (POST /v1/ask, /v1/chat/completions; GET /readyz)", flush=True)
    try:
        # run_app stops accepting on SIGINT/SIGTERM and lets in-flight requests finish
        web.run_app(app, host=host, port=port, shutdown_timeout=cfg.serve.request_timeout_s,
                    print=None, access_log=None)
    finally:
        if args.teardown:
            dep.teardown()
            print("bookgpt-serve: actors torn down", flush=True)
        else:
            print("bookgpt-serve: stopped; the actors stay for the next bookgpt-serve "
                  "(--teardown removes them)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
