"""Typed, frozen configuration: one msgspec Struct per section, loaded from YAML with dotted overrides.

The defaults written here are the defaults of configs/default.yaml (a test keeps the two equal).
Limits are stated on the fields (Annotated with msgspec.Meta, as in messages.py) and checked when a
config is loaded or replaced; checks across fields are in the sections' __post_init__.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any, Literal, get_args, get_origin

import msgspec
import yaml

REPO_ROOT = Path(__file__).resolve().parent.parent
CONFIG_DIR = REPO_ROOT / "configs"
DEFAULT_CONFIG = CONFIG_DIR / "default.yaml"


class ConfigError(ValueError):
    """A configuration file or override is wrong; the message names the key and what to do."""


class _Section(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    pass


# the usual limits
AtLeast1 = Annotated[int, msgspec.Meta(ge=1)]
Count = Annotated[int, msgspec.Meta(ge=0)]
NonNegative = Annotated[float, msgspec.Meta(ge=0)]
Positive = Annotated[float, msgspec.Meta(gt=0)]
Unit = Annotated[float, msgspec.Meta(ge=0, le=1)]


class PathsConfig(_Section):
    artifacts: str = "artifacts"  # root of every artifact (books/, models/, router/); --artifacts overrides
    shelf: str = "configs/shelf.yaml"  # catalog of the default shelf, relative to the repo if not absolute


class CrawlConfig(_Section):
    base_url: str = "https://www.gutenberg.org"  # Gutenberg base; --mirror replaces it
    concurrency: AtLeast1 = 4  # books fetched at once
    timeout_s: Positive = 60.0  # total time allowed for one HTTP request
    retries: Count = 3  # extra attempts after a timeout, connection error or 5xx (never after 404)
    backoff_s: NonNegative = 1.0  # first retry delay; doubles each attempt (Retry-After wins when larger)
    max_backoff_s: NonNegative = 30.0  # cap on one retry delay, Retry-After included
    max_bytes: AtLeast1 = 50_000_000  # refuse a source larger than this
    min_text_chars: Count = 2000  # a cleaned book shorter than this is an error (e.g. an empty HTML page)
    user_agent: str = "BookGPT/0.1 (per-book language models; polite crawler; aiohttp)"  # HTTP UA


class TokenizerConfig(_Section):
    # BPE vocabulary including special tokens; small books get fewer
    vocab_size: Annotated[int, msgspec.Meta(ge=300, description="256 bytes + specials")] = 8192
    min_frequency: AtLeast1 = 2  # a pair must occur this often to become a merge
    # share of the book's tokens held out for validation (contiguous blocks)
    val_fraction: Annotated[float, msgspec.Meta(gt=0, lt=0.5)] = 0.1
    val_blocks: AtLeast1 = 10  # number of contiguous validation blocks spread through the book


class ModelConfig(_Section):
    n_layer: AtLeast1 = 6  # transformer blocks
    n_head: AtLeast1 = 8  # attention heads per block
    n_embd: int = 256  # embedding width
    context_length: AtLeast1 = 512  # maximum sequence length (positions)
    # dropout in attention, MLP and embeddings during training
    dropout: Annotated[float, msgspec.Meta(ge=0, le=0.9)] = 0.1
    bias: bool = True  # biases in Linear and LayerNorm layers, as in GPT-2

    def __post_init__(self) -> None:
        if self.n_embd % self.n_head:
            raise ConfigError(f"model.n_embd ({self.n_embd}) must be divisible by model.n_head "
                              f"({self.n_head})")


class PretrainConfig(_Section):
    batch_size: AtLeast1 = 8  # sequences per micro-batch
    grad_accum: AtLeast1 = 1  # micro-batches per optimizer step
    learning_rate: Positive = 3e-4  # peak learning rate after warmup
    min_lr_ratio: Unit = 0.1  # cosine decay floor as a fraction of the peak
    warmup_steps: Count = 100  # linear warmup steps
    # AdamW weight decay on matrices (not on biases, norms, embeddings' positions)
    weight_decay: NonNegative = 0.1
    beta1: Unit = 0.9  # AdamW beta1
    beta2: Unit = 0.95  # AdamW beta2
    grad_clip: NonNegative = 1.0  # clip the global gradient norm to this (0 disables)
    max_epochs: Positive = 50.0  # upper bound on passes over the training tokens
    max_steps: Count = 0  # hard cap on optimizer steps (0: only max_epochs and early stopping)
    eval_interval: AtLeast1 = 200  # steps between validation evaluations
    eval_batches: AtLeast1 = 20  # micro-batches per validation estimate
    patience: Count = 5  # evaluations without improvement before early stopping (0 disables)
    dtype: Literal["auto", "bf16", "fp32"] = "auto"  # autocast dtype; auto = bf16 where it is fast
    compile: Literal["auto", "on", "off"] = "auto"  # torch.compile; auto = on where it works and pays
    attn_block: int = -1  # causal attention in query blocks of this size; -1 auto (128 off CUDA), 0 SDPA
    seed: int = 1337  # seed for weights, batches and dropout


class FinetuneConfig(_Section):
    batch_size: AtLeast1 = 16  # Q&A examples per micro-batch
    learning_rate: Positive = 1e-4  # peak learning rate
    warmup_steps: Count = 50  # linear warmup steps
    max_epochs: Positive = 10.0  # upper bound on passes over the Q&A pairs
    max_steps: Count = 0  # hard cap on steps (0: only max_epochs and early stopping)
    # share of micro-batches drawn from plain book text (against forgetting)
    text_mix: Annotated[float, msgspec.Meta(ge=0, lt=1)] = 0.2
    eval_interval: AtLeast1 = 100  # steps between validation evaluations
    patience: Count = 3  # evaluations without improvement before stopping (0 disables)
    prompt_format: Literal["closed", "open"] = "closed"  # closed: question only; open: passage + question
    passage_chars: AtLeast1 = 600  # characters of the source passage shown in the open-book format
    seed: int = 1337  # seed for batches and dropout


class QAConfig(_Section):
    max_pairs: Count = 5000  # keep at most this many pairs per book
    min_answer_words: AtLeast1 = 1  # shortest answer kept
    max_answer_words: int = 30  # longest answer kept
    max_question_words: AtLeast1 = 40  # longest question kept
    # share of source passages whose pairs go to validation
    val_fraction: Annotated[float, msgspec.Meta(ge=0, le=0.9)] = 0.1
    seed: int = 1337  # seed for the split and sampling


class RouterConfig(_Section):
    passage_chars: AtLeast1 = 1200  # size of the passages indexed per book
    top_k: AtLeast1 = 2  # books asked per question
    abstain_threshold: NonNegative = 0.04  # best book score below this: "no book covers this"
    max_features: AtLeast1 = 200_000  # TF-IDF vocabulary cap


class ServeConfig(_Section):
    host: str = "127.0.0.1"  # HTTP bind address
    port: Annotated[int, msgspec.Meta(ge=0, le=65535)] = 8000  # HTTP port
    # with a key, /v1/* and /admin/* need `Authorization: Bearer <key>` ("": none); the
    # environment variable BOOKGPT_API_KEY, when set, is used instead (keeps it out of files)
    api_key: str = ""
    access_log: bool = False  # one log line per request (bookgpt.access): status, ms, request id
    namespace: str = "bookgpt"  # Ray namespace of the named actors
    max_batch_size: AtLeast1 = 32  # largest generation batch a book actor forms
    max_batch_wait_ms: NonNegative = 0.0  # extra wait to fill a batch (0: what queued meanwhile)
    max_queue: AtLeast1 = 256  # requests waiting per book actor before 503
    request_timeout_s: Positive = 30.0  # deadline of one question end to end
    max_new_tokens: AtLeast1 = 48  # default answer length cap
    # extract: the book model picks the phrase of the router's best-matching sentence it finds most
    # likely as the answer; generate: the model writes its answer freely
    decoding: Literal["extract", "generate"] = "extract"
    # where the merge policy runs. auto: the merger actor while other questions are in flight (it
    # takes the merges off the router, the busiest actor), the router itself for a question alone
    # (one Ray hop less); merger: always the merger actor; router: always the router
    merge_in: Literal["auto", "merger", "router"] = "auto"
    # weight of the book model's judgement (mean log-probability of each candidate answer) against
    # the model-free score in extract decoding; 0 chooses without the model (see README)
    model_weight: NonNegative = 0.0
    # the least confidence (the calibrated chance that the cited sentences hold the answer) a
    # book's extracted answer needs (generated answers, whose confidence is their tokens'
    # probability, are not held to it); a question whose books are all less sure is "not in these
    # books", and the merged answer's own confidence may be lower (other books outvote it). A
    # request may set its own (`min_confidence` of /v1/ask). Higher declines more out-of-scope
    # questions and more answerable ones: `bookgpt eval --questions FILE` shows both at each
    # threshold
    min_confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] = 0.05
    # the dtype book models score candidate answers in (model_weight > 0, and extract answers
    # without the router's evidence): auto = bf16 where the device does it fast (AVX-512 BF16 or
    # AMX CPUs, CUDA, MPS; log-probabilities within ~0.05 of fp32's), fp32 = exact
    score_dtype: Literal["auto", "bf16", "fp32"] = "auto"
    max_body_bytes: AtLeast1 = 65536  # request bodies above this get 413
    # book model actors per book; a busy book's questions go to the replica with the shortest
    # queue, and a dead replica's to the others while Ray restarts it
    replicas: Annotated[int, msgspec.Meta(ge=1, le=64)] = 1
    book_replicas: dict[str, Annotated[int, msgspec.Meta(ge=1, le=64)]] = {}  # per book, over replicas


class ClusterConfig(_Section):
    address: str = ""  # Ray address; empty = connect to a running cluster or start a local one
    train_num_cpus: NonNegative = 1.0  # CPUs per book training task
    train_memory_gb: NonNegative = 2.0  # memory reserved per book training task
    train_num_gpus: NonNegative = 0.0  # CUDA GPUs per training task (fractions allowed)
    train_mps: NonNegative = 0.0  # custom `mps` resource per training task on Apple Silicon
    actor_num_cpus: NonNegative = 0.5  # CPUs per book model actor
    actor_num_gpus: NonNegative = 0.0  # CUDA GPUs per book model actor
    actor_mps: NonNegative = 0.0  # custom `mps` resource per book model actor
    max_retries: Count = 2  # retries of a failed training task (it resumes from its checkpoint)


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


def _limits(key: str) -> tuple[msgspec.inspect.IntType | msgspec.inspect.FloatType, str] | None:
    """The numeric type of setting `key` (section.name), which holds its Meta limits, and their
    reason (their description); None if the setting is not a number."""
    t: Any = msgspec.inspect.type_info(Config)
    for part in key.split("."):
        field = next((f for f in getattr(t, "fields", ()) if f.name == part), None)
        if field is None:
            return None
        t = field.type
    why = ""
    if isinstance(t, msgspec.inspect.Metadata):
        why = (t.extra_json_schema or {}).get("description", "")
        t = t.type
    if not isinstance(t, (msgspec.inspect.IntType, msgspec.inspect.FloatType)):
        return None
    return t, why


def _out_of_range(key: str, value: Any) -> str | None:
    """`key must be <its range>, got <value>` if value is a number outside the setting's limits."""
    found = _limits(key)
    if found is None or isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    t, why = found
    lower = [f"at least {t.ge}"] if t.ge is not None else [f"above {t.gt}"] if t.gt is not None else []
    upper = [f"at most {t.le}"] if t.le is not None else [f"below {t.lt}"] if t.lt is not None else []
    inside = ((t.ge is None or value >= t.ge) and (t.gt is None or value > t.gt)
              and (t.le is None or value <= t.le) and (t.lt is None or value < t.lt))
    if inside:
        return None
    return f"{key} must be {' and '.join(lower + upper)}{f' ({why})' if why else ''}, got {value}"


