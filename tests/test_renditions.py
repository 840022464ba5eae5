"""The rendition engine on real image files: pixels, privacy, crops, safety, caching, speed paths."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

import imagefactory as f
from conftest import article
from contentpipe import BuildResult, Project

PACK = """\
[channel]
publish_at = "shots"

[outputs.page]
per = "document"
template = "page.json"
path = "{slug}.json"

[images.hero]
widths = [400, 800]
formats = ["webp", "jpeg"]

[images.share]
size = [1200, 630]
formats = ["jpeg"]

[images.square]
size = [600, 600]
fit = "pad"
background = "#ffffff"
formats = ["png"]

[images.kept]
widths = [300]
formats = ["jpeg"]
metadata = ["credit", "rights"]
"""
TEMPLATE = '{"hero": {{ doc.hero | tojson }}, "share": {{ doc.share | tojson }}}\n'


@pytest.fixture
def shots(make_project: Callable[..., Path], monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Callable[..., Path]:
    """A project with the 'shots' channel and one document per given image (hero: that image)."""
    monkeypatch.setenv("CONTENTPIPE_CACHE_DIR", str(tmp_path / "fresh-cache"))

    def make(images: dict[str, bytes], sidecars: dict[str, str] | None = None) -> Path:
        files: dict[str, str | bytes] = {"channels/shots/channel.toml": PACK,
                                         "channels/shots/templates/page.json": TEMPLATE}
        for name, data in images.items():
            files[f"assets/{name}"] = data
            files[f"assets/{Path(name).stem}.md"] = article(Path(name).stem, f"hero: {name}\n")
        for name, text in (sidecars or {}).items():
            files[f"assets/{name}.yml"] = text
        return make_project(files)

    return make


def build(root: Path, **kw: Any) -> BuildResult:
    return Project.load(root).build(["shots"], **kw)


def renditions(result: BuildResult, master: str, spec_part: str = "") -> list[tuple[Path, dict[str, Any]]]:
    assert result.manifest is not None
    return [(result.out_dir / o.path, o.extra) for o in result.manifest.outputs
            if o.kind == "rendition" and o.sources == (f"assets/{master}",) and spec_part in o.extra["spec"]]


def opened(path: Path) -> Image.Image:
    im = Image.open(path)
    im.load()
    return im


def test_exif_orientation_is_applied(shots: Callable[..., Path]) -> None:
    result = build(shots({"phone.jpg": f.rotated_jpeg((1200, 1800))}))
    assert result.ok
    for path, extra in renditions(result, "phone.jpg", "|webp|"):
        im = opened(path).convert("RGB")
        assert im.size == (extra["width"], extra["height"]) and im.height > im.width
        assert f.colour_near(im.getpixel((im.width // 2, 2)), f.BLUE)  # sky on top
        assert f.colour_near(im.getpixel((im.width // 2, im.height // 2)), f.RED)


def test_cmyk_is_converted_to_rgb(shots: Callable[..., Path]) -> None:
    result = build(shots({"print.jpg": f.cmyk_jpeg()}))
    for path, _ in renditions(result, "print.jpg"):
        im = opened(path)
        assert im.mode in ("RGB", "RGBA")
        centre = (im.width // 2, im.height // 2)
        assert f.colour_near(im.convert("RGB").getpixel(centre), (0, 255, 255), 50), (path.name, im.getpixel(centre))


def test_embedded_icc_profile_is_converted_to_srgb(shots: Callable[..., Path]) -> None:
    result = build(shots({"wide.jpg": f.icc_tagged_jpeg()}))
    found = renditions(result, "wide.jpg")
    assert found
    for path, _ in found:
        im = opened(path)
        # stored red under a red/blue-swapped profile *is* blue: converted, not copied
        centre = (im.width // 2, im.height // 2)
        assert f.colour_near(im.convert("RGB").getpixel(centre), (0, 0, 255), 60), (path.name, im.getpixel(centre))
        assert "icc_profile" not in im.info


def test_gps_camera_and_xmp_never_reach_a_rendition(shots: Callable[..., Path]) -> None:
    result = build(shots({"trip.jpg": f.gps_jpeg()}))
    found = [(p, e) for p, e in renditions(result, "trip.jpg") if "meta=" not in e["spec"]]
    assert len(found) >= 4
    for path, _ in found:
        im = opened(path)
        assert dict(im.getexif()) == {}, path.name
        assert not im.getexif().get_ifd(0x8825)
        assert "xmp" not in im.info and "XML:com.adobe.xmp" not in im.info


def test_metadata_allow_list_keeps_only_credit_and_rights(shots: Callable[..., Path]) -> None:
    result = build(shots({"trip.jpg": f.gps_jpeg()},
                         {"trip.jpg": 'credit: "Ann Example / Studio"\nrights: "CC BY 4.0"\n'}))
    [(path, _)] = [(p, e) for p, e in renditions(result, "trip.jpg") if "meta=" in e["spec"]]
    exif = opened(path).getexif()
    assert dict(exif) == {0x013B: "Ann Example / Studio", 0x8298: "CC BY 4.0"}
    assert not exif.get_ifd(0x8825)


def test_transparency_is_kept_and_jpeg_becomes_png(shots: Callable[..., Path]) -> None:
    result = build(shots({"cutout.png": f.transparent_png()}))
    formats = {Path(p).suffix for p, _ in renditions(result, "cutout.png")}
    assert ".jpg" not in formats and {".webp", ".png"} <= formats
    for path, _ in renditions(result, "cutout.png", "|webp|"):
        im = opened(path)
        assert im.mode == "RGBA" and im.getpixel((0, 0))[3] == 0
        assert im.getpixel((im.width // 2, im.height // 2))[3] == 255


def test_palette_png_and_animated_gif(shots: Callable[..., Path]) -> None:
    result = build(shots({"flat.png": f.palette_png(), "anim.gif": f.animated_gif()}))
    assert result.ok
    assert any(p.where.path.name == "anim.gif" and "first frame" in p.message for p in result.warnings)
    for path, _ in renditions(result, "anim.gif"):
        im = opened(path)
        assert getattr(im, "n_frames", 1) == 1
        assert f.colour_near(im.convert("RGB").getpixel((im.width // 2, im.height // 2)), f.RED)
    assert renditions(result, "flat.png")


def test_16_bit_greyscale_is_scaled_not_clipped(shots: Callable[..., Path]) -> None:
    result = build(shots({"scan.png": f.grey16_png(level=30000)}))
    found = renditions(result, "scan.png", "|webp|")
    assert found
    for path, _ in found:
        r, g, b = opened(path).convert("RGB").getpixel((10, 10))
        assert abs(r - 30000 / 257) <= 3 and r == g == b, (r, g, b)


def test_exact_size_crops_keep_the_focal_point(shots: Callable[..., Path]) -> None:
    wide = f.encode(f.marked((3000, 1000), (0.9, 0.5), radius=60), "JPEG", quality=92)
    root = shots({"right.jpg": wide, "nofocal.jpg": wide},
                 {"right.jpg": "alt: A red dot far right\nfocal_point: {x: 0.9, y: 0.5}\n"})
    result = build(root)
    [(share, _)] = renditions(result, "right.jpg", "1200x630")
    im = opened(share).convert("RGB")
    assert im.size == (1200, 630)
    window = (1200 / 630) / 3  # the crop is this share of the master's width, pushed to the right edge
    x = (0.9 - (1 - window)) / window  # where the dot lands in the rendition
    assert f.colour_near(im.getpixel((int(x * 1200), 315)), f.RED)
    # without a focal point the default is the centre: the dot (at 0.9) is outside the window
    [(centre, _)] = renditions(result, "nofocal.jpg", "1200x630")
    pixels = opened(centre).convert("RGB")
    assert not any(f.colour_near(pixels.getpixel((x, 315)), f.RED) for x in range(0, 1200, 10))


def test_pad_fits_the_whole_image_on_a_background(shots: Callable[..., Path]) -> None:
    result = build(shots({"pano.jpg": f.encode(f.marked((1200, 600), (0.5, 0.5)), "JPEG", quality=92)}))
    [(path, _)] = renditions(result, "pano.jpg", "pad=")
    im = opened(path).convert("RGB")
    assert im.size == (600, 600)
    assert im.getpixel((300, 5)) == (255, 255, 255) and im.getpixel((300, 595)) == (255, 255, 255)
    assert f.colour_near(im.getpixel((300, 300)), f.RED)  # the dot at the centre of the content box
    assert f.colour_near(im.getpixel((300, 152)), f.BLUE)  # the sky band starts where the content does


def test_small_master_gets_the_largest_honest_rendition_and_a_warning(shots: Callable[..., Path]) -> None:
    result = build(shots({"tiny.jpg": f.encode(f.marked((500, 300), (0.5, 0.5), radius=20), "JPEG")}))
    assert result.ok
    sizes = {(e["width"], e["height"]) for _, e in renditions(result, "tiny.jpg")}
    assert (800, 480) not in sizes and (400, 240) in sizes
    assert (499, 262) in sizes  # 1200x630 asked, a 500x262 window available: same shape, not upscaled
    warned = [p.message for p in result.warnings if p.where.path.name == "tiny.md"]
    assert any("too small for 1200x630" in m for m in warned)


def test_broken_masters_are_named_and_the_rest_builds(shots: Callable[..., Path], tmp_path: Path) -> None:
    good = f.encode(f.marked((1000, 700), (0.5, 0.5)), "JPEG", quality=90)
    truncated = good[: len(good) // 2]
    root = shots({"good.jpg": good, "cut.jpg": truncated, "bomb.png": f.bomb_png(),
                  "liar.png": good, "photo.heic": b"\0\0\0\x18ftypheic"})
    result = build(root)
    errors = {p.where.path.name: p.message for p in result.errors}
    assert "decode" in errors["cut.jpg"] and "truncated" in errors["cut.jpg"]
    assert "decompression bomb" in errors["bomb.png"]
    assert errors["liar.png"] == "file extension says PNG but the file is JPEG"
    assert errors["photo.heic"] == "HEIC is not a supported master image format"
    assert errors["cut.md"] == "image assets/cut.jpg cannot be used (see its own error)"
    out = result.out_dir / "shots"
    assert sorted(p.name for p in out.glob("*.json")) == ["good.json"]  # no page points at a missing image


def test_one_spec_asked_by_two_channels_is_made_once(shots: Callable[..., Path]) -> None:
    root = shots({"p.jpg": f.encode(f.marked((1000, 700), (0.5, 0.5)), "JPEG")})
    (root / "channels/twin").mkdir(parents=True)
    (root / "channels/twin/channel.toml").write_text('[channel]\nextends = "shots"\npublish_at = "twin"\n')
    result = Project.load(root).build(["shots", "twin"])
    assert result.ok
    assert result.renditions_encoded == result.renditions == len(renditions(result, "p.jpg"))
    pages = [json.loads((result.out_dir / c / "p.json").read_text()) for c in ("shots", "twin")]
    assert pages[0]["share"]["absolute_src"] == pages[1]["share"]["absolute_src"]


def test_each_master_is_decoded_once_per_scale_it_needs(shots: Callable[..., Path],
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    from contentpipe.render import images as engine

    root = shots({"a.jpg": f.gps_jpeg(), "b.png": f.transparent_png()})
    (root / "contentpipe.toml").write_text((root / "contentpipe.toml").read_text() + "\n[build]\njobs = 1\n")
    opens: list[tuple[str, int]] = []
    real_decode = engine._decode

    def counting_decode(im: Image.Image, scale: int = 1) -> Image.Image:
        opens.append((Path(im.filename).name, scale))
        return real_decode(im, scale)

    monkeypatch.setattr(engine, "_decode", counting_decode)
    result = build(root)
    assert result.renditions_encoded == result.renditions > 6
    assert len(opens) == len(set(opens))  # once per (master, DCT scale): every rendition of a scale shares it
    assert [s for n, s in opens if n == "b.png"] == [1] and 1 <= sum(n == "a.jpg" for n, _ in opens) <= 4
    opens.clear()
    assert build(root).renditions_encoded == 0 and opens == []  # warm: nothing decoded or encoded


def test_a_renditions_bytes_do_not_depend_on_which_others_are_made_with_it(tmp_path: Path) -> None:
    """A cache holding a master's large renditions must not change the bytes of its small ones."""
    from contentpipe.render.images import render_master
    from contentpipe.renditions import Box, RenditionSpec

    path = tmp_path / "m.jpg"
    path.write_bytes(f.encode(f.marked((2400, 1600), (0.5, 0.5)), "JPEG"))
    whole = Box(0.0, 0.0, 1.0, 1.0)
    small = ("small.jpg", RenditionSpec(300, 200, whole, "jpeg", 80))
    large = ("large.jpg", RenditionSpec(2000, 1333, whole, "jpeg", 80))
    alone, together = tmp_path / "alone", tmp_path / "together"
    alone.mkdir(), together.mkdir()
    render_master(path, [small], alone)
    render_master(path, [small, large], together)
    assert (alone / "small.jpg").read_bytes() == (together / "small.jpg").read_bytes()


