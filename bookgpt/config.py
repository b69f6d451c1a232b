"""Typed, frozen configuration: one msgspec Struct per section, loaded from YAML with dotted overrides.

The defaults written here are the defaults of configs/default.yaml (a test keeps the two equal).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import msgspec
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


class ConfigError(ValueError):
    """A configuration file or override is wrong; the message names the key and what to do."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


class PathsConfig(_Section):
    artifacts: str = "artifacts"  # root of every artifact (books/, models/, router/); --artifacts overrides
    shelf: str = "configs/shelf.yaml"  # catalog of the default shelf, relative to the repo if not absolute


class CrawlConfig(_Section):
    base_url: str = "https://www.gutenberg.org"  # Gutenberg base; --mirror replaces it
    concurrency: int = 4  # books fetched at once
    timeout_s: float = 60.0  # total time allowed for one HTTP request
    retries: int = 3  # extra attempts after a timeout, connection error or 5xx (never after 404)
    backoff_s: float = 1.0  # first retry delay; doubles each attempt (Retry-After wins when larger)
    max_backoff_s: float = 30.0  # cap on one retry delay, Retry-After included
    max_bytes: int = 50_000_000  # refuse a source larger than this
    min_text_chars: int = 2000  # a cleaned book shorter than this is an error (e.g. an empty HTML page)
    user_agent: str = "BookGPT/0.1 (per-book language models; polite crawler; aiohttp)"  # HTTP UA


class TokenizerConfig(_Section):
    vocab_size: int = 8192  # BPE vocabulary including special tokens; small books get fewer
    min_frequency: int = 2  # a pair must occur this often to become a merge
    val_fraction: float = 0.1  # share of the book's tokens held out for validation (contiguous blocks)
    val_blocks: int = 10  # number of contiguous validation blocks spread through the book


class ModelConfig(_Section):
    n_layer: int = 6  # transformer blocks
    n_head: int = 8  # attention heads per block
    n_embd: int = 256  # embedding width
    context_length: int = 512  # maximum sequence length (positions)
    dropout: float = 0.1  # dropout in attention, MLP and embeddings during training
    bias: bool = True  # biases in Linear and LayerNorm layers, as in GPT-2


class PretrainConfig(_Section):
    batch_size: int = 8  # sequences per micro-batch
    grad_accum: int = 1  # micro-batches per optimizer step
    learning_rate: float = 3e-4  # peak learning rate after warmup
    min_lr_ratio: float = 0.1  # cosine decay floor as a fraction of the peak
    warmup_steps: int = 100  # linear warmup steps
    weight_decay: float = 0.1  # AdamW weight decay on matrices (not on biases, norms, embeddings' positions)
    beta1: float = 0.9  # AdamW beta1
    beta2: float = 0.95  # AdamW beta2
    grad_clip: float = 1.0  # clip the global gradient norm to this (0 disables)
    max_epochs: float = 50.0  # upper bound on passes over the training tokens
    max_steps: int = 0  # hard cap on optimizer steps (0: only max_epochs and early stopping)
    eval_interval: int = 200  # steps between validation evaluations
    eval_batches: int = 20  # micro-batches per validation estimate
    patience: int = 5  # evaluations without improvement before early stopping (0 disables)
    dtype: Literal["auto", "bf16", "fp32"] = "auto"  # autocast dtype; auto = bf16 where it is fast
    compile: Literal["auto", "on", "off"] = "auto"  # torch.compile; auto = on where it works and pays
    attn_block: int = -1  # causal attention in query blocks of this size; -1 auto (128 off CUDA), 0 SDPA
    seed: int = 1337  # seed for weights, batches and dropout


class FinetuneConfig(_Section):
    batch_size: int = 16  # Q&A examples per micro-batch
    learning_rate: float = 1e-4  # peak learning rate
    warmup_steps: int = 50  # linear warmup steps
    max_epochs: float = 10.0  # upper bound on passes over the Q&A pairs
    max_steps: int = 0  # hard cap on steps (0: only max_epochs and early stopping)
    text_mix: float = 0.2  # share of micro-batches drawn from plain book text (against forgetting)
    eval_interval: int = 100  # steps between validation evaluations
    patience: int = 3  # evaluations without improvement before stopping (0 disables)
    prompt_format: Literal["closed", "open"] = "closed"  # closed: question only; open: passage + question
    passage_chars: int = 600  # characters of the source passage shown in the open-book format
    seed: int = 1337  # seed for batches and dropout


class QAConfig(_Section):
    max_pairs: int = 5000  # keep at most this many pairs per book
    min_answer_words: int = 1  # shortest answer kept
    max_answer_words: int = 30  # longest answer kept
    max_question_words: int = 40  # longest question kept
    val_fraction: float = 0.1  # share of source passages whose pairs go to validation
    seed: int = 1337  # seed for the split and sampling


class RouterConfig(_Section):
    passage_chars: int = 1200  # size of the passages indexed per book
    top_k: int = 2  # books asked per question
    abstain_threshold: float = 0.04  # best book score below this: "no book covers this"
    max_features: int = 200_000  # TF-IDF vocabulary cap


