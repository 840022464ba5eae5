"""The preview's own pages: every document in a searchable list, and one document on every channel at once.

Everything shown is read from the build as it will be published (the manifest's documents table and
the output files), so the preview never disagrees with what ``publish`` sends. Social counts, limits
and folds are the figures the build wrote into each post; the email's subject and From are read
back from its ``.eml`` with the email package.
"""

from __future__ import annotations

import email.policy
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Any
from urllib.parse import quote

from contentpipe.live import REVIEW_PREFIX, Site, document_page_key, relative
from contentpipe.render.social import HASHTAG_RE

GMAIL_CLIP_BYTES = 102_000  # Gmail shows "[Message clipped]" past about 102 KB of HTML
WEB_WIDTH, MOBILE_WIDTH, EMAIL_WIDTH = 1280, 390, 600
_ASSETS = Path(__file__).parent / "_preview"
_FILLER = "\u2007\u034f\u00a0\u200c"  # what email templates pad a preheader with


@dataclass(frozen=True)
class Reader:
    """Reads a published key's file of the site; ``read`` is the server's (no symlinks, nothing outside)."""

    site: Site
    read: Any  # Callable[[str], bytes | None]

    def text(self, key: str) -> str | None:
        data = self.read(key)
        return data.decode("utf-8", "replace") if data is not None else None


def environment() -> Any:
    import jinja2

    env = jinja2.Environment(loader=jinja2.FileSystemLoader(_ASSETS), autoescape=True,
                             undefined=jinja2.StrictUndefined, trim_blocks=True, lstrip_blocks=True)
    env.filters["url"] = lambda key: "/" + quote(key)
    return env


def asset(name: str) -> bytes | None:
    """One of the preview's own static files (script, style sheet), by name."""
    if name not in ("live.js", "preview.css", "preview.js"):
        return None
    return (_ASSETS / name).read_bytes()


def home_page(env: Any, site: Site, live: bool) -> bytes:
    problems = site.problems_by_file()
    rows = []
    for source, text in site.documents.items():
        entry = json.loads(text)
        found = problems.get(source, [])
        rows.append({"source": source, "title": entry["title"], "locale": entry["locale"], "id": entry["id"],
                     "slug": entry["id"].rsplit("/", 1)[-1], "page": document_page_key(source),
                     "errors": sum(s == "error" for s, _, _ in found),
                     "warnings": sum(s == "warning" for s, _, _ in found),
                     "variants": sorted((c, k, key) for c, kinds in entry["variants"].items()
                                        for k, key in kinds.items())})
    rows.sort(key=lambda r: (r["id"], r["locale"]))
    left_out = [{"source": s, "page": document_page_key(s), "errors": sum(x == "error" for x, _, _ in found)}
                for s, found in sorted(problems.items())
                if s.endswith(".md") and s not in site.documents and any(x == "error" for x, _, _ in found)]
    other = sorted((s, found) for s, found in problems.items() if not s.startswith("assets/"))
    return env.get_template("home.html").render(
        rows=rows, left_out=left_out, other=other, locales=sorted({r["locale"] for r in rows}), live=live,
        key=REVIEW_PREFIX).encode("utf-8")


def document_page(env: Any, reader: Reader, source: str, live: bool, can_send: bool) -> bytes | None:
    """One document on every channel side by side; None when the build knows nothing of ``source``."""
    site = reader.site
    problems = [p for p in site.problems if relative(p.where.path, site.root) == source]
    text = site.documents.get(source)
    if text is None and not problems:
        return None
    entry = json.loads(text) if text is not None else None
    variants: Mapping[str, Mapping[str, str]] = entry["variants"] if entry else {}
    versions = []
    if entry is not None:
        for other, other_text in site.documents.items():
            other_entry = json.loads(other_text)
            if other_entry["id"] == entry["id"]:
                versions.append({"locale": other_entry["locale"], "page": document_page_key(other),
                                 "current": other == source})
        versions.sort(key=lambda v: v["locale"])
    return env.get_template("document.html").render(
        source=source, entry=entry, live=live, can_send=can_send, key=document_page_key(source),
        problems=sorted(problems, key=lambda p: (p.severity != "error", p.where.line or 0, p.message)),
        versions=versions,
        web=variants.get("web", {}).get("page"), mobile=variants.get("mobile", {}).get("page"),
        email=email_view(reader, variants.get("email", {})),
        posts=[social_view(reader, network, key) for network, key in sorted(variants.get("social", {}).items())],
        files=sorted((c, k, key) for c, kinds in variants.items() for k, key in kinds.items()),
        widths={"web": WEB_WIDTH, "mobile": MOBILE_WIDTH, "email": EMAIL_WIDTH}).encode("utf-8")


def email_view(reader: Reader, kinds: Mapping[str, str]) -> dict[str, Any] | None:
    html_key, eml_key = kinds.get("html"), kinds.get("eml")
    if html_key is None and eml_key is None:
        return None
    view: dict[str, Any] = {"html": html_key, "text_key": kinds.get("text"), "eml": eml_key,
                            "text": reader.text(kinds["text"]) if "text" in kinds else None,
                            "subject": "", "sender": "", "preheader": "", "size": None, "clip": GMAIL_CLIP_BYTES}
    if eml_key is not None and (data := reader.read(eml_key)) is not None:
        headers = BytesHeaderParser(policy=email.policy.default).parsebytes(data)
        view["subject"], view["sender"] = str(headers.get("Subject", "")), str(headers.get("From", ""))
    if html_key is not None and (data := reader.read(html_key)) is not None:
        view["size"] = len(data)
        view["preheader"] = preheader(data.decode("utf-8", "replace"))
    return view


class _Preheader(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.depth:
            self.depth += 1
        elif "preheader" in (dict(attrs).get("class") or "").split():
            self.depth = 1

    def handle_endtag(self, tag: str) -> None:
        if self.depth:
            self.depth -= 1

    def handle_data(self, data: str) -> None:
        if self.depth:
            self.parts.append(data)


def preheader(html: str) -> str:
    """The hidden preheader text an inbox shows after the subject (the element with class "preheader")."""
    parser = _Preheader()
    parser.feed(html)
    return "".join(parser.parts).strip(_FILLER + " \n\t")


def social_view(reader: Reader, network: str, key: str) -> dict[str, Any]:
    text = reader.text(key)
    try:
        post = json.loads(text) if text is not None else None
    except ValueError:
        post = None
    if not isinstance(post, dict):
        return {"network": network, "key": key, "post": None}
    body = str(post.get("text", ""))
    fold = post.get("fold")
    visible, hidden = (body[:fold], body[fold:]) if isinstance(fold, int) and 0 < fold < len(body) else (body, "")
    image = post.get("image") or None
    if image and reader.site.base_url and str(image.get("url", "")).startswith(reader.site.base_url):
        image = {**image, "local": "/" + image["url"][len(reader.site.base_url):]}
    return {"network": network, "key": key, "post": post, "visible": segments(visible), "hidden": segments(hidden),
            "image": image, "over": post.get("length", 0) > post.get("limit", 0)}


_TOKENS = re.compile(r"https?://[^\s<>\"]+|" + HASHTAG_RE.pattern)


def segments(text: str) -> list[tuple[str, str]]:
    """A post's text as (kind, words): "link", "tag" or "text", so the preview shows them as the network does."""
    found, at = [], 0
    for m in _TOKENS.finditer(text):
        if m.start() > at:
            found.append(("text", text[at:m.start()]))
        found.append(("link" if m.group(0).startswith("http") else "tag", m.group(0)))
        at = m.end()
    if at < len(text):
        found.append(("text", text[at:]))
    return found
