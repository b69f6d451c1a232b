"""Ray actors: thin wrappers that own library objects (book models, router, merger) in a cluster."""

NAMESPACE_DEFAULT = "bookgpt"


def book_actor_name(book_id: str) -> str:
    """Named so a second driver finds it, and so the dashboard shows which book is which."""
    return f"book:{book_id}"


ROUTER_NAME = "router"
MERGER_NAME = "merger"
