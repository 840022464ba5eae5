"""One message: every variant of a document has its title, its canonical web link and its campaign."""

from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup

from conftest import Built

SOCIAL = {"x", "bluesky", "mastodon", "threads", "linkedin", "facebook", "instagram"}


def without_query(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


def campaign_of(url: str) -> str:
    return parse_qs(urlsplit(url).query)["utm_campaign"][0]


def test_the_manifest_groups_every_variant_by_document(built_sample: Built) -> None:
    docs = built_sample.manifest.documents
    assert len(docs) == 12
    for rel, doc in docs.items():
        assert rel.startswith("assets/articles/") and doc["canonical_url"].startswith("https://www.example.com/")
        variants = doc["variants"]
        assert set(variants) == {"web", "mobile", "email", "social"}
        assert set(variants["web"]) == {"page"} and set(variants["mobile"]) == {"page", "doc"}
        assert set(variants["email"]) == {"html", "text", "eml"} and set(variants["social"]) == SOCIAL
        for channel in variants.values():
            for key in channel.values():
                assert built_sample.by_key[key].document == rel


def test_every_variant_tells_the_same_story(built_sample: Built) -> None:
    for doc in built_sample.manifest.documents.values():
        title, canonical, campaign = doc["title"], doc["canonical_url"], doc["campaign"]
        assert campaign == "spring-lights-2026"
        v = doc["variants"]

        def soup(key: str) -> BeautifulSoup:
            return BeautifulSoup(built_sample.file(key).read_text(encoding="utf-8"), "lxml")

        web = soup(v["web"]["page"])
        assert web.find("link", rel="canonical")["href"] == canonical
        assert web.h1.get_text() == title

        mobile = soup(v["mobile"]["page"])
        assert mobile.find("link", rel="canonical")["href"] == canonical
        assert mobile.h1.get_text() == title
        app = json.loads(built_sample.file(v["mobile"]["doc"]).read_text(encoding="utf-8"))
        assert (app["title"], app["canonical_url"], app["campaign"]) == (title, canonical, campaign)

        email = soup(v["email"]["html"])
        assert email.h1.get_text() == title
        button = email.select_one("a.button")["href"]
        assert without_query(button) == canonical and campaign_of(button) == campaign
        assert built_sample.file(v["email"]["text"]).read_text(encoding="utf-8").startswith(title + "\n")

        for key in v["social"].values():
            post = json.loads(built_sample.file(key).read_text(encoding="utf-8"))
            assert (post["title"], post["canonical_url"], post["campaign"]) == (title, canonical, campaign)
            assert without_query(post["link"]) == canonical and campaign_of(post["link"]) == campaign


def test_preview_review_page_links_every_variant(built_sample: Built, served: str) -> None:
    import urllib.request

    with urllib.request.urlopen(served + "_contentpipe/review") as resp:  # the old address leads to the list
        assert resp.url.endswith("/_contentpipe/")
        assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
        page = BeautifulSoup(resp.read(), "lxml")
    rows = page.select("#documents tbody tr")
    assert len(rows) == 12
    lantern = next(r for r in rows if r.a.get_text() == "Make your own bike lantern at the Tidebike depot")
    assert lantern.a["href"] == "/_contentpipe/doc/assets/articles/lantern-workshop.md"
    hrefs = [a["href"] for a in lantern.select("td.variants a")]
    variants = built_sample.manifest.documents["assets/articles/lantern-workshop.md"]["variants"]
    assert sorted(h.lstrip("/") for h in hrefs) == sorted(k for kinds in variants.values() for k in kinds.values())
    for href in hrefs:  # each link answers with the variant itself
        with urllib.request.urlopen(served + href.lstrip("/")) as resp:
            data = resp.read()
        built = built_sample.file(href.lstrip("/")).read_bytes()
        if href.startswith("/email/") and href.endswith(".html"):  # absolute links point at the preview
            assert data == built.replace(built_sample.manifest.base_url.encode(), b"/")
            assert built_sample.manifest.base_url.encode() in built
        else:
            assert data == built


def test_every_rendition_made_is_used_by_some_output(built_sample: Built) -> None:
    """Encoding is most of a cold build: a rendition that no page, feed or payload names is waste."""
    outputs = [o for o in built_sample.manifest.outputs if o.kind != "rendition"]
    text = "\n".join((built_sample.out / o.path).read_bytes().decode("utf-8", "replace") for o in outputs)
    renditions = [o.key.rsplit("/", 1)[1] for o in built_sample.manifest.outputs if o.kind == "rendition"]
    assert renditions
    assert [name for name in renditions if name not in text] == []
