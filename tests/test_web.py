"""The web channel on the sample campaign: parsed HTML and XML, decoded images."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup, Tag
from lxml import etree
from PIL import Image, features

from conftest import Built

ATOM = "{http://www.w3.org/2005/Atom}"
SM = "{http://www.sitemaps.org/schemas/sitemap/0.9}"
XHTML = "{http://www.w3.org/1999/xhtml}"
BASE = "https://www.example.com/"

EN_DOCS = ["spring-lights-launch", "route-guide", "night-market", "lantern-workshop", "safety-after-dark",
           "people-behind-the-bikes", "open-data-rides"]
NL_DOCS = ["spring-lights-launch", "route-guide", "night-market", "lantern-workshop", "safety-after-dark"]


def soup(built: Built, key: str) -> BeautifulSoup:
    return BeautifulSoup(built.file(key).read_text(encoding="utf-8"), "lxml")


def page_keys(built: Built) -> list[str]:
    return sorted(k for k, o in built.by_key.items() if o.channel == "web" and o.kind == "page")


def test_a_page_per_document_and_locale_and_no_drafts(built_sample: Built) -> None:
    expected = {f"articles/{s}/index.html" for s in EN_DOCS} | {f"nl/articles/{s}/index.html" for s in NL_DOCS}
    assert set(page_keys(built_sample)) == expected
    assert "articles/closing-parade/index.html" not in built_sample.by_key  # draft: true
    for key in expected:
        html = soup(built_sample, key)
        assert html.html["lang"] == ("nl" if key.startswith("nl/") else "en")


def test_index_per_locale_lists_newest_first(built_sample: Built) -> None:
    for key, count in (("index.html", len(EN_DOCS)), ("nl/index.html", len(NL_DOCS))):
        html = soup(built_sample, key)
        cards = html.select("li.card")
        assert len(cards) == count
        dates = [c.select_one("time")["datetime"] for c in cards]
        assert dates == sorted(dates, reverse=True)
        for card in cards:
            assert built_sample.resolve(key, card.select_one("h2 a")["href"]) in built_sample.by_key


def test_tag_pages_list_exactly_the_tagged_documents(built_sample: Built) -> None:
    page = soup(built_sample, "articles/route-guide/index.html")
    tags = {a.text: a["href"] for a in page.select("ul.tags a")}
    assert tags, "the route guide has tags"
    for name, href in tags.items():
        tag_key = built_sample.resolve("articles/route-guide/index.html", href)
        listing = soup(built_sample, tag_key)
        assert name in listing.h1.text
        linked = {built_sample.resolve(tag_key, a["href"]) for a in listing.select("li.card h2 a")}
        assert "articles/route-guide/index.html" in linked
        for doc_key in linked:
            doc_tags = {a.text for a in soup(built_sample, doc_key).select("ul.tags a")}
            assert name in doc_tags


def test_head_has_canonical_alternates_open_graph_and_twitter(built_sample: Built) -> None:
    key = "articles/route-guide/index.html"
    html = soup(built_sample, key)
    canonical = html.select_one("link[rel=canonical]")["href"]
    assert canonical == BASE + "articles/route-guide/"
    alternates = {link["hreflang"]: link["href"] for link in html.select("link[rel=alternate][hreflang]")}
    assert alternates == {"en": BASE + "articles/route-guide/", "nl": BASE + "nl/articles/route-guide/"}
    meta = {m.get("property") or m.get("name"): m["content"] for m in html.select("meta[content]")}
    assert meta["og:url"] == canonical and meta["og:type"] == "article"
    assert meta["og:title"] == html.h1.text
    assert meta["twitter:card"] == "summary_large_image"
    assert meta["og:image"].startswith(BASE + "media/") and meta["og:image"] == meta["twitter:image"]
    assert meta["og:image:alt"]
    image_file = built_sample.file(meta["og:image"][len(BASE):])
    with Image.open(image_file) as im:
        assert im.format == "JPEG"
        assert im.size == (int(meta["og:image:width"]), int(meta["og:image:height"])) == (1200, 630)


def test_json_ld_article(built_sample: Built) -> None:
    html = soup(built_sample, "nl/articles/night-market/index.html")
    data = json.loads(html.select_one("script[type='application/ld+json']").string)
    assert data["@type"] == "Article" and data["@context"] == "https://schema.org"
    assert data["headline"] == html.h1.text
    assert data["inLanguage"] == "nl"
    assert data["url"] == BASE + "nl/articles/night-market/"
    assert data["datePublished"].endswith("Z")
    assert all(u.startswith(BASE + "media/") for u in data["image"])


def _check_img_set(built: Built, page_key: str, img: Tag, srcset: str, declared_type: str | None) -> None:
    for entry in srcset.split(", "):
        url, width = entry.rsplit(" ", 1)
        key = built.resolve(page_key, url)
        record = built.by_key[key]
        with Image.open(built.file(key)) as im:
            assert im.width == int(width.rstrip("w")) == record.extra["width"]
            if declared_type:
                assert Image.MIME[im.format] == declared_type


def test_responsive_pictures_with_modern_formats_and_fallback(built_sample: Built) -> None:
    key = "articles/safety-after-dark/index.html"
    html = soup(built_sample, key)
    pictures = html.select("picture")
    assert len(pictures) >= 3  # hero + two inline images
    expected_types = ["image/webp"] + (["image/avif"] if features.check("avif") else [])
    for picture in pictures:
        types = [s["type"] for s in picture.select("source")]
        assert sorted(types) == sorted(expected_types)
        img = picture.img
        assert img["src"].endswith((".jpg", ".png")) and img["alt"]
        assert int(img["width"]) > 0 and int(img["height"]) > 0
        assert img["sizes"]
        _check_img_set(built_sample, key, img, img["srcset"], None)
        for source in picture.select("source"):
            _check_img_set(built_sample, key, img, source["srcset"], source["type"])
        with Image.open(built_sample.file(built_sample.resolve(key, img["src"]))) as im:
            assert im.size == (int(img["width"]), int(img["height"]))
    hero, *inline = pictures
    assert "loading" not in hero.img.attrs and hero.img["fetchpriority"] == "high"
    assert all(p.img["loading"] == "lazy" for p in inline)


def test_every_img_on_every_page_has_width_height_and_alt(built_sample: Built) -> None:
    for key in sorted(k for k, o in built_sample.by_key.items() if k.endswith(".html")):
        for img in soup(built_sample, key).select("img"):
            assert img.get("width") and img.get("height") and img.has_attr("alt"), (key, img)


def test_transparent_master_keeps_png_fallback(built_sample: Built) -> None:
    html = soup(built_sample, "articles/lantern-workshop/index.html")
    hero = html.select_one("figure.hero picture img")
    assert hero["src"].endswith(".png")
    with Image.open(built_sample.file(built_sample.resolve("articles/lantern-workshop/index.html",
                                                           hero["src"]))) as im:
        assert im.mode == "RGBA"


def test_internal_markdown_links_point_at_built_pages(built_sample: Built) -> None:
    checked = 0
    for key in page_keys(built_sample):
        for a in soup(built_sample, key).select("div.body a[href]"):
            href = a["href"]
            if href.startswith(("http:", "https:", "mailto:", "#")):
                continue
            assert not href.endswith(".md"), (key, href)
            assert built_sample.resolve(key, href) in built_sample.by_key, (key, href)
            checked += 1
    assert checked >= 5
    nl = soup(built_sample, "nl/articles/spring-lights-launch/index.html")
    assert any(built_sample.resolve("nl/articles/spring-lights-launch/index.html", a["href"])
               == "nl/articles/route-guide/index.html" for a in nl.select("div.body a[href]"))


def test_atom_feed_per_locale(built_sample: Built) -> None:
    for key, locale, count in (("feed.xml", "en", len(EN_DOCS)), ("nl/feed.xml", "nl", len(NL_DOCS))):
        root = etree.fromstring(built_sample.file(key).read_bytes())
        assert root.tag == f"{ATOM}feed"
        assert root.get("{http://www.w3.org/XML/1998/namespace}lang") == locale
        assert root.find(f"{ATOM}link[@rel='self']").get("href") == BASE + key
        entries = root.findall(f"{ATOM}entry")
        assert len(entries) == count
        updated = [e.findtext(f"{ATOM}updated") for e in entries]
        assert root.findtext(f"{ATOM}updated") == max(updated)
        for entry in entries:
            link = entry.find(f"{ATOM}link").get("href")
            assert link.startswith(BASE) and entry.findtext(f"{ATOM}id") == link
            content = BeautifulSoup(entry.findtext(f"{ATOM}content"), "lxml")
            for el in content.select("[src], [href]"):
                url = el.get("src") or el.get("href")
                assert url.startswith(("https://", "mailto:", "#")), url  # absolute in feeds
    assert built_sample.by_key["feed.xml"].content_type == "application/atom+xml; charset=utf-8"


def test_sitemap_has_every_page_with_hreflang_alternates(built_sample: Built) -> None:
    root = etree.fromstring(built_sample.file("sitemap.xml").read_bytes())
    urls = {u.findtext(f"{SM}loc"): u for u in root.findall(f"{SM}url")}
    html_keys = {k for k, o in built_sample.by_key.items() if o.channel == "web" and k.endswith(".html")}
    assert set(urls) == {BASE + k.removesuffix("index.html") for k in html_keys}
    entry = urls[BASE + "articles/route-guide/"]
    links = {link.get("hreflang"): link.get("href") for link in entry.findall(f"{XHTML}link")}
    assert links == {"en": BASE + "articles/route-guide/", "nl": BASE + "nl/articles/route-guide/",
                     "x-default": BASE + "articles/route-guide/"}
    assert entry.findtext(f"{SM}lastmod").startswith("2026-")
    home = urls[BASE]
    assert {link.get("hreflang") for link in home.findall(f"{XHTML}link")} == {"en", "nl", "x-default"}
    single = urls[BASE + "articles/open-data-rides/"]
    assert single.findall(f"{XHTML}link") == []  # no translation: no alternates


def test_manifest_records_every_file_with_hash_type_cache_and_sources(built_sample: Built) -> None:
    files = {p.relative_to(built_sample.out).as_posix() for p in built_sample.out.rglob("*") if p.is_file()}
    assert files == {o.path for o in built_sample.manifest.outputs} | {"manifest.json"}
    for record in built_sample.manifest.outputs:
        data = (built_sample.out / record.path).read_bytes()
        assert hashlib.sha256(data).hexdigest() == record.sha256 and len(data) == record.size
        assert record.content_type and record.cache_control
    page = built_sample.by_key["articles/route-guide/index.html"]
    assert page.sources == ("assets/articles/route-guide.md", "assets/images/lantern-loop-panorama.jpg",
                            "assets/images/lighthouse-point.jpg")
    assert page.content_type == "text/html; charset=utf-8" and "max-age=300" in page.cache_control
    rendition = next(o for o in built_sample.manifest.outputs if o.kind == "rendition")
    assert "immutable" in rendition.cache_control and rendition.sources[0].startswith("assets/images/")


@pytest.mark.parametrize("name", ["lighthouse-point", "rider-portrait"])
def test_renditions_carry_no_exif_gps_or_camera_data(built_sample: Built, name: str) -> None:
    renditions = [o for o in built_sample.manifest.outputs
                  if o.kind == "rendition" and o.sources == (f"assets/images/{name}.jpg",)]
    assert renditions
    for record in renditions:
        with Image.open(built_sample.out / record.path) as im:
            assert not im.getexif(), record.path
            assert "xmp" not in im.info and "exif" not in im.info


def test_exif_orientation_is_applied(built_sample: Built) -> None:
    record = next(o for o in built_sample.manifest.outputs
                  if o.kind == "rendition" and o.sources == ("assets/images/rider-portrait.jpg",)
                  and o.extra["spec"].endswith("|jpeg|q80") and "0.00000,0.00000,1.00000,1.00000" in o.extra["spec"])
    with Image.open(built_sample.out / record.path) as im:
        assert im.height > im.width  # the master is stored landscape with orientation 6
        rgb = im.convert("RGB")
        top = sum(rgb.getpixel((x, 2))[2] for x in range(0, im.width, 8))
        bottom = sum(rgb.getpixel((x, im.height - 3))[2] for x in range(0, im.width, 8))
        assert top > bottom  # the sky (blue) is at the top


def test_pages_are_small_and_self_contained(built_sample: Built) -> None:
    for key in page_keys(built_sample):
        html = soup(built_sample, key)
        assert not html.select("script[src]"), "no render-blocking scripts"
        assert not html.select("link[rel=stylesheet]"), "CSS is inlined"
        assert built_sample.by_key[key].size < 60_000


def test_raw_html_in_markdown_is_sanitized(make_project: object, tmp_path: Path) -> None:
    from conftest import article
    from contentpipe import Project

    root = make_project({"assets/a.md": article(  # type: ignore[operator]
        "A", body='<div onclick="steal()">ok <script>alert(1)</script><b>bold</b></div>\n\n'
                  '<a href="javascript:alert(1)">x</a> <img src=x onerror=alert(1)>\n')})
    result = Project.load(root).build()
    assert result.ok
    body = BeautifulSoup((root / "dist/web/a/index.html").read_text(), "lxml").select_one("div.body")
    assert body.b.text == "bold"
    assert not body.select("script") and not body.select("[onclick]") and not body.select("[onerror]")
    assert all(not a.get("href", "").startswith("javascript:") for a in body.select("a"))
