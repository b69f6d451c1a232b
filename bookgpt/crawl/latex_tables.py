"""Tables for the LaTeX renderer: symbols, accents, and how known commands and environments render.

LINE and PARA are the renderer's sentinels for structural line and paragraph breaks.
"""

from __future__ import annotations

import re
from typing import Any

LINE, PARA = "\x01", "\x02"  # sentinels for structural line / paragraph breaks


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
ACCENTS = _table("':\u0301 `:\u0300 ^:\u0302 \":\u0308 ~:\u0303 =:\u0304 .:\u0307 c:\u0327 "
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
ONE_ARG: dict[str, tuple[str, Any]] = {  # name -> (argument spec, format of the last argument)
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
DELIMS = set(_words("left right middle big Big bigg Bigg bigl bigr Bigl Bigr biggl biggr Biggl "
                    "Biggr bigm Bigm"))
FLOATS = set(_words("figure table wrapfigure wraptable SCfigure picture tikzpicture pspicture "
                    "floatingfigure sidewaysfigure sidewaystable comment"))
ENV_ARGS = _table("tabular:om tabular*:mom tabularx:mm longtable:om array:om minipage:ooom "
                  "multicols:m alignat:m alignat*:m alignedat:m thebibliography:m list:mm")
DISPLAY_RE = re.compile(r"align|gather|multline|eqnarray|equation|displaymath|flalign",
                        re.IGNORECASE)
NOISE_NAME_RE = re.compile(r"label|ref$|^ref|bookmark|pagesep|skip|strut|phantom|heads?$|"
                           r"graphic|color|counter|length|width|font|toc", re.IGNORECASE)
UNSAFE = set(_words("def edef gdef xdef let csname expandafter global futurelet afterassignment "
                    "aftergroup ifx ifnum ifdim ifcase if ifmmode ifvmode ifhmode ifcat ifodd "
                    "loop repeat noexpand string"))