def _convert(tree: dict, source: str = "", overrides: list[str] | tuple[str, ...] = ()) -> Config:
    """The Config a tree of plain values describes, its types and limits checked. An error names the
    setting (or section) and, where it came from, the --set override or else `source`."""
    try:
        return msgspec.convert(tree, Config)
    except msgspec.ValidationError as exc:
        where = str(exc).rpartition("`$.")[2].rstrip("`")  # e.g. model.n_layer; a section's own check: model
        value: Any = tree
        for part in where.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        why = _out_of_range(where, value) or str(exc)
        for item in overrides:
            key = item.partition("=")[0].strip()
            if key == where or key.startswith(where + "."):
                raise ConfigError(f"--set {item}: {why}") from None
        raise ConfigError(f"{source}: {why}" if source else why) from None


def _parse_value(text: str) -> Any:
    """Parse an override's value as YAML (so 3e-4, true, [1, 2] work); plain text stays a string."""
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        return text


def _coerce(value: Any, raw: str, ftype: Any) -> Any:
    """Fit a parsed override to its field: YAML reads 1e-3 as text and 123 as a number."""
    if get_origin(ftype) is Annotated:
        ftype = get_args(ftype)[0]  # the type under its limits
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
    return _convert(tree, str(path), overrides)


def replace(cfg: Config, **sections: Any) -> Config:
    """A copy of `cfg` with whole sections or top-level fields replaced (configs are frozen), checked
    as a loaded one is (limits hold only where msgspec converts, not where a Struct is made)."""
    return _convert(msgspec.to_builtins(msgspec.structs.replace(cfg, **sections)))


def to_dict(cfg: msgspec.Struct) -> dict:
    """Plain dict of a config (or section), for saving next to checkpoints."""
    return msgspec.to_builtins(cfg)


def resolve_repo_path(p: str) -> Path:
    """A path from config: absolute as given, else relative to the repo root."""
    path = Path(p)
    return path if path.is_absolute() else REPO_ROOT / path
