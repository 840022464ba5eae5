"""Site-level meta: absolute hreflang, the icon set, the email preheader, share meta on every web page."""

from __future__ import annotations

import io
import json
import urllib.request
from collections.abc import Callable
from pathlib import Path

import pytest
from bs4 import BeautifulSoup
from PIL import Image

from conftest import MINIMAL_CONFIG, Built, article, jpeg_bytes
from contentpipe import Project

BASE = "https://www.example.com/"


def html_keys(built: Built, channel: str) -> list[str]:
    return sorted(o.key for o in built.manifest.outputs if o.channel == channel and o.key.endswith(".html"))


def soup(built: Built, key: str) -> BeautifulSoup:
    return BeautifulSoup(built.file(key).read_text(encoding="utf-8"), "lxml")


def styles(tag: object) -> dict[str, str]:
    """An element's inline style attribute as property -> value."""
    out = {}
    for decl in (tag.get("style") or "").split(";"):  # type: ignore[union-attr]
        name, sep, value = decl.partition(":")
        if sep:
            out[name.strip().lower()] = value.strip().lower()
    return out


def png_bytes(size: tuple[int, int], colour: tuple[int, int, int, int] = (11, 92, 87, 255)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGBA", size, colour).save(buf, "PNG")
    return buf.getvalue()


# ----- 5: hreflang and canonical are absolute --------------------------------------------


@pytest.mark.parametrize("channel", ["web", "mobile"])
def test_hreflang_and_canonical_links_are_absolute(built_sample: Built, channel: str) -> None:
    keys = html_keys(built_sample, channel)
    assert keys
    with_alternates = 0
    for key in keys:
        head = soup(built_sample, key).head
        assert head.select_one("link[rel=canonical]")["href"].startswith(BASE), key
        for link in head.select("link[rel=alternate][hreflang]"):
            assert link["href"].startswith(BASE), (key, link)
            with_alternates += 1
    assert with_alternates


def test_mobile_alternates_point_at_the_mobile_pages(built_sample: Built) -> None:
    head = soup(built_sample, "mobile/articles/route-guide/index.html").head
    alternates = {link["hreflang"]: link["href"] for link in head.select("link[rel=alternate][hreflang]")}
    assert alternates == {"en": BASE + "mobile/articles/route-guide/",
                          "nl": BASE + "mobile/nl/articles/route-guide/"}


# ----- 7: the preheader is hidden without colour tricks ----------------------------------


def test_email_preheader_is_hidden_without_low_contrast_text(built_sample: Built) -> None:
    emails = [o for o in built_sample.manifest.outputs if o.channel == "email" and o.kind == "html"]
    assert emails
    for out in emails:
        html = BeautifulSoup((built_sample.out / out.path).read_text(encoding="utf-8"), "lxml")
        backgrounds = {v for el in html.find_all(style=True) for k, v in styles(el).items()
                       if k in ("background-color", "background")}
        backgrounds |= {el["bgcolor"].lower() for el in html.find_all(bgcolor=True)}
        backgrounds |= {"#eef2f1", "#ffffff"}  # the wrapper's and the container's
        pre = html.body.find(True)
        assert pre.name == "div" and pre.get_text().strip(), out.key
        css = styles(pre)
        assert css.get("display") == "none" and css.get("mso-hide") == "all"
        assert css.get("max-height") in ("0", "0px") and css.get("overflow") == "hidden"
        assert "color" not in css or css["color"] not in backgrounds, out.key
        assert "opacity" not in css and "font-size" not in css
        assert not any(p.name == "font" or "color" in styles(p) for p in pre.find_all(True))
        assert "\u2007\u034f" * 10 in pre.get_text()  # the spacer still keeps the body out of the preview


# ----- 8: every web page has Open Graph and a twitter card ---------------------------------


def test_every_web_page_has_open_graph_and_twitter_card(built_sample: Built) -> None:
    keys = html_keys(built_sample, "web")
    assert len(keys) > 20
    for key in keys:
        html = soup(built_sample, key)
        meta = {m.get("property") or m.get("name"): m["content"] for m in html.head.select("meta[content]")}
        for name in ("og:title", "og:description", "og:url", "og:image", "twitter:card"):
            assert meta.get(name), (key, name)
        canonical = html.head.select_one("link[rel=canonical]")["href"]
        assert meta["og:url"] == canonical
        assert meta["og:type"] == ("article" if key.startswith(("articles/", "nl/articles/")) else "website"), key
        assert meta["twitter:card"] == "summary_large_image"
        image = meta["og:image"]
        assert image.startswith(BASE + "media/")
        with Image.open(built_sample.file(image[len(BASE):])) as im:
            assert im.format in ("JPEG", "PNG") and im.size == (1200, 630)  # PNG: a transparent master


def test_list_pages_share_the_sites_default_image(built_sample: Built) -> None:
    home = soup(built_sample, "index.html").head
    meta = {m.get("property") or m.get("name"): m["content"] for m in home.select("meta[content]")}
    assert meta["og:url"] == BASE and meta["og:title"] == "Tidebike Spring Lights"
    assert meta["og:image:width"] == "1200" and meta["og:image:height"] == "630" and meta["og:image:alt"]
    record = built_sample.by_key[meta["og:image"][len(BASE):]]
    assert record.sources == ("assets/images/harbour-dawn.jpg",)


SHARE_CONFIG = MINIMAL_CONFIG + 'share_image = "images/{name}"\n'


def test_share_image_rule_is_validated(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/articles/a.md": article("A"), "assets/images/small.jpg": jpeg_bytes((600, 400))},
                        config=SHARE_CONFIG.format(name="small.jpg"))
    result = Project.load(root).build(channels=["web"])
    assert result.ok
    warned = [p for p in result.warnings if p.where.path.name == "contentpipe.toml"]
    assert warned and warned[0].where.line == 6 and "share_image" in str(warned[0])
    home = BeautifulSoup((result.out_dir / "web/index.html").read_text(), "lxml")
    assert home.select_one("meta[property='og:image']")["content"].startswith("https://test.example/media/small.")

    (root / "assets/images/small.jpg").unlink()
    result = Project.load(root).build(channels=["web"])
    missing = [p for p in result.errors if p.where.path.name == "contentpipe.toml"]
    assert missing and missing[0].where.line == 6 and "images/small.jpg" in missing[0].message
    assert (result.out_dir / "web/articles/a/index.html").is_file()  # the rest still builds
    home = BeautifulSoup((result.out_dir / "web/index.html").read_text(), "lxml")
    assert home.select_one("meta[property='og:title']") and not home.select_one("meta[property='og:image']")
    assert home.select_one("meta[name='twitter:card']")["content"] == "summary"


# ----- 6: the icon set --------------------------------------------------------------------


def test_favicon_ico_at_the_site_root_with_three_sizes(built_sample: Built) -> None:
    record = built_sample.by_key["favicon.ico"]
    assert record.channel == "web" and record.content_type == "image/vnd.microsoft.icon"
    with Image.open(built_sample.file("favicon.ico")) as im:
        assert im.format == "ICO"
        assert set(im.info["sizes"]) == {(16, 16), (32, 32), (48, 48)}
    assert record.sources == ("assets/images/logo.png",)


@pytest.mark.parametrize("channel", ["web", "mobile"])
def test_every_page_links_the_icons(built_sample: Built, channel: str) -> None:
    for key in html_keys(built_sample, channel):
        head = soup(built_sample, key).head
        icon = head.select_one("link[rel=icon]")
        touch = head.select_one("link[rel=apple-touch-icon]")
        manifest = head.select_one("link[rel=manifest]")
        assert icon and touch and manifest, key
        for link, size in ((icon, 32), (touch, 180)):
            assert link["sizes"] == f"{size}x{size}"
            with Image.open(built_sample.file(built_sample.resolve(key, link["href"]))) as im:
                assert im.format == "PNG" and im.size == (size, size)
        assert built_sample.resolve(key, manifest["href"]) == "site.webmanifest"


def test_web_manifest_names_the_site_and_its_icons(built_sample: Built) -> None:
    record = built_sample.by_key["site.webmanifest"]
    assert record.content_type.startswith("application/manifest+json")
    data = json.loads(built_sample.file("site.webmanifest").read_text(encoding="utf-8"))
    assert data["name"] == "Tidebike Spring Lights" and data["short_name"] == "Tidebike"
    assert built_sample.resolve("site.webmanifest", data["start_url"]) == "index.html"  # the home page
    assert data["theme_color"] == "#0b5c57" and data["background_color"]
    assert data["display"]
    sizes = {}
    for icon in data["icons"]:
        key = built_sample.resolve("site.webmanifest", icon["src"])
        with Image.open(built_sample.file(key)) as im:
            assert im.format == "PNG" and icon["type"] == "image/png"
            assert icon["sizes"] == f"{im.width}x{im.height}"
            sizes[im.width] = im.height
    assert sizes == {192: 192, 512: 512}


def test_preview_serves_the_favicon_at_the_root(served: str) -> None:
    with urllib.request.urlopen(served + "favicon.ico") as resp:
        assert resp.status == 200 and resp.headers["Content-Type"] == "image/vnd.microsoft.icon"
        with Image.open(io.BytesIO(resp.read())) as im:
            assert im.format == "ICO"
    with urllib.request.urlopen(served + "site.webmanifest") as resp:
        assert json.loads(resp.read())["icons"]


def test_sample_builds_without_warnings(built_sample: Built) -> None:
    assert [str(p) for p in built_sample.result.warnings] == []


ICON_CONFIG = MINIMAL_CONFIG + 'icon = "images/{name}"\n'


def test_non_square_logo_is_padded_not_cropped(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/articles/a.md": article("A"), "assets/images/wide.png": png_bytes((1200, 400))},
                        config=ICON_CONFIG.format(name="wide.png"))
    result = Project.load(root).build(channels=["web", "mobile"])
    assert result.ok and not result.warnings, [str(p) for p in result.problems]
    manifest = json.loads((result.out_dir / "web/site.webmanifest").read_text())
    biggest = next(i for i in manifest["icons"] if i["sizes"] == "512x512")
    with Image.open(result.out_dir / biggest["src"]) as im:  # media/ is published beside the root
        im = im.convert("RGBA")
        assert im.size == (512, 512)
        assert im.getpixel((256, 10))[3] == 0 and im.getpixel((256, 256)) == (11, 92, 87, 255)
        assert im.getpixel((0, 256))[3] == 255  # the whole width kept: padded above and below
    with Image.open(result.out_dir / "web/favicon.ico") as ico:
        assert ico.format == "ICO"


def test_icon_master_is_validated(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/articles/a.md": article("A"), "assets/images/tiny.png": png_bytes((64, 64))},
                        config=ICON_CONFIG.format(name="tiny.png"))
    result = Project.load(root).build(channels=["web"])
    assert result.ok
    warned = [p for p in result.warnings if p.where.path.name == "contentpipe.toml"]
    assert warned and warned[0].where.line == 6 and "64x64" in warned[0].message

    (root / "assets/images/tiny.png").unlink()
    result = Project.load(root).build(channels=["web"])
    missing = [p for p in result.errors if p.where.path.name == "contentpipe.toml"]
    assert missing and missing[0].where.line == 6 and "images/tiny.png" in missing[0].message
    assert (result.out_dir / "web/articles/a/index.html").is_file()
    page = BeautifulSoup((result.out_dir / "web/articles/a/index.html").read_text(), "lxml")
    assert not page.select("link[rel=icon], link[rel=apple-touch-icon], link[rel=manifest]")
    assert not (result.out_dir / "web/favicon.ico").exists()


def test_no_icon_rule_no_icon_links(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/articles/a.md": article("A")})
    result = Project.load(root).build(channels=["web", "mobile"])
    assert result.ok
    for page in ("web/articles/a/index.html", "web/index.html", "mobile/articles/a/index.html"):
        head = BeautifulSoup((result.out_dir / page).read_text(), "lxml").head
        assert not head.select("link[rel=icon], link[rel=apple-touch-icon], link[rel=manifest]"), page
    keys = {o.key for o in result.manifest.outputs}
    assert "favicon.ico" not in keys and "site.webmanifest" not in keys


def test_site_image_paths_must_stay_under_assets(tmp_path: Path) -> None:
    from contentpipe.errors import ProjectError

    (tmp_path / "contentpipe.toml").write_text(MINIMAL_CONFIG + 'icon = "../logo.png"\ntheme_color = "teal"\n')
    with pytest.raises(ProjectError) as err:
        Project.load(tmp_path)
    found = [(p.where.line, p.where.key) for p in err.value.problems]
    assert found == [(6, "site.icon"), (7, "site.theme_color")]
