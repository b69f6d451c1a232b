"""LaTeX source to readable plain text: a regex tokenizer, a small tree and a renderer.

Not a TeX engine: simple user macros from the preamble are expanded, the rest is approximated.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any

LINE, PARA = "\x01", "\x02"  # sentinels for structural line / paragraph breaks
_VERB = "\x03"  # brackets the index of a protected verbatim block

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
_VERBATIM_RE = re.compile(
    r"\\begin\{(verbatim\*?|PGtext|alltt|lstlisting|Verbatim)\}(.*?)\\end\{\1\}", re.DOTALL)
_DIMEN_RE = re.compile(
    r"\\(?:[vh]skip|kern|mkern|hangindent|parindent|parskip|spaceskip|baselineskip|"
    r"hangafter|penalty|looseness|tolerance|emergencystretch)(?![A-Za-z])\s*=?\s*-?[\d.]*\s*"
    r"(?:\\[A-Za-z]+|[a-z]{2})?(?:\s+(?:plus|minus)\s*-?[\d.]*\s*(?:fil+|[a-z]{2}))*"
)
_GUTENBERG_RE = re.compile(r"gutenberg", re.IGNORECASE)


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


def _words(spec: str) -> list[str]:
    return spec.split()


def _table(spec: str, pad: bool = False) -> dict[str, str]:
    """Parse 'name:value' pairs ('~' in a value stands for a space); pad=True adds spaces around."""
    pairs = (item.split(":", 1) for item in spec.split())
    return {k: (f" {v} " if pad else v).replace("~", " ") for k, v in pairs}


_GREEK = _words("alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu nu xi "
                "omicron pi rho sigma tau upsilon phi chi psi omega")
_WORDS = _GREEK + [g.capitalize() for g in _GREEK] + _words(
    "sin cos tan cot sec csc sinh cosh tanh coth log ln lg exp max min sup inf det gcd arg deg dim "
    "ker hom Pr lim limsup liminf")
SYMBOLS: dict[str, str] = {
    **{w: f" {w} " for w in _WORDS},
    **{"var" + g: f" {g} " for g in ("epsilon", "theta", "pi", "rho", "sigma", "phi")},
    **_table("times:x cdot:· div:/ pm:± mp:∓ leq:<= le:<= leqq:<= leqslant:<= geq:>= ge:>= "
             "geqq:>= geqslant:>= neq:!= ne:!= approx:≈ equiv:≡ sim:~ simeq:≃ cong:≅ propto:∝ "
             "ll:<< gg:>> lessgtr:<> to:-> rightarrow:-> longrightarrow:-> leftarrow:<- "
             "longleftarrow:<- gets:<- Rightarrow:=> Longrightarrow:=> implies:=> Leftarrow:⇐ "
             "iff:<=> Leftrightarrow:<=> Longleftrightarrow:<=> leftrightarrow:<-> mapsto:|-> "
             "infty:infinity int:integral iint:integral oint:integral sum:sum prod:prod "
             "varlimsup:lim~sup varliminf:lim~inf perp:⊥ parallel:∥ in:∈ notin:∉ subset:⊂ "
             "subseteq:⊆ supset:⊃ supseteq:⊇ cup:∪ cap:∩ land:∧ wedge:∧ lor:∨ vee:∨ therefore:∴ "
             "because:∵ mid:| bmod:mod mod:mod", pad=True),
    **_table("partial:∂ nabla:∇ prime:' circ:° degree:° angle:∠ triangle:△ emptyset:∅ "
             "varnothing:∅ forall:∀ exists:∃ neg:¬ lnot:¬ not:¬ ast:* star:* bullet:• vert:| "
             "Vert:‖ |:‖ langle:⟨ rangle:⟩ lbrace:{ rbrace:} lfloor:⌊ rfloor:⌋ lceil:⌈ rceil:⌉ "
             "backslash:∖ hbar:ħ ell:ℓ aleph:ℵ surd:√ colon:: ldotp:. dots:... ldots:... "
             "cdots:... dotsc:... dotsb:... vdots:... ddots:... textellipsis:... S:§ P:¶ ae:æ "
             "AE:Æ oe:œ OE:Œ ss:ß o:ø O:Ø aa:å AA:Å l:ł L:Ł i:i j:j pounds:£ copyright:© dag:† "
             "ddag:‡ LaTeX:LaTeX TeX:TeX textendash:– textemdash:— textquoteleft:' "
             "textquoteright:' textquotedblleft:\" textquotedblright:\" textdegree:° "
             "textbackslash:∖ quad:~ qquad:~ enspace:~ thinspace:~ space:~ ,:~ ;:~ >:~ "
             "!: -: /: @: %:% &:& $:$ #:# _:_ {:{ }:} (:( ):) linebreak:~ cdotp:·"),
    " ": " ", ":": " ", "\n": " ", "\t": " ", "par": PARA, "newline": LINE, "cr": LINE,
    "item": LINE, "bigskip": PARA, "medskip": PARA, "smallskip": LINE,
}
_ACCENTS = _table("':\u0301 `:\u0300 ^:\u0302 \":\u0308 ~:\u0303 =:\u0304 .:\u0307 c:\u0327 "
                  "v:\u030c u:\u0306 H:\u030b k:\u0328 r:\u030a d:\u0323 b:\u0331")
# Commands whose arguments are consumed and dropped: name -> argument spec (o = [opt], m = {arg}).
DROP = _table(
    "label:m ref:m eqref:m pageref:m nameref:m autoref:m index:m glossary:m cite:om nocite:m "
    "includegraphics:om vspace:m hspace:m addvspace:m addcontentsline:mmm addtocontents:mm "
    "markboth:mm markright:m pdfbookmark:omm bookmark:om setlength:mm addtolength:mm "
    "settowidth:mm settoheight:mm settodepth:mm setcounter:mm addtocounter:mm stepcounter:m "
    "refstepcounter:m newcounter:mo newlength:m setboolean:mm newboolean:m pagestyle:m "
    "thispagestyle:m pagenumbering:m rule:omm phantom:m hphantom:m vphantom:m input:m include:m "
    "bibliographystyle:m bibliography:m fancyhead:om fancyfoot:om fancyhf:m lhead:m chead:m "
    "rhead:m lfoot:m cfoot:m rfoot:m color:om pagecolor:m enlargethispage:m hyphenation:m "
    "newcommand:moom renewcommand:moom providecommand:moom newenvironment:moomm "
    "renewenvironment:moomm DeclareMathOperator:mm newtheorem:momo newcolumntype:mom "
    "usepackage:om documentclass:om linespread:m fontsize:mm captionsetup:om hypersetup:m "
    "pagebreak:o nopagebreak:o nolinebreak:o displaybreak:o footnotemark:o cline:m "
    "numberwithin:mm nonumber: notag: hyperdef:mmm special:m pdfstringdef:mm hangindent:m "
    "hskip:m vskip:m kern:m spaceskip:m")
KEEP_LAST = {  # formatting commands: keep the text of the last argument
    **{n: "m" for n in _words(
        "text textrm textit textbf textsc textsf texttt textup textsl textmd textnormal emph mbox "
        "hbox fbox mathrm mathbf mathit mathsf mathtt mathcal mathbb mathfrak mathscr boldsymbol "
        "bm pmb ensuremath underline uline overline widehat widetilde hat bar vec tilde dot ddot "
        "acute grave check breve mathring overrightarrow underbrace overbrace mathop mathbin mathrel "
        "mathord url smash upshape mathstrut centerline symbol")},
    **_table("hyperref:om href:mm hyperlink:mm hypertarget:mm makebox:oom framebox:oom "
             "raisebox:moom parbox:ooomm scalebox:mom resizebox:mmm rotatebox:omm colorbox:mm "
             "textcolor:mm fcolorbox:mmm stackrel:mm overset:mm underset:mm multicolumn:mmm"),
}
_ONE_ARG: dict[str, tuple[str, Any]] = {  # name -> (argument spec, format of the last argument)
    **{h: ("om", lambda s: f"{PARA}{s}{PARA}") for h in _words(
        "part chapter section subsection subsubsection paragraph subparagraph")},
    **{f: ("om", lambda s: f" [{s}]") for f in ("footnote", "footnotetext", "thanks")},
    **{c: ("om", lambda s: f"{LINE}{s}{LINE}") for c in (
        "caption", "intertext", "shortintertext", "lintertext", "rintertext")},
    "MakeUppercase": ("m", str.upper), "uppercase": ("m", str.upper),
    "MakeLowercase": ("m", str.lower), "lowercase": ("m", str.lower),
    "textsuperscript": ("m", lambda s: f"^{s}"), "textsubscript": ("m", lambda s: f"_{s}"),
    "pmod": ("m", lambda s: f" (mod {s})"), "operatorname": ("m", lambda s: f" {s} "),
    "tag": ("m", lambda s: f" {s}" if s.startswith("(") else f" ({s})"),
}
_DELIMS = set(_words("left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl "
                     "Biggr bigm Bigm"))
_FLOATS = set(_words("figure table wrapfigure wraptable SCfigure picture tikzpicture pspicture "
                     "floatingfigure sidewaysfigure sidewaystable comment"))
_ENV_ARGS = _table("tabular:om tabular*:mom tabularx:mm longtable:om array:om minipage:ooom "
                   "multicols:m alignat:m alignat*:m alignedat:m thebibliography:m list:mm")
_DISPLAY_RE = re.compile(r"align|gather|multline|eqnarray|equation|displaymath|flalign",
                         re.IGNORECASE)
_NOISE_NAME_RE = re.compile(r"label|ref$|^ref|bookmark|pagesep|skip|strut|phantom|heads?$|"
                            r"graphic|color|counter|length|width|font|toc", re.IGNORECASE)
_UNSAFE = set(_words("def edef gdef xdef let csname expandafter global futurelet afterassignment "
                     "aftergroup ifx ifnum ifdim ifcase if ifmmode ifvmode ifhmode ifcat ifodd "
                     "loop repeat noexpand string"))


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


def _is_space(node: Any) -> bool:
    return isinstance(node, str) and not node.strip()


def _take(nodes: list[Any], i: int, spec: str) -> tuple[list[Any], int]:
    """Consume arguments after position i per spec ('o' = [optional], 'm' = {mandatory}).

    Returns (args, new index); each argument is a node list or None when absent. `nodes`
    must be a private copy: a one-character argument is split off a text node in place.
    """
    args: list[Any] = []
    for kind in spec:
        j = i
        while j < len(nodes) and _is_space(nodes[j]):
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


def _plain(nodes: Any) -> str:
    """Raw text of simple nodes (macro names and argument counts)."""
    parts = [n if isinstance(n, str) else "\\" + n.name if isinstance(n, Cmd) else
             _plain(n.kids) if isinstance(n, Group) else "" for n in nodes or []]
    return "".join(parts).strip()


def _unsafe(nodes: list[Any]) -> bool:
    return any((isinstance(n, Cmd) and (n.name in _UNSAFE or "@" in n.name))
               or (isinstance(n, Group) and _unsafe(n.kids)) for n in nodes)


def collect_macros(nodes: list[Any], macros: dict[str, Macro], envs: dict[str, Macro]) -> None:
    """Record \\newcommand, \\def, \\let, \\DeclareMathOperator and \\newenvironment definitions."""
    nodes, i, internal = list(nodes), 0, False  # \makeatletter ... \makeatother = internals
    while i < len(nodes):
        node, i = nodes[i], i + 1
        name = node.name.rstrip("*") if isinstance(node, Cmd) else ""
        nxt = nodes[i] if i < len(nodes) else None
        if name == "ifthenelse":  # a preamble switch: use the definitions of the first branch
            (_, first, _), i = _take(nodes, i, "mmm")
            collect_macros(first or [], macros, envs)
        elif name in ("makeatletter", "makeatother"):
            internal = name == "makeatletter"
        elif name in ("newcommand", "renewcommand", "providecommand", "newenvironment",
                      "renewenvironment"):
            is_env = name.endswith("environment")
            (target, count, default, body, *end), i = _take(nodes, i, "moomm" if is_env else "moom")
            key, count = _plain(target).lstrip("\\"), _plain(count)
            if key and body is not None and not internal:
                macro = Macro(int(count) if count.isdigit() else 0, default, body,
                              _unsafe(body) or _unsafe(end[0] or []) if end else _unsafe(body),
                              end[0] if end else None)
                (envs if is_env else macros)[key] = macro
        elif name == "DeclareMathOperator":
            (target, body), i = _take(nodes, i, "mm")
            macros[_plain(target).lstrip("\\")] = Macro(0, None, [" ", Group(body or []), " "])
        elif name in ("let", "def", "gdef") and isinstance(nxt, Cmd):
            key, j = nxt.name, i + 1
            while j < len(nodes) and (_is_space(nodes[j]) or nodes[j] == "=" or
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
                    (arg,), i = _take(nodes, i, "m")
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
        args, i = _take(nodes, i, macro.spec())
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
        r = lambda a: self.render(a, math, params, depth)
        if macro is not None and depth < 12 and self.budget > 0:
            self.budget -= 1
            pieces, i = self.expand(macro, nodes, i, math, params, depth)
            if not (macro.opaque and _NOISE_NAME_RE.search(name)):
                out.append(" ".join(pieces))
        elif base in SYMBOLS:
            out.append(SYMBOLS[base])
            if base.isalpha() and i < len(nodes) and isinstance(nodes[i], str):
                nodes[i] = re.sub(r"^[ \t]*(?:\n(?![ \t]*\n)[ \t]*)?", "", nodes[i])
            if base == "item":
                (label,), i = _take(nodes, i, "o")
                out.append(r(label) + " " if label else "")
        elif base in _ACCENTS:
            (arg,), i = _take(nodes, i, "m")
            s = r(arg)
            out.append(unicodedata.normalize("NFC", s[:1] + _ACCENTS[base]) + s[1:] if s else "")
        elif base == "\\":
            if i < len(nodes) and isinstance(nodes[i], str) and nodes[i].startswith("*"):
                nodes[i] = nodes[i][1:]
            _, i = _take(nodes, i, "o")
            out.append(LINE)
        elif base in DROP:
            _, i = _take(nodes, i, DROP[base])
        elif base in KEEP_LAST:
            args, i = _take(nodes, i, KEEP_LAST[base])
            out.append(r(args[-1]))
        elif base in _ONE_ARG:
            spec, form = _ONE_ARG[base]
            args, i = _take(nodes, i, spec)
            out.append(form(r(args[-1]).strip()))
        elif base in ("frac", "dfrac", "tfrac", "cfrac", "binom", "dbinom", "tbinom"):
            (a, b), i = _take(nodes, i, "mm")
            a, b = r(a).strip(), r(b).strip()
            out.append(f"C({a}, {b})" if base.endswith("binom") else
                       " " + "/".join(s if s.isalnum() else f"({s})" for s in (a, b)) + " ")
        elif base == "sqrt":
            (root, arg), i = _take(nodes, i, "om")
            index = r(root).strip()
            out.append((f"sqrt[{index}]" if index else "sqrt") + f"({r(arg).strip()})")
        elif base in _DELIMS:  # the delimiter itself follows as text; "." means none
            if i < len(nodes) and isinstance(nodes[i], str) and nodes[i].lstrip()[:1] == ".":
                nodes[i] = nodes[i].lstrip()[1:]
        elif base == "ifthenelse":
            (cond, yes, no), i = _take(nodes, i, "mmm")
            out.append(r(yes if self.condition(cond, math, params, depth) else no))
        elif base in ("def", "gdef", "edef", "xdef", "let"):
            i += 1  # skip the name, then the parameter text / "=" and the body or target
            while i < len(nodes) and base != "let" and type(nodes[i]) is not Group:
                i += 1
            while i < len(nodes) and base == "let" and (_is_space(nodes[i]) or nodes[i] == "="):
                i += 1
            i += 1
        elif base == "iffalse":
            while i < len(nodes) and not (isinstance(nodes[i], Cmd) and nodes[i].name == "fi"):
                i += 1
            i += 1
        elif _NOISE_NAME_RE.search(base):  # unknown noise-looking command: drop its arguments
            j = i
            while j < len(nodes) and (_is_space(nodes[j]) or type(nodes[j]) is Group
                                      or nodes[j] == "["):
                i = j = _take(nodes, j, "o" if nodes[j] == "[" else "m")[1] \
                    if not _is_space(nodes[j]) else j + 1
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
                (a, b), i = _take(nodes, i, "mm")
                same = self.render(a, math, params, depth).strip() == self.render(
                    b, math, params, depth).strip()
                result, negate = same != negate, False
            elif name in ("boolean", "isodd", "lengthtest"):
                _, i = _take(nodes, i, "m")
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
        if base in _FLOATS:
            return "".join(f"{LINE}{c}{LINE}" for c in self.captions(kids, math, params, depth))
        _, i = _take(kids, 0, _ENV_ARGS.get(name, _ENV_ARGS.get(base, "")))
        if _DISPLAY_RE.search(base) and not math:
            return f"{LINE}{_flat_math(self.render(kids[i:], True, params, depth))}{LINE}"
        text = self.render(kids[i:], math, params, depth)
        return text if math else f"{PARA}{text}{PARA}"

    def captions(self, nodes: list[Any], math: bool, params: Any, depth: int) -> list[str]:
        found, nodes = [], list(nodes)
        for k, node in enumerate(nodes):
            if isinstance(node, Cmd) and node.name.rstrip("*") == "caption":
                (_, text), _ = _take(nodes, k + 1, "om")
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
    body = _DIMEN_RE.sub(" ", body)
    preamble = _DIMEN_RE.sub(" ", preamble)
    tree = parse(body, not re.search(r"\\(?:re)?newcommand\s*\{?\\\(", preamble))
    macros: dict[str, Macro] = {}
    envs: dict[str, Macro] = {}
    collect_macros(parse(preamble), macros, envs)
    collect_macros(tree, macros, envs)
    renderer = Renderer(macros, envs, budget=len(body) // 10 + 1000)
    text = renderer.render(tree)

    text = re.sub(r"[ \t]*\n[ \t]*\n\s*", PARA, text)
    text = re.sub(r"\s*\n\s*", " ", text)
    text = text.replace("---", "—").replace("--", "–").replace("``", '"').replace("''", '"')
    text = text.replace("`", "'").replace(PARA, "\n\n").replace(LINE, "\n")
    text = re.sub(f"{_VERB}(\\d+){_VERB}", lambda m: "\n" + verbatim[int(m.group(1))] + "\n", text)
    lines = [re.sub(r"[ \t\xa0]+", " ", line).strip() for line in text.split("\n")]
    lines = [re.sub(r"^\|\s*|\s*\|$", "", line) if "|" in line else line for line in lines]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()
