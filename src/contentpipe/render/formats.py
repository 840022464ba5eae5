"""What an output's ``format`` does to the text its template rendered.

- ``text``: nothing; the template's output is the file.
- ``json``: the output must parse as JSON; it is written normalised (indented
  when small, compact when large), so a template may write JSON loosely and a
  broken one fails with a clear error.
- ``email``: CSS is inlined (media queries stay in ``<style>``), then the HTML
  is linted the way email QA tools do: every link and image absolute, every
  image with alt, width and height and in a format mail clients show, and the
  whole under the size at which Gmail clips a message.
"""

from __future__ import annotations

import json
import re
from html import unescape
from urllib.parse import urlsplit

import css_inline

from contentpipe.config.rules import EmailRules

EMAIL_IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".gif")
PRETTY_UP_TO = 16_384  # JSON outputs up to this size (social posts) are indented for reviewers
_INLINER = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)


class FormatError(ValueError):
    """The rendered text does not meet its format; the message says what and where."""


def finish_json(text: str) -> str:
    try:
        data = json.loads(text)
    except json.JSONDecodeError as err:
        raise FormatError(f"the template's output is not valid JSON: {err.msg} at output line {err.lineno}, "
                          f"column {err.colno}") from err
    if len(text) > PRETTY_UP_TO:  # indent= makes json use its slow Python encoder: big files stay compact
        return json.dumps(data, ensure_ascii=False, separators=(",", ":")) + "\n"
    return json.dumps(data, ensure_ascii=False, indent=2) + "\n"


def finish_email(html: str, rules: EmailRules) -> tuple[str, list[str]]:
    """Inlined HTML and the problems the email lint found in it."""
    inlined = _INLINER.inline(html)
    return inlined, lint_email(inlined, rules.max_html_bytes)


_TAG = re.compile(r"<(a|img)\b([^>]*)>", re.IGNORECASE)
_ATTR = re.compile(r"""([^\s"'=<>/]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'=<>`]+)))?""")


def _tags(html: str) -> tuple[list[str], list[dict[str, str]]]:
    """Link targets and image attributes. A scan, not a parse: it reads css-inline's serialisation."""
    links: list[str] = []
    images: list[dict[str, str]] = []
    for name, body in _TAG.findall(html):
        attrs: dict[str, str] = {}
        for m in _ATTR.finditer(body):
            value = next((v for v in m.group(2, 3, 4) if v is not None), None)
            attrs.setdefault(m.group(1).lower(), "" if value is None else unescape(value))  # bare: ""
        if name.lower() == "a":
            if attrs.get("href") is not None:
                links.append(attrs["href"] or "")
        else:
            images.append(attrs)
    return links, images


def _absolute(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _link_problem(href: str) -> str:
    """Why a mail client cannot open this link ("" if it can): http(s), mailto:, tel: and #anchors can."""
    try:
        scheme = urlsplit(href).scheme
    except ValueError:
        return "is not a valid URL"
    if href.startswith("#") or scheme in ("mailto", "tel") or _absolute(href):
        return ""
    if scheme and scheme not in ("http", "https"):
        return f"uses the {scheme}: scheme: only http(s), mailto: and tel: links work in every mail client"
    return "is not absolute: a mail client has no page to resolve it against"


def lint_email(html: str, max_bytes: int) -> list[str]:
    """Problems an email client would show: relative links, unsized or alt-less images, clipping."""
    found = []
    size = len(html.encode("utf-8"))
    if size > max_bytes:
        found.append(f"the HTML is {size:,} bytes; Gmail clips messages over {max_bytes:,} bytes "
                     "(the footer and unsubscribe link would be hidden)")
    links, images = _tags(html)
    for href in links:
        problem = _link_problem(href)
        if problem:
            found.append(f"link {href!r} {problem}")
    for img in images:
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
