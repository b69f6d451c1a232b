"""Text extraction on the real books in ../shared/books: Gutenberg txt, HTML, LaTeX and CNXML."""

from __future__ import annotations

import hashlib
import re
import time
import warnings
from pathlib import Path

import pytest
import yaml

from bookgpt.crawl.extract import (
    cut_transcriber_notes,
    ExtractError,
    cnxml_to_text,
    decode_bytes,
    extract_text,
    html_to_text,
    latex_to_text,
    looks_like_html,
    cut_back_matter,
    strip_gutenberg,
)

BOOKS = Path(__file__).resolve().parents[2] / "shared" / "books"
MANIFEST = yaml.safe_load((BOOKS / "MANIFEST.yaml").read_text(encoding="utf-8"))
TXT_IDS = [b["book_id"] for b in MANIFEST["books"] if b["file"].endswith(".txt")]
TEX_IDS = [Path(f["file"]).stem for f in MANIFEST["latex_sources"]["files"]]
CNXML = {Path(f["file"]).parent.name: f["title"] for f in MANIFEST["openstax"]["files"]
         if "module_id" in f}

# A real sentence from near the start and one from near the end of each book's body, located in
# the book's whitespace-flattened file in ../shared/books: (offset, length, sha256 prefix). Book
# text stays there, not in this repository; the checksum notices if a file there changes.
PHRASES = {
    "flatland": ((10942, 44, 'e4c0e865dc0bb584'), (197220, 97, 'd26efe68278d79ef')),
    "amusements_in_mathematics": ((27522, 102, '239bcaaf8a1e432d'), (847140, 110, '4c72943dbf6548fc')),
    "canterbury_puzzles": ((10062, 46, '673a1f188ff13bfe'), (303892, 31, '73a958c264cfe499')),
    "budget_of_paradoxes_vol1": ((26806, 82, '010fbf9500adced1'), (799762, 65, '833a106cda07f23d')),
    "relativity": ((7222, 68, 'bfdc77a3dea67039'), (172951, 106, '6ad30441dfbbfbfa')),
    "foundations_of_science": ((30235, 88, '620e826c75930d6b'), (1072211, 83, '12325732968e1d3e')),
    "tangled_tale": ((4778, 39, 'c20d538d067e15c4'), (146455, 124, 'eca2cff217e413d3')),
}
TEX_PHRASES = {
    "calculus_made_easy": (27140, 34, 'd261593367b11bd2'),
    "course_of_pure_mathematics": (26760, 96, '3fbb7397281896cd'),
    "introduction_to_mathematics": (17454, 58, '636e02e749f15b11'),
    "foundations_of_geometry": (3562, 95, 'ba335c5fc35a0de7'),
}
BOILERPLATE = ("*** START", "*** END", "gutenberg.org", "gutenberg.net", "Produced by",
               "This eBook is for the use of anyone", "Distributed Proofreading")


def flat(text: str) -> str:
    return " ".join(text.split())


def phrase(raw: str, where: tuple[int, int, str]) -> str:
    """The sentence at `where` (offset, length, sha256 prefix) of the flattened book `raw`."""
    offset, length, sha = where
    text = flat(raw)[offset:offset + length]
    assert hashlib.sha256(text.encode()).hexdigest()[:16] == sha, "the shared book changed"
    return text


def assert_no_boilerplate(text: str) -> None:
    assert "project gutenberg" not in text.lower()
    for marker in BOILERPLATE:
        assert marker not in text, marker


def body_words(raw: str) -> int:
    """Reference size: words strictly between the START and END marker lines."""
    start = re.search(r"^.*\*\*\* ?START OF.*$", raw, re.MULTILINE)
    end = re.search(r"^.*\*\*\* ?END OF.*$", raw, re.MULTILINE)
    assert start and end, "test data lost its Gutenberg markers"
    return len(raw[start.end():end.start()].split())


