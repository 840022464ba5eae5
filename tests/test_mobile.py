"""The mobile channel: light pages at 360 px, a JSON Feed 1.1 per locale, structured JSON per document."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from bs4 import BeautifulSoup
from PIL import Image

from browser_tools import page_overflow
from conftest import Built

BLOCK_TYPES = {"heading", "paragraph", "link", "image", "list", "quote", "code", "table", "divider", "footnotes"}


def check_json_feed(feed: dict[str, Any]) -> list[str]:
    """What https://www.jsonfeed.org/version/1.1/ requires of a feed and its items."""
    found = []
    if feed.get("version") != "https://jsonfeed.org/version/1.1":
        found.append("version must be the 1.1 URL")
    if not isinstance(feed.get("title"), str) or not feed["title"]:
        found.append("title is required")
    if not isinstance(feed.get("items"), list):
        return [*found, "items must be an array"]
    for key in ("home_page_url", "feed_url"):
        if key in feed and urlsplit(feed[key]).scheme not in ("http", "https"):
            found.append(f"{key} must be a full URL")
    ids = [item.get("id") for item in feed["items"]]
    if len(set(ids)) != len(ids):
        found.append("item ids must be unique")
    for item in feed["items"]:
        if not isinstance(item.get("id"), str) or not item["id"]:
            found.append(f"item without a string id: {item}")
        if not (isinstance(item.get("content_html"), str) or isinstance(item.get("content_text"), str)):
            found.append(f"item {item.get('id')} needs content_html or content_text")
        for key in ("url", "external_url", "image", "banner_image"):
            if key in item and urlsplit(item[key]).scheme not in ("http", "https"):
                found.append(f"item {item['id']}: {key} must be a full URL")
        for key in ("date_published", "date_modified"):
            if key in item:
                datetime.fromisoformat(item[key].replace("Z", "+00:00"))  # RFC 3339 or it raises
        if "tags" in item and not all(isinstance(t, str) for t in item["tags"]):
            found.append(f"item {item['id']}: tags must be strings")
        if "authors" in item and not all(isinstance(a, dict) for a in item["authors"]):
            found.append(f"item {item['id']}: authors must be objects")
    return found


def test_json_feed_per_locale_is_valid_json_feed_1_1(built_sample: Built) -> None:
    for key, count in (("mobile/feed.json", 8), ("mobile/nl/feed.json", 5)):
        out = built_sample.by_key[key]
        assert out.content_type == "application/feed+json"
        feed = json.loads(built_sample.file(key).read_text(encoding="utf-8"))
        assert check_json_feed(feed) == []
        assert len(feed["items"]) == count - (1 if key == "mobile/feed.json" else 0)  # one English draft
        first = feed["items"][0]
        assert first["id"].startswith("https://www.example.com/")
        body = BeautifulSoup(first["content_html"], "lxml")
        assert all(urlsplit(a["href"]).scheme for a in body.find_all("a", href=True))


def test_the_feed_check_can_fail() -> None:
    assert check_json_feed({"version": "1", "items": [{"id": 3}]}) == [
        "version must be the 1.1 URL", "title is required", "item without a string id: {'id': 3}",
        "item 3 needs content_html or content_text"]


def walk(blocks: list[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for block in blocks:
        yield block
        for item in block.get("items", []):
            yield from walk(item if isinstance(item, list) else item.get("blocks", []))
        yield from walk(block.get("blocks", []))


def test_document_json_has_structured_blocks_with_rendition_sizes(built_sample: Built) -> None:
    data = json.loads(built_sample.file("mobile/articles/lantern-workshop/index.json").read_text(encoding="utf-8"))
    assert data["title"] == "Make your own bike lantern at the Tidebike depot"
    assert data["canonical_url"] == "https://www.example.com/articles/lantern-workshop/"
    blocks = list(walk(data["blocks"]))
    assert {b["type"] for b in blocks} <= BLOCK_TYPES
    assert {"heading", "paragraph", "list", "image"} <= {b["type"] for b in blocks}
    heading = next(b for b in blocks if b["type"] == "heading")
    assert heading == {"type": "heading", "level": 2, "text": "When and where", "id": heading["id"]}
    image = next(b for b in blocks if b["type"] == "image")
    assert image["alt"].startswith("Inside the Tidebike depot")
    for r in image["image"]["renditions"]:
        key = urlsplit(r["absolute_url"]).path.lstrip("/")
        with Image.open(built_sample.out / built_sample.by_key[key].path) as decoded:
            assert (decoded.width, decoded.height) == (r["width"], r["height"])
            assert decoded.width <= 720
    for r in data["hero"]["renditions"]:
        assert r["width"] <= 720


def test_mobile_pages_are_light_and_fit_360_px(built_sample: Built, served: str) -> None:
    pages = [o for o in built_sample.manifest.outputs if o.channel == "mobile" and o.kind == "page"]
    assert len(pages) == 12
    for out in pages:
        soup = BeautifulSoup((built_sample.out / out.path).read_text(encoding="utf-8"), "lxml")
        assert soup.find("script") is None and soup.find("link", rel="stylesheet") is None
        canonical = soup.find("link", rel="canonical")["href"]
        assert canonical == built_sample.manifest.documents[out.document]["canonical_url"]
        for img in soup.find_all("img"):
            assert img.has_attr("width") and img.has_attr("height") and img.has_attr("alt")
            assert int(img["width"]) <= 720
    urls = [served + o.key.removesuffix("index.html") for o in pages]
    results = page_overflow(urls, width=360)
    wide = {u: r for u, r in results.items() if r["scroll_width"] > 360 or r["offenders"]}
    assert len(results) == 12 and wide == {}


def test_a_json_template_that_writes_broken_json_is_named(make_project) -> None:  # type: ignore[no-untyped-def]
    from conftest import article
    from contentpipe import Project

    root = make_project({
        "assets/a/one.md": article("One"),
        "channels/mobile/templates/doc.json": '{"title": {{ doc.title | tojson }},}\n',
    }, config='[site]\nname = "T"\nbase_url = "https://t.example/"\n[channels]\nenabled = ["web", "mobile"]\n')
    result = Project.load(root).build()
    [error] = result.errors
    assert error.where.path == root / "channels/mobile/templates/doc.json"
    assert error.message.startswith("the template's output is not valid JSON: Expecting property name")
    assert error.message.endswith("(rendering mobile/a/one/index.json)")
    assert not (result.out_dir / "mobile/a/one/index.json").exists()
    assert (result.out_dir / "mobile/a/one/index.html").is_file() and (result.out_dir / "mobile/feed.json").is_file()
