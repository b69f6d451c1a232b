"""LaTeX source to readable plain text: user macros from the preamble, a renderer and latex_to_text.

Not a TeX engine: simple user macros are expanded, the rest is approximated (tree: latex_tree).
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from typing import Any

from bookgpt.crawl.latex_tables import (
    ACCENTS, DELIMS, DISPLAY_RE, DROP, ENV_ARGS, FLOATS, KEEP_LAST, LINE, NOISE_NAME_RE, ONE_ARG,
    PARA, SYMBOLS, UNSAFE,
)
from bookgpt.crawl.latex_tree import Cmd, Env, Group, Math, Param, is_space, parse, take_args

_VERB = "\x03"  # brackets the index of a protected verbatim block
_VERBATIM_RE = re.compile(
    r"\\begin\{(verbatim\*?|PGtext|alltt|lstlisting|Verbatim)\}(.*?)\\end\{\1\}", re.DOTALL)
_UNITS = r"(?:pt|em|ex|in|cm|mm|bp|pc|dd|cc|sp|mu|fil+)(?![A-Za-z])"  # TeX's units of length
# a spacing or penalty setting with its value, on its line (never past it: a blank line after
# it is a paragraph's end)
_DIMEN_RE = re.compile(
    r"\\(?:[vh]skip|kern|mkern|hangindent|parindent|parskip|spaceskip|baselineskip|"
    r"hangafter|penalty|looseness|tolerance|emergencystretch)(?![A-Za-z])[ \t]*=?[ \t]*-?[\d.]*"
    r"[ \t]*(?:\\(?!par\b)[A-Za-z]+|" + _UNITS + r")?"
    r"(?:[ \t]+(?:plus|minus)[ \t]*-?[\d.]*[ \t]*(?:fil+|" + _UNITS + r"))*"
)
_BLANK_LINE_RE = re.compile(r"\n[ \t]*\n\s*")
_GUTENBERG_RE = re.compile(r"gutenberg", re.IGNORECASE)


@dataclass(slots=True)
class Macro:
    """A user macro (or environment: body = begin code, end = end code)."""

    nargs: int
    default: Any
    body: Any
    opaque: bool = False  # body too clever to expand: render the arguments instead
    end: Any = None

    def spec(self) -> str:
        return ("o" if self.default is not None else "m") + "m" * (self.nargs - 1) \
            if self.nargs else ""


def _plain(nodes: Any) -> str:
    """Raw text of simple nodes (macro names and argument counts)."""
    parts = [n if isinstance(n, str) else "\\" + n.name if isinstance(n, Cmd) else
             _plain(n.kids) if isinstance(n, Group) else "" for n in nodes or []]
    return "".join(parts).strip()


def _unsafe(nodes: list[Any]) -> bool:
    # "\\@" alone only sets the space after a full stop ("a.d.\\@,"): harmless
    return any((isinstance(n, Cmd) and (n.name in UNSAFE or "@" in n.name and n.name != "@"))
               or (isinstance(n, Group) and _unsafe(n.kids)) for n in nodes)


def collect_macros(nodes: list[Any], macros: dict[str, Macro], envs: dict[str, Macro]) -> None:
    """Record \\newcommand, \\def, \\let, \\DeclareMathOperator and \\newenvironment definitions."""
    nodes, i, internal = list(nodes), 0, False  # \makeatletter ... \makeatother = internals
    while i < len(nodes):
        node, i = nodes[i], i + 1
        name = node.name.rstrip("*") if isinstance(node, Cmd) else ""
        nxt = nodes[i] if i < len(nodes) else None
        if name == "ifthenelse":  # a preamble switch: use the definitions of the first branch
            (_, first, _), i = take_args(nodes, i, "mmm")
            collect_macros(first or [], macros, envs)
        elif name in ("makeatletter", "makeatother"):
            internal = name == "makeatletter"
        elif name in ("newcommand", "renewcommand", "providecommand", "newenvironment",
                      "renewenvironment"):
            is_env = name.endswith("environment")
            spec = "moomm" if is_env else "moom"
            (target, count, default, body, *end), i = take_args(nodes, i, spec)
            key, count = _plain(target).lstrip("\\"), _plain(count)
            if key and body is not None and not internal:
                macro = Macro(int(count) if count.isdigit() else 0, default, body,
                              _unsafe(body) or _unsafe(end[0] or []) if end else _unsafe(body),
                              end[0] if end else None)
                (envs if is_env else macros)[key] = macro
        elif name == "DeclareMathOperator":
            (target, body), i = take_args(nodes, i, "mm")
            macros[_plain(target).lstrip("\\")] = Macro(0, None, [" ", Group(body or []), " "])
        elif name in ("let", "def", "gdef") and isinstance(nxt, Cmd):
            key, j = nxt.name, i + 1
            while j < len(nodes) and (is_space(nodes[j]) or nodes[j] == "=" or
                                      isinstance(nodes[j], Param)):
                j += 1
            target = nodes[j] if j < len(nodes) else None
            if not internal and "@" not in key and name == "let" and isinstance(target, Cmd):
                old = target.name  # alias: an existing user macro or the built-in meaning
                macros[key] = macros.get(old) or Macro(0, None, [Cmd("\x00" + old)])
            elif not internal and "@" not in key and type(target) is Group:
                nparams = sum(isinstance(n, Param) for n in nodes[i + 1:j])
                macros[key] = Macro(nparams, None, target.kids, _unsafe(target.kids))
            i = j + 1


def _flat_math(text: str) -> str:
    text = re.sub(r" ?([\^_]) ?", r"\1", re.sub(r"[ \t\n]+", " ", text))
    return text.replace("( ", "(").replace(" )", ")").strip()


class Renderer:
    """Render a parsed tree to text containing LINE/PARA sentinels; see latex_to_text."""

    def __init__(self, macros: dict[str, Macro], envs: dict[str, Macro], budget: int) -> None:
        self.macros, self.envs = macros, envs
        self.budget = budget  # macro expansions left: guards against exponential definitions

    def render(self, nodes: list[Any], math: bool = False, params: Any = None,
               depth: int = 0) -> str:
        nodes, out, i = list(nodes or []), [], 0
        while i < len(nodes):
            node, i = nodes[i], i + 1
            if isinstance(node, str):
                if node in ("^", "_") and math:
                    (arg,), i = take_args(nodes, i, "m")
                    s = self.render(arg, True, params, depth).strip()
                    out.append(node + (s if len(s) <= 1 or s.isalnum() else f"({s})"))
                else:
                    out.append({"~": " ", "&": " " if math else " | "}.get(node, node))
            elif isinstance(node, Math):
                text = _flat_math(self.render(node.kids, True, params, depth))
                out.append(f"{LINE}{text}{LINE}" if node.display else text)
            elif isinstance(node, Env):
                out.append(self.env(node, math, params, depth))
            elif isinstance(node, Group):
                out.append(self.render(node.kids, math, params, depth))
            elif isinstance(node, Param):
                if params and node.n <= len(params) and params[node.n - 1] is not None:
                    arg_nodes, arg_params = params[node.n - 1]
                    out.append(self.render(arg_nodes, math, arg_params, depth))
            else:
                i = self.command(node.name, nodes, i, out, math, params, depth)
        return "".join(out)

    def expand(self, macro: Macro, nodes: list[Any], i: int, math: bool, params: Any,
               depth: int) -> tuple[list[str], int]:
        """Bind a user macro's arguments; returns the rendered pieces and the new index."""
        args, i = take_args(nodes, i, macro.spec())
        if macro.default is not None and args and args[0] is None:
            args[0] = macro.default
        if macro.opaque:
            return [self.render(a, math, params, depth) for a in args if a], i
        bound = [None if a is None else (a, params) for a in args]
        return [self.render(macro.body, math, bound, depth + 1)] + (
            [self.render(macro.end, math, bound, depth + 1)] if macro.end is not None else []), i

    def command(self, name: str, nodes: list[Any], i: int, out: list[str], math: bool,
                params: Any, depth: int) -> int:
        """Render command `name` whose arguments start at nodes[i]; returns the new index."""
        builtin = name.startswith("\x00")  # a \let alias of a built-in command
        name = name.lstrip("\x00")
        base = name.rstrip("*") if len(name) > 1 else name
        macro = None if builtin else (self.macros.get(name) or self.macros.get(base))

        def r(a: Any) -> str:
            return self.render(a, math, params, depth)

        if macro is not None and depth < 12 and self.budget > 0:
            self.budget -= 1
            pieces, i = self.expand(macro, nodes, i, math, params, depth)
            if not (macro.opaque and NOISE_NAME_RE.search(name)):
                out.append(" ".join(pieces))
        elif base in SYMBOLS:
            out.append(SYMBOLS[base])
            if base.isalpha() and i < len(nodes) and isinstance(nodes[i], str):
                nodes[i] = re.sub(r"^[ \t]*(?:\n(?![ \t]*\n)[ \t]*)?", "", nodes[i])
            if base == "item":
                (label,), i = take_args(nodes, i, "o")
                out.append(r(label) + " " if label else "")
        elif base in ACCENTS:
            (arg,), i = take_args(nodes, i, "m")
            s = r(arg)
            out.append(unicodedata.normalize("NFC", s[:1] + ACCENTS[base]) + s[1:] if s else "")
        elif base == "\\":
            if i < len(nodes) and isinstance(nodes[i], str) and nodes[i].startswith("*"):
                nodes[i] = nodes[i][1:]
            _, i = take_args(nodes, i, "o")
            out.append(LINE)
        elif base in DROP:
            _, i = take_args(nodes, i, DROP[base])
        elif base in KEEP_LAST:
            args, i = take_args(nodes, i, KEEP_LAST[base])
            out.append(r(args[-1]))
        elif base in ONE_ARG:
            spec, form = ONE_ARG[base]
            args, i = take_args(nodes, i, spec)
            out.append(form(r(args[-1]).strip()))
        elif base in ("frac", "dfrac", "tfrac", "cfrac", "binom", "dbinom", "tbinom"):
            (a, b), i = take_args(nodes, i, "mm")
            a, b = r(a).strip(), r(b).strip()
            out.append(f"C({a}, {b})" if base.endswith("binom") else
                       " " + "/".join(s if s.isalnum() else f"({s})" for s in (a, b)) + " ")
        elif base == "sqrt":
            (root, arg), i = take_args(nodes, i, "om")
            index = r(root).strip()
            out.append((f"sqrt[{index}]" if index else "sqrt") + f"({r(arg).strip()})")
        elif base in DELIMS:  # the delimiter itself follows as text; "." means none
            if i < len(nodes) and isinstance(nodes[i], str) and nodes[i].lstrip()[:1] == ".":
                nodes[i] = nodes[i].lstrip()[1:]
        elif base == "ifthenelse":
            (cond, yes, no), i = take_args(nodes, i, "mmm")
            out.append(r(yes if self.condition(cond, math, params, depth) else no))
        elif base in ("def", "gdef", "edef", "xdef", "let"):
            i += 1  # skip the name, then the parameter text / "=" and the body or target
            while i < len(nodes) and base != "let" and type(nodes[i]) is not Group:
                i += 1
            while i < len(nodes) and base == "let" and (is_space(nodes[i]) or nodes[i] == "="):
                i += 1
            i += 1
        elif base == "iffalse":
            while i < len(nodes) and not (isinstance(nodes[i], Cmd) and nodes[i].name == "fi"):
                i += 1
            i += 1
        elif NOISE_NAME_RE.search(base):  # unknown noise-looking command: drop its arguments
            j = i
            while j < len(nodes) and (is_space(nodes[j]) or type(nodes[j]) is Group
                                      or nodes[j] == "["):
                i = j = take_args(nodes, j, "o" if nodes[j] == "[" else "m")[1] \
                    if not is_space(nodes[j]) else j + 1
        return i  # any other command is dropped; its {arguments} render as plain text

    def condition(self, cond: Any, math: bool, params: Any, depth: int) -> bool:
        """Evaluate an \\ifthenelse condition: \\equal, \\not; \\boolean counts as false."""
        nodes, result, negate, i = list(cond or []), False, False, 0
        while i < len(nodes):
            node, i = nodes[i], i + 1
            name = node.name if isinstance(node, Cmd) else ""
            if name in ("not", "NOT"):
                negate = not negate
            elif name == "equal":
                (a, b), i = take_args(nodes, i, "mm")
                same = self.render(a, math, params, depth).strip() == self.render(
                    b, math, params, depth).strip()
                result, negate = same != negate, False
            elif name in ("boolean", "isodd", "lengthtest"):
                _, i = take_args(nodes, i, "m")
                result, negate = negate, False
        return result

    def env(self, node: Env, math: bool, params: Any, depth: int) -> str:
        name, kids = node.name, list(node.kids)
        base = name.rstrip("*")
        user = self.envs.get(name)
        if user is not None and depth < 12 and self.budget > 0:
            self.budget -= 1
            pieces, i = self.expand(user, kids, 0, math, params, depth)
            inner = self.render(kids[i:], math, params, depth)
            return PARA + (pieces[0] + inner + "".join(pieces[1:]) if pieces else inner) + PARA
        if base in FLOATS:
            return "".join(f"{LINE}{c}{LINE}" for c in self.captions(kids, math, params, depth))
        _, i = take_args(kids, 0, ENV_ARGS.get(name, ENV_ARGS.get(base, "")))
        if DISPLAY_RE.search(base) and not math:
            return f"{LINE}{_flat_math(self.render(kids[i:], True, params, depth))}{LINE}"
        text = self.render(kids[i:], math, params, depth)
        return text if math else f"{PARA}{text}{PARA}"

    def captions(self, nodes: list[Any], math: bool, params: Any, depth: int) -> list[str]:
        found, nodes = [], list(nodes)
        for k, node in enumerate(nodes):
            if isinstance(node, Cmd) and node.name.rstrip("*") == "caption":
                (_, text), _ = take_args(nodes, k + 1, "om")
                found.append(self.render(text, math, params, depth).strip())
            elif isinstance(node, Group):
                found.extend(self.captions(node.kids, math, params, depth))
        return found