@pytest.fixture(scope="module")
def txt_books() -> dict[str, tuple[str, str]]:
    """book_id -> (raw text, cleaned text), each book extracted once."""
    out = {}
    for book_id in TXT_IDS:
        data = (BOOKS / f"{book_id}.txt").read_bytes()
        out[book_id] = (data.decode("utf-8"), extract_text(data, "txt"))
    return out


@pytest.fixture(scope="module")
def html_books() -> dict[str, str]:
    return {p.stem: extract_text(p.read_bytes(), "html", "text/html; charset=iso-8859-1")
            for p in sorted((BOOKS / "html").glob("*.html"))}


@pytest.fixture(scope="module")
def tex_books() -> dict[str, tuple[str, str, float]]:
    """book_id -> (raw source, text, seconds taken)."""
    out = {}
    for book_id in TEX_IDS:
        data = (BOOKS / "tex" / f"{book_id}.tex").read_bytes()
        t0 = time.perf_counter()
        text = extract_text(data, "tex")
        out[book_id] = (data.decode("utf-8"), text, time.perf_counter() - t0)
    return out


@pytest.fixture(scope="module")
def cnxml_modules() -> dict[str, str]:
    root = BOOKS / "openstax" / "osbooks-college-algebra-bundle" / "modules"
    return {m: extract_text((root / m / "index.cnxml").read_bytes(), "cnxml") for m in CNXML}


# ----------------------------------------------------------------------------- plain text


def test_manifest_lists_the_expected_books() -> None:
    assert set(TXT_IDS) == set(PHRASES)
    assert set(TEX_IDS) == set(TEX_PHRASES)
    assert len(CNXML) == 5


@pytest.mark.parametrize("book_id", sorted(PHRASES))
def test_txt_book_is_clean_and_complete(txt_books, book_id: str) -> None:
    raw, text = txt_books[book_id]
    assert_no_boilerplate(text)
    ratio = len(text.split()) / body_words(raw)
    assert 0.93 <= ratio <= 1.0, f"{book_id}: kept {ratio:.3f} of the body words"
    first, last = (phrase(raw, where) for where in PHRASES[book_id])
    assert flat(first) in flat(text)
    assert flat(last) in flat(text)
    assert not re.search(r"\n{4,}", text) and not re.search(r"[ \t]+\n", text)
    assert text == text.rstrip() and not text.startswith("\n")


def gutenberg_frame(book_id: str) -> tuple[str, str]:
    """The real Gutenberg matter around a shared book's body: its header up to and including the
    START line and the production credits just inside it, and its footer from the "End of ..."
    line (or the END line) to the licence's end."""
    raw = (BOOKS / f"{book_id}.txt").read_text(encoding="utf-8")
    start = re.search(r"(?m)^.*\*\*\* ?START OF.*$", raw)
    end = re.search(r"(?im)^(?:End of (?:the )?Project Gutenberg.*|.*\*\*\* ?END OF.*)$", raw)
    assert start and end, "test data lost its Gutenberg markers"
    credits = re.compile(r"\s*(?:Produced|E-text prepared) by .*?\n\s*\n", re.DOTALL)
    m = credits.match(raw, start.end())
    return raw[:m.end() if m else start.end()] + "\n", raw[end.start():]


def test_strip_gutenberg_variants_and_missing_markers() -> None:
    body = "CHAPTER I.\n\nIt was a dark and stormy night.\n\nTHE END."
    old = ("The Project Gutenberg Etext of X\n\n*END*THE SMALL PRINT! FOR PUBLIC DOMAIN ETEXTS"
           "*Ver.04.29.93*END*\n\nThis etext was produced by Someone.\n\n" + body +
           "\n\nEnd of The Project Gutenberg Etext of X\n")
    variants = [old]
    # the wordings of the shared books: "*** START OF THIS", "***START OF THE" (no space),
    # "End of Project Gutenberg's ...", an old SMALL PRINT licence after the END line
    for book_id in ("flatland", "canterbury_puzzles", "amusements_in_mathematics", "relativity"):
        head, foot = gutenberg_frame(book_id)
        variants.append(head + "\n" + body + "\n\n\n\n\n\n" + foot)
    head, foot = gutenberg_frame("canterbury_puzzles")
    variants.append(head.lower() + "\n" + body + "\n\n" + foot.lower())
    for variant in variants:
        assert strip_gutenberg(variant) == body
    assert strip_gutenberg("  \n\n" + body + "   \n\n\n\n\n\nmore  \n") == body + "\n\n\nmore"
    header = ("The Project Gutenberg EBook of X, by Y\n\nTitle: X\n\nAuthor: Y\n\n"
              "Character set encoding: ASCII\n\n")
    assert strip_gutenberg(header + body) == body


