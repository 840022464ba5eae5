"""A readable text/plain body from the shared token stream (an email's plain-text part, feeds, SMS).

The tokens are read through ``markdown_it.tree.SyntaxTreeNode``, which never changes them:
the same token list is rendered by every channel.

Wrapping is our own greedy filler rather than ``textwrap``: it measures display width (CJK
characters take two columns) and may break between CJK characters, which have no spaces, but like
``textwrap(break_long_words=False, break_on_hyphens=False)`` it never breaks a word or a URL.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Sequence
from html.parser import HTMLParser
from urllib.parse import unquote

from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

# (href, line) -> final URL: the caller resolves and campaign-tags it; None drops the link, keeps its words
LinkFn = Callable[[str, int], str | None]

# An inline run: ("text", s) may wrap at its spaces (runs of them shown as one), ("code", s) too but keeps its
# spacing, ("atom", s) never breaks, ("br", "\n") is a hard break.
Piece = tuple[str, str]

_SKIP_TAGS = frozenset({"script", "style", "template"})  # their text is code, not content
_BLOCK_TAGS = frozenset({
    "address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
    "h1", "h2", "h3", "h4", "h5", "h6", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section",
    "table", "tr", "ul",
})
_TAG = re.compile(r"<\s*(/?)\s*([A-Za-z][A-Za-z0-9-]*)")
_CHUNK = re.compile(r"\s+|\S+")
# Kinsoku: no line may start with closing punctuation or small kana, nor end with an opening bracket.
_NO_START = frozenset("、。，．・：；？！ー」』）】〕〉》〙〗〟’”］｝,.!?:;)]}"
                      "ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ々〻‐゠–〜～")
_NO_END = frozenset("「『（【〔〈《〘〖〝‘“［｛([{")


def to_text(tokens: Sequence[Token], link: LinkFn, *, width: int = 76, notes_label: str = "Notes",
            image_label: str = "Image") -> str:
    """The body as plain text wrapped at ``width`` display columns (0: no wrapping)."""
    lines = _Text(link, notes_label, image_label).blocks(SyntaxTreeNode(tokens).children, width)
    return finish(lines)


def finish(lines: Iterable[str]) -> str:
    """Trailing spaces dropped, at most one blank line in a row, exactly one final newline ("" if empty)."""
    out: list[str] = []
    for line in lines:
        line = line.rstrip()
        if line or (out and out[-1]):
            out.append(line)
    while out and not out[-1]:
        out.pop()
    return "\n".join(out) + "\n" if out else ""


def display_width(text: str) -> int:
    """Columns a terminal or mail reader gives ``text``: wide East Asian characters take two."""
    return sum(0 if unicodedata.combining(ch) else 2 if _wide(ch) else 1 for ch in text)


def html_tag(content: str) -> tuple[str, bool] | None:
    """(tag name, is closing) of one raw HTML tag such as an ``html_inline`` token; None for comments etc."""
    m = _TAG.match(content)
    return (m.group(2).lower(), bool(m.group(1))) if m else None


def html_paragraphs(html: str) -> list[str]:
    """The text of a raw HTML block: tags and comments dropped, entities decoded, one string a paragraph.

    Block-level tags separate paragraphs; ``<br>`` becomes a newline inside one.
    """
    parser = _HTMLText()
    parser.feed(html)
    parser.close()
    paragraphs = []
    for para in re.split(r"\n{2,}", "".join(parser.parts)):
        lines = [" ".join(line.split()) for line in para.split("\n")]
        text = "\n".join(line for line in lines if line)
        if text:
            paragraphs.append(text)
    return paragraphs


class _HTMLText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in _SKIP_TAGS:
            self.skip += 1
        else:
            self.handle_startendtag(tag, attrs)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.parts.append("\n")
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_endtag(self, tag: str) -> None:
        if tag in _SKIP_TAGS:
            self.skip = max(0, self.skip - 1)
        elif tag in _BLOCK_TAGS:
            self.parts.append("\n\n")

    def handle_data(self, data: str) -> None:
        if not self.skip:
            self.parts.append(re.sub(r"\s+", " ", data))


class _Text:
    """Renders block nodes to lines; containers indent or prefix the lines of their children."""

    def __init__(self, link: LinkFn, notes_label: str, image_label: str) -> None:
        self.link = link
        self.notes_label = notes_label
        self.image_label = image_label
        self.skip = ""  # inside an inline <script>/<style>: the tag name whose end we wait for

    def blocks(self, nodes: Iterable[SyntaxTreeNode], width: int) -> list[str]:
        out: list[str] = []
        for node in nodes:
            lines = self.block(node, width)
            if lines:
                if out:
                    out.append("")
                out.extend(lines)
        return out

    def block(self, node: SyntaxTreeNode, width: int) -> list[str]:
        kind = node.type
        if kind == "paragraph":
            return wrap(self.content(node), width)
        if kind == "heading":
            text = " ".join(_text(self.content(node)).split())
            if not text:
                return []
            rule = {"h1": "=", "h2": "-"}.get(node.tag)
            return [text, rule * display_width(text)] if rule else [text]
        if kind in ("bullet_list", "ordered_list"):
            return self.list(node, width)
        if kind == "blockquote":
            inner = self.blocks(node.children, max(width - 2, 1) if width else 0)
            return ["> " + line if line else ">" for line in inner]
        if kind in ("fence", "code_block"):
            return ["    " + line for line in node.content.rstrip("\n").split("\n")]
        if kind == "hr":
            return ["-" * 20]
        if kind == "html_block":
            out: list[str] = []
            for para in html_paragraphs(node.content):
                out.extend([*([""] if out else []), *wrap(_hard_lines(para), width)])
            return out
        if kind == "table":
            return self.table(node, width)
        if kind == "footnote_block":
            return self.notes(node, width)
        if kind == "footnote_anchor":
            return []
        return self.blocks(node.children, width)

    def list(self, node: SyntaxTreeNode, width: int) -> list[str]:
        """Items as "- text" / "N. text"; a nested list two spaces in, other blocks aligned to the text."""
        number = int(node.attrs.get("start", 1)) if node.type == "ordered_list" else None
        tight = all(c.hidden for item in node.children for c in item.children if c.type == "paragraph")
        out: list[str] = []
        for item in node.children:
            marker = "- " if number is None else f"{number}. "
            if number is not None:
                number += 1
            lines: list[str] = []
            for child in item.children:
                indent = "  " if child.type in ("bullet_list", "ordered_list") else " " * len(marker)
                inner = self.block(child, max(width - len(indent), 1) if width else 0)
                if inner:
                    if lines and not tight:
                        lines.append("")
                    lines.extend(indent + line if line else "" for line in inner)
            if lines:
                first = lines[0].lstrip(" ")
                lines[0] = marker + first
            else:
                lines = [marker.rstrip()]
            if out and not tight:
                out.append("")
            out.extend(lines)
        return out

    def table(self, node: SyntaxTreeNode, width: int) -> list[str]:
        """Deliberately degraded: each body row a block of "Header: cell" lines (mail clients mangle grids)."""
        header: list[str] = []
        header_pieces: list[Piece] = []
        rows: list[list[SyntaxTreeNode]] = []
        for section in node.children:
            for tr in section.children:
                if section.type == "thead":
                    cells = [self.content(th) for th in tr.children]
                    header = [_text(cell) for cell in cells]
                    filled = [cell for cell in cells if _text(cell).strip()]
                    header_pieces = [piece for i, cell in enumerate(filled)
                                     for piece in [*([("text", " | ")] if i else []), *cell]]
                else:
                    rows.append(tr.children)
        if not rows:  # a header alone is still the editor's words: one line, cells between bars
            return wrap(header_pieces, width, hang="  ")
        out: list[str] = []
        for row in rows:
            lines: list[str] = []
            for i, cell in enumerate(row):
                pieces = self.content(cell)
                if not _text(pieces):
                    continue
                name = header[i] if i < len(header) else ""
                lines.extend(wrap([("text", f"{name}: "), *pieces] if name else pieces, width, hang="  "))
            if lines:
                out.extend([*([""] if out else []), *lines])
        return out

    def notes(self, node: SyntaxTreeNode, width: int) -> list[str]:
        """Footnotes listed under a "Notes" line as "[n] text"."""
        tight = all(len(fn.children) <= 1 for fn in node.children)
        out = [self.notes_label]
        for fn in node.children:
            prefix = f"[{int(fn.meta.get('id', 0)) + 1}] "
            inner = self.blocks(fn.children, max(width - len(prefix), 1) if width else 0)
            if not tight and len(out) > 1:
                out.append("")
            if not inner:
                out.append(prefix.rstrip())
                continue
            out.append(prefix + inner[0])
            out.extend(" " * len(prefix) + line if line else "" for line in inner[1:])
        return out if len(out) > 1 else []

    def content(self, node: SyntaxTreeNode) -> list[Piece]:
        """The inline content of a paragraph, heading or cell; an unclosed inline <script> ends with it."""
        self.skip = ""
        return self.inline(_inline_children(node))

    def inline(self, nodes: Iterable[SyntaxTreeNode]) -> list[Piece]:
        out: list[Piece] = []
        for node in nodes:
            kind = node.type
            if kind == "html_inline":
                out.extend(self.html_inline(node.content))
            elif self.skip:
                continue
            elif kind == "text":
                out.append(("text", node.content))
            elif kind == "code_inline":
                out.append(("code", node.content))
            elif kind == "softbreak":
                out.append(("text", " "))
            elif kind == "hardbreak":
                out.append(("br", "\n"))
            elif kind == "link":
                out.extend(self.link_pieces(node))
            elif kind == "image":
                alt = _text(self.inline(node.children)).strip()
                if alt:
                    out.append(("atom", f"[{self.image_label}: {alt}]"))
            elif kind == "footnote_ref":
                out.append(("atom", f"[{int(node.meta.get('id', 0)) + 1}]"))
            elif kind == "s":  # struck words keep their tildes: "~~$10~~ $8" must not read "$10 $8"
                mark = node.markup or "~~"
                out.extend([("text", mark), *self.inline(node.children), ("text", mark)])
            else:
                out.extend(self.inline(node.children))
        return out

    def html_inline(self, content: str) -> list[Piece]:
        tag = html_tag(content)
        if tag is None:
            return []
        name, closing = tag
        if self.skip:
            if closing and name == self.skip:
                self.skip = ""
            return []
        if name in _SKIP_TAGS and not closing and not content.rstrip().endswith("/>"):
            self.skip = name
        return [("br", "\n")] if name == "br" else []

    def link_pieces(self, node: SyntaxTreeNode) -> list[Piece]:
        """ "text (url)"; just the URL when the text is the URL; mailto as the address; #anchors as text.

        An autolink shows what the editor wrote (``<MAILTO:A@B.C>``, ``<https://x.example/café>``)
        unless the URL changed on the way (a campaign tag): then the new URL, its non-ASCII shown as such.
        """
        href = str(node.attrs.get("href") or "")
        pieces = self.inline(node.children)
        if href.startswith("#"):
            return pieces
        url = self.link(href, int(node.meta.get("line", 1)))
        if not url:  # None: the caller dropped the link (its target is not built); "": nothing to show
            return pieces
        text = _text(pieces).strip()
        if node.info == "auto":
            return [("atom", text if url == href and text else _readable(url))]
        shown = _address(url) if url.lower().startswith("mailto:") else url
        same = {href, url, shown, _address(href) if href.lower().startswith("mailto:") else href}
        if not text or text in same:
            return [("atom", shown)]
        return [*pieces, ("text", " "), ("atom", f"({shown})")]


def wrap(pieces: Sequence[Piece], width: int, *, hang: str = "") -> list[str]:
    """Greedy fill to ``width`` display columns (0: none), breaking only at spaces or between CJK
    characters, never inside a word, URL or atom; ``hang`` starts each continuation line."""
    lines: list[str] = []
    segment: list[Piece] = []
    for piece in [*pieces, ("br", "\n")]:
        if piece[0] != "br":
            segment.append(piece)
            continue
        units = _units(segment)
        segment = []
        line, used = "", 0
        for sep, unit in units:
            size = display_width(unit)
            if line and width and used + display_width(sep) + size > width:
                lines.append(line)
                line, used = hang + unit, display_width(hang) + size
            elif line:
                line, used = line + sep + unit, used + display_width(sep) + size
            else:
                line, used = (hang if lines else "") + unit, (display_width(hang) if lines else 0) + size
        if line:
            lines.append(line)
    return lines


def _units(pieces: Iterable[Piece]) -> list[tuple[str, str]]:
    """(whitespace before, unbreakable unit) pairs: a line may break before any unit."""
    units: list[list[str]] = []
    sep = ""
    for kind, text in pieces:
        if kind == "atom":
            if units and not sep:
                units[-1][1] += text
            else:
                units.append([sep, text])
            sep = ""
            continue
        for chunk in _CHUNK.findall(text):
            if chunk.isspace():
                sep = sep + chunk if kind == "code" else sep or " "  # code keeps its spacing verbatim
                continue
            for ch in chunk:
                if units and not sep and not _breakable(units[-1][1][-1], ch):
                    units[-1][1] += ch
                else:
                    units.append([sep, ch])
                sep = ""
    return [(s, u) for s, u in units]


def _breakable(before: str, after: str) -> bool:
    return (_wide(before) or _wide(after)) and after not in _NO_START and before not in _NO_END


def _wide(ch: str) -> bool:
    return unicodedata.east_asian_width(ch) in ("W", "F")


def _hard_lines(text: str) -> list[Piece]:
    pieces: list[Piece] = []
    for i, line in enumerate(text.split("\n")):
        pieces.extend([("br", "\n")] * bool(i) + [("text", line)])
    return pieces


def _inline_children(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return [child for c in node.children if c.type == "inline" for child in c.children]


def _text(pieces: Iterable[Piece]) -> str:
    return "".join(" " if kind == "br" else text for kind, text in pieces)


_NON_ASCII_ESCAPES = re.compile(r"(?:%[89A-Fa-f][0-9A-Fa-f])+")


def _readable(url: str) -> str:
    """A URL with its percent-escaped UTF-8 shown as characters (ASCII escapes, like %20, stay)."""
    def decode(m: re.Match[str]) -> str:
        try:
            return bytes.fromhex(m.group().replace("%", "")).decode("utf-8")
        except UnicodeDecodeError:
            return m.group()
    return _NON_ASCII_ESCAPES.sub(decode, url)


def _address(url: str) -> str:
    return unquote(url[len("mailto:"):].split("?", 1)[0])