def test_names_are_content_hashes(shots: Callable[..., Path]) -> None:
    data = f.encode(f.marked((900, 600), (0.5, 0.5)), "JPEG")
    result = build(shots({"one.jpg": data, "two.jpg": data}))
    one = sorted(p.name.split(".", 1)[1] for p, _ in renditions(result, "one.jpg"))
    two = sorted(p.name.split(".", 1)[1] for p, _ in renditions(result, "two.jpg"))
    assert one == two  # same bytes and spec: same hash, whatever the file is called
    other = build(shots({"one.jpg": f.encode(f.marked((900, 600), (0.4, 0.5)), "JPEG")}))
    assert not set(one) & {p.name.split(".", 1)[1] for p, _ in renditions(other, "one.jpg")}


def test_templates_get_the_exact_size_and_url_of_every_rendition(shots: Callable[..., Path]) -> None:
    result = build(shots({"p.jpg": f.encode(f.marked((1000, 700), (0.5, 0.5)), "JPEG")}))
    view = json.loads((result.out_dir / "shots/p.json").read_text())
    listed = view["hero"]["renditions"] + view["share"]["renditions"]
    assert len(listed) >= 5
    for r in listed:
        path = result.out_dir / r["absolute_url"].removeprefix("https://test.example/")
        with Image.open(path) as im:
            assert im.size == (r["width"], r["height"])
            assert Image.MIME[im.format] == r["type"]