# ----------------------------------------------------------------------------- HTML


@pytest.mark.parametrize("book_id", ["flatland", "tangled_tale"])
def test_html_matches_plain_text_edition(html_books, txt_books, book_id: str) -> None:
    text = html_books[book_id]
    assert "<" not in text and "&nbsp;" not in text and "&mdash;" not in text
    assert not re.search(r"\[(?:Pg|Page) ?\d+\]", text)
    assert not re.search(r"(?m)^\[\d+\]$", text), "page-number spans left in the text"
    assert_no_boilerplate(text)
    words = {w for w in re.findall(r"[a-z]{4,}", txt_books[book_id][1].lower())}
    found = set(re.findall(r"[a-z]{4,}", text.lower()))
    overlap = len(words & found) / len(words)
    assert overlap >= 0.85, f"{book_id}: only {overlap:.3f} of the txt vocabulary in the HTML"


def test_html_headings_are_own_lines(html_books) -> None:
    lines = html_books["tangled_tale"].split("\n")
    for heading in ("KNOT I.", "EXCELSIOR.", "PREFACE."):
        k = lines.index(heading)
        assert lines[k - 1] == "" and lines[k + 1] == "", heading
    flat_lines = html_books["flatland"].split("\n")
    assert any(re.fullmatch(r"Section 1\.? +Of the Nature of Flatland", ln) for ln in flat_lines)


def test_html_structure_from_markup() -> None:
    html = ("<html><head><title>T</title><style>p{}</style><script>var x=1;</script></head><body>"
            "<div id='pg-header'>The Project Gutenberg eBook of T</div><h1>Title</h1>"
            "<p>One\n two<span class='pagenum'>[Pg 7]</span> three.<br>Four</p>"
            "<ul><li>a</li><li>b</li></ul><table><tr><td>x</td><td>y</td></tr></table>"
            "<!-- note --></body></html>")
    assert html_to_text(html) == "Title\n\nOne two three.\nFour\n\na\nb\n\nx | y"
    with pytest.raises(ExtractError, match="no text"):
        html_to_text("<html><body><script>x()</script><img src='a.png'></body></html>")



def test_html_table_of_contents_is_dropped_and_other_tables_kept(html_books) -> None:
    """A contents table (most rows linking into the book's chapters) would stand in the text as
    one long sentence naming every chapter; it goes, the chapters' own headings stay, and a
    table of data stays, its footnotes' links and all."""
    tangled = html_books["tangled_tale"]
    assert "Eligible Apartments |" not in tangled and "Mad Mathesis |" not in tangled
    assert "ELIGIBLE APARTMENTS." in tangled.split("\n")
    assert "Of the Nature of Flatland |" not in html_books["flatland"]
    rows = "".join(f"<tr><td>{n}</td><td><a href='#c{n}'>Chapter {n}</a></td></tr>"
                   for n in range(1, 4))
    data = "".join(f"<tr><td>{p}</td><td>{d}<a href='#fn{d}'>*</a></td></tr>"
                   for p, d in (("Mercury", 88), ("Venus", 225), ("Earth", 365)))
    html = (f"<html><body><h1>T</h1><table>{rows}</table><p>Text.</p><table>{data}</table>"
            "</body></html>")
    assert html_to_text(html) == "T\n\nText.\n\nMercury | 88*\nVenus | 225*\nEarth | 365*"


# ----------------------------------------------------------------------------- LaTeX


