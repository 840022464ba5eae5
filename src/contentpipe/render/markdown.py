"""Markdown with markdown-it-py: parse once per document, render per channel.

Links and images are not rendered by markdown-it's defaults: the caller's
``BodyEnv`` resolves each link target and turns each image into the channel's
markup (a ``<picture>`` on the web), so one token stream serves every channel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.renderer import RendererHTML
from markdown_it.token import Token
from markdown_it.utils import OptionsDict
from mdit_py_plugins.anchors import anchors_plugin
from mdit_py_plugins.footnote import footnote_plugin

from contentpipe.config.rules import MarkdownRules
from contentpipe.load.documents import slugify
from contentpipe.render.strikethrough import strikethrough_plugin

LinkFn = Callable[[str, int], str | None]  # (href, line) -> href to write; None drops the link, keeps its words
ImageFn = Callable[[str, str, str, int, bool], str]  # src, alt, title, line, alone in its paragraph


@dataclass
class BodyEnv:
    """What a channel decides while a body renders: link targets and image markup."""

    link: LinkFn
    image: ImageFn
    line_offset: int = 0
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Ref:
    kind: str  # "link" | "image"
    target: str
    line: int  # line inside the body, 1-based


@cache
def parser(rules: MarkdownRules) -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": rules.html != "escape", "typographer": rules.typographer})
    if rules.tables:
        md.enable("table")
    if rules.strikethrough:
        strikethrough_plugin(md)
        md.enable("strikethrough")
    if rules.typographer:
        md.enable(["replacements", "smartquotes"])
    if rules.heading_anchors:
        anchors_plugin(md, min_level=2, max_level=4, slug_func=slugify)
    if rules.footnotes:
        footnote_plugin(md)
    if rules.html == "strip":
        md.add_render_rule("html_block", _render_html_as_text)
        md.add_render_rule("html_inline", _render_html_as_text)
    md.add_render_rule("image", _render_image)
    md.add_render_rule("link_open", _render_link_open)
    md.add_render_rule("link_close", _render_link_close)
    md.add_render_rule("paragraph_open", _render_paragraph_open)
    md.add_render_rule("paragraph_close", _render_paragraph_close)
    md.add_render_rule("fence", _render_focusable_code)
    md.add_render_rule("code_block", _render_focusable_code)
    md.add_render_rule("table_open", _render_focusable_table)
    return md


def parse(rules: MarkdownRules, text: str) -> list[Token]:
    """Tokens for a body; every inline token is stamped with its body line (meta['line'])."""
    tokens = parser(rules).parse(text, {})
    for block in tokens:
        if block.type == "inline" and block.children:
            line = block.map[0] + 1 if block.map else 1
            for tok in _walk(block.children):
                tok.meta["line"] = line
    return tokens


def render(rules: MarkdownRules, tokens: Sequence[Token], env: BodyEnv) -> str:
    """HTML for a parsed body; raw HTML is sanitized when the channel's rules say so."""
    md = parser(rules)
    html = md.renderer.render(tokens, md.options, {"cp": env})
    if rules.html == "sanitize" and _has_raw_html(tokens):
        html = sanitize(html)
    return html


def _render_html_as_text(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                         env: dict[str, Any]) -> str:
    """html = "strip": raw HTML becomes its text (an inline tag vanishes, a block keeps its words)."""
    tok = tokens[idx]
    text = nh3.clean(tok.content, tags=set(), strip_comments=True).strip()
    if tok.type == "html_block":
        return f"<p>{text}</p>\n" if text else ""
    return text


def references(tokens: Sequence[Token]) -> Iterator[Ref]:
    """Every link and image target in a body, with its line."""
    for block in tokens:
        if block.type != "inline" or not block.children:
            continue
        for tok in _walk(block.children):
            if tok.type == "image":
                yield Ref("image", str(tok.attrGet("src") or ""), tok.meta.get("line", 1))
            elif tok.type == "link_open":
                yield Ref("link", str(tok.attrGet("href") or ""), tok.meta.get("line", 1))


def first_paragraph_text(tokens: Sequence[Token]) -> str:
    """The plain text of the first paragraph: the fallback summary."""
    for i, tok in enumerate(tokens):
        if tok.type == "paragraph_open" and i + 1 < len(tokens) and tokens[i + 1].children:
            text = "".join(_plain(tokens[i + 1].children)).strip()
            if text:
                return text
    return ""


def _plain(children: Sequence[Token]) -> Iterator[str]:
    for tok in children:
        if tok.type in ("text", "code_inline"):
            yield tok.content
        elif tok.type in ("softbreak", "hardbreak"):
            yield " "
        elif tok.children:
            yield from _plain(tok.children)


