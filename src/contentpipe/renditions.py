"""Rendition specs, geometry and names: pure maths, no pixels.

A rendition's width, height and crop are known before any pixel is decoded,
so templates get exact dimensions and the plan can deduplicate work: two
channels asking for the same output of the same master share one rendition.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from contentpipe.config.rules import ImageSlot
from contentpipe.load.documents import slugify
from contentpipe.load.images import Focal, ImageMaster
from contentpipe.mediatypes import content_type

RENDER_VERSION = "2"  # bump when the engine's output for the same spec changes
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif", "ico": "ico"}
ICO_SIZES = (16, 32, 48)  # the frames of a favicon.ico rendition (its spec is the largest)
MIME = {fmt: content_type(f"x.{ext}") for fmt, ext in EXTENSIONS.items()}


@dataclass(frozen=True)
class Box:
    """A crop window as fractions (0..1) of the displayed master."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0


@dataclass(frozen=True)
class RenditionSpec:
    """One output: its size, the crop window of the master, format and quality.

    With ``pad`` the cropped master is scaled to the ``pad`` box (x, y, w, h)
    on a canvas of ``background``; ``metadata`` holds the only EXIF fields a
    rendition carries (empty by default: no GPS, camera or XMP ever).
    """

    width: int
    height: int
    crop: Box
    format: str
    quality: int
    pad: tuple[int, int, int, int] | None = None
    background: str = "#ffffff"
    metadata: tuple[tuple[str, str], ...] = ()
    caption: str = ""  # text set over the image (a share card's title)

    def key(self) -> str:
        c = self.crop
        key = (f"{self.width}x{self.height}|{c.left:.5f},{c.top:.5f},{c.right:.5f},{c.bottom:.5f}"
               f"|{self.format}|q{self.quality}")
        if self.pad:
            key += f"|pad={','.join(map(str, self.pad))}:{self.background}"
        if self.metadata:
            key += "|meta=" + ";".join(f"{k}={v}" for k, v in self.metadata)
        if self.caption:
            key += "|caption=" + hashlib.sha256(self.caption.encode()).hexdigest()[:16]
        return key


@dataclass(frozen=True)
class Rendition:
    master: ImageMaster
    spec: RenditionSpec
    name: str

    @property
    def width(self) -> int:
        return self.spec.width

    @property
    def height(self) -> int:
        return self.spec.height

    @property
    def mime(self) -> str:
        return MIME[self.spec.format]


def rendition_name(master: ImageMaster, spec: RenditionSpec) -> str:
    digest = hashlib.sha256(f"{master.sha256}|{spec.key()}|{RENDER_VERSION}".encode()).hexdigest()[:16]
    return f"{slugify(master.stem)}.{digest}.{EXTENSIONS[spec.format]}"


def focal_crop_box(src_w: int, src_h: int, out_w: int, out_h: int, focal: Focal) -> Box:
    """The largest window of the output's aspect ratio, centred on the focal point as far as it can be."""
    src_ratio, out_ratio = src_w / src_h, out_w / out_h
    if src_ratio > out_ratio:  # master is wider: crop the sides
        frac_w = out_ratio / src_ratio
        left = min(max(focal.x - frac_w / 2, 0.0), 1.0 - frac_w)
        return Box(left, 0.0, left + frac_w, 1.0)
    frac_h = src_ratio / out_ratio
    top = min(max(focal.y - frac_h / 2, 0.0), 1.0 - frac_h)
    return Box(0.0, top, 1.0, top + frac_h)


def _quality(slot: ImageSlot, fmt: str) -> int:
    return slot.quality.get(fmt, 80)


def slot_formats(slot: ImageSlot, master: ImageMaster, available: frozenset[str]) -> list[str]:
    """The slot's formats this Pillow can write; JPEG becomes PNG for images with transparency."""
    formats = [f for f in slot.formats if f in available]
    if master.format == "PNG" and master.has_alpha:
        formats = ["png" if f == "jpeg" else f for f in formats]
    return list(dict.fromkeys(formats))


Size = tuple[int, int, Box, tuple[int, int, int, int] | None]  # width, height, crop, pad box


