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

RENDER_VERSION = "1"  # bump when the engine's output for the same spec changes
EXTENSIONS = {"jpeg": "jpg", "png": "png", "webp": "webp", "avif": "avif"}
MIME = {"jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "avif": "image/avif"}


@dataclass(frozen=True)
class Box:
    """A crop window as fractions (0..1) of the displayed master."""

    left: float = 0.0
    top: float = 0.0
    right: float = 1.0
    bottom: float = 1.0


@dataclass(frozen=True)
class RenditionSpec:
    width: int
    height: int
    crop: Box
    format: str
    quality: int

    def key(self) -> str:
        c = self.crop
        return (f"{self.width}x{self.height}|{c.left:.5f},{c.top:.5f},{c.right:.5f},{c.bottom:.5f}"
                f"|{self.format}|q{self.quality}")


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


def plan_slot(master: ImageMaster, slot: ImageSlot, focal: Focal | None,
              available: frozenset[str]) -> tuple[list[Rendition], str | None]:
    """Renditions for one image in one slot, and a warning when the master is too small."""
    warning = None
    out: list[Rendition] = []
    formats = slot_formats(slot, master, available)
    if slot.size:
        want_w, want_h = slot.size
        box = focal_crop_box(master.width, master.height, want_w, want_h,
                             focal or master.focal or Focal())
        crop_w = round((box.right - box.left) * master.width)
        crop_h = round((box.bottom - box.top) * master.height)
        w, h = want_w, want_h
        if (crop_w < want_w or crop_h < want_h) and not slot.upscale:
            scale = min(crop_w / want_w, crop_h / want_h)
            w, h = max(1, round(want_w * scale)), max(1, round(want_h * scale))
            warning = (f"master is {master.width}x{master.height}, too small for {want_w}x{want_h} "
                       f"in slot '{slot.name}'; made {w}x{h} instead of upscaling")
        sizes = [(w, h, box)]
    else:
        box, src_w = Box(), master.width
        if slot.aspect:
            box = focal_crop_box(master.width, master.height, round(slot.aspect * 1000), 1000,
                                 focal or master.focal or Focal())
            src_w = round((box.right - box.left) * master.width)
        src_h = round((box.bottom - box.top) * master.height)
        widths = [w for w in slot.widths if slot.upscale or w <= src_w]
        if not widths:
            widths = [src_w]
            warning = (f"master is {master.width}x{master.height}, narrower than every width of slot "
                       f"'{slot.name}' ({', '.join(map(str, slot.widths))}); used {src_w} px")
        sizes = [(w, max(1, round(src_h * w / src_w)), box) for w in widths]
    for fmt in formats:
        for w, h, box in sizes:
            spec = RenditionSpec(w, h, box, fmt, _quality(slot, fmt))
            out.append(Rendition(master, spec, rendition_name(master, spec)))
    return out, warning
