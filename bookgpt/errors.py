"""The errors a question can meet on its way, shared by every layer (each maps to an HTTP status)."""


class AskError(ValueError):
    """A question cannot be asked as given (empty, unknown book, nothing trained): 400."""


class UnknownBookError(AskError):
    """A request names a book that is not served: 404."""


class OverloadedError(RuntimeError):
    """Every queue that could take the request is full, or its answer did not come in time; retry
    later: 503 with Retry-After."""


def require_question(question: object) -> str:
    """The question, if it asks something; else an AskError that says what to do."""
    if not isinstance(question, str) or not question.strip():
        raise AskError("the question is empty; ask something, e.g. \"What is a square?\"")
    return question
