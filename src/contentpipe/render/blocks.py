"""Structured blocks for native apps: the body as a JSON-serialisable list of dicts.

Apps lay out their own text, so a paragraph carries ``spans`` (text runs with sorted ``marks`` out
of strong/em/code/del, a ``url`` on links, a ``footnote`` number on references) next to its plain
``text``. Every dict is built in a fixed key order, so the JSON is stable from build to build.

Images are never spans: an image inside a paragraph with other text is dropped from the spans and
emitted as its own image block right after that paragraph (apps cannot flow pictures inside text
portably). An image that is the whole content of a link keeps the link's target as ``url``.

Like every channel, this reads the shared tokens through ``SyntaxTreeNode`` and never changes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Any

from markdown_it.token import Token
from markdown_it.tree import SyntaxTreeNode

from contentpipe.render.plaintext import LinkFn, html_paragraphs, html_tag

ImageFn = Callable[[str, str, str, int], dict[str, Any] | None]  # (src, alt, title, line) -> image view or None
Block = dict[str, Any]

_MARKS = {"em": "em", "strong": "strong", "s": "del"}
_SKIP_TAGS = frozenset({"script", "style", "template"})


def to_blocks(tokens: Sequence[Token], link: LinkFn, image: ImageFn) -> list[Block]:
    """The body as blocks (see the module docstring for their shapes)."""
    return _Blocks(link, image).blocks(SyntaxTreeNode(tokens).children)


class _Blocks:
    def __init__(self, link: LinkFn, image: ImageFn) -> None:
        self.link = link
        self.image = image
        self.skip = ""  # inside an inline <script>/<style>: the tag name whose end we wait for
        self.gap = False  # an image was just dropped from the spans after a space

    def blocks(self, nodes: Iterable[SyntaxTreeNode]) -> list[Block]:
        return [block for node in nodes for block in self.block(node)]

    def block(self, node: SyntaxTreeNode) -> list[Block]:
        kind = node.type
        if kind == "paragraph":
            return self.paragraph(_inline_children(node))
        if kind == "heading":
            text = " ".join(_plain(_inline_children(node)).split())
            return [{"type": "heading", "level": int(node.tag[1:]), "text": text,
                     "id": str(node.attrs.get("id", ""))}]
        if kind in ("bullet_list", "ordered_list"):
            ordered = kind == "ordered_list"
            block: Block = {"type": "list", "ordered": ordered}
            if ordered:
                block["start"] = int(node.attrs.get("start", 1))
            block["items"] = [self.blocks(item.children) for item in node.children]
            return [block]
        if kind == "blockquote":
            return [{"type": "quote", "blocks": self.blocks(node.children)}]
        if kind in ("fence", "code_block"):
            words = node.info.split()
            content = node.content
            return [{"type": "code", "language": words[0] if words else "",
                     "text": content[:-1] if content.endswith("\n") else content}]
        if kind == "hr":
            return [{"type": "divider"}]
        if kind == "table":
            return [_table(node)]
        if kind == "html_block":
            return [_text_paragraph(text) for text in html_paragraphs(node.content)]
        if kind == "footnote_block":
            items = [{"id": int(fn.meta.get("id", 0)) + 1, "blocks": self.blocks(fn.children)}
                     for fn in node.children]
            return [{"type": "footnotes", "items": items}] if items else []
        if kind == "footnote_anchor":
            return []
        return self.blocks(node.children)

    def paragraph(self, nodes: list[SyntaxTreeNode]) -> list[Block]:
        self.skip, self.gap = "", False  # an unclosed inline <script> ends with its paragraph
        if len(nodes) == 1 and nodes[0].type == "image":
            return [self.image_block(nodes[0], None)]
        if len(nodes) == 1 and nodes[0].type == "link":  # a call to action, unless the channel dropped its link
            only = nodes[0]
            url = self.url(only)
            if len(only.children) == 1 and only.children[0].type == "image":
                return [self.image_block(only.children[0], url)]
            if url is not None and not any(n.type == "image" for n in only.walk()):
                return [{"type": "link", "text": " ".join(_plain(only.children).split()), "url": url}]
        spans: list[dict[str, Any]] = []
        images: list[Block] = []
        self.spans(nodes, (), None, spans, images)
        spans = _trimmed(spans)
        out: list[Block] = []
        if spans:
            out.append({"type": "paragraph", "text": "".join(s["text"] for s in spans), "spans": spans})
        return out + images

    def spans(self, nodes: Iterable[SyntaxTreeNode], marks: tuple[str, ...], url: str | None,
              out: list[dict[str, Any]], images: list[Block]) -> None:
        for node in nodes:
            kind = node.type
            if kind == "html_inline":
                tag = html_tag(node.content)
                if tag and self.skip:
                    self.skip = "" if tag == (self.skip, True) else self.skip
                elif tag and tag[0] in _SKIP_TAGS and not tag[1] and not node.content.rstrip().endswith("/>"):
                    self.skip = tag[0]
                elif tag and tag[0] == "br":
                    if out and "footnote" not in out[-1] and out[-1]["text"].rstrip(" "):
                        out[-1]["text"] = out[-1]["text"].rstrip(" ")  # as markdown's own hard break does
                    _add(out, "\n", marks, url)
            elif self.skip:
                continue
            elif kind == "text":
                _add(out, node.content.lstrip(" ") if self.gap else node.content, marks, url)
            elif kind == "code_inline":
                _add(out, node.content, tuple(sorted({*marks, "code"})), url)
            elif kind == "softbreak":
                _add(out, " ", marks, url)
            elif kind == "hardbreak":
                _add(out, "\n", marks, url)
            elif kind == "footnote_ref":
                number = int(node.meta.get("id", 0)) + 1
                out.append({"text": f"[{number}]", "marks": [], "footnote": number})
            elif kind == "image":
                images.append(self.image_block(node, url))
                if out and out[-1]["text"].endswith(" "):
                    self.gap = True  # the text after the image need not repeat the space before it
                continue
            elif kind == "link":
                self.spans(node.children, marks, self.url(node), out, images)  # None: a dropped link
            elif kind in _MARKS:
                self.spans(node.children, tuple(sorted({*marks, _MARKS[kind]})), url, out, images)
            else:
                self.spans(node.children, marks, url, out, images)
            self.gap = False

    def url(self, node: SyntaxTreeNode) -> str | None:
        return self.link(str(node.attrs.get("href") or ""), int(node.meta.get("line", 1)))

    def image_block(self, node: SyntaxTreeNode, url: str | None) -> Block:
        src, title = str(node.attrs.get("src") or ""), str(node.attrs.get("title") or "")
        alt = _plain(node.children)
        view = self.image(src, alt, title, int(node.meta.get("line", 1)))
        block: Block = {"type": "image", "alt": alt, "caption": title}
        if view is None:
            block["src"] = src
        else:
            block["image"] = view
        if url is not None:
            block["url"] = url
        return block


def _add(out: list[dict[str, Any]], text: str, marks: tuple[str, ...], url: str | None) -> None:
    """Append a run, merged into the previous span when its marks and url are the same."""
    if not text:
        return
    last = out[-1] if out else None
    if last is not None and "footnote" not in last and last["marks"] == list(marks) and last.get("url") == url:
        last["text"] += text
        return
    span: dict[str, Any] = {"text": text, "marks": list(marks)}
    if url is not None:
        span["url"] = url
    out.append(span)


def _trimmed(spans: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Spans without the whitespace left at the paragraph's ends (by dropped images, say)."""
    while spans and not spans[0]["text"].lstrip():
        spans.pop(0)
    while spans and not spans[-1]["text"].rstrip():
        spans.pop()
    if spans:
        spans[0]["text"] = spans[0]["text"].lstrip()
        spans[-1]["text"] = spans[-1]["text"].rstrip()
    return spans


