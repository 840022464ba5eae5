#!/usr/bin/env python3
"""Generate the sample master images of the "Spring Lights 2026" campaign.

Writes photo-like, seeded images plus a YAML sidecar (``<name>.<ext>.yml``)
for each into ``assets/images/``. Same script, same bytes: every random
choice comes from a ``random.Random`` seeded per image, and nothing depends
on the clock, the machine or Pillow's ``effect_noise``.

Special cases on purpose (for tests of the image pipeline):

* ``rider-portrait.jpg`` is stored rotated with EXIF Orientation=6, so it is
  only upright (sky on top) once the orientation is applied;
* ``lighthouse-point.jpg`` carries fake GPS coordinates and camera
  Make/Model tags, which a published rendition must not keep;
* ``lantern-cutout.png`` is a cut-out with a real, soft-edged alpha channel;
* ``logo.png`` is the site's icon master (``[site] icon``): square, transparent corners.

Usage: ``python scripts/make_sample_images.py [OUT_DIR]`` (stdlib + Pillow).
"""

from __future__ import annotations

import json
import math
import random
import sys
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from PIL import Image, ImageChops, ImageDraw, ImageFilter
from PIL.ExifTags import GPS, IFD, Base
from PIL.TiffImagePlugin import IFDRational

SEED = 20260314  # the festival's opening night
ROOT = Path(__file__).resolve().parent.parent
DEFAULT_OUT = ROOT / "assets" / "images"
CREDIT = "Generated image, contentpipe sample (scripts/make_sample_images.py)"
RIGHTS = "CC0 1.0 — generated for the contentpipe sample campaign"

RGB = tuple[int, int, int]


# --------------------------------------------------------------------------------------
# Building blocks
# --------------------------------------------------------------------------------------


def rng_for(name: str) -> random.Random:
    return random.Random(zlib.crc32(f"{SEED}:{name}".encode()))


def lerp(a: RGB, b: RGB, t: float) -> RGB:
    return tuple(round(a[i] + (b[i] - a[i]) * t) for i in range(3))  # type: ignore[return-value]


def vgradient(size: tuple[int, int], stops: list[tuple[float, RGB]]) -> Image.Image:
    """Vertical multi-stop gradient; stops are (fraction of height, colour), sorted."""
    w, h = size
    column = Image.new("RGB", (1, h))
    px = column.load()
    for y in range(h):
        t = y / max(1, h - 1)
        for (t0, c0), (t1, c1) in zip(stops, stops[1:]):
            if t0 <= t <= t1:
                # smoothstep between stops looks less banded than linear
                u = (t - t0) / max(1e-9, t1 - t0)
                px[0, y] = lerp(c0, c1, u * u * (3 - 2 * u))
                break
        else:
            px[0, y] = stops[0][1] if t < stops[0][0] else stops[-1][1]
    return column.resize((w, h), Image.Resampling.NEAREST)


def radial_mask(diameter: int, falloff: float = 1.0, peak: int = 255) -> Image.Image:
    """A round soft mask: `peak` in the centre, 0 at the rim."""
    g = Image.radial_gradient("L")  # 256x256, value = distance from the centre (128 at the edge)
    lut = [round(peak * max(0.0, 1 - v / 128) ** falloff) for v in range(256)]
    return g.point(lut).resize((max(2, diameter), max(2, diameter)), Image.Resampling.BILINEAR)


def glow(img: Image.Image, centre: tuple[float, float], radius: float, colour: RGB,
         falloff: float = 1.6, peak: int = 255) -> None:
    """Blend a soft round light of `colour` into `img` (in place)."""
    d = max(2, round(radius * 2))
    mask = radial_mask(d, falloff, peak)
    x, y = round(centre[0] - d / 2), round(centre[1] - d / 2)
    img.paste(Image.new(img.mode, (d, d), colour if img.mode == "RGB" else (*colour, 255)), (x, y), mask)


def subject(img: Image.Image, centre: tuple[float, float], radius: float, halo: RGB,
            core: RGB = (255, 250, 232)) -> None:
    """The bright, clearly visible subject at the focal point: halo, then a solid core."""
    glow(img, centre, radius * 4.0, halo, falloff=1.8, peak=235)
    glow(img, centre, radius * 1.8, lerp(halo, core, 0.6), falloff=1.2, peak=255)
    cx, cy = centre
    core_layer = Image.new("L", img.size, 0)
    ImageDraw.Draw(core_layer).ellipse((cx - radius, cy - radius, cx + radius, cy + radius), fill=255)
    core_layer = core_layer.filter(ImageFilter.GaussianBlur(max(1.0, radius / 12)))
    img.paste(Image.new(img.mode, img.size, core if img.mode == "RGB" else (*core, 255)), (0, 0), core_layer)


def blurred_layer(size: tuple[int, int], draw: Callable[[ImageDraw.ImageDraw], None],
                  blur: float) -> Image.Image:
    layer = Image.new("RGBA", size, (0, 0, 0, 0))
    draw(ImageDraw.Draw(layer))
    return layer.filter(ImageFilter.GaussianBlur(blur)) if blur > 0 else layer


