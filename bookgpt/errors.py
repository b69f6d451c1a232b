"""The errors a question can meet on its way, shared by every layer (each maps to an HTTP status)."""


class AskError(ValueError):
    """A question cannot be asked as given (empty, unknown book, nothing trained): 400."""


class UnknownBookError(AskError):
    """A request names a book that is not served: 404."""


class OverloadedError(RuntimeError):
    """Every queue that could take the request is full, or its answer did not come in time; retry
    later: 503 with Retry-After."""
