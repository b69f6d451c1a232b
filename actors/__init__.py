"""Ray actors: thin wrappers that own library objects (book models, router, merger) in a cluster."""

NAMESPACE_DEFAULT = "bookgpt"


BOOK_PREFIX = "book:"


def book_actor_name(book_id: str, key: str, replica: int = 0) -> str:
    """Named so a second driver finds it, and so the dashboard shows which book is which. The
    name carries the key of what the actor was built from (files, config), so a retrained book's
    new actor starts beside the old one, which drains before it stops; and the replica number."""
    return f"{BOOK_PREFIX}{book_id}@{key[:8]}" + (f"#{replica}" if replica else "")


def book_of(name: str) -> str:
    """The book id of a book actor's name."""
    return name[len(BOOK_PREFIX):].split("@", 1)[0]


ROUTER_NAME = "router"
MERGER_NAME = "merger"
