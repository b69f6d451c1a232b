"""Two nodes, two books: each book's training tasks run on a different node, then both are served.

`python -m commands.two_node --artifacts DIR` starts the two nodes itself; `--address` uses a
cluster started by commands/two_node_demo.sh style `ray start` commands on real machines.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import time
from pathlib import Path

from cluster.auth import present_token

# both set before Ray is imported, which reads them then: nodes on 127.0.0.1, the cluster's token
os.environ.setdefault("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER", "0")
present_token()

import ray  # noqa: E402

from bookgpt.config import CONFIG_DIR, load_config, replace
from bookgpt.crawl.catalog import load_shelf
from bookgpt.crawl.crawler import Crawler
from bookgpt.config import resolve_repo_path
from bookgpt.messages import AskRequest
from bookgpt.pipeline import build_router
from cluster.connect import connect
from cluster.train import ProgressActor, submit_books
from cluster.ship import write_tree

BOOKS = {"tangled_tale": "node_a", "relativity": "node_b"}


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--address", default=None,
                    help="a running cluster with `node_a` and `node_b` resources (default: start "
                         "two nodes on this machine, each its own raylet, on 127.0.0.1)")
    ap.add_argument("--artifacts", required=True, type=Path)
    ap.add_argument("--books-dir", type=Path,
                    default=Path(__file__).resolve().parents[2] / "shared" / "books")
    args = ap.parse_args()
    import msgspec

    cfg = load_config(CONFIG_DIR / "tiny.yaml")
    cfg = replace(cfg, paths=msgspec.structs.replace(cfg.paths, artifacts=str(args.artifacts)))
    shelf = [b for b in load_shelf(resolve_repo_path(cfg.paths.shelf)) if b.book_id in BOOKS]
    Crawler(cfg.crawl, args.artifacts, from_dir=args.books_dir, progress=False).run(shelf)
    local = None
    if args.address is None:
        # Two real nodes (separate raylets and object stores) on this machine: what
        # `ray start --head` + `ray start --address` do, without the CLI's refusal of
        # multi-node clusters on the loopback address.
        from ray.cluster_utils import Cluster

        local = Cluster(initialize_head=True, connect=True,
                        head_node_args={"num_cpus": 1, "resources": {"node_a": 1}})
        local.add_node(num_cpus=1, resources={"node_b": 1})
        local.wait_for_nodes()
        print(f"started two nodes on this machine at {local.address}")
    else:
        print(connect(args.address, cfg.serve.namespace))
    nodes = {n["NodeID"]: n["Resources"] for n in ray.nodes() if n["Alive"]}
    print(f"cluster: {len(nodes)} nodes")
    progress = ProgressActor.remote()
    t0 = time.time()
    runs = submit_books(cfg, args.artifacts, list(BOOKS), progress,
                        pin={b: {res: 0.01} for b, res in BOOKS.items()})
    for r in runs:
        write_tree(args.artifacts, ray.get(r.refs["finetune"]))
    placed = {}
    for book in BOOKS:
        summ = json.loads((args.artifacts / "models" / book / "pretrain.summary.json").read_text())
        node_res = nodes[summ["node_id"]]
        placed[book] = [k for k in ("node_a", "node_b") if k in node_res][0]
        print(f"{book}: pretrained on {placed[book]} (node {summ['node_id'][:8]}), "
              f"val loss {summ['val_loss']:.3f}; artifacts written by the driver: "
              f"{(args.artifacts / 'models' / book / 'finetune' / 'best.pt').is_file()}")
    print(f"trained in {time.time() - t0:.1f} s")
    build_router(cfg)
    from actors.app import Deployment
    from actors.backend import RayBackend

    # two replicas of one book: Ray spreads them over the two nodes
    cfg = replace(cfg, serve=msgspec.structs.replace(cfg.serve, book_replicas={"relativity": 2}))
    dep = Deployment(cfg, args.artifacts)
    backend = RayBackend(dep)
    names = {n: k for n, res in nodes.items() for k in ("node_a", "node_b") if k in res}
    for book, hs in dep.books.items():
        healths = ray.get([h.health.remote() for h in hs])
        where = ", ".join(sorted(names.get(h["node_id"], "?") for h in healths))
        print(f"{book}: served by {len(hs)} actor(s) on {where}, which fetched "
              f"{healths[0]['files_fetched']} files from the object store")
    for q in ("What is the velocity of light?", "What did the knights ride?"):
        ans = asyncio.run(backend.ask(AskRequest(question=q, max_new_tokens=8)))
        print(f"served: {q!r} -> {ans.book_id}: {ans.answer!r} (confidence {ans.confidence:.2f})")
    dep.teardown()
    ray.shutdown()
    if local is not None:
        local.shutdown()
    ok = placed == BOOKS
    print("two-node run:", "OK" if ok else f"FAILED placement {placed}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
