"""Turn downloaded book files (Gutenberg txt/HTML/LaTeX, OpenStax CNXML) into clean plain text.

Pure functions: no I/O, no network.
"""

from __future__ import annotations

import codecs
import itertools
import re
from collections.abc import Callable, Iterable

from bs4 import BeautifulSoup, Comment, Declaration, Doctype, NavigableString, ProcessingInstruction
from bs4.element import Tag

from bookgpt.crawl import latex as _latex


class ExtractError(ValueError):
    """The data cannot be turned into book text; the message says why and what to do."""


# ----------------------------------------------------------------------------- decoding

_BOMS = ((codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
         (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"),
         (codecs.BOM_UTF16_BE, "utf-16-be"))
_MAGIC = ((b"%PDF-", "a PDF document"), (b"PK\x03\x04", "a ZIP archive (unpack it first)"),
          (b"\x1f\x8b", "gzip-compressed data (decompress it first)"), (b"\x89PNG", "a PNG image"),
          (b"\xff\xd8\xff", "a JPEG image"), (b"GIF8", "a GIF image"),
          (b"\x7fELF", "an executable"))
_CONTROL_BYTES = bytes(b for b in range(32) if b not in (9, 10, 12, 13, 27)) + b"\x7f"
_DOC_CHARSET_RES = (
    re.compile(rb"<meta[^>]+charset\s*=\s*[\"']?\s*([A-Za-z0-9._:-]+)", re.IGNORECASE),
    re.compile(rb"<\?xml[^>]*encoding\s*=\s*[\"']([A-Za-z0-9._:-]+)[\"']", re.IGNORECASE),
    re.compile(rb"^[ \t]*Character set encoding:[ \t]*([A-Za-z0-9._:-]+)",
               re.IGNORECASE | re.MULTILINE),
)
_SINGLE_BYTE = {"ascii", "iso8859-1", "cp1252", "iso8859-15"}


def _codec(name: str | None) -> str | None:
    """Normalised Python codec name for a charset label or Content-Type value, else None."""
    if not name:
        return None
    m = re.search(r"charset\s*=\s*[\"']?([^\"';\s]+)", name, re.IGNORECASE)
    label = (m.group(1) if m else name).strip().strip("\"'")
    try:
        return codecs.lookup(label).name
    except LookupError:
        return None


def _check_binary(data: bytes) -> None:
    for magic, what in _MAGIC:
        if data.startswith(magic):
            raise ExtractError(f"data is {what}, not a text document; fetch the .txt/.html/.tex "
                               "file instead")
    sample = data[:65536]
    nul = sample.count(0)
    ctrl = sum(sample.count(b) for b in _CONTROL_BYTES)
    if nul > len(sample) / 1000 or ctrl > len(sample) / 100:
        raise ExtractError(f"data does not look like text: {nul} NUL bytes and {ctrl} control "
                           f"bytes in the first {len(sample)} bytes (binary file?); check that "
                           "the URL points to a text, HTML, TeX or CNXML document")


def decode_bytes(data: bytes, declared: str | None = None) -> str:
    """Decode a document: BOM, declared charset, in-document charset, UTF-8, cp1252, latin-1.

    A declared single-byte charset loses to UTF-8 when the bytes are valid UTF-8 with non-ASCII
    content (a common mislabel). Newlines are normalised to LF.
    """
    text = None
    for bom, codec in _BOMS:
        if data.startswith(bom):
            try:
                text = data[len(bom):].decode(codec)
            except UnicodeDecodeError as exc:
                raise ExtractError(f"data starts with a {codec} byte-order mark but is not valid "
                                   f"{codec} ({exc.reason} at byte {exc.start})") from exc
            break
    if text is None:
        _check_binary(data)
        head = data[:32768]
        labels = [declared] + [m.group(1).decode("ascii", "replace")
                               for m in (rx.search(head) for rx in _DOC_CHARSET_RES) if m]
        candidates = [c for c in map(_codec, labels) if c]
        utf8_first = not candidates or candidates[0] in _SINGLE_BYTE or candidates[0] == "utf-8"
        order = (["utf-8"] if utf8_first else []) + candidates + ["utf-8", "cp1252", "latin-1"]
        for codec in dict.fromkeys(order):
            try:
                text = data.decode(codec)
                break
            except (UnicodeDecodeError, LookupError):
                continue
        assert text is not None  # latin-1 decodes any bytes
    text = text.lstrip("\ufeff").replace("\r\n", "\n").replace("\r", "\n")
    if text.count("\x00") > len(text) / 1000:
        raise ExtractError("decoded text is full of NUL characters (wrong encoding or binary "
                           "data); pass the correct charset")
    return text


def looks_like_html(text: str) -> bool:
    """True when text starts like an HTML page (e.g. a server error page instead of a book)."""
    head = text[:4096].lstrip().lower()
    return head.startswith(("<!doctype html", "<html")) or bool(
        re.search(r"<(?:html|head|body|title)\b[^>]*>", head))


# ----------------------------------------------------------------------------- Gutenberg

_START_RE = re.compile(
    r"^[^\n]*?\*{3}\s*START\s+OF\s+(?:THIS|THE)\s+PROJECT\s+GUTENBERG\s+E-?(?:BOOK|TEXT)"
    r"(?:[^*]{0,300}?\*{3})?[^\n]*(?:\n|$)", re.IGNORECASE | re.MULTILINE)
_OLD_START_RE = re.compile(r"^[^\n]*\*\s*END\s*\*?\s*THE\s+SMALL\s+PRINT[^\n]*(?:\n|$)",
                           re.IGNORECASE | re.MULTILINE)
_END_RE = re.compile(
    r"^[^\n]*?(?:\*{3}\s*END\s+OF\s+(?:THIS|THE)\s+PROJECT\s+GUTENBERG"
    r"|END\s+OF\s+(?:THE\s+|THIS\s+)?PROJECT\s+GUTENBERG|\*{3}\s*START:?\s*FULL\s+LICEN[SC]E)",
    re.IGNORECASE | re.MULTILINE)
_PG_RE = re.compile(r"project\s+gutenberg|gutenberg\.(?:org|net)|pgdp\.net|distributed\s+proof",
                    re.IGNORECASE)
_CREDIT_RE = re.compile(
    r"^\s*(?:produced\s+by|e-?text\s+prepared\s+by|e-?book\s+prepared\s+by|prepared\s+by|"
    r"transcribed\s+by|this\s+e-?(?:text|book)\s+was\s+(?:produced|prepared|created|transcribed)|"
    r"html\s+version\s+by|updated\s+editions\s+will|this\s+edition\s+had\s+all\s+images|"
    r"\**\s*this\s+file\s+should\s+be\s+named)", re.IGNORECASE)
_HEADER_RE = re.compile(
    r"^\s*(?:title|author|editor|translator|illustrator|release\s+date|posting\s+date|"
    r"last\s+updated|language|character\s+set\s+encoding|edition|most\s+recently\s+updated)\s*:",
    re.IGNORECASE | re.MULTILINE)


# a book's last "THE END" (or "FINIS"), and what a publisher's back matter says after it: the
# printer's line and the catalogue of the author's other works ("WORKS BY LEWIS CARROLL. ...
# Crown 8vo, cloth, gilt edges, price 6s."), whose titles and prices are no part of the book
_THE_END_RE = re.compile(r"^[ \t]*(?:THE\s+END|FINIS)\.?[ \t]*$", re.IGNORECASE | re.MULTILINE)
_TRADE_RE = re.compile(r"\b(?:printers?|publishers?|published\s+by|works\s+by|by\s+the\s+same\s+"
                       r"author|catalogue|(?:crown|demy|post|fcap\.?|royal)\s+\d*\s*(?:8vo|4to|"
                       r"16mo|octavo|quarto)|cloth|gilt\s+edges|price)\b", re.IGNORECASE)
BACK_MATTER_SHARE = 0.1  # the most of a book a back matter may be


def cut_back_matter(text: str) -> str:
    """The book without the publisher's back matter after its last "THE END": cut only when what
    follows is short (at most BACK_MATTER_SHARE of the text) and speaks the trade's words at least
    three times (printers, "works by", "Crown 8vo", cloth, price); notes or an index after "THE
    END" stay."""
    ends = list(_THE_END_RE.finditer(text))
    if not ends:
        return text
    after = text[ends[-1].end():]
    if len(after) > BACK_MATTER_SHARE * len(text) or len(_TRADE_RE.findall(after)) < 3:
        return text
    return text[:ends[-1].end()].rstrip()


# a transcriber's note: how the edition was made, not the book ("Transcriber's Note", "[Transcribers
# note: ...", "Transcriber note: This file is a plain text rendition of HTML.")
_NOTE_RE = re.compile(r"^\W*transcriber'?s?'?\s+notes?\b", re.IGNORECASE)
NOTE_PARAS = 8  # a note runs at most this many paragraphs (before the book's last tenth) ...
NOTE_CHARS = 3000  # ... and this many characters
NOTE_TAIL = 0.1  # a note in the book's last tenth runs to its end, if nothing else stops it
BRACKETED_PARAS = 40  # a note in brackets runs to its closing bracket within this many paragraphs


def _stops_note(para: str) -> bool:
    """A paragraph no note runs into: a title in capitals ("CALCULUS MADE EASY", "CONTENTS") or a
    rule of stars between sections."""
    letters = [c for c in para if c.isalpha()]
    if not letters:
        return "*" in para
    return len(letters) >= 4 and sum(c.isupper() for c in letters) >= 0.6 * len(letters)


def cut_transcriber_notes(text: str) -> str:
    """The book without its transcribers' notes (how the edition was made: "This PDF file is
    optimized for printing", "This file is a plain text rendition of HTML"): a note runs from its
    "Transcriber's note" to its closing bracket if it opens with one, else up to the next title in
    capitals or rule of stars, within NOTE_PARAS paragraphs and NOTE_CHARS characters, or to the
    end in the book's last tenth; where nothing stops it, only its first paragraph goes."""
    blocks = re.split(r"(\n[ \t]*\n)", text)
    paras = [k for k in range(0, len(blocks), 2) if blocks[k].strip()]
    starts = [0, *itertools.accumulate(len(b) for b in blocks)]  # characters before each block
    drop: set[int] = set()
    for n, k in enumerate(paras):
        if k in drop or not _NOTE_RE.match(blocks[k]):
            continue
        if blocks[k].lstrip().startswith("["):  # to its closing bracket, a chart and all
            end = next((j for j in range(n, min(len(paras), n + BRACKETED_PARAS))
                        if "]" in blocks[paras[j]]), None)
            drop.update(paras[n:end + 1] if end is not None else [k])
            continue
        note, size = [k], len(blocks[k])
        for j in range(n + 1, len(paras) + 1):
            if j == len(paras) or _stops_note(blocks[paras[j]]):
                break
            size += len(blocks[paras[j]])
            if j - n >= NOTE_PARAS or size > NOTE_CHARS:
                # nothing stops it: at the book's end it runs to the end, else only its opening
                note = paras[n:] if starts[k] >= (1.0 - NOTE_TAIL) * len(text) else [k]
                break
            note.append(paras[j])
        drop.update(note)
    if not drop:
        return text
    for k in drop:
        blocks[k] = ""
    return _tidy("".join(blocks))


def _tidy(text: str) -> str:
    text = re.sub(r"[ \t]+\n", "\n", text.replace("\r", ""))
    return re.sub(r"\n{4,}", "\n\n\n", text).lstrip("\n").rstrip()


def strip_gutenberg(text: str) -> str:
    """Remove Project Gutenberg header, footer, licence and credits; keep the whole book body."""
    start = _START_RE.search(text)
    if start is None:
        old = _OLD_START_RE.search(text)
        start = old if old and old.start() < len(text) // 2 else None
    body_start = start.end() if start else 0
    end = _END_RE.search(text, body_start)
    body = text[body_start: end.start() if end else len(text)]
    blocks = re.split(r"(\n[ \t]*\n)", body)
    paras = [k for k in range(0, len(blocks), 2) if blocks[k].strip()]
    edge = set(paras[:8] + paras[-6:])
    for k in paras:
        block = blocks[k]
        header = start is None and k in paras[:15] and _HEADER_RE.search(block)
        if header or (k in edge and _CREDIT_RE.search(block)):
            blocks[k] = ""
        elif _PG_RE.search(block):
            if len(block) < 2000:
                blocks[k] = ""
            else:
                blocks[k] = "\n".join(ln for ln in block.split("\n") if not _PG_RE.search(ln))
    return _tidy("".join(blocks))


# ----------------------------------------------------------------------------- markup

_PARA, _LINE, _CELL, _HARD_SPACE, _EDGE = "\x02", "\x01", "\x03", "\x04", "\x05"
_HTML_BLOCKS = ("p", "div", "section", "article", "blockquote", "ul", "ol", "dl", "table", "pre",
                "hr", "address", "figure", "figcaption", "header", "footer", "main", "nav",
                "aside", "center", "caption", "body", "h1", "h2", "h3", "h4", "h5", "h6")
_NOISE_ATTR_RE = re.compile(r"pg-(?:header|footer|boilerplate|machine)|pagenum|pageno|page-?num"
                            r"|page-?number", re.IGNORECASE)


# Python's own parser for HTML and CNXML alike: the text is the same on every machine, whichever
# optional parsers (lxml, html5lib) happen to be installed
_PARSER = "html.parser"
# an XML declaration says nothing we use; without it bs4 does not warn of XML parsed as HTML
_XML_DECLARATION_RE = re.compile(r"\A\ufeff?\s*<\?xml\b[^>]*\?>")


def _layout(soup: BeautifulSoup, blocks: Iterable[str], lines: Iterable[str],
            cells: Iterable[str], breaks: Iterable[str]) -> str:
    """Flatten a cleaned soup: blocks get blank lines, lines/breaks newlines, cells ' | '."""
    for node in soup.find_all(string=lambda s: isinstance(
            s, (Comment, Doctype, Declaration, ProcessingInstruction))):
        node.extract()
    for pre in soup.find_all("pre"):
        for s in list(pre.find_all(string=True)):
            s.replace_with(s.replace("\n", _LINE).replace(" ", _HARD_SPACE))
    for tag in soup.find_all(list(breaks)):
        tag.replace_with(_LINE)
    for tag in soup.find_all(list(blocks)):
        tag.insert_before(_PARA)
        tag.insert_after(_PARA)
    for tag in soup.find_all(list(lines)):
        tag.insert_before(_EDGE)
        tag.insert_after(_EDGE)
    for tag in soup.find_all(list(cells)):
        tag.insert_after(_CELL)
    text = re.sub(r"[ \t\n\r\f\v\xa0]+", " ", soup.get_text())
    text = re.sub(f"{_EDGE}(?: ?{_EDGE})*", _LINE, text)  # line edges of adjacent items: one break
    text = text.replace(_CELL, " | ").replace(_PARA, "\n\n").replace(_LINE, "\n")
    out = []
    for line in text.split("\n"):
        line = line.strip(" ")
        if "|" in line:
            line = re.sub(r"^(?:\|\s*)+|(?:\s*\|)+$", "", re.sub(r"(?:\s*\|){2,}", " |", line))
        out.append(line.replace(_HARD_SPACE, " ").rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(out)).strip()


def _contents(table: Tag) -> bool:
    """Whether an HTML table is a table of contents: three rows or more, most of them linking
    into the book ("#chapter2"; a footnote's "#fn3" is no chapter). Its rows would stand in the
    text as sentences naming every chapter ("II. | Eligible Apartments | 4 III. | Mad Mathesis |
    13"), and answer questions about all of them. A table of data ("Mercury | 88") links nowhere
    and stays; so does a table whose rows a nested table holds."""
    rows = [r for r in table.find_all("tr") if r.find_parent("table") is table]
    linked = sum(r.find("a", href=_CHAPTER_LINK) is not None for r in rows)
    return len(rows) >= 3 and linked * 5 >= len(rows) * 3


_CHAPTER_LINK = re.compile(r"^#(?!(?:fn|foot|note|ref|cite)\w*)", re.IGNORECASE)


def html_to_text(html: str) -> str:
    """Readable text of an HTML book page without markup, page numbers or Gutenberg boilerplate."""
    soup = BeautifulSoup(html, _PARSER)
    for tag in soup.find_all(["script", "style", "head", "noscript", "template", "svg", "img",
                              "map", "iframe", "object", "button", "select", "input", "form"]):
        tag.decompose()
    for tag in soup.find_all(True):
        if tag.decomposed or tag.attrs is None:
            continue
        attrs = " ".join([tag.get("id") or ""] + list(tag.get("class") or []))
        if attrs.strip() and _NOISE_ATTR_RE.search(attrs):
            tag.decompose()
    for table in soup.find_all("table"):
        if not table.decomposed and _contents(table):
            table.decompose()
    text = _layout(soup, _HTML_BLOCKS, ("li", "tr", "dt", "dd"), ("td", "th"), ("br",))
    text = re.sub(r"\[\s*(?:Pg|Page|p\.)\s*[\dIVXLCivxlc]+\s*\]|\[Illustration\]", "", text)
    text = strip_gutenberg(text)
    if not re.search(r"\w", text):
        raise ExtractError("HTML contains no text after removing markup and Gutenberg boilerplate; "
                           "the page is empty or not a book (check the URL)")
    return text


def latex_to_text(tex: str) -> str:
    """Readable text from a (Gutenberg) LaTeX source; see bookgpt.crawl.latex."""
    try:
        return strip_gutenberg(_latex.latex_to_text(tex))
    except RecursionError as exc:
        raise ExtractError("LaTeX source nests groups/environments too deeply to convert; "
                           "check that it is a real document (unbalanced braces?)") from exc


_MML_OPS = set("=+-−×÷<>≤≥±≠≈")


def _wrap(s: str) -> str:
    return s if len(s) <= 1 or s.isalnum() else f"({s})"


def _mathml(tag: Tag) -> str:
    """Flat plain-text rendering of a MathML element."""
    name = tag.name.split(":")[-1]  # "m:mi" when parsed without a namespace-aware parser
    kids = [c for c in tag.children if isinstance(c, Tag)]
    if name in ("mi", "mn", "mo", "mtext", "ms"):
        text = tag.get_text().strip()
        return f" {text} " if name == "mo" and text in _MML_OPS else text
    parts = [_mathml(k).strip() for k in kids]
    if name in ("msup", "msub") and len(parts) >= 2:
        return parts[0] + ("^" if name == "msup" else "_") + _wrap(parts[1])
    if name == "msubsup" and len(parts) >= 3:
        return f"{parts[0]}_{_wrap(parts[1])}^{_wrap(parts[2])}"
    if name == "mfrac" and len(parts) >= 2:
        return f"{_wrap(parts[0])}/{_wrap(parts[1])}"
    if name == "msqrt":
        return f"sqrt({''.join(parts)})"
    if name == "mroot" and len(parts) >= 2:
        return f"sqrt[{parts[1]}]({parts[0]})"
    if name == "mfenced":
        return tag.get("open", "(") + ", ".join(parts) + tag.get("close", ")")
    if name in ("annotation", "annotation-xml", "mphantom", "none", "mprescripts"):
        return ""
    if name == "semantics":
        return parts[0] if parts else ""
    if name == "mspace":
        return " "
    if name == "mtable":
        return "; ".join(p for p in parts if p)
    if name in ("mtr", "mlabeledtr"):
        return " ".join(p for p in parts if p)
    return "".join(_mathml(k) for k in kids)


def cnxml_to_text(xml: str) -> str:
    """Readable text of an OpenStax CNXML module: title, sections, paragraphs, lists, flat math."""
    soup = BeautifulSoup(_XML_DECLARATION_RE.sub("", xml), _PARSER)
    for tag in soup.find_all(["metadata", "media", "image", "iframe", "object", "flash",
                              "download", "video", "audio"]):
        tag.decompose()
    for math in soup.find_all(["math", "m:math"]):
        text = re.sub(r"\s+", " ", _mathml(math)).strip()
        math.replace_with(NavigableString(f" {text} "))
    doc = soup.find("document")
    title = doc.find("title", recursive=False) if doc else None
    heading = title.get_text(" ", strip=True) if title else ""
    if title:
        title.decompose()
    text = _layout(soup, ("para", "title", "list", "table", "equation", "note", "example",
                          "exercise", "problem", "solution", "section", "definition", "meaning",
                          "glossary", "figure", "caption", "content", "preformat", "quote",
                          "commentary", "subfigure", "rule", "statement", "proof", "code"),
                   ("item", "row"), ("entry",), ("newline",))
    text = f"{heading}\n\n{text}".strip()
    if not re.search(r"\w", text):
        raise ExtractError("CNXML document contains no text (no title, paragraphs or lists); "
                           "check that the file is a CNXML module")
    return text


# ----------------------------------------------------------------------------- dispatch

_FORMATS: dict[str, Callable[[str], str]] = {
    "cnxml": cnxml_to_text, "html": html_to_text, "tex": latex_to_text, "txt": strip_gutenberg,
}


def extract_text(data: bytes, fmt: str, declared_charset: str | None = None) -> str:
    """Decode `data` and convert it from format `fmt` (txt, html, tex, cnxml) to clean text."""
    convert = _FORMATS.get(fmt.lower().strip(". "))
    if convert is None:
        raise ExtractError(f"unknown format {fmt!r}; known formats: {', '.join(sorted(_FORMATS))}")
    text = decode_bytes(data, declared_charset)
    if convert is strip_gutenberg and looks_like_html(text):
        raise ExtractError("expected plain text but got an HTML page (an error or redirect page?); "
                           "check the URL, or use fmt='html' for an HTML edition")
    text = cut_transcriber_notes(convert(text))
    if convert in (strip_gutenberg, html_to_text):
        text = cut_back_matter(text)
    if not re.search(r"\w", text):
        raise ExtractError(f"no text left after extracting {fmt!r}; the document is empty or "
                           "contains only boilerplate")
    return text
