"""Parallel training as Ray tasks on a real local cluster: overlap, resume after a kill, fast failure."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import msgspec
import pytest
import ray

from commands.main import main
from bookgpt.config import CONFIG_DIR, load_config, replace
from bookgpt.paths import BookPaths
from cluster.train import ProgressActor, submit_books
from cluster.ship import write_tree
from conftest import REPO, TRAINED_BOOKS

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def crawled_two(tmp_path_factory, shared_books):
    root = tmp_path_factory.mktemp("cluster")
    ids = [a for b in TRAINED_BOOKS for a in ("--book-id", b)]
    assert main(["--artifacts", str(root), "crawl", "--from-dir", str(shared_books),
                 "--no-progress", *ids]) == 0
    return root


def tiny(root, *overrides):
    cfg = load_config(CONFIG_DIR / "tiny.yaml", list(overrides))
    return replace(cfg, paths=msgspec.structs.replace(cfg.paths, artifacts=str(root)))


def test_two_books_train_in_parallel_and_artifacts_come_back(crawled_two, ray_cluster, capsys):
    base = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(crawled_two)]
    ids = [a for b in TRAINED_BOOKS for a in ("--book-id", b)]
    assert main(base + ["train", "--address", ray_cluster, "--no-progress", *ids]) == 0
    out = capsys.readouterr().out
    spans = []
    for book in TRAINED_BOOKS:
        p = BookPaths(crawled_two, book)
        assert (p.finetune_dir / "best.pt").is_file() and (p.pretrain_dir / "best.pt").is_file()
        s = json.loads((p.model_dir / "pretrain.summary.json").read_text())
        spans.append((s["started"], s["finished"]))
        assert book in out
    (a0, a1), (b0, b1) = spans
    assert min(a1, b1) > max(a0, b0), spans  # the two pretraining tasks overlapped in time
    assert "Q&A F1" in out and "router built over 2 books" in out
    # a second run finds everything done and submits nothing
    assert main(base + ["train", "--address", ray_cluster, "--no-progress", *ids]) == 0
    assert "done already" in capsys.readouterr().out


def _workdirs(book: str, since: float) -> dict[str, list]:
    """The training work directories of `book` touched since `since`, with their pretrain logs'
    first and last steps and whether a checkpoint is there (to tell a failure's cause)."""
    import tempfile

    out = {}
    for d in (Path(tempfile.gettempdir()) / "bookgpt-train").glob(f"{book}-*"):
        if d.stat().st_mtime >= since:
            log = d / "models" / book / "pretrain.log.jsonl"
            steps = ([json.loads(x)["step"] for x in log.read_text().splitlines()]
                     if log.is_file() else [])
            out[d.name] = [steps[:2], steps[-2:], len(steps),
                           (d / "models" / book / "pretrain" / "last.pt").is_file()]
    return out


def test_killed_training_worker_resumes_from_its_checkpoint(tmp_path, shared_books, ray_cluster):
    STEPS = 3000
    book = TRAINED_BOOKS[1]
    assert main(["--artifacts", str(tmp_path), "crawl", "--from-dir", str(shared_books),
                 "--no-progress", "--book-id", book]) == 0
    # long enough that the kill lands in pretraining: progress is reported every 0.5 s, and on an
    # idle machine 400 tiny steps were over (the worker already on the next stage) before the
    # kill arrived, so no restart showed in the log
    cfg = tiny(tmp_path, f"pretrain.max_steps={STEPS}", "pretrain.eval_interval=20",
               "pretrain.patience=0", "tokenizer.vocab_size=400")
    progress = ProgressActor.remote()
    started = time.time()
    run = submit_books(cfg, tmp_path, [book], progress)[0]
    killed = None
    deadline = time.time() + 120
    while time.time() < deadline and killed is None:
        ev = ray.get(progress.snapshot.remote()).get(book, {})
        if ev.get("stage") == "pretrain" and ev.get("step", 0) >= 60:
            # the task's name, as the dashboard's task list shows it, names the stage and book
            assert ev["task"] == f"pretrain:{book}", ev
            os.kill(ev["pid"], signal.SIGKILL)  # the worker process dies mid-training
            killed, killed_at = ev["step"], time.time()
        time.sleep(0.05)
    assert killed, "pretraining never reached step 60"
    files = ray.get(run.refs["finetune"], timeout=300)
    log = [json.loads(line) for line in
           files[f"models/{book}/pretrain.log.jsonl"].decode().splitlines()]
    steps = [r["step"] for r in log]
    # the pretraining that finished is a retry: it started after the kill
    summary = json.loads(files[f"models/{book}/pretrain.summary.json"])
    assert summary["started"] > killed_at, (summary, killed_at)
    restarts = [i for i in range(1, len(steps)) if steps[i] <= steps[i - 1]]
    if restarts:  # the retried task took up from the last checkpoint (every 20 steps), not step 1
        assert steps[restarts[0]] > 1 and steps[restarts[0]] % 20 == 1, (killed, steps)
    else:
        # the kill came just after a checkpoint and its step's log line (a checkpoint step is
        # slow, so progress is often reported at one): the retry took up at the next step, and
        # the log runs on without a repeat; a retry from scratch would repeat from step 1, a
        # lost step would leave a gap
        assert steps == list(range(1, STEPS + 1)), (
            f"the pretrain log after the kill at step {killed} neither restarts at a checkpoint "
            f"nor runs on without a gap: {steps[:3]}..{steps[-3:]} ({len(steps)} records); work "
            f"dirs of the run: {_workdirs(book, started)}")
    assert steps[-1] == STEPS
    deadline = time.time() + 30  # its last report may reach the progress actor after its result
    while (ev := ray.get(progress.snapshot.remote())[book]).get("done") != "finetune":
        assert time.time() < deadline, ev
        time.sleep(0.1)
    assert ev["task"] == f"finetune:{book}", ev
    write_tree(tmp_path, files)
    assert BookPaths(tmp_path, book).finetune_dir.joinpath("best.pt").is_file()


def test_infeasible_resources_fail_fast(crawled_two, ray_cluster, capsys):
    base = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(crawled_two),
            "--set", "cluster.train_num_cpus=64"]
    start = time.time()
    assert main(base + ["train", "--address", ray_cluster, "--all", "--no-progress"]) == 2
    assert time.time() - start < 30
    assert "more than any node" in capsys.readouterr().err


