"""Entry points, on top of every layer: `bookgpt` (commands.main and its subcommands),
`bookgpt-serve` (commands.serve) and `python -m commands.two_node`. Imports run one way:
bookgpt <- cluster <- actors <- commands (checked by tests/test_layers.py)."""
