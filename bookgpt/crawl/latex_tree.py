"""LaTeX tokenizer and tree: groups, math, environments, commands, and reading command arguments."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

_TOKEN_RE = re.compile(
    r"(?P<comment>%[^\n]*+(?:\n[ \t]*+(?!\n))?)"
    r"|(?P<begin>\\begin\s*\{(?P<bname>[^{}]*)\})"
    r"|(?P<end>\\end\s*\{(?P<ename>[^{}]*)\})"
    r"|(?P<cmd>\\(?:[A-Za-z@]+\*?|.))"
    r"|(?P<param>\#\d)"
    r"|(?P<special>\$\$|[{}$&~^_\[\]])"
    r"|(?P<text>[^\\%{}$&~^_\[\]\#]+|\#)",
    re.DOTALL,
)


@dataclass(slots=True)
class Group:
    kids: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class Math(Group):
    display: bool = False


@dataclass(slots=True)
class Env(Group):
    name: str = ""


@dataclass(slots=True)
class Cmd:
    name: str


@dataclass(slots=True)
class Param:
    n: int


def parse(src: str, paren_math: bool = True) -> list[Any]:
    """Tokenize LaTeX and nest it into groups, math and environments (tolerant of errors).

    paren_math=False treats \\( and \\) as ordinary commands (some books redefine them).
    """
    stack: list[Group] = [Group()]

    def push(node: Group) -> None:
        stack[-1].kids.append(node)
        stack.append(node)

    for m in _TOKEN_RE.finditer(src):
        kind, tok, top = m.lastgroup, m.group(), stack[-1]
        if kind == "comment":
            continue
        if kind == "param":
            top.kids.append(Param(int(tok[1])))
        elif kind == "begin":
            push(Env(name=m.group("bname").strip()))
        elif kind == "end":
            name = m.group("ename").strip()
            for k in range(len(stack) - 1, 0, -1):
                if isinstance(stack[k], Env) and stack[k].name == name:
                    del stack[k:]
                    break
        elif tok == "{":
            push(Group())
        elif tok == "}":
            if any(type(g) is Group for g in stack[1:]):
                while type(stack.pop()) is not Group:
                    pass
        elif tok in ("$", "$$", "\\[", "\\(") and (paren_math or tok != "\\(") and not (
                tok[0] == "$" and isinstance(top, Math)):
            push(Math(display=tok in ("$$", "\\[")))
        elif tok in ("$", "$$", "\\]", "\\)") and (paren_math or tok != "\\)"):
            if isinstance(top, Math) and len(stack) > 1:
                stack.pop()
        else:
            top.kids.append(Cmd(tok[1:]) if kind == "cmd" else tok)
    return stack[0].kids


def is_space(node: Any) -> bool:
    return isinstance(node, str) and not node.strip()


def take_args(nodes: list[Any], i: int, spec: str) -> tuple[list[Any], int]:
    """Consume arguments after position i per spec ('o' = [optional], 'm' = {mandatory}).

    Returns (args, new index); each argument is a node list or None when absent. `nodes`
    must be a private copy: a one-character argument is split off a text node in place.
    """
    args: list[Any] = []
    for kind in spec:
        j = i
        while j < len(nodes) and is_space(nodes[j]):
            j += 1
        node = nodes[j] if j < len(nodes) else None
        if kind == "o" or node is None:
            if node != "[":
                args.append(None)
                continue
            depth, k = 0, j
            for k in range(j, len(nodes)):
                depth += (nodes[k] == "[") - (nodes[k] == "]")
                if depth == 0:
                    break
            args.append(nodes[j + 1:k])
            i = k + 1
        elif type(node) is Group:
            args.append(node.kids)
            i = j + 1
        elif isinstance(node, str) and len(node) > 1:
            text = node.lstrip()
            args.append([text[0]])
            nodes[j], i = text[1:], j
        else:
            args.append([node])
            i = j + 1
    return args, i