def test_one_failing_book_does_not_stop_the_others(tmp_path, shared_books, ray_cluster, capsys):
    base = ["--config", str(CONFIG_DIR / "tiny.yaml"), "--artifacts", str(tmp_path)]
    ids = [a for b in TRAINED_BOOKS for a in ("--book-id", b)]
    assert main(base + ["crawl", "--from-dir", str(shared_books), "--no-progress", *ids]) == 0
    broken, fine = TRAINED_BOOKS
    BookPaths(tmp_path, broken).text.write_text("Far too short to learn anything from. " * 5)
    capsys.readouterr()
    assert main(base + ["train", "--address", ray_cluster, "--no-progress", *ids]) == 1
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if line.startswith(broken))
    assert "failed" in row and "too short to train on" in row
    assert (BookPaths(tmp_path, fine).finetune_dir / "best.pt").is_file()
    assert not (BookPaths(tmp_path, broken).pretrain_dir / "best.pt").exists()


def test_two_node_cluster_on_one_machine(tmp_path):
    # the demo runs its own two-node cluster in subprocesses, on another port and temp dir
    env = dict(os.environ)
    proc = subprocess.run(["bash", str(REPO / "commands" / "two_node_demo.sh"),
                           str(tmp_path / "artifacts")], capture_output=True, text=True,
                          timeout=600, env=env)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    assert "tangled_tale: pretrained on node_a" in proc.stdout
    assert "relativity: pretrained on node_b" in proc.stdout
    assert "two-node run: OK" in proc.stdout and "served:" in proc.stdout
    # a busy book's two replicas are spread over the two nodes
    assert "relativity: served by 2 actor(s) on node_a, node_b" in proc.stdout, proc.stdout


@pytest.mark.parametrize("how", ["argv", "record", "elsewhere"])
def test_a_loopback_cluster_stays_on_the_loopback(tmp_path, how):
    """`ray start --head --node-ip-address=127.0.0.1` then a driver in a fresh shell: Ray would
    replace 127.0.0.1 with the machine's address and retry there for minutes."""
    (tmp_path / "ray").mkdir()
    record = "10.1.2.3:6379" if how == "elsewhere" else "127.0.0.1:6379"
    (tmp_path / "ray" / "ray_current_cluster").write_text(record if how != "argv" else "")
    argv = ["bookgpt", "--address", "127.0.0.1:6379"] if how == "argv" else ["bookgpt"]
    env = {k: v for k, v in os.environ.items() if k not in ("RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER",
                                                             "RAY_ADDRESS")}
    env["RAY_TMPDIR"] = str(tmp_path)
    code = (f"import os, cluster.auth as a; a.keep_loopback({argv!r}); "
            f"print(os.environ.get(a.LOOPBACK_VAR, 'unset'))")
    out = subprocess.run(["python", "-c", code], cwd=REPO, env=env, capture_output=True,
                         text=True, check=True).stdout.strip()
    assert out == ("unset" if how == "elsewhere" else "0")
