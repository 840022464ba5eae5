"""Real image files for tests: orientation, CMYK, ICC profiles, GPS EXIF, transparency, animation."""

from __future__ import annotations

import io
import struct

from PIL import Image, ImageDraw, TiffImagePlugin

RED, GREEN, BLUE, WHITE = (230, 20, 20), (20, 200, 40), (20, 40, 230), (255, 255, 255)


def encode(img: Image.Image, fmt: str = "JPEG", **params: object) -> bytes:
    buf = io.BytesIO()
    img.save(buf, fmt, **params)
    return buf.getvalue()


def marked(size: tuple[int, int], dot: tuple[float, float], dot_colour: tuple[int, int, int] = RED,
           radius: int = 40) -> Image.Image:
    """Blue-grey picture with a sky band at the top and a bright dot at a fractional position."""
    w, h = size
    img = Image.new("RGB", size, (90, 100, 110))
    draw = ImageDraw.Draw(img)
    draw.rectangle((0, 0, w, h // 10), fill=BLUE)
    x, y = dot[0] * w, dot[1] * h
    draw.ellipse((x - radius, y - radius, x + radius, y + radius), fill=dot_colour)
    return img


def rotated_jpeg(size: tuple[int, int] = (1200, 1800)) -> bytes:
    """A portrait scene stored as landscape pixels with EXIF orientation 6 (as phones do)."""
    upright = marked(size, (0.5, 0.5))
    stored = upright.transpose(Image.Transpose.ROTATE_90)
    exif = Image.Exif()
    exif[0x0112] = 6
    return encode(stored, "JPEG", quality=90, exif=exif.tobytes())


def gps_jpeg(size: tuple[int, int] = (1600, 1000)) -> bytes:
    """A JPEG carrying GPS coordinates, camera make/model, an artist and an XMP packet."""
    exif = Image.Exif()
    exif[0x010F] = "SpyCam"
    exif[0x0110] = "Model X"
    exif[0x013B] = "Secret Photographer"
    rat = TiffImagePlugin.IFDRational
    exif[0x8825] = {1: "N", 2: (rat(52, 1), rat(22, 1), rat(1234, 100)), 3: "E",
                    4: (rat(4, 1), rat(53, 1), rat(5678, 100))}
    xmp = b'<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF/></x:xmpmeta>'
    return encode(marked(size, (0.3, 0.6)), "JPEG", quality=90, exif=exif.tobytes(), xmp=xmp)


def cmyk_jpeg(size: tuple[int, int] = (1000, 800)) -> bytes:
    """Pure cyan in CMYK: must come out cyan-ish RGB (0, 255, 255)."""
    return encode(Image.new("CMYK", size, (255, 0, 0, 0)), "JPEG", quality=95)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def swapped_primaries_icc() -> bytes:
    """A minimal ICC v2 RGB profile whose red and blue primaries are swapped.

    An image tagged with it that stores pure red *means* pure blue, so a
    pipeline that converts to sRGB turns it blue, and one that ignores the
    profile leaves it red: the conversion is visible in one pixel.
    """
    def xyz(x: float, y: float, z: float) -> bytes:
        return b"XYZ " + b"\0" * 4 + _s15(x) + _s15(y) + _s15(z)

    def curv(gamma: float) -> bytes:
        return b"curv" + b"\0" * 4 + struct.pack(">IH", 1, round(gamma * 256)) + b"\0\0"

    text = b"swapped\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 8 + b"\0" * 3 + b"\0" * 67
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    tags = [(b"desc", desc), (b"cprt", b"text\0\0\0\0none\0"), (b"wtpt", xyz(0.9642, 1.0, 0.8249)),
            (b"rXYZ", xyz(*blue)), (b"gXYZ", xyz(*green)), (b"bXYZ", xyz(*red)),
            (b"rTRC", curv(2.2)), (b"gTRC", curv(2.2)), (b"bTRC", curv(2.2))]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    body = struct.pack(">I", len(tags)) + table + data
    header = (struct.pack(">I", 128 + len(body)) + b"lcms" + struct.pack(">I", 0x02100000) + b"mntrRGB XYZ "
              + b"\0" * 12 + b"acspAPPL" + b"\0" * 20 + struct.pack(">I", 0)
              + _s15(0.9642) + _s15(1.0) + _s15(0.8249) + b"\0" * 48)
    assert len(header) == 128
    return header + body


def icc_tagged_jpeg(size: tuple[int, int] = (900, 600)) -> bytes:
    return encode(Image.new("RGB", size, (255, 0, 0)), "JPEG", quality=95, icc_profile=swapped_primaries_icc())


def transparent_png(size: tuple[int, int] = (800, 800)) -> bytes:
    img = Image.new("RGBA", size, (0, 0, 0, 0))
    ImageDraw.Draw(img).ellipse((200, 200, 600, 600), fill=(*RED, 255))
    return encode(img, "PNG")


def palette_png(size: tuple[int, int] = (600, 400)) -> bytes:
    return encode(marked(size, (0.5, 0.5)).convert("P", palette=Image.Palette.ADAPTIVE), "PNG")


def animated_gif(size: tuple[int, int] = (400, 300)) -> bytes:
    frames = [Image.new("RGB", size, colour) for colour in (RED, GREEN, BLUE)]
    return encode(frames[0], "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)


def bomb_png(width: int = 30_000, height: int = 30_000) -> bytes:
    """A few-KB PNG that claims 30,000 x 30,000 pixels (Pillow refuses to write one)."""
    import zlib

    def chunk(kind: bytes, payload: bytes) -> bytes:
        return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))

    row = b"\x00" + b"\x00" * (width // 8 + 1)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row, 9)) + chunk(b"IEND", b""))


def colour_near(pixel: tuple[int, ...], target: tuple[int, int, int], tolerance: int = 40) -> bool:
    return all(abs(a - b) <= tolerance for a, b in zip(pixel[:3], target, strict=True))


def grey16_png(size: tuple[int, int] = (600, 400), level: int = 30000) -> bytes:
    """A 16-bit greyscale PNG (mode I;16) at ``level`` of 65535."""
    return encode(Image.new("I;16", size, level), "PNG")
