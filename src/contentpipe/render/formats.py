"""What an output's ``format`` does to the text its template rendered.

- ``text``: nothing; the template's output is the file.
- ``json``: the output must parse as JSON; it is written pretty-printed, so a
  template may write JSON loosely and a broken one fails with a clear error.
- ``email``: CSS is inlined (media queries stay in ``<style>``), then the HTML
  is linted the way email QA tools do: every link and image absolute, every
  image with alt, width and height and in a format mail clients show, and the
  whole under the size at which Gmail clips a message.
"""

from __future__ import annotations

import json
from html.parser import HTMLParser
from urllib.parse import urlsplit

import css_inline

from contentpipe.config.rules import EmailRules

EMAIL_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


class FormatError(ValueError):
    """The rendered text does not meet its format; the message says what and where."""


def finish_json(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"the template's output is not valid JSON: {err.msg} at output line {err.lineno}, "
                          f"column {err.colno}") from err
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def finish_email(html: str, rules: EmailRules) -> tuple[str, list[str]]:
    """Inlined HTML and the problems the email lint found in it."""
    inlined = _INLINER.inline(html)
    return inlined, lint_email(inlined, rules.max_html_bytes)


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.images: list[dict[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "a" and values.get("href") is not None:
            self.links.append(values["href"] or "")
        elif tag == "img":
            self.images.append(values)


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def lint_email(html: str, max_bytes: int) -> list[str]:
    """Problems an email client would show: relative links, unsized or alt-less images, clipping."""
    found = []
    size = len(html.encode("utf-8"))
    if size > max_bytes:
        found.append(f"the HTML is {size:,} bytes; Gmail clips messages over {max_bytes:,} bytes "
                     "(the footer and unsubscribe link would be hidden)")
    collector = _Collector()
    collector.feed(html)
    for href in collector.links:
        scheme = urlsplit(href).scheme
        if scheme not in ("mailto", "tel") and not href.startswith("#") and not _absolute(href):
            found.append(f"link {href!r} is not absolute: a mail client has no page to resolve it against")
    for img in collector.images:
        src = img.get("src") or ""
        if not _absolute(src):
            found.append(f"image {src!r} is not an absolute http(s) URL")
        elif not urlsplit(src).path.lower().endswith(EMAIL_IMAGE_SUFFIXES):
            found.append(f"image {src!r} is not JPEG, PNG or GIF: many mail clients cannot show it")
        if img.get("alt") is None:
            found.append(f"image {src!r} has no alt attribute (images are blocked by default in many clients)")
        if not (img.get("width") or "").isdigit() or not (img.get("height") or "").isdigit():
            found.append(f"image {src!r} needs numeric width and height attributes")
    return found
