"""Every message that crosses a process, actor or HTTP boundary, as msgspec Structs."""

from __future__ import annotations

from typing import Annotated, Any, Literal

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
    # the conversation's earlier questions, oldest first: a follow-up ("and who wrote it?") that
    # routes weakly on its own is routed together with them (bookgpt/serving/followup.py)
    history: Annotated[list[str], msgspec.Meta(max_length=64)] | None = None
    # the least confidence an answer needs, else "not in these books" (None: serve.min_confidence)
    min_confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None


class Evidence(_Msg):
    """One sentence of a book that may answer a question (router -> book model)."""

    text: str
    match: float  # how well its window matches the question, relative to the best window (0..1)
    window: int  # rank of its window among the book's best windows (0 = best)
    follows: bool = False  # it is the sentence after its window, where answers often stand
    # how much of the question it (or, less, the sentence before it) echoes, relative to the
    # evidence's most (0..1): `evidence.echoes`
    echo: float = 1.0
    # it stands far from every use of a name the question uses and the book uses rarely
    # (`SentenceIndex.far_from`): no answer to a question about that name
    far: bool = False


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
    # an extracted answer's: the calibrated chance that its support holds it (`calibrated`); a
    # generated one's: exp(mean token log-probability), 0..1
    confidence: float = 0.0
    calibrated: bool = False  # the confidence is a calibrated chance (serve.min_confidence applies)
    mean_logprob: float | None = None  # None when no token was generated
    weight: float = 0.0  # router weight
    passage: str = ""  # the passage shown to / supporting the model
    support: str = ""  # the passage sentence the answer was taken from (extract decoding)
    tokens: int = 0  # tokens the model generated or scored
    latency_ms: float = 0.0
    error: str = ""  # non-empty when this book failed (timeout, crash): the answer is degraded
    prompt_tokens: int = 0  # the question's length in this book's tokens
    answer_tokens: int = 0  # the answer's length in this book's tokens


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
    # the text the books were chosen by when it is not the question alone: a follow-up that routed
    # weakly, with the conversation's earlier questions
    routed_on: str = ""
    # why no book was asked, when routing declined the question ("67% of its words occur in no
    # book", "none of its best books mentions "Ramanujan"", ...): `route.Declined`
    declined: str = ""


class BookInfo(_Msg):
    book_id: str
    title: str
    author: str = ""
    ready: bool = False


# OpenAI-compatible requests. A field that is neither one of these nor one of OpenAI's parameters
# is a 400 naming it; OpenAI parameters BookGPT does not implement are taken in loosely typed
# (`Any`) so that the HTTP front can refuse each by name unless it has its neutral value
# (bookgpt/serving/openai.py, UNSUPPORTED).
class TextPart(msgspec.Struct, forbid_unknown_fields=True):
    type: Literal["text"]
    text: str


class ChatMessage(msgspec.Struct, forbid_unknown_fields=True):
    role: Literal["system", "developer", "user", "assistant"]
    content: str | list[TextPart]  # text, or OpenAI's list of text parts

    def text(self) -> str:
        return self.content if isinstance(self.content, str) else \
            " ".join(p.text for p in self.content)


class StreamOptions(msgspec.Struct, forbid_unknown_fields=True):
    include_usage: bool = False  # a last chunk with the usage, before [DONE]


class _OpenAIRequest(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    model: str = "bookgpt"  # "bookgpt" (routed) or "bookgpt/<book_id>"
    max_tokens: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None
    temperature: Annotated[float, msgspec.Meta(ge=0.0, le=2.0)] | None = None
    stream: bool = False
    stream_options: StreamOptions | None = None
    user: Annotated[str, msgspec.Meta(max_length=256)] | None = None  # named in the access log
    decoding: Literal["extract", "generate"] | None = None  # BookGPT's own; None: serve.decoding
    top_k: Annotated[int, msgspec.Meta(ge=1, le=32)] | None = None  # BookGPT's own: books asked
    # BookGPT's own, with model "bookgpt": the books the question may be routed to
    book_ids: Annotated[list[str], msgspec.Meta(min_length=1, max_length=64)] | None = None
    # BookGPT's own: the least confidence an answer needs (None: serve.min_confidence)
    min_confidence: Annotated[float, msgspec.Meta(ge=0.0, le=1.0)] | None = None
    # OpenAI's, not implemented: refused unless neutral (see the comment above)
    n: Any = None
    best_of: Any = None
    stop: Any = None
    logprobs: Any = None
    top_logprobs: Any = None
    echo: Any = None
    suffix: Any = None
    presence_penalty: Any = None
    frequency_penalty: Any = None
    logit_bias: Any = None
    seed: Any = None
    top_p: Any = None
    tools: Any = None
    tool_choice: Any = None
    parallel_tool_calls: Any = None
    functions: Any = None
    function_call: Any = None
    response_format: Any = None
    service_tier: Any = None
    store: Any = None
    metadata: Any = None
    modalities: Any = None
    audio: Any = None
    prediction: Any = None
    reasoning_effort: Any = None
    web_search_options: Any = None


class ChatCompletionRequest(_OpenAIRequest, kw_only=True):
    messages: Annotated[list[ChatMessage], msgspec.Meta(min_length=1)]
    max_completion_tokens: Annotated[int, msgspec.Meta(ge=1, le=256)] | None = None  # = max_tokens


class CompletionRequest(_OpenAIRequest, kw_only=True):
    prompt: str


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


class ContinueJob(_Msg):
    """A prompt for one book model to continue as text (the OpenAI completions endpoint)."""

    book_id: str
    prompt: str
    max_new_tokens: int | None = None  # None: serve.max_new_tokens
    temperature: float = 0.0


class Continuation(_Msg):
    """One book model's continuation of a prompt."""

    book_id: str
    title: str = ""
    text: str = ""  # what follows the prompt, as written (leading space kept)
    prompt_tokens: int = 0  # the prompt's length in the book's tokens
    completion_tokens: int = 0
    finish_reason: Literal["stop", "length"] = "length"  # stop: the model ended the text itself
    latency_ms: float = 0.0