def _walk(children: Sequence[Token]) -> Iterator[Token]:
    for tok in children:
        yield tok
        if tok.children:
            yield from _walk(tok.children)


def _has_raw_html(tokens: Sequence[Token]) -> bool:
    for tok in tokens:
        if tok.type == "html_block":
            return True
        if tok.children and any(c.type == "html_inline" for c in tok.children):
            return True
    return False


def _line(tok: Token, env: BodyEnv) -> int:
    """The file line of an inline token: its body line plus where the body starts."""
    return env.line_offset + int(tok.meta.get("line", 1)) - 1


def _alone(tokens: Sequence[Token], idx: int) -> bool:
    """True for an image that is the only thing in its paragraph (it becomes a figure)."""
    return len(tokens) == 1


def _render_image(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                  env: dict[str, Any]) -> str:
    tok = tokens[idx]
    cp: BodyEnv = env["cp"]
    alt = self.renderInlineAsText(tok.children or [], options, env)
    return cp.image(str(tok.attrGet("src") or ""), alt, str(tok.attrGet("title") or ""), _line(tok, cp),
                    _alone(tokens, idx))


def _render_link_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                      env: dict[str, Any]) -> str:
    tok = tokens[idx]
    cp: BodyEnv = env["cp"]
    attrs = dict(tok.attrs)  # tokens are shared by every channel's render: never change them
    href = cp.link(str(attrs.get("href") or ""), _line(tok, cp))
    opened = cp.extra.setdefault("open_links", [])
    opened.append(href is not None)
    if href is None:  # the channel dropped the link (its target is not built): keep the words
        return ""
    attrs["href"] = href  # may be "": an empty destination stays a link, as in CommonMark
    return "<a" + "".join(f' {k}="{escapeHtml(str(v))}"' for k, v in attrs.items()) + ">"


def _render_link_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                       env: dict[str, Any]) -> str:
    opened = env["cp"].extra.get("open_links")
    return "</a>" if not opened or opened.pop() else ""


def _render_focusable_code(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                           env: dict[str, Any]) -> str:
    """A code block that may scroll sideways must be reachable by keyboard (WCAG 2.1.1): tabindex on <pre>."""
    rule = RendererHTML.fence if tokens[idx].type == "fence" else RendererHTML.code_block
    html = rule(self, tokens, idx, options, env)
    return html.replace("<pre", '<pre tabindex="0"', 1) if html.startswith("<pre") else html


def _render_focusable_table(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                            env: dict[str, Any]) -> str:
    """A wide table scrolls inside itself in web and mobile: it must be reachable by keyboard too."""
    tokens[idx].attrSet("tabindex", "0")
    return self.renderToken(tokens, idx, options, env)


def _image_paragraph(tokens: Sequence[Token], idx: int) -> bool:
    inline = tokens[idx + 1] if idx + 1 < len(tokens) else None
    return bool(inline and inline.children and len(inline.children) == 1
                and inline.children[0].type == "image")


def _render_paragraph_open(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                           env: dict[str, Any]) -> str:
    if _image_paragraph(tokens, idx):
        return ""  # the image renders its own <figure>
    return self.renderToken(tokens, idx, options, env)


def _render_paragraph_close(self: RendererHTML, tokens: Sequence[Token], idx: int, options: OptionsDict,
                            env: dict[str, Any]) -> str:
    if idx >= 2 and tokens[idx - 2].type == "paragraph_open" and _image_paragraph(tokens, idx - 2):
        return "\n"
    return self.renderToken(tokens, idx, options, env)


_ALLOWED_TAGS = set(nh3.ALLOWED_TAGS) | {"picture", "source", "figure", "figcaption", "section", "sup",
                                          "del", "s", "input"}
_ALLOWED_ATTRS: dict[str, set[str]] = {k: set(v) for k, v in nh3.ALLOWED_ATTRIBUTES.items()}
for _tag, _attrs in {
    "*": {"id", "class", "lang", "dir", "title"},
    "img": {"src", "alt", "width", "height", "loading", "decoding", "srcset", "sizes", "fetchpriority"},
    "source": {"type", "srcset", "sizes", "media", "width", "height"},
    "a": {"href", "hreflang", "rel"},
    "td": {"style"},
    "th": {"style"},
    "ol": {"start"},
    "pre": {"tabindex"},
    "table": {"tabindex"},
}.items():
    _ALLOWED_ATTRS.setdefault(_tag, set()).update(_attrs)


def sanitize(html: str) -> str:
    """Clean untrusted HTML with nh3 (Ammonia), keeping what our own renderer emits."""
    return nh3.clean(html, tags=_ALLOWED_TAGS, attributes=_ALLOWED_ATTRS, link_rel=None,
                     filter_style_properties={"text-align"}, strip_comments=True)