@pytest.mark.parametrize("book_id", sorted(TEX_PHRASES))
def test_latex_book_reads_as_prose(tex_books, book_id: str) -> None:
    raw, text, seconds = tex_books[book_id]
    assert text.count("\\") < len(text) / 2000 + 1, "LaTeX commands left in the text"
    assert not re.search(r"(?m)^\s*%", text), "comment lines left in the text"
    assert "\\begin" not in text and "\\end" not in text
    assert_no_boilerplate(text)
    assert flat(phrase(raw, TEX_PHRASES[book_id])) in flat(text)
    assert len(text.split()) >= 0.6 * len(raw.split())
    # a guard against a runaway pattern (seconds, not minutes), not a benchmark: about 1 s a
    # book, 2.2 s on a loaded 2-core AVX2 machine (a fresh clone's test run, 2026-12-07)
    assert seconds < 10.0


def test_latex_constructs() -> None:
    tex = r"""\documentclass{book}
\newcommand{\ie}{\textit{i.e.}}
\newcommand{\Typo}[2]{#2}
\begin{document}
\chapter{First Steps}\label{ch:1}
% a comment line
It costs 5\% --- \emph{really}~so, \ie\ cheap\footnote{Not always.}.
\Typo{teh}{the} end \index{end}\vspace{2pt}\unknownmacro{kept} \dropme.

Math: $x^2 + \frac{a}{b+1} = \sqrt{\alpha} \times 2$ and ``quoted''.
\begin{equation}
  \int_0^1 f(x)\,dx \leq \infty
\end{equation}
\begin{figure}\includegraphics{fig.png}\caption{A cone.}\end{figure}
\end{document}
trailing junk"""
    text = latex_to_text(tex)
    assert text.startswith("First Steps\n\n")
    assert "It costs 5% — really so, i.e. cheap [Not always.]." in text
    assert "the end kept ." in text
    assert 'x^2 + a/(b+1) = sqrt(alpha) x 2 and "quoted".' in text
    assert "\nintegral_0^1 f(x) dx <= infinity\n" in text
    assert text.endswith("infinity\n\nA cone.") and "fig.png" not in text
    assert "comment" not in text and "trailing" not in text and "teh" not in text
    with pytest.raises(ExtractError, match="too deeply"):
        latex_to_text("{" * 5000 + "x" + "}" * 5000)


def test_latex_page_breaks_keep_sentences_whole() -> None:
    """A page break in a transcribed book ("\\PageSep{32}", an index entry on its own line)
    renders to nothing and must not cut its sentence in two paragraphs, as a blank line does;
    a macro whose body sets the space after a full stop ("\\@") still expands."""
    tex = r"""\documentclass{book}
\newcommand{\PageSep}[1]{\ignorespaces}
\newcommand{\SCAbbrev}[3]{\textsc{\MakeLowercase{#1.#2}.}\@#3}
\newcommand{\AD}[1]{\SCAbbrev{A}{D}{#1}}
\begin{document}
From the earliest times they must have been objects of wild
\PageSep{32}
\index{Electricity}%
and fantastic hypotheses.
% a comment line

In 1600~\AD, Dr.~Gilbert published.
\end{document}"""
    text = latex_to_text(tex)
    assert text == ("From the earliest times they must have been objects of wild and fantastic "
                    "hypotheses.\n\nIn 1600 a.d., Dr. Gilbert published.")
    # a spacing setting takes its value and unit, never the paragraph's end after it nor the
    # next line's letters
    tex = ("\\begin{document}\nx\\penalty-10000\n\nthe rest\\vskip 1em\n"
           "Next \\hskip 2pt plus 1fil word.\n\\end{document}")
    assert latex_to_text(tex) == "x\n\nthe rest Next word."


# ----------------------------------------------------------------------------- CNXML


@pytest.mark.parametrize("module", sorted(CNXML))
def test_cnxml_module(cnxml_modules, module: str) -> None:
    text = cnxml_modules[module]
    assert text.split("\n")[0] == CNXML[module]
    assert "<" not in text.replace(" < ", "") and "md:" not in text
    assert len(text.split()) > 150
    if module != "m51240":  # the chapter introduction has no math
        assert "^" in text and re.search(r"\d", text)