def latex_to_text(tex: str) -> str:
    """Readable text from a LaTeX source: body only, markup removed, simple math flattened.

    Gutenberg boilerplate inside verbatim-like environments is dropped here; the caller
    (extract.latex_to_text) also runs strip_gutenberg on the result.
    """
    begin = re.search(r"^[^%\n]*?\\begin\s*\{document\}", tex, re.MULTILINE)
    end = re.search(r"^[^%\n]*?\\end\s*\{document\}", tex, re.MULTILINE)
    preamble = tex[: begin.start()] if begin else ""
    stop = end.start() if end and (not begin or end.start() > begin.end()) else len(tex)
    body = tex[begin.end() if begin else 0: stop]

    verbatim: list[str] = []

    def protect(m: re.Match[str]) -> str:
        if _GUTENBERG_RE.search(m.group(2)):
            return ""
        verbatim.append(m.group(2).strip("\n"))
        return f"{_VERB}{len(verbatim) - 1}{_VERB}"

    body = _VERBATIM_RE.sub(protect, body)
    # a paragraph ends at a blank source line, and only there: a line that holds only a command
    # rendering to nothing ("\\PageSep{32}", "\\index{...}%" at a page break) is not blank,
    # and must not cut the sentence it stands in
    body = _BLANK_LINE_RE.sub(lambda _: "\n\\par\n", body)
    body = _DIMEN_RE.sub(" ", body)
    preamble = _DIMEN_RE.sub(" ", preamble)
    tree = parse(body, not re.search(r"\\(?:re)?newcommand\s*\{?\\\(", preamble))
    macros: dict[str, Macro] = {}
    envs: dict[str, Macro] = {}
    collect_macros(parse(preamble), macros, envs)
    collect_macros(tree, macros, envs)
    renderer = Renderer(macros, envs, budget=len(body) // 10 + 1000)
    text = renderer.render(tree)

    text = re.sub(r"\s*\n\s*", " ", text)
    text = text.replace("---", "—").replace("--", "–").replace("``", '"').replace("''", '"')
    text = text.replace("`", "'").replace(PARA, "\n\n").replace(LINE, "\n")
    text = re.sub(f"{_VERB}(\\d+){_VERB}", lambda m: "\n" + verbatim[int(m.group(1))] + "\n", text)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    lines = [re.sub(r"^\|\s*|\s*\|$", "", line) if "|" in line else line for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