def over(base: Image.Image, layer: Image.Image) -> Image.Image:
    return Image.alpha_composite(base.convert("RGBA"), layer).convert("RGB")


def grain(r: random.Random, img: Image.Image, amplitude: int, scale: int = 2) -> Image.Image:
    """Add seeded luminance grain (generated at 1/scale size and upscaled, like film grain)."""
    w, h = img.size
    gw, gh = max(8, w // scale), max(8, h // scale)
    lut = [round(v * 2 * amplitude / 255) for v in range(256)]
    noise = Image.frombytes("L", (gw, gh), r.randbytes(gw * gh)).point(lut)
    noise = noise.resize((w, h), Image.Resampling.BILINEAR)
    return Image.merge("RGB", [ImageChops.add(ch, noise, 1.0, -amplitude) for ch in img.split()])


def texture(r: random.Random, size: tuple[int, int], cells: int, amplitude: int) -> Image.Image:
    """Blotchy mid-frequency texture (water, stone, foliage) as a grey L image around 128."""
    w, h = size
    tw, th = max(4, w // cells), max(4, h // cells)
    lut = [round(128 + (v - 128) * amplitude / 128) for v in range(256)]
    t = Image.frombytes("L", (tw, th), r.randbytes(tw * th)).point(lut)
    return t.filter(ImageFilter.GaussianBlur(0.8)).resize((w, h), Image.Resampling.BICUBIC)


def apply_texture(img: Image.Image, tex: Image.Image, mask: Image.Image | None = None) -> Image.Image:
    textured = Image.merge("RGB", [ImageChops.add(ch, tex, 1.0, -128) for ch in img.split()])
    return textured if mask is None else Image.composite(textured, img, mask)


def vignette(img: Image.Image, strength: int = 110) -> Image.Image:
    w, h = img.size
    m = Image.radial_gradient("L").resize((w, h), Image.Resampling.BILINEAR)
    # radial_gradient: 0 in the centre, 128 at the middle of each edge, ~181 in the corners
    lut = [min(255, round(strength * max(0.0, (v - 60) / 121) ** 1.6)) for v in range(256)]
    return Image.composite(Image.new("RGB", (w, h), (0, 0, 0)), img, m.point(lut))


def lower_mask(size: tuple[int, int], from_y: int) -> Image.Image:
    m = Image.new("L", size, 0)
    ImageDraw.Draw(m).rectangle((0, from_y, size[0], size[1]), fill=255)
    return m


# --------------------------------------------------------------------------------------
# Scenes: each returns an RGB image in display orientation, subject at (fx, fy)
# --------------------------------------------------------------------------------------


def harbour_dawn(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    horizon = int(h * 0.56)
    img = vgradient((w, h), [(0.0, (34, 46, 92)), (0.30, (120, 96, 150)), (0.50, (236, 150, 128)),
                             (0.56, (255, 196, 138)), (0.57, (150, 112, 128)), (1.0, (24, 30, 56))])
    sun = (fx * w, fy * h)
    glow(img, sun, h * 0.55, (255, 178, 110), falloff=2.2, peak=190)
    # clouds: soft pale ellipses in the upper sky
    def clouds(d: ImageDraw.ImageDraw) -> None:
        for _ in range(26):
            cx, cy = r.uniform(-0.1, 1.1) * w, r.uniform(0.05, 0.42) * h
            cw, ch = r.uniform(0.08, 0.3) * w, r.uniform(0.015, 0.05) * h
            d.ellipse((cx - cw, cy - ch, cx + cw, cy + ch), fill=(255, 214, 200, r.randint(40, 110)))
    img = over(img, blurred_layer((w, h), clouds, h * 0.02))
    # reflection of the sun: broken horizontal streaks below it
    def streaks(d: ImageDraw.ImageDraw) -> None:
        for _ in range(260):
            y = r.uniform(horizon + 2, h)
            spread = 0.02 * w + (y - horizon) * 0.22
            x = sun[0] + r.gauss(0, spread * 0.45)
            ln = r.uniform(0.01, 0.05) * w
            d.line((x - ln, y, x + ln, y), fill=(255, 200, 140, r.randint(60, 170)), width=max(2, h // 500))
    img = over(img, blurred_layer((w, h), streaks, 1.5))
    img = apply_texture(img, texture(r, (w, h), 10, 22), lower_mask((w, h), horizon + 3))
    # quay, cranes and moored boats as dark silhouettes (left), a far shore (right)
    def silhouettes(d: ImageDraw.ImageDraw) -> None:
        dark = (22, 20, 38, 255)
        d.polygon([(0, horizon - h * 0.06), (w * 0.34, horizon - h * 0.035), (w * 0.36, horizon + h * 0.05),
                   (0, horizon + h * 0.07)], fill=dark)
        for k in range(3):
            x = w * (0.05 + 0.09 * k)
            top = horizon - h * r.uniform(0.22, 0.3)
            d.rectangle((x, top, x + w * 0.008, horizon), fill=dark)
            d.line((x - w * 0.03, top + h * 0.01, x + w * 0.09, top), fill=dark, width=max(3, w // 400))
        for k in range(5):
            x = w * (0.38 + 0.1 * k) + r.uniform(-20, 20)
            y = horizon + h * r.uniform(0.08, 0.2)
            bw = w * r.uniform(0.04, 0.07)
            d.polygon([(x, y), (x + bw, y), (x + bw * 0.85, y + h * 0.025), (x + bw * 0.12, y + h * 0.025)],
                      fill=dark)
            d.line((x + bw * 0.45, y, x + bw * 0.45, y - h * r.uniform(0.12, 0.2)), fill=dark,
                   width=max(2, w // 900))
        d.polygon([(w * 0.7, horizon), (w * 0.8, horizon - h * 0.015), (w, horizon - h * 0.02), (w, horizon)],
                  fill=(70, 52, 80, 255))
    img = over(img, blurred_layer((w, h), silhouettes, 1.2))
    subject(img, sun, min(w, h) * 0.045, (255, 150, 70))
    return vignette(img, 90)


def lantern_loop_panorama(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    img = vgradient((w, h), [(0.0, (28, 30, 78)), (0.35, (98, 70, 132)), (0.55, (222, 132, 120)),
                             (0.62, (242, 176, 130)), (1.0, (30, 36, 52))])
    def stars(d: ImageDraw.ImageDraw) -> None:
        for _ in range(140):
            x, y = r.uniform(0, w), r.uniform(0, h * 0.3)
            s = r.uniform(1, 2.6)
            d.ellipse((x - s, y - s, x + s, y + s), fill=(255, 255, 240, r.randint(90, 220)))
    img = over(img, blurred_layer((w, h), stars, 0.6))
    # sea on the right, three ridges of dunes, nearest darkest
    sea_top = int(h * 0.6)
    def sea(d: ImageDraw.ImageDraw) -> None:
        d.rectangle((w * 0.55, sea_top, w, h), fill=(60, 58, 96, 255))
        for _ in range(120):
            y = r.uniform(sea_top, h * 0.8)
            x = r.uniform(w * 0.55, w)
            d.line((x, y, x + r.uniform(20, 90), y), fill=(240, 170, 140, r.randint(40, 120)), width=2)
    img = over(img, blurred_layer((w, h), sea, 1.0))
    for depth, (colour, base_y, amp) in enumerate([((92, 66, 104), 0.58, 0.05), ((58, 44, 74), 0.66, 0.06),
                                                   ((30, 26, 44), 0.76, 0.07)]):
        phase = r.uniform(0, 6.28)
        right = w * (0.62 + 0.12 * depth)
        pts = [(0, h)]
        for i in range(0, 101):
            x = right * i / 100
            y = h * (base_y - amp * (0.6 * math.sin(i / 9 + phase) + 0.4 * math.sin(i / 3.7 + 2 * phase)))
            pts.append((x, y))
        pts += [(right, h * base_y + h * 0.04), (right + w * 0.05, h), (0, h)]
        img = over(img, blurred_layer((w, h), lambda d, p=pts, c=colour: d.polygon(p, fill=(*c, 255)),
                                      2.5 - depth))
    img = apply_texture(img, texture(r, (w, h), 12, 18), lower_mask((w, h), int(h * 0.6)))
    # the lantern loop: a winding path with lanterns along it, leading to the subject
    path = []
    for i in range(0, 61):
        t = i / 60
        x = w * (0.02 + 0.9 * t)
        y = h * (0.95 - 0.35 * t + 0.06 * math.sin(t * 9))
        path.append((x, y))
    def lanterns(d: ImageDraw.ImageDraw) -> None:
        d.line(path, fill=(200, 160, 120, 150), width=max(3, h // 120), joint="curve")
        for x, y in path[::3]:
            s = max(3, h // 200)
            d.ellipse((x - s, y - 3 * s, x + s, y - s), fill=(255, 220, 140, 255))
    img = over(img, blurred_layer((w, h), lanterns, 1.5))
    for x, y in path[::3]:
        glow(img, (x, y - h * 0.01), h * 0.018, (255, 190, 110), falloff=2.0, peak=160)
    subject(img, (fx * w, fy * h), h * 0.035, (255, 120, 60))
    return vignette(img, 100)


def market_stalls(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    img = vgradient((w, h), [(0.0, (16, 22, 58)), (0.35, (44, 48, 96)), (0.55, (118, 82, 80)),
                             (1.0, (70, 52, 44))])
    # stalls: striped awnings over warm lit counters, out of focus
    palette = [(214, 58, 64), (240, 180, 60), (52, 140, 120), (230, 230, 220), (70, 110, 190), (200, 90, 170)]
    def stalls(d: ImageDraw.ImageDraw) -> None:
        x = -w * 0.03
        while x < w:
            sw = w * r.uniform(0.12, 0.2)
            top = h * r.uniform(0.36, 0.44)
            a, b = r.sample(palette, 2)
            stripes = 8
            for k in range(stripes):
                d.polygon([(x + sw * k / stripes, top), (x + sw * (k + 1) / stripes, top),
                           (x + sw * (k + 1) / stripes + sw * 0.02, top + h * 0.08),
                           (x + sw * k / stripes + sw * 0.02, top + h * 0.08)], fill=(*(a if k % 2 else b), 255))
            d.rectangle((x + sw * 0.06, top + h * 0.08, x + sw * 0.96, top + h * 0.33), fill=(250, 196, 120, 255))
            d.rectangle((x + sw * 0.04, top + h * 0.26, x + sw * 0.98, top + h * 0.36), fill=(92, 60, 44, 255))
            for _ in range(6):  # goods on the counter
                gx = x + sw * r.uniform(0.1, 0.9)
                gy = top + h * r.uniform(0.2, 0.26)
                gs = h * r.uniform(0.01, 0.025)
                d.ellipse((gx - gs, gy - gs, gx + gs, gy + gs), fill=(*r.choice(palette), 255))
            x += sw + w * r.uniform(0.01, 0.03)
    img = over(img, blurred_layer((w, h), stalls, h * 0.004))
    # people in the foreground, heavily blurred
    def people(d: ImageDraw.ImageDraw) -> None:
        for _ in range(11):
            px, base = r.uniform(0, w), h * r.uniform(0.95, 1.1)
            pw, ph = w * r.uniform(0.03, 0.05), h * r.uniform(0.35, 0.5)
            col = (r.randint(20, 60), r.randint(20, 50), r.randint(30, 70), 235)
            d.rounded_rectangle((px - pw, base - ph, px + pw, base), radius=pw, fill=col)
            d.ellipse((px - pw * 0.6, base - ph - pw * 1.3, px + pw * 0.6, base - ph + pw * 0.1), fill=col)
    img = over(img, blurred_layer((w, h), people, h * 0.012))
    img = apply_texture(img, texture(r, (w, h), 14, 14), lower_mask((w, h), int(h * 0.75)))
    # string lights: catenaries of small bulbs across the top
    for row in range(3):
        y0, sag = h * (0.08 + 0.1 * row), h * r.uniform(0.05, 0.1)
        for i in range(34):
            t = i / 33
            x = w * t
            y = y0 + sag * 4 * t * (1 - t) + r.uniform(-3, 3)
            glow(img, (x, y), h * 0.016, (255, 206, 130), falloff=2.2, peak=220)
            glow(img, (x, y), h * 0.005, (255, 244, 210), falloff=0.6, peak=255)
    # the subject: a big paper lantern over the central stall
    subject(img, (fx * w, fy * h), h * 0.05, (255, 96, 60))
    return vignette(img, 100)


def rider_portrait(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    """Upright portrait: evening sky on top, street at the bottom, a rider in the middle."""
    img = vgradient((w, h), [(0.0, (40, 70, 140)), (0.45, (140, 150, 190)), (0.62, (200, 160, 150)),
                             (0.66, (70, 64, 80)), (1.0, (36, 34, 44))])
    # city lights far behind: bokeh discs
    def bokeh(d: ImageDraw.ImageDraw) -> None:
        for _ in range(70):
            x, y = r.uniform(0, w), r.uniform(0.45, 0.75) * h
            s = w * r.uniform(0.01, 0.04)
            col = r.choice([(255, 200, 120), (255, 150, 90), (180, 220, 255), (255, 240, 200)])
            d.ellipse((x - s, y - s, x + s, y + s), fill=(*col, r.randint(60, 150)))
    img = over(img, blurred_layer((w, h), bokeh, w * 0.006))
    img = apply_texture(img, texture(r, (w, h), 12, 16), lower_mask((w, h), int(h * 0.7)))
    cx, cy = fx * w, fy * h
    # rider: shoulders and jacket (teal), head and helmet; a lamp on the helmet is the subject
    def rider(d: ImageDraw.ImageDraw) -> None:
        jacket = (22, 92, 104, 255)
        d.polygon([(cx - w * 0.36, h), (cx - w * 0.3, cy + h * 0.2), (cx - w * 0.1, cy + h * 0.13),
                   (cx + w * 0.1, cy + h * 0.13), (cx + w * 0.3, cy + h * 0.2), (cx + w * 0.36, h)], fill=jacket)
        d.rectangle((cx - w * 0.05, cy + h * 0.07, cx + w * 0.05, cy + h * 0.15), fill=(170, 120, 100, 255))
        d.ellipse((cx - w * 0.11, cy - h * 0.02, cx + w * 0.11, cy + h * 0.14), fill=(196, 140, 114, 255))
        d.chord((cx - w * 0.14, cy - h * 0.07, cx + w * 0.14, cy + h * 0.09), 180, 360, fill=(230, 70, 60, 255))
        # handlebar and front wheel arc at the bottom of the frame
        d.line((cx - w * 0.45, h * 0.9, cx + w * 0.45, h * 0.88), fill=(30, 30, 34, 255), width=max(4, w // 90))
        d.arc((cx - w * 0.25, h * 0.93, cx + w * 0.25, h * 1.4), 180, 360, fill=(20, 20, 24, 255),
              width=max(6, w // 60))
    img = over(img, blurred_layer((w, h), rider, 2.0))
    shade = texture(r, (w, h), 30, 10)
    img = apply_texture(img, shade, lower_mask((w, h), int(cy + h * 0.13)))
    subject(img, (cx, cy), w * 0.04, (120, 230, 255))
    return vignette(img, 120)


def lighthouse_point(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    horizon = int(h * 0.66)
    img = vgradient((w, h), [(0.0, (24, 58, 118)), (0.4, (92, 138, 190)), (0.64, (230, 198, 170)),
                             (0.66, (60, 96, 128)), (1.0, (22, 44, 70))])
    cx, cy = fx * w, fy * h
    # the beam: a wide faint wedge from the lamp
    def beam(d: ImageDraw.ImageDraw) -> None:
        d.polygon([(cx, cy), (w * 1.05, cy - h * 0.2), (w * 1.05, cy + h * 0.05)], fill=(255, 250, 210, 70))
        d.polygon([(cx, cy), (-w * 0.05, cy - h * 0.12), (-w * 0.05, cy - h * 0.02)], fill=(255, 250, 210, 40))
    img = over(img, blurred_layer((w, h), beam, w * 0.01))
    img = apply_texture(img, texture(r, (w, h), 9, 24), lower_mask((w, h), horizon + 2))
    # rocky headland and the tower with red and white bands
    def land(d: ImageDraw.ImageDraw) -> None:
        pts = [(0, h), (0, h * 0.9), (w * 0.08, h * 0.84)]
        for i in range(21):
            t = i / 20
            pts.append((w * (0.18 + 0.82 * t), h * (0.72 - 0.05 * math.sin(t * 3.1) + r.uniform(-0.012, 0.012))))
        pts.append((w, h))
        d.polygon(pts, fill=(48, 52, 44, 255))
        tw_bot, tw_top = w * 0.055, w * 0.036
        bottom = h * 0.72
        bands = 6
        for k in range(bands):
            y0 = cy + h * 0.04 + (bottom - cy - h * 0.04) * k / bands
            y1 = cy + h * 0.04 + (bottom - cy - h * 0.04) * (k + 1) / bands
            half0 = tw_top + (tw_bot - tw_top) * k / bands
            half1 = tw_top + (tw_bot - tw_top) * (k + 1) / bands
            col = (238, 236, 228, 255) if k % 2 == 0 else (196, 44, 44, 255)
            d.polygon([(cx - half0, y0), (cx + half0, y0), (cx + half1, y1), (cx - half1, y1)], fill=col)
        d.rectangle((cx - tw_top * 1.3, cy + h * 0.03, cx + tw_top * 1.3, cy + h * 0.045), fill=(30, 30, 30, 255))
        d.pieslice((cx - tw_top, cy - h * 0.075, cx + tw_top, cy - h * 0.015), 180, 360, fill=(30, 30, 30, 255))
    img = over(img, blurred_layer((w, h), land, 1.2))
    img = apply_texture(img, texture(r, (w, h), 20, 20), lower_mask((w, h), int(h * 0.74)))
    subject(img, (cx, cy), w * 0.03, (255, 230, 120))
    return vignette(img, 90)


def mechanic_workshop(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    floor = int(h * 0.7)
    img = vgradient((w, h), [(0.0, (70, 62, 58)), (0.68, (128, 110, 92)), (0.7, (60, 54, 50)),
                             (1.0, (34, 30, 30))])
    # a high window letting in cool daylight, shelves with crates, wheels on the wall
    def room(d: ImageDraw.ImageDraw) -> None:
        d.rectangle((w * 0.58, h * 0.05, w * 0.95, h * 0.3), fill=(200, 224, 240, 230))
        for k in range(1, 4):
            x = w * (0.58 + 0.37 * k / 4)
            d.line((x, h * 0.05, x, h * 0.3), fill=(60, 60, 60, 255), width=max(3, w // 200))
        for s in range(3):
            y = h * (0.38 + 0.1 * s)
            d.rectangle((w * 0.55, y, w * 0.98, y + h * 0.012), fill=(80, 60, 40, 255))
            x = w * 0.56
            while x < w * 0.95:
                bw = w * r.uniform(0.05, 0.1)
                col = r.choice([(180, 60, 50), (60, 100, 160), (200, 170, 60), (90, 90, 90)])
                d.rectangle((x, y - h * r.uniform(0.03, 0.06), x + bw, y), fill=(*col, 255))
                x += bw + w * 0.01
        for k in range(3):
            x, y, rad = w * (0.12 + 0.16 * k), h * 0.2, w * 0.07
            d.ellipse((x - rad, y - rad, x + rad, y + rad), outline=(24, 24, 26, 255), width=max(5, w // 110))
            d.ellipse((x - rad * 0.12, y - rad * 0.12, x + rad * 0.12, y + rad * 0.12), fill=(150, 150, 150, 255))
            for a in range(0, 360, 20):
                d.line((x, y, x + rad * math.cos(math.radians(a)), y + rad * math.sin(math.radians(a))),
                       fill=(170, 170, 170, 200), width=1)
        # workbench and a bike on a stand
        d.rectangle((0, h * 0.58, w * 0.62, h * 0.62), fill=(110, 80, 50, 255))
        d.rectangle((w * 0.04, h * 0.62, w * 0.08, floor + h * 0.08), fill=(60, 44, 30, 255))
        d.rectangle((w * 0.54, h * 0.62, w * 0.58, floor + h * 0.08), fill=(60, 44, 30, 255))
        for x in (w * 0.2, w * 0.62):
            d.ellipse((x - w * 0.15, h * 0.72, x + w * 0.15, h * 0.92), outline=(20, 20, 20, 255),
                      width=max(8, w // 70))
        d.line([(w * 0.2, h * 0.82), (w * 0.36, h * 0.7), (w * 0.55, h * 0.7), (w * 0.62, h * 0.82),
                (w * 0.42, h * 0.82), (w * 0.2, h * 0.82)], fill=(20, 150, 140, 255), width=max(8, w // 60))
    img = over(img, blurred_layer((w, h), room, 1.6))
    img = apply_texture(img, texture(r, (w, h), 16, 26))
    # the subject: the work lamp hanging over the bench
    cx, cy = fx * w, fy * h
    img = over(img, blurred_layer((w, h), lambda d: d.line((cx, 0, cx, cy), fill=(20, 20, 20, 255),
                                                           width=max(3, w // 300)), 0.8))
    glow(img, (cx, cy + h * 0.15), h * 0.25, (255, 200, 130), falloff=2.0, peak=140)
    subject(img, (cx, cy), w * 0.045, (255, 176, 60))
    return vignette(img, 130)


def bridge_lights(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    horizon = int(h * 0.58)
    img = vgradient((w, h), [(0.0, (8, 12, 36)), (0.5, (30, 40, 84)), (0.58, (60, 56, 96)),
                             (0.59, (16, 20, 44)), (1.0, (8, 10, 24))])
    # skyline far away, lit windows
    def skyline(d: ImageDraw.ImageDraw) -> None:
        x = 0.0
        while x < w:
            bw, bh = w * r.uniform(0.03, 0.07), h * r.uniform(0.05, 0.2)
            d.rectangle((x, horizon - bh, x + bw, horizon), fill=(20, 22, 40, 255))
            for _ in range(int(bw * bh / 900)):
                wx, wy = r.uniform(x + 4, x + bw - 8), r.uniform(horizon - bh + 4, horizon - 8)
                d.rectangle((wx, wy, wx + 5, wy + 7), fill=(255, 210, 140, r.randint(100, 255)))
            x += bw + w * r.uniform(0.0, 0.02)
    img = over(img, blurred_layer((w, h), skyline, 1.5))
    # the bridge: an arch from left to right with lights along the deck
    deck_y = horizon - h * 0.04
    arch_left, arch_right = w * 0.05, w * 0.95
    arch_top = fy * h
    def bridge(d: ImageDraw.ImageDraw) -> None:
        d.rectangle((0, deck_y, w, deck_y + h * 0.02), fill=(12, 12, 22, 255))
        pts = []
        for i in range(81):
            t = i / 80
            x = arch_left + (arch_right - arch_left) * t
            pts.append((x, deck_y - (deck_y - arch_top) * (1 - (2 * t - 1) ** 2)))
        d.line(pts, fill=(14, 14, 26, 255), width=max(6, h // 120), joint="curve")
        for x, y in pts[2:-2:4]:
            d.line((x, y, x, deck_y), fill=(14, 14, 26, 255), width=max(2, h // 600))
    img = over(img, blurred_layer((w, h), bridge, 1.0))
    lights = [(w * i / 40, deck_y) for i in range(41)]
    for x, y in lights:
        col = (255, 200, 120) if int(x) % 3 else (160, 200, 255)
        glow(img, (x, y), h * 0.02, col, falloff=2.0, peak=220)
    # reflections: vertical shimmering streaks under each light
    def reflections(d: ImageDraw.ImageDraw) -> None:
        for x, _ in lights:
            for _ in range(14):
                y = r.uniform(horizon + 4, h * 0.98)
                ln = r.uniform(0.004, 0.015) * w
                d.line((x - ln, y, x + ln, y), fill=(255, 200, 130, r.randint(40, 130)), width=max(2, h // 400))
    img = over(img, blurred_layer((w, h), reflections, 2.0))
    img = apply_texture(img, texture(r, (w, h), 10, 16), lower_mask((w, h), horizon + 4))
    # the subject: the light sculpture at the crown of the arch
    reflection_x = fx * w
    glow(img, (reflection_x, h * 0.8), h * 0.1, (255, 120, 200), falloff=2.0, peak=120)
    subject(img, (fx * w, fy * h), h * 0.04, (255, 80, 190))
    return vignette(img, 90)


def lantern_cutout(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    """An RGBA cut-out of a handmade bike lantern on a fully transparent background."""
    cx, cy = fx * w, fy * h
    img = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    # soft outer glow with partial alpha (shows off the alpha channel over any backdrop)
    halo = radial_mask(round(w * 0.62), 2.4, 150)
    img.paste(Image.new("RGBA", halo.size, (255, 196, 110, 255)),
              (round(cx - halo.size[0] / 2), round(cy - halo.size[1] / 2)), halo)
    body = Image.new("RGBA", (w, h), (0, 0, 0, 0))
    d = ImageDraw.Draw(body)
    bw, top, bottom = w * 0.19, cy - h * 0.2, cy + h * 0.26
    # handle ring, cap, glass chamber, base
    d.arc((cx - w * 0.11, top - h * 0.2, cx + w * 0.11, top + h * 0.02), 180, 360, fill=(50, 46, 44, 255),
          width=max(6, w // 90))
    d.polygon([(cx - bw * 1.1, top + h * 0.03), (cx, top - h * 0.08), (cx + bw * 1.1, top + h * 0.03)],
              fill=(40, 84, 92, 255))
    d.rounded_rectangle((cx - bw, top + h * 0.03, cx + bw, bottom), radius=w * 0.03, fill=(236, 190, 120, 215))
    for k in range(5):  # frame bars
        x = cx - bw + 2 * bw * k / 4
        d.line((x, top + h * 0.03, x, bottom), fill=(40, 84, 92, 255), width=max(5, w // 120))
    d.rounded_rectangle((cx - bw * 1.15, bottom - h * 0.01, cx + bw * 1.15, bottom + h * 0.06), radius=w * 0.015,
                        fill=(40, 84, 92, 255))
    # a bracket that clips to the handlebar
    d.rectangle((cx - w * 0.03, bottom + h * 0.06, cx + w * 0.03, bottom + h * 0.13), fill=(60, 60, 64, 255))
    d.ellipse((cx - w * 0.07, bottom + h * 0.11, cx + w * 0.07, bottom + h * 0.17), outline=(60, 60, 64, 255),
              width=max(6, w // 100))
    body = body.filter(ImageFilter.GaussianBlur(1.2))
    img = Image.alpha_composite(img, body)
    # brushed-metal/paper texture on the opaque parts only, then the light itself
    rgb, alpha = img.convert("RGB"), img.getchannel("A")
    rgb = apply_texture(rgb, texture(r, (w, h), 40, 18))
    rgb = grain(r, rgb, 3)
    # fully transparent pixels get clean black RGB (no hidden noise, smaller PNG)
    rgb = Image.composite(rgb, Image.new("RGB", (w, h)), alpha.point(lambda a: 255 if a else 0))
    rgba = rgb.convert("RGBA")
    rgba.putalpha(alpha)
    subject(rgba, (cx, cy), w * 0.05, (255, 170, 60))
    return rgba


def logo(r: random.Random, w: int, h: int, fx: float, fy: float) -> Image.Image:
    """The Tidebike logo, the site's icon master: a lantern glowing inside a bike wheel on a teal tile.

    RGBA with transparent corners (a rounded tile), drawn at 4x and reduced for smooth edges.
    """
    k = 4
    W, H = w * k, h * k
    img = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    d = ImageDraw.Draw(img)
    d.rounded_rectangle((0, 0, W - 1, H - 1), radius=W * 0.22, fill=(11, 92, 87, 255))
    cx, cy, rim = fx * W, fy * H, W * 0.33
    glow_layer = Image.new("RGBA", (W, H), (0, 0, 0, 0))
    glow(glow_layer, (cx, cy), rim * 0.9, (255, 190, 100), falloff=2.2, peak=150)
    img = Image.alpha_composite(img, Image.composite(glow_layer, Image.new("RGBA", (W, H)), img.getchannel("A")))
    d = ImageDraw.Draw(img)
    white = (255, 250, 236, 255)
    d.ellipse((cx - rim, cy - rim, cx + rim, cy + rim), outline=white, width=round(W * 0.035))
    for i in range(12):  # spokes, each a little off the regular angle so the wheel looks hand-drawn
        a = math.radians(i * 30 + r.uniform(-2, 2))
        d.line((cx + rim * 0.28 * math.cos(a), cy + rim * 0.28 * math.sin(a),
                cx + rim * 0.97 * math.cos(a), cy + rim * 0.97 * math.sin(a)), fill=(255, 250, 236, 200),
               width=round(W * 0.008))
    lw, lh = rim * 0.34, rim * 0.5  # the lantern: cap, glowing body, base
    d.polygon([(cx - lw * 1.2, cy - lh * 0.9), (cx, cy - lh * 1.45), (cx + lw * 1.2, cy - lh * 0.9)], fill=white)
    d.rounded_rectangle((cx - lw, cy - lh * 0.9, cx + lw, cy + lh * 0.8), radius=lw * 0.35,
                        fill=(255, 196, 92, 255), outline=white, width=round(W * 0.012))
    d.rectangle((cx - lw * 1.2, cy + lh * 0.8, cx + lw * 1.2, cy + lh * 1.05), fill=white)
    return img.resize((w, h), Image.Resampling.LANCZOS)


# --------------------------------------------------------------------------------------
# The sample set
# --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Sample:
    name: str
    size: tuple[int, int]  # displayed width x height
    focal: tuple[float, float]  # in the displayed image
    scene: Callable[[random.Random, int, int, float, float], Image.Image]
    alt: str
    grain: int = 5
    orientation: int = 1  # stored with this EXIF orientation (pixels rotated to match)
    gps: bool = False


SAMPLES = [
    Sample("harbour-dawn.jpg", (2400, 1600), (0.62, 0.47), harbour_dawn,
           "The harbour at dawn: the sun rises over the water behind moored sailing boats, "
           "with crane silhouettes on the quay to the left."),
    Sample("lantern-loop-panorama.jpg", (3000, 1500), (0.34, 0.72), lantern_loop_panorama,
           "Panorama of the coastal dunes at dusk, a winding path lit by a string of lanterns "
           "running from the bottom left towards the sea."),
    Sample("market-stalls.jpg", (2560, 1440), (0.47, 0.3), market_stalls,
           "Evening night market: striped awnings over lit food stalls, strings of lights overhead "
           "and a large glowing red paper lantern above the central stall."),
    Sample("rider-portrait.jpg", (1600, 2000), (0.5, 0.36), rider_portrait,
           "Portrait of a cyclist in a teal jacket and red helmet with a bright headlamp, "
           "blurred city lights behind her at dusk.", orientation=6),
    Sample("lighthouse-point.jpg", (1800, 1800), (0.6, 0.32), lighthouse_point,
           "A red and white striped lighthouse on a rocky headland at dusk, its lamp shining "
           "a faint beam over the sea.", gps=True),
    Sample("mechanic-workshop.jpg", (1400, 2100), (0.38, 0.42), mechanic_workshop,
           "Inside the bike workshop: spare wheels on the wall, crates on shelves, a glowing work lamp "
           "over the workbench and a teal bike parked below it.", grain=6),
    Sample("bridge-lights.jpg", (2400, 1800), (0.7, 0.24), bridge_lights,
           "A bridge arch over the river at night, lights along its deck reflected in the water "
           "and a pink light sculpture glowing at the top of the arch."),
    Sample("lantern-cutout.png", (1200, 1200), (0.5, 0.46), lantern_cutout,
           "A handmade paper bike lantern with a teal frame and handlebar clip, glowing warm "
           "orange, cut out on a transparent background."),
    Sample("logo.png", (1024, 1024), (0.5, 0.5), logo,
           "Tidebike logo: a glowing lantern inside a bike wheel on a teal tile."),
]


def exif_for(sample: Sample) -> bytes:
    exif = Image.Exif()
    if sample.orientation != 1:
        exif[Base.Orientation] = sample.orientation
    if sample.gps:
        exif[Base.Make] = "SampleCam"
        exif[Base.Model] = "SC-1 (fictional camera)"
        exif[Base.Software] = "contentpipe make_sample_images.py"
        exif[Base.DateTime] = "2026:03:14 19:42:10"
        gps = exif.get_ifd(IFD.GPSInfo)
        # A fake position at sea off a fictional coast: 52° 13' 48.6" N, 3° 58' 12.3" E.
        gps[GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        gps[GPS.GPSLatitudeRef] = "N"
        gps[GPS.GPSLatitude] = (IFDRational(52, 1), IFDRational(13, 1), IFDRational(486, 10))
        gps[GPS.GPSLongitudeRef] = "E"
        gps[GPS.GPSLongitude] = (IFDRational(3, 1), IFDRational(58, 1), IFDRational(123, 10))
        gps[GPS.GPSAltitudeRef] = b"\x00"
        gps[GPS.GPSAltitude] = IFDRational(12, 1)
        exif_ifd = exif.get_ifd(IFD.Exif)
        exif_ifd[0x9003] = "2026:03:14 19:42:10"  # DateTimeOriginal
        exif_ifd[0xA433] = "SampleCam"  # LensMake
        exif_ifd[0xA431] = "SC1-000042"  # BodySerialNumber
    return exif.tobytes()


def yaml_str(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)  # a JSON string is a valid YAML double-quoted scalar


def sidecar(sample: Sample) -> str:
    x, y = sample.focal
    return (f"alt: {yaml_str(sample.alt)}\n"
            f"focal_point: {{x: {x}, y: {y}}}\n"
            f"credit: {yaml_str(CREDIT)}\n"
            f"rights: {yaml_str(RIGHTS)}\n")


def make(sample: Sample, out_dir: Path) -> Path:
    r = rng_for(sample.name)
    w, h = sample.size
    img = sample.scene(r, w, h, *sample.focal)
    path = out_dir / sample.name
    if sample.name.endswith(".png"):
        img.save(path, "PNG", optimize=False, compress_level=9)
    else:
        img = grain(r, img.convert("RGB"), sample.grain)
        if sample.orientation == 6:
            # Orientation 6 means "rotate 90° clockwise to display", so store it 90° counter-clockwise.
            img = img.transpose(Image.Transpose.ROTATE_90)
        elif sample.orientation != 1:
            raise ValueError(f"unsupported orientation {sample.orientation}")
        exif = exif_for(sample)
        img.save(path, "JPEG", quality=85, optimize=True, progressive=False, subsampling="4:2:0",
                 **({"exif": exif} if exif else {}))
    Path(str(path) + ".yml").write_text(sidecar(sample), encoding="utf-8")
    return path


def main(argv: list[str]) -> int:
    out_dir = Path(argv[1]) if len(argv) > 1 else DEFAULT_OUT
    out_dir.mkdir(parents=True, exist_ok=True)
    for sample in SAMPLES:
        path = make(sample, out_dir)
        print(f"wrote {path} ({path.stat().st_size:,} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