def plan_slot(master: ImageMaster, slot: ImageSlot, focal: Focal | None,
              available: frozenset[str], caption: str = "") -> tuple[list[Rendition], str | None]:
    """Renditions for one image in one slot, and a warning when the master is too small.

    Never upscales unless the slot says so: a master too small for a size gets
    the largest honest rendition of the same shape, and a warning.
    """
    focal = focal or master.focal or Focal()
    if slot.size:
        sizes, warning = _exact_size(master, slot, focal)
    else:
        sizes, warning = _widths(master, slot, focal)
    metadata = tuple((tag, value) for field, tag in (("credit", "Artist"), ("rights", "Copyright"))
                     if field in slot.metadata and (value := getattr(master, field)))
    out: list[Rendition] = []
    for fmt in slot_formats(slot, master, available):
        for w, h, box, pad in sizes:
            spec = RenditionSpec(w, h, box, fmt, _quality(slot, fmt), pad,
                                 slot.background if pad else "#ffffff", metadata, caption if slot.title else "")
            out.append(Rendition(master, spec, rendition_name(master, spec)))
    return out, warning


def _too_small(master: ImageMaster, slot: ImageSlot, what: str, made: str) -> str:
    return (f"master is {master.width}x{master.height}, too small for {what} in slot '{slot.name}'; "
            f"made {made} instead of upscaling")


def _pad_box(mw: int, mh: int, w: int, h: int, upscale: bool) -> tuple[int, int, tuple[int, int, int, int], bool]:
    """Canvas size and the master's box on it, fitting (mw, mh) inside (w, h); True if shrunk."""
    scale = min(w / mw, h / mh)
    shrunk = scale > 1 and not upscale
    if shrunk:  # keep the master's pixels 1:1 and shrink the canvas to the same shape
        k = max(mw / w, mh / h)
        w, h, scale = max(1, round(w * k)), max(1, round(h * k)), 1.0
    cw, ch = max(1, round(mw * scale)), max(1, round(mh * scale))
    return w, h, ((w - cw) // 2, (h - ch) // 2, cw, ch), shrunk


def _exact_size(master: ImageMaster, slot: ImageSlot, focal: Focal) -> tuple[list[Size], str | None]:
    assert slot.size is not None
    want_w, want_h = slot.size
    what = f"{want_w}x{want_h}"
    if slot.fit == "pad":
        w, h, pad, shrunk = _pad_box(master.width, master.height, want_w, want_h, slot.upscale)
        return [(w, h, Box(), pad)], _too_small(master, slot, what, f"{w}x{h}") if shrunk else None
    if slot.fit == "scale":
        scale = min(want_w / master.width, want_h / master.height)
        if scale > 1 and not slot.upscale:
            scale = 1.0
        w, h = max(1, round(master.width * scale)), max(1, round(master.height * scale))
        return [(w, h, Box(), None)], None
    box = focal_crop_box(master.width, master.height, want_w, want_h, focal)
    crop_w = round((box.right - box.left) * master.width)
    crop_h = round((box.bottom - box.top) * master.height)
    w, h = want_w, want_h
    warning = None
    if (crop_w < want_w or crop_h < want_h) and not slot.upscale:
        scale = min(crop_w / want_w, crop_h / want_h)
        w, h = max(1, round(want_w * scale)), max(1, round(want_h * scale))
        warning = _too_small(master, slot, what, f"{w}x{h}")
    return [(w, h, box, None)], warning


def _widths(master: ImageMaster, slot: ImageSlot, focal: Focal) -> tuple[list[Size], str | None]:
    if slot.aspect and slot.fit == "pad":
        sizes: list[Size] = []
        for width in slot.widths:
            w, h, pad, shrunk = _pad_box(master.width, master.height, width, round(width / slot.aspect),
                                         slot.upscale)
            if not shrunk:
                sizes.append((w, h, Box(), pad))
        if sizes:
            return sizes, None
        w, h, pad, _ = _pad_box(master.width, master.height, slot.widths[0],
                                round(slot.widths[0] / slot.aspect), False)
        return [(w, h, Box(), pad)], _too_small(master, slot, f"{slot.widths[0]} px", f"{w}x{h}")
    box = Box()
    if slot.aspect:
        box = focal_crop_box(master.width, master.height, round(slot.aspect * 1000), 1000, focal)
    src_w = round((box.right - box.left) * master.width)
    src_h = round((box.bottom - box.top) * master.height)
    widths = [w for w in slot.widths if slot.upscale or w <= src_w]
    warning = None
    if not widths:
        widths = [src_w]
        warning = (f"master is {master.width}x{master.height}, narrower than every width of slot "
                   f"'{slot.name}' ({', '.join(map(str, slot.widths))}); used {src_w} px")
    return [(w, max(1, round(src_h * w / src_w)), box, None) for w in widths], warning
