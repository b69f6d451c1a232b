"""The options every entry point takes to find its config: --config, --set, --artifacts."""

from __future__ import annotations

import argparse

import msgspec

from bookgpt.config import Config, load_config, replace


def add_config_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--config", metavar="PATH", default=None,
                        help="YAML config (default: configs/default.yaml; see configs/ for others)")
    parser.add_argument("--set", dest="overrides", metavar="KEY=VALUE", action="append", default=[],
                        help="override one setting, e.g. --set model.n_layer=4 (repeatable; the key "
                             "must exist and the value must have its type)")
    parser.add_argument("--artifacts", metavar="DIR", default=None,
                        help="artifact root (default: paths.artifacts, i.e. ./artifacts)")


def config_from(args: argparse.Namespace) -> Config:
    """The config those options name (a ConfigError says what is wrong with it)."""
    cfg = load_config(args.config, args.overrides)
    if args.artifacts:
        cfg = replace(cfg, paths=msgspec.structs.replace(cfg.paths, artifacts=args.artifacts))
    return cfg