class ServeConfig(_Section):
    host: str = "127.0.0.1"  # HTTP bind address
    port: int = 8000  # HTTP port
    namespace: str = "bookgpt"  # Ray namespace of the named actors
    max_batch_size: int = 32  # largest generation batch a book actor forms
    max_batch_wait_ms: float = 0.0  # extra wait to fill a batch (0: what queued meanwhile)
    max_queue: int = 256  # requests waiting per book actor before 503
    request_timeout_s: float = 30.0  # deadline of one question end to end
    max_new_tokens: int = 48  # default answer length cap
    # extract: the book model picks the phrase of the router's best-matching sentence it finds most
    # likely as the answer; generate: the model writes its answer freely
    decoding: Literal["extract", "generate"] = "extract"
    # where the merge policy runs. auto: the merger actor while other questions are in flight (it
    # takes the merges off the router, the busiest actor), the router itself for a question alone
    # (one Ray hop less); merger: always the merger actor; router: always the router
    merge_in: Literal["auto", "merger", "router"] = "auto"
    # weight of the book model's judgement (mean log-probability of each candidate answer) against
    # the model-free score in extract decoding; 0 chooses without the model (see README)
    model_weight: float = 0.0
    max_body_bytes: int = 65536  # request bodies above this get 413


class ClusterConfig(_Section):
    address: str = ""  # Ray address; empty = connect to a running cluster or start a local one
    train_num_cpus: float = 1.0  # CPUs per book training task
    train_memory_gb: float = 2.0  # memory reserved per book training task
    train_num_gpus: float = 0.0  # CUDA GPUs per training task (fractions allowed)
    train_mps: float = 0.0  # custom `mps` resource per training task on Apple Silicon
    actor_num_cpus: float = 0.5  # CPUs per book model actor
    actor_num_gpus: float = 0.0  # CUDA GPUs per book model actor
    actor_mps: float = 0.0  # custom `mps` resource per book model actor
    max_retries: int = 2  # retries of a failed training task (it resumes from its checkpoint)


class Config(_Section):
    device: Literal["auto", "mps", "cuda", "cpu"] = "auto"  # where models run; auto = MPS, CUDA, CPU
    paths: PathsConfig = msgspec.field(default_factory=PathsConfig)
    crawl: CrawlConfig = msgspec.field(default_factory=CrawlConfig)
    tokenizer: TokenizerConfig = msgspec.field(default_factory=TokenizerConfig)
    model: ModelConfig = msgspec.field(default_factory=ModelConfig)
    pretrain: PretrainConfig = msgspec.field(default_factory=PretrainConfig)
    finetune: FinetuneConfig = msgspec.field(default_factory=FinetuneConfig)
    qa: QAConfig = msgspec.field(default_factory=QAConfig)
    router: RouterConfig = msgspec.field(default_factory=RouterConfig)
    serve: ServeConfig = msgspec.field(default_factory=ServeConfig)
    cluster: ClusterConfig = msgspec.field(default_factory=ClusterConfig)


def _validate(cfg: Config) -> Config:
    for key, (lo, hi, lo_open) in _RANGES.items():
        section, name = key.split(".")
        value = getattr(getattr(cfg, section), name)
        if value < lo or (lo_open and value == lo) or (hi is not None and value > hi):
            want = f"{'above' if lo_open else 'at least'} {lo}" + (f" and at most {hi}" if hi is not None
                                                                   else "")
            raise ConfigError(f"{key} must be {want}, got {value}")
    m = cfg.model
    if m.n_embd % m.n_head:
        raise ConfigError(f"model.n_embd ({m.n_embd}) must be divisible by model.n_head ({m.n_head})")
    if not 0.0 < cfg.tokenizer.val_fraction < 0.5:
        raise ConfigError(f"tokenizer.val_fraction must be in (0, 0.5), got {cfg.tokenizer.val_fraction}")
    if cfg.tokenizer.vocab_size < 300:
        raise ConfigError(f"tokenizer.vocab_size must be at least 300 (256 bytes + specials), "
                          f"got {cfg.tokenizer.vocab_size}")
    if not 0.0 <= cfg.finetune.text_mix < 1.0:
        raise ConfigError(f"finetune.text_mix must be in [0, 1), got {cfg.finetune.text_mix}")
    return cfg


