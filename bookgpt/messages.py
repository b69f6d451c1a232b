"""Every message that crosses a process, actor or HTTP boundary, as msgspec Structs."""

from __future__ import annotations

from typing import Annotated, Literal

import msgspec


class _Msg(msgspec.Struct, forbid_unknown_fields=True, kw_only=True):
    pass


class AskRequest(_Msg):
    question: Annotated[str, msgspec.Meta(min_length=1, max_length=20000)]  # the question
    top_k: Annotated[int, msgspec.Meta(ge=1, le=32)] | None = None  # books asked (router.top_k)
    max_new_tokens: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None  # answer length cap
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] = 0.0  # 0 = greedy
    decoding: Literal["extract", "generate"] | None = None  # None: the server's serve.decoding
    book_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=64)] | None = None


class Evidence(_Msg):
    """One sentence of a book that may answer a question (router -> book model)."""

    text: str
    match: float  # how well its window matches the question, relative to the best window (0..1)
    window: int  # rank of its window among the book's best windows (0 = best)
    follows: bool = False  # it is the sentence after its window, where answers often stand


class RoutedBook(_Msg):
    book_id: str
    title: str
    weight: float  # router weight, normalised over the chosen books
    score: float  # raw router score
    passage: str  # best matching passage of the book
    coverage: float = 0.0  # idf-weighted share of the question's words in the best window, 0..1
    evidence: list[Evidence] = []  # the sentences of the book's best windows, best window first


class BookAnswer(_Msg):
    """One book model's answer to one question."""

    book_id: str
    title: str = ""
    answer: str = ""
    confidence: float = 0.0  # exp(mean token log-probability) of the answer, 0..1
    mean_logprob: float | None = None  # None when no token was generated
    weight: float = 0.0  # router weight
    passage: str = ""  # the passage shown to / supporting the model
    support: str = ""  # the passage sentence the answer was taken from (extract decoding)
    tokens: int = 0
    latency_ms: float = 0.0
    error: str = ""  # non-empty when this book failed (timeout, crash): the answer is degraded


class Answer(_Msg):
    """The merged answer with its provenance."""

    question: str
    answer: str
    book_id: str | None
    title: str | None
    confidence: float
    abstained: bool
    degraded: bool = False  # some routed books failed or timed out
    passage: str = ""  # the chosen book's passage that supports the answer
    support: str = ""  # the sentence of that passage the answer was taken from (extract decoding)
    candidates: list[BookAnswer] = []
    routing: list[RoutedBook] = []
    timings_ms: dict[str, float] = {}


class BookInfo(_Msg):
    book_id: str
    title: str
    author: str = ""
    ready: bool = False


# OpenAI-compatible requests: unknown fields are ignored (clients send many optional ones), but the
# fields we use are type-checked.
class ChatMessage(msgspec.Struct):
    role: str
    content: str


class ChatCompletionRequest(msgspec.Struct, kw_only=True):
    messages: list[ChatMessage]
    model: str = "bookgpt"  # "bookgpt" (routed) or "bookgpt/<book_id>"
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    stream: bool = False
    decoding: Literal["extract", "generate"] | None = None  # BookGPT's own; None: serve.decoding
    top_k: Annotated[int, msgspec.Meta(ge=1, le=32)] | None = None  # BookGPT's own: books asked
    # BookGPT's own, with model "bookgpt": the books the question may be routed to
    book_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=64)] | None = None


class CompletionRequest(msgspec.Struct, kw_only=True):
    prompt: str
    model: str = "bookgpt"
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    stream: bool = False
    decoding: Literal["extract", "generate"] | None = None  # BookGPT's own; None: serve.decoding
    top_k: Annotated[int, msgspec.Meta(ge=1, le=32)] | None = None  # BookGPT's own: books asked
    # BookGPT's own, with model "bookgpt": the books the question may be routed to
    book_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=64)] | None = None


class AnswerJob(_Msg):
    """One question for one book model (router -> book actor)."""

    book_id: str
    question: str
    passage: str = ""
    title: str = ""
    weight: float = 1.0
    max_new_tokens: int = 48
    temperature: float = 0.0
    decoding: str = "generate"  # "extract": choose a phrase of the passage; "generate": write
    evidence: list[Evidence] = []  # the router's best sentences of this book for the question
    coverage: float = 0.0  # the router's coverage of the question by the best window
    model_weight: float = 0.0  # the model's say in choosing among extracted candidates (0: none)


class BatchingRequest(_Msg):
    enabled: bool  # dynamic batching on (true) or off (one request per generation)
