"""Where every artifact lives: one place that knows the layout of ARTIFACTS/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class BookPaths:
    """Artifact paths of one book (see the README's "Artifacts" section)."""

    artifacts: Path
    book_id: str

    @property
    def book_dir(self) -> Path:
        return self.artifacts / "books" / self.book_id

    @property
    def text(self) -> Path:
        return self.book_dir / "text.txt"

    @property
    def book_meta(self) -> Path:
        return self.book_dir / "meta.json"

    @property
    def model_dir(self) -> Path:
        return self.artifacts / "models" / self.book_id

    @property
    def tokenizer(self) -> Path:
        return self.model_dir / "tokenizer.json"

    @property
    def tokens_dir(self) -> Path:
        return self.model_dir / "tokens"

    @property
    def train_tokens(self) -> Path:
        return self.tokens_dir / "train.bin"

    @property
    def val_tokens(self) -> Path:
        return self.tokens_dir / "val.bin"

    @property
    def tokens_meta(self) -> Path:
        return self.tokens_dir / "meta.json"

    @property
    def pretrain_dir(self) -> Path:
        return self.model_dir / "pretrain"

    @property
    def finetune_dir(self) -> Path:
        return self.model_dir / "finetune"

    @property
    def qa_dir(self) -> Path:
        return self.model_dir / "qa"

    def log(self, stage: str) -> Path:
        return self.model_dir / f"{stage}.log.jsonl"


def router_dir(artifacts: Path) -> Path:
    return artifacts / "router"


def artifacts_root(cfg) -> Path:
    """The artifact root of a Config (paths.artifacts, ./artifacts by default), made absolute."""
    return Path(cfg.paths.artifacts).expanduser().resolve()
