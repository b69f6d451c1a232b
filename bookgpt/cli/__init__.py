"""Command-line entry points: `bookgpt` (subcommands) and `bookgpt-serve`."""
