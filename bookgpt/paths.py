"""Where every artifact lives: one place that knows the layout of ARTIFACTS/."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bookgpt.fsio import read_json


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

    def title_author(self) -> tuple[str, str]:
        """The book's title and author, as its crawl recorded them (the id and "" if not)."""
        meta = read_json(self.book_meta) if self.book_meta.is_file() else {}
        return meta.get("title", self.book_id), meta.get("author", "")

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


def trained_books(artifacts: Path) -> list[str]:
    """The books with a fine-tuned model under `artifacts`, sorted."""
    root = artifacts / "models"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "finetune" / "best.pt").is_file())