def test_cnxml_math_and_sections() -> None:
    xml = ("<document xmlns='http://cnx.rice.edu/cnxml' "
           "xmlns:m='http://www.w3.org/1998/Math/MathML'>"
           "<title>Powers</title><metadata><md:title xmlns:md='x'>meta</md:title></metadata>"
           "<content><section><title>Squares</title><para>We have "
           "<m:math><m:msup><m:mi>x</m:mi><m:mn>2</m:mn></m:msup><m:mo>=</m:mo><m:mfrac>"
           "<m:mrow><m:mi>a</m:mi><m:mo>+</m:mo><m:mn>1</m:mn></m:mrow><m:mn>2</m:mn></m:mfrac>"
           "<m:mo>+</m:mo><m:msqrt><m:mi>y</m:mi></m:msqrt></m:math>.</para>"
           "<list><item>one</item><item>two</item></list></section></content></document>")
    text = cnxml_to_text(xml)
    assert text == "Powers\n\nSquares\n\nWe have x^2 = (a + 1)/2 + sqrt(y) .\n\none\ntwo"
    # an XML declaration changes nothing, and the HTML parser used for CNXML does not warn of it
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert cnxml_to_text("<?xml version='1.0' encoding='UTF-8'?>\n" + xml) == text
    empty = "<document xmlns='http://cnx.rice.edu/cnxml'><content/></document>"
    with pytest.raises(ExtractError, match="no text"):
        cnxml_to_text(empty)
    with pytest.raises(ExtractError, match="no text"):
        extract_text(empty.encode(), "cnxml")


# ----------------------------------------------------------------------------- decoding


def test_decode_latin1_with_and_without_declared_charset() -> None:
    data = "Poincaré’s café — naïve".replace("’", "'").replace("—", "-").encode("latin-1")
    assert decode_bytes(data) == "Poincaré's café - naïve"
    assert decode_bytes(data, "ISO-8859-1") == "Poincaré's café - naïve"
    assert decode_bytes(data, "text/plain; charset=iso-8859-1") == "Poincaré's café - naïve"
    assert decode_bytes("“quoted” €".encode("cp1252")) == "“quoted” €"
    html = b'<html><head><meta charset="windows-1252"></head><body>\x93hi\x94</body></html>'
    assert "“hi”" in decode_bytes(html)


def test_decode_bom_crlf_and_utf8_mislabelled() -> None:
    assert decode_bytes(b"\xef\xbb\xbfcaf\xc3\xa9\r\nline\rend") == "café\nline\nend"
    assert decode_bytes("\ufeffé\r\n".encode("utf-16-le")) == "é\n"
    utf8 = "Character set encoding: ISO-8859-1\n\nPoincaré\n".encode()
    assert decode_bytes(utf8) == utf8.decode()  # the header lies; bytes are UTF-8
    assert decode_bytes(utf8, "latin-1") == utf8.decode()


def test_decode_declared_ascii_with_latin1_bytes() -> None:
    data = "Character set encoding: ASCII\n\nthe formulæ of Lorentz, µ and ü\n".encode("latin-1")
    text = decode_bytes(data, "us-ascii")
    assert "formulæ" in text and "µ" in text and "ü" in text
    raw = (BOOKS / "relativity.txt").read_text(encoding="utf-8")
    legacy = raw.replace("\n", "\r\n").encode("latin-1")  # as published: latin-1 bytes, CRLF
    assert decode_bytes(legacy) == raw
    assert decode_bytes(legacy, "ascii") == raw


def test_decode_rejects_binary() -> None:
    junk = bytes(range(256)) * 40
    with pytest.raises(ExtractError, match="does not look like text.*NUL"):
        decode_bytes(junk)
    with pytest.raises(ExtractError, match="ZIP archive"):
        decode_bytes(b"PK\x03\x04" + junk)
    with pytest.raises(ExtractError, match="PDF"):
        extract_text(b"%PDF-1.4\n" + junk, "txt")