def test_jpeg_renditions_use_optimised_huffman_tables(shots: Callable[..., Path]) -> None:
    result = build(shots({"p.jpg": f.gps_jpeg((2000, 1400))}))
    [path] = [p for p, _ in renditions(result, "p.jpg", "800x") if p.suffix == ".jpg"]
    im = opened(path).convert("RGB")
    plain = io.BytesIO()
    im.save(plain, "JPEG", quality=82)
    assert path.stat().st_size < len(plain.getvalue())


def _descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (from /proc: the pool's forkserver and its workers)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                parents[int(entry.name)] = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
    found, frontier = [], [pid]
    while frontier:
        kids = [p for p, parent in parents.items() if parent in frontier]
        found += kids
        frontier = kids
    return found


def test_a_worker_killed_mid_build_is_survived(tmp_path: Path) -> None:
    """SIGKILL one image worker while it encodes: its masters are made again, and the build is whole."""
    import os
    import signal
    import threading
    import time

    from contentpipe.errors import Problems
    from contentpipe.load.images import HashCache, load_image
    from contentpipe.render.images import RenditionStore, make_renditions
    from contentpipe.renditions import Box, Rendition, RenditionSpec, rendition_name

    masters, specs = [], []
    for i in range(6):
        path = tmp_path / f"m{i}.jpg"
        path.write_bytes(f.encode(f.marked((2400, 1600), (0.3 + i / 20, 0.5)), "JPEG"))
        masters.append(load_image(path, tmp_path, HashCache(tmp_path / "h.json"), Problems()))
    for m in masters:
        for fmt in ("avif", "webp", "jpeg"):
            spec = RenditionSpec(1600, 1067, Box(), fmt, 60)
            specs.append(Rendition(m, spec, rendition_name(m, spec)))
    store, problems = RenditionStore(tmp_path / "store"), Problems()
    out: list[object] = []
    worker = threading.Thread(target=lambda: out.append(make_renditions(specs, store, 2, problems)))
    worker.start()
    killed = False
    deadline = time.monotonic() + 60
    while worker.is_alive() and not killed and time.monotonic() < deadline:
        pids = _descendants(os.getpid())
        if len(pids) >= 3:  # the forkserver and two workers
            time.sleep(0.3)
            os.kill(pids[-1], signal.SIGKILL)
            killed = True
        time.sleep(0.05)
    worker.join(300)
    assert killed and out, "no worker was seen"
    done, _, failed = out[0]  # type: ignore[misc]
    assert failed == set() and not list(problems)
    assert sorted(done) == sorted(r.name for r in specs)
    for r in specs:
        with Image.open(store.folder / r.name) as im:
            assert im.size == (1600, 1067)