def _table(node: SyntaxTreeNode) -> Block:
    header: list[str] = []
    align: list[str] = []
    rows: list[list[str]] = []
    for section in node.children:
        for tr in section.children:
            cells = [" ".join(_plain(_inline_children(cell)).split()) for cell in tr.children]
            if section.type == "thead":
                header = cells
                align = [_align(cell) for cell in tr.children]
            else:
                rows.append(cells)
    return {"type": "table", "header": header, "rows": rows, "align": align}


def _align(cell: SyntaxTreeNode) -> str:
    style = str(cell.attrs.get("style", ""))
    return style.partition("text-align:")[2].strip(" ;") if "text-align:" in style else ""


def _text_paragraph(text: str) -> Block:
    return {"type": "paragraph", "text": text, "spans": [{"text": text, "marks": []}]}


def _inline_children(node: SyntaxTreeNode) -> list[SyntaxTreeNode]:
    return [child for c in node.children if c.type == "inline" for child in c.children]


def _plain(nodes: Iterable[SyntaxTreeNode]) -> str:
    """Text of inline nodes, as the eye reads it: image alts and footnote numbers included, tags dropped."""
    parts: list[str] = []
    for node in nodes:
        kind = node.type
        if kind in ("text", "code_inline"):
            parts.append(node.content)
        elif kind in ("softbreak", "hardbreak"):
            parts.append(" ")
        elif kind == "footnote_ref":
            parts.append(f"[{int(node.meta.get('id', 0)) + 1}]")
        elif kind != "html_inline":
            parts.append(_plain(node.children))
    return "".join(parts)