# range checks beyond the types: key -> (low, high or None, low excluded)
_RANGES: dict[str, tuple[float, float | None, bool]] = {
    **{k: (1, None, False) for k in (
        "model.n_layer", "model.n_head", "model.context_length", "pretrain.batch_size",
        "pretrain.grad_accum", "crawl.concurrency", "pretrain.eval_interval",
        "pretrain.eval_batches", "finetune.batch_size",
        "finetune.eval_interval", "tokenizer.min_frequency", "tokenizer.val_blocks",
        "qa.max_question_words", "qa.min_answer_words", "router.passage_chars", "router.top_k",
        "router.max_features", "serve.max_batch_size", "serve.max_queue", "serve.max_new_tokens",
        "serve.max_body_bytes", "finetune.passage_chars", "crawl.max_bytes")},
    **{k: (0, None, False) for k in (
        "crawl.retries", "crawl.backoff_s", "crawl.max_backoff_s", "crawl.min_text_chars",
        "pretrain.warmup_steps", "pretrain.max_steps", "pretrain.patience", "pretrain.grad_clip",
        "pretrain.weight_decay", "finetune.warmup_steps", "finetune.max_steps", "finetune.patience",
        "qa.max_pairs", "serve.max_batch_wait_ms", "cluster.train_num_cpus",
        "cluster.train_memory_gb", "cluster.train_num_gpus", "cluster.train_mps",
        "cluster.actor_num_cpus", "cluster.actor_num_gpus", "cluster.actor_mps",
        "cluster.max_retries", "router.abstain_threshold", "serve.model_weight")},
    **{k: (0, None, True) for k in (
        "crawl.timeout_s", "pretrain.learning_rate", "pretrain.max_epochs", "finetune.learning_rate",
        "finetune.max_epochs", "serve.request_timeout_s")},
    "model.dropout": (0, 0.9, False), "pretrain.min_lr_ratio": (0, 1, False),
    "pretrain.beta1": (0, 1, False), "pretrain.beta2": (0, 1, False),
    "qa.val_fraction": (0, 0.9, False), "serve.port": (0, 65535, False),
}


def _parse_value(text: str) -> Any:
    """Parse an override's value as YAML (so 3e-4, true, [1, 2] work); plain text stays a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _coerce(value: Any, raw: str, ftype: Any) -> Any:
    """Fit a parsed override to its field: YAML reads 1e-3 as text and 123 as a number."""
    if ftype is float and isinstance(value, str):
        try:
            return float(raw)
        except ValueError:
            return value
    if (ftype is str or str(ftype).startswith("typing.Literal")) and not isinstance(value, str):
        return raw.strip()
    return value


def _set_dotted(tree: dict, dotted: str, value: Any, raw: str) -> None:
    parts = dotted.split(".")
    node: Any = tree
    struct: Any = Config
    for i, part in enumerate(parts):
        fields = {f.name: f for f in msgspec.structs.fields(struct)}
        if part not in fields:
            where = ".".join(parts[:i]) or "the top level"
            raise ConfigError(f"--set {dotted}: '{part}' is not a setting of {where}; "
                              f"known: {', '.join(sorted(fields))}")
        ftype = fields[part].type
        if i == len(parts) - 1:
            if isinstance(ftype, type) and issubclass(ftype, msgspec.Struct):
                raise ConfigError(f"--set {dotted}: '{dotted}' is a section; name one of its fields")
            node[part] = _coerce(value, raw, ftype)
            return
        if not (isinstance(ftype, type) and issubclass(ftype, msgspec.Struct)):
            raise ConfigError(f"--set {dotted}: '{'.'.join(parts[:i + 1])}' is a value, not a section")
        node = node.setdefault(part, {})
        struct = ftype


def load_config(path: str | Path | None = None, overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """Load a YAML config (default: configs/default.yaml), apply `key.path=value` overrides, validate.

    Errors name the file and the key path, e.g. `$.model.n_layr`.
    """
    path = Path(path) if path is not None else DEFAULT_CONFIG
    if not path.is_file():
        known = ", ".join(sorted(p.name for p in CONFIG_DIR.glob("*.yaml") if p.name != "shelf.yaml"))
        raise ConfigError(f"config file {path} does not exist; the project ships: {known}")
    try:
        tree = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ConfigError(f"{path} is not valid YAML: {exc}") from None
    if not isinstance(tree, dict):
        raise ConfigError(f"{path} must hold a mapping of sections, got {type(tree).__name__}")
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--set {item!r}: expected key.path=value, e.g. --set model.n_layer=4")
        key, _, raw = item.partition("=")
        _set_dotted(tree, key.strip(), _parse_value(raw), raw)
    try:
        cfg = msgspec.convert(tree, Config)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition("`$.")[2].rstrip("`")
        for item in overrides:
            if item.partition("=")[0].strip() == where:
                raise ConfigError(f"--set {item}: {exc}") from None
        raise ConfigError(f"{path}: {exc}") from None
    return _validate(cfg)


def replace(cfg: Config, **sections: Any) -> Config:
    """A copy of `cfg` with whole sections or top-level fields replaced (configs are frozen)."""
    return _validate(msgspec.structs.replace(cfg, **sections))


def to_dict(cfg: msgspec.Struct) -> dict:
    """Plain dict of a config (or section), for saving next to checkpoints."""
    return msgspec.to_builtins(cfg)


def resolve_repo_path(p: str) -> Path:
    """A path from config: absolute as given, else relative to the repo root."""
    path = Path(p)
    return path if path.is_absolute() else REPO_ROOT / path