# ----------------------------------------------------------------------------- dispatch


def test_extract_text_rejects_unknown_format_and_empty_pages() -> None:
    with pytest.raises(ExtractError, match=r"unknown format 'epub'.*cnxml, html, tex, txt"):
        extract_text(b"hello", "epub")
    with pytest.raises(ExtractError, match="no text"):
        extract_text(b"<html><head><title>404</title></head><body>  </body></html>", "html")
    with pytest.raises(ExtractError, match="HTML page"):
        extract_text(b"<!DOCTYPE html><html><body>Not Found</body></html>", "txt")
    with pytest.raises(ExtractError, match="no text"):
        extract_text(b"   \n\n", "txt")
    assert extract_text(b"Just a line.\r\n", "TXT") == "Just a line."


def test_looks_like_html() -> None:
    assert looks_like_html("<!DOCTYPE html>\n<html><body>503</body></html>")
    assert looks_like_html("  <HTML><HEAD><TITLE>Error</TITLE>")
    assert not looks_like_html((BOOKS / "flatland.txt").read_text(encoding="utf-8"))
    assert not looks_like_html("Use <b> sparingly; x < y and y > z.")


def test_transcribers_notes_are_cut_and_the_book_after_them_kept() -> None:
    """A note opening with "Transcriber's note" runs to its closing bracket, or to the next title
    in capitals or rule of stars; at the book's end it runs to the end; a note nothing stops
    loses only its first paragraph, and a text that merely mentions a transcriber keeps it."""
    body = "\n\n".join(f"On night {i} the keeper lit the lamp and wrote in his log." for i in range(40))
    head = ("Transcriber's Note\n\nMinor corrections have been made without comment.\n\n"
            "This PDF file is optimized for printing.\n\nTHE KEEPER'S LOG\n\n")
    assert cut_transcriber_notes(head + body) == "THE KEEPER'S LOG\n\n" + body
    chart = ("[Transcriber's note: the coins of the time, for reference.\n\n"
             + "\n\n".join(f"    Coin {i}     {i}d." for i in range(20)) + "\n\nEnd of chart.]\n\n")
    assert cut_transcriber_notes(chart + body) == body
    assert cut_transcriber_notes(body + "\n\nTranscriber's note: the log's spelling is kept, "
                                 "and its figures,\n\n" + "\n\n".join(["a 1", "b 2"] * 9)) == body
    endless = "Transcriber's note: spelling kept.\n\n" + body
    assert cut_transcriber_notes(endless) == body  # nothing stops it: its first paragraph goes
    mention = "The keeper thanked the transcriber of his log.\n\n" + body
    assert cut_transcriber_notes(mention) == mention


def test_the_publishers_back_matter_after_the_end_is_cut() -> None:
    """A catalogue of the author's other works after "THE END" (its titles and prices would
    answer questions about books that are not on the shelf) goes; notes after it stay, and so
    does anything long."""
    body = "\n\n".join(f"Chapter {i}. The keeper lit the lamp on night {i}." for i in range(40))
    catalogue = ("\n\nLONDON: SMITH AND SONS, PRINTERS.\n\nWORKS BY JANE MARLOWE.\n\n"
                 "THE KEEPER'S LAMP. With Twelve Illustrations. Crown 8vo, cloth, gilt edges, "
                 "price 6s.\n\nTHE GREY SEA. Crown 8vo, cloth, price 5s.")
    assert cut_back_matter(body + "\n\nTHE END\n" + catalogue) == body + "\n\nTHE END"
    notes = "\n\nNOTES.\n\n1. The lamp burned whale oil, at a price the keeper paid himself."
    assert cut_back_matter(body + "\n\nTHE END\n" + notes) == body + "\n\nTHE END\n" + notes
    assert cut_back_matter(body + catalogue) == body + catalogue  # no "THE END": nothing cut
    long_tail = catalogue * 40  # more than a tenth of the book: no back matter
    assert cut_back_matter(body + "\n\nTHE END\n" + long_tail).endswith(long_tail)
