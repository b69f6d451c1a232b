"""`bookgpt-serve`: the HTTP front of the Ray application (built in a later step)."""

from __future__ import annotations

import sys


def main(argv: list[str] | None = None) -> int:
    print("bookgpt-serve: serving on Ray is not built yet; for now use `bookgpt crawl`.",
          file=sys.stderr)
    return 1


if __name__ == "__main__":
    sys.exit(main())
