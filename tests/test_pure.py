"""Table tests for the pure parts: crop windows, rendition sizes, URLs, TOML key lines, slugs."""

from __future__ import annotations

from pathlib import Path, PurePosixPath
from types import MappingProxyType

import pytest

from contentpipe.config.rules import DEFAULT_QUALITY, ImageSlot
from contentpipe.config.tomlsource import key_lines
from contentpipe.load.documents import slugify
from contentpipe.load.images import Focal, ImageMaster
from contentpipe.plan import tag_slug
from contentpipe.renditions import Box, focal_crop_box, plan_slot
from contentpipe.urls import absolute, pretty, relative

ALL = frozenset({"jpeg", "png", "webp", "avif"})


def master(w: int, h: int, fmt: str = "JPEG", alpha: bool = False, focal: Focal | None = None) -> ImageMaster:
    return ImageMaster(Path("/p/assets/x.jpg"), PurePosixPath("assets/x.jpg"), "ab" * 32, w, h, fmt, alpha,
                       False, None, focal, "", "")


def slot(**kw: object) -> ImageSlot:
    base: dict[str, object] = {"name": "s", "widths": (), "size": None, "aspect": None, "fit": "scale",
                               "formats": ("jpeg",), "quality": MappingProxyType(dict(DEFAULT_QUALITY)),
                               "sizes": "100vw", "upscale": False}
    return ImageSlot(**{**base, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(("src", "out", "focal", "box"), [
    ((2000, 1000), (1000, 1000), Focal(0.5, 0.5), Box(0.25, 0.0, 0.75, 1.0)),  # centre
    ((2000, 1000), (1000, 1000), Focal(0.9, 0.5), Box(0.5, 0.0, 1.0, 1.0)),  # clamped at the right edge
    ((2000, 1000), (1000, 1000), Focal(0.1, 0.5), Box(0.0, 0.0, 0.5, 1.0)),  # clamped at the left
    ((1000, 2000), (1200, 630), Focal(0.5, 0.05), Box(0.0, 0.0, 1.0, 0.2625)),  # tall master, wide card: top
    ((1000, 2000), (1200, 630), Focal(0.5, 0.2), Box(0.0, 0.06875, 1.0, 0.33125)),
    ((1000, 2000), (1200, 630), Focal(0.5, 0.6), Box(0.0, 0.46875, 1.0, 0.73125)),
    ((1200, 630), (1200, 630), Focal(0.1, 0.1), Box(0.0, 0.0, 1.0, 1.0)),  # same ratio: no crop
])
def test_focal_crop_box(src: tuple[int, int], out: tuple[int, int], focal: Focal, box: Box) -> None:
    got = focal_crop_box(*src, *out, focal)
    assert (got.left, got.top, got.right, got.bottom) == pytest.approx((box.left, box.top, box.right, box.bottom))
    # the focal point is inside the window whenever the window can hold it
    assert got.left <= focal.x <= got.right or focal.x < got.left == 0 or focal.x > got.right == 1


def test_widths_never_upscale_and_fall_back_to_the_master_width() -> None:
    renditions, warning = plan_slot(master(700, 350), slot(widths=(480, 960, 1600)), None, ALL)
    assert [(r.width, r.height) for r in renditions] == [(480, 240)]
    assert warning is None
    renditions, warning = plan_slot(master(300, 200), slot(widths=(480, 960)), None, ALL)
    assert [(r.width, r.height) for r in renditions] == [(300, 200)]
    assert warning and "narrower than every width" in warning


def test_exact_size_keeps_aspect_when_the_master_is_too_small() -> None:
    renditions, warning = plan_slot(master(800, 600), slot(size=(1200, 630), fit="fill"), None, ALL)
    [r] = renditions
    assert (r.width, r.height) == (800, 420)
    assert warning and "instead of upscaling" in warning


def test_aspect_crops_every_width_around_the_focal_point() -> None:
    renditions, _ = plan_slot(master(1000, 2000, focal=Focal(0.5, 0.1)), slot(widths=(320, 640), aspect=1.5),
                              None, ALL)
    assert [(r.width, r.height) for r in renditions] == [(320, 213), (640, 427)]
    assert renditions[0].spec.crop.top == 0.0


def test_transparent_png_gets_png_instead_of_jpeg_and_names_are_content_addressed() -> None:
    renditions, _ = plan_slot(master(800, 800, "PNG", alpha=True), slot(widths=(400,), formats=("webp", "jpeg")),
                              None, ALL)
    assert [r.spec.format for r in renditions] == ["webp", "png"]
    assert renditions[1].name.startswith("x.") and renditions[1].name.endswith(".png")
    again, _ = plan_slot(master(800, 800, "PNG", alpha=True), slot(widths=(400,), formats=("webp", "jpeg")),
                         None, ALL)
    assert [r.name for r in again] == [r.name for r in renditions]
    other = ImageMaster(Path("/p/assets/x.jpg"), PurePosixPath("assets/x.jpg"), "cd" * 32, 800, 800, "PNG",
                        True, False, None, None, "", "")
    assert plan_slot(other, slot(widths=(400,), formats=("webp",)), None, ALL)[0][0].name != renditions[0].name


def test_formats_the_pillow_build_cannot_write_are_left_out() -> None:
    renditions, _ = plan_slot(master(800, 600), slot(widths=(400,), formats=("avif", "webp", "jpeg")), None,
                              frozenset({"jpeg", "png", "webp"}))
    assert [r.spec.format for r in renditions] == ["webp", "jpeg"]


@pytest.mark.parametrize(("src", "dst", "url"), [
    ("articles/a/index.html", "articles/b/index.html", "../b/"),
    ("index.html", "articles/a/index.html", "articles/a/"),
    ("articles/a/index.html", "index.html", "../../"),
    ("articles/a/index.html", "media/x.webp", "../../media/x.webp"),
    ("nl/index.html", "index.html", "../"),
    ("index.html", "index.html", "./"),
    ("tags/x/page/2/index.html", "tags/x/index.html", "../../"),
    ("a/b/c.html", "a/b/d.html", "d.html"),
])
def test_relative_urls(src: str, dst: str, url: str) -> None:
    assert relative(src, dst) == url


def test_pretty_and_absolute_urls() -> None:
    assert pretty("index.html") == "" and pretty("a/index.html") == "a/" and pretty("feed.xml") == "feed.xml"
    assert absolute("https://x.test/blog/", "nl/index.html") == "https://x.test/blog/nl/"


def test_toml_key_lines() -> None:
    text = ('# c\n[site]\nname = "x"\n"quoted key" = 1\n\n[images.hero]\nwidths = [\n  1,\n  2,\n]\n'
            'quality = { jpeg = 80 }\n[[list]]\na.b = 1\ns = """\nx = 1\n"""\n')
    assert key_lines(text) == {"site": 2, "site.name": 3, "site.quoted key": 4, "images.hero": 6,
                               "images.hero.widths": 7, "images.hero.quality": 11, "list": 12,
                               "list.a.b": 13, "list.s": 14}


@pytest.mark.parametrize(("text", "slug"), [("Zoë's Café — déjà vu!", "zoe-s-cafe-deja-vu"), ("", "item"),
                                            ("  A  B  ", "a-b")])
def test_slugify(text: str, slug: str) -> None:
    assert slugify(text) == slug


def test_tag_slug_for_non_latin_tags_is_stable_and_safe() -> None:
    assert tag_slug("how-to") == "how-to"
    assert tag_slug("夜市") == tag_slug("夜市") != tag_slug("小吃")
    assert tag_slug("夜市").startswith("tag-")


@pytest.mark.parametrize(("name", "ctype"), [
    ("a/index.html", "text/html; charset=utf-8"), ("s.css", "text/css; charset=utf-8"),
    ("app.js", "text/javascript; charset=utf-8"), ("feed.json", "application/json"),
    ("sitemap.xml", "application/xml; charset=utf-8"), ("notes.txt", "text/plain; charset=utf-8"),
    ("mail.eml", "message/rfc822"), ("x.JPG", "image/jpeg"), ("x.png", "image/png"), ("x.webp", "image/webp"),
    ("x.avif", "image/avif"), ("logo.svg", "image/svg+xml"), ("favicon.ico", "image/vnd.microsoft.icon"),
    ("f.woff2", "font/woff2"), ("blob", "application/octet-stream"),
])
def test_content_types_come_from_our_own_table(name: str, ctype: str) -> None:
    from contentpipe.mediatypes import content_type

    assert content_type(name) == ctype


def test_publish_plan_orders_phases_and_explains_each_upload() -> None:
    from contentpipe.publish.plan import LocalObject, RemoteObject, make_plan

    def obj(key: str, ctype: str, kind: str = "page", sha: str = "s") -> LocalObject:
        return LocalObject(key, "/dev/null", sha, 1, {"Content-Type": ctype, "Cache-Control": "c"}, kind)

    local = [obj("sitemap.xml", "application/xml; charset=utf-8", "sitemap"), obj("a/index.html", "text/html"),
             obj("media/x.webp", "image/webp", "rendition"), obj("favicon.ico", "image/vnd.microsoft.icon", "static"),
             obj("same.html", "text/html"), obj("new-headers.html", "text/html")]
    digest = local[4].header_digest
    remote = {"same.html": RemoteObject(1, "e", "s", digest), "new-headers.html": RemoteObject(1, "e", "s", "old"),
              "a/index.html": RemoteObject(1, "e", "other", digest), "gone.html": RemoteObject(1, "e", "s", digest)}
    plan = make_plan(local, remote)
    assert [(u.key, u.reason, u.phase) for u in plan.uploads] == [
        ("media/x.webp", "new", 0), ("favicon.ico", "new", 1), ("a/index.html", "changed", 2),
        ("new-headers.html", "headers", 2), ("sitemap.xml", "new", 3)]
    assert plan.deletes == ["gone.html"] and plan.unchanged == 1
    assert make_plan(local, remote, delete=False).deletes == []
