"""`bookgpt [--config PATH] [--set key.path=value ...] [--artifacts DIR] COMMAND`.

Parses the global options, loads the config once and dispatches to a command module.
"""

from __future__ import annotations

import argparse
import logging
import sys
from types import ModuleType


from bookgpt import __version__
from bookgpt.bench.generate_bench import MissingExtraError
from bookgpt.config import ConfigError
from bookgpt.crawl.catalog import CatalogError
from bookgpt.device import DeviceError

# Each command module offers add_parser(subparsers) and run(args, cfg) -> exit code.
from commands.options import add_config_options, config_from
from commands import bench_cmd, crawl_cmd, eval_cmd, qa_cmd, train_cmd
from commands.train_cmd import BookSelectionError
from commands import ray_train_cmd as cluster_train_cmd  # imports Ray only when `train` runs
from cluster.auth import present_token
from cluster.resources import InfeasibleError
from bookgpt.inference import PromptError
from bookgpt.errors import AskError
from bookgpt.router import RouterError
from bookgpt.tokenizer import TokenizerError
from bookgpt.train.checkpoint import CheckpointError
from bookgpt.train.pretrain import TrainingError

COMMANDS: list[ModuleType] = [crawl_cmd, train_cmd, qa_cmd, eval_cmd, bench_cmd,
                              cluster_train_cmd]
QUIET_COMMANDS = frozenset({"ask", "chat", "route", "eval"})
USER_ERRORS = (ConfigError, CatalogError, DeviceError, FileNotFoundError, BookSelectionError,
               TokenizerError, CheckpointError, TrainingError, PromptError, AskError, RouterError,
               InfeasibleError, MissingExtraError, ConnectionError)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="bookgpt",
        description="A tiny GPT-2 per book: crawl books, train one model each, ask them questions.")
    parser.add_argument("--version", action="version", version=f"bookgpt {__version__}")
    add_config_options(parser)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debug details")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in COMMANDS:
        module.add_parser(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    present_token()  # before anything imports Ray (train, bench train-parallel)
    parser = build_parser()
    args = parser.parse_args(argv)
    # questions print answers, not the device choice; -v brings the logs back
    quiet = args.command in QUIET_COMMANDS
    logging.basicConfig(level=logging.DEBUG if args.verbose else
                        logging.WARNING if quiet else logging.INFO,
                        format="%(levelname)s %(name)s: %(message)s")
    try:
        return int(args.run(args, config_from(args)) or 0)
    except USER_ERRORS as exc:
        print(f"bookgpt: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("bookgpt: interrupted; finished artifacts are kept and the job can be resumed",
              file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
