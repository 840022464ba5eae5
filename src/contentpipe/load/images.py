"""Image masters: header facts (size after EXIF orientation, format), content hash, sidecar.

Reading a header is cheap; hashing megabytes is not, so hashes and header
facts are cached by (size, mtime) in the build cache, as git does for its index.
"""

from __future__ import annotations

import hashlib
import warnings
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from PIL import Image, UnidentifiedImageError

from contentpipe.cachefile import load_json, save_json
from contentpipe.errors import ContentpipeError, Problems, SourcePos
from contentpipe.load.yamlsource import YamlSyntaxError, key_lines, load_yaml

IMAGE_SUFFIXES = {".jpg": "JPEG", ".jpeg": "JPEG", ".png": "PNG", ".webp": "WEBP",
                  ".gif": "GIF", ".avif": "AVIF", ".tif": "TIFF", ".tiff": "TIFF", ".bmp": "BMP"}
# Image files we recognise but cannot use as masters: an error names them rather than a silent skip.
UNSUPPORTED_SUFFIXES = (".heic", ".heif", ".jxl", ".svg", ".psd", ".raw", ".cr2", ".cr3", ".nef", ".arw",
                        ".dng", ".eps", ".ico")
SIDECAR_KEYS = ("alt", "focal_point", "credit", "rights")
MAX_PIXELS = 80_000_000  # beyond this a master is treated as a decompression bomb
_ROTATED = {5, 6, 7, 8}  # EXIF orientations that swap width and height
HASH_CACHE_VERSION = 2



@dataclass(frozen=True)
class Focal:
    x: float = 0.5
    y: float = 0.5


@dataclass(frozen=True)
class ImageMaster:
    path: Path
    rel: PurePosixPath  # relative to the project root
    sha256: str
    width: int  # as displayed, after EXIF orientation
    height: int
    format: str
    has_alpha: bool
    animated: bool
    alt: str | None
    focal: Focal | None
    credit: str
    rights: str

    @property
    def stem(self) -> str:
        return self.path.stem


class HashCache:
    """sha256 and header facts per file, trusted while size and mtime are unchanged."""

    def __init__(self, file: Path) -> None:
        self.file = file
        self.entries: dict[str, list[Any]] = load_json(file, HASH_CACHE_VERSION)
        self.dirty = False

    def get(self, path: Path) -> list[Any] | None:
        st = path.stat()
        entry = self.entries.get(str(path))
        if entry and entry[0] == st.st_size and entry[1] == st.st_mtime_ns:
            return entry[2:]
        return None

    def put(self, path: Path, facts: list[Any]) -> None:
        st = path.stat()
        self.entries[str(path)] = [st.st_size, st.st_mtime_ns, *facts]
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            save_json(self.file, HASH_CACHE_VERSION, self.entries)


def file_sha256(path: Path) -> str:
    with path.open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def read_header(path: Path) -> tuple[int, int, str, bool, bool]:
    """(width, height) as displayed, the real format, transparency and animation.

    Refuses decompression bombs, files whose extension lies about their format and
    anything Pillow cannot identify, each with a message naming the file.
    """
    where = SourcePos(path)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(path) as im:
                fmt = im.format or "?"
                w, h = im.size
                alpha = im.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in im.info
                animated = bool(getattr(im, "is_animated", False))
                orientation = im.getexif().get(0x0112, 1) if fmt in ("JPEG", "WEBP", "PNG", "TIFF") else 1
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        raise ContentpipeError(f"refused as a decompression bomb: {err}", where) from err
    except UnidentifiedImageError as err:
        raise ContentpipeError("not an image Pillow can read (unknown or corrupt format)", where) from err
    except (OSError, SyntaxError, ValueError) as err:
        raise ContentpipeError(f"cannot read image: {err}", where) from err
    expected = IMAGE_SUFFIXES.get(path.suffix.lower())
    if expected and fmt != expected:
        raise ContentpipeError(f"file extension says {expected} but the file is {fmt}", where,
                               hint="rename it to match its format")
    if w * h > MAX_PIXELS:
        raise ContentpipeError(f"{w}x{h} is {w * h / 1e6:.0f} megapixels, over the "
                               f"{MAX_PIXELS / 1e6:.0f} MP limit; refused as a decompression bomb", where)
    if orientation in _ROTATED:
        w, h = h, w
    return w, h, fmt, alpha, animated


def parse_focal(value: object, where: SourcePos) -> Focal:
    """A focal point from {x: .., y: ..} or [x, y], fractions from the top left."""
    if isinstance(value, dict) and set(value) == {"x", "y"}:
        x, y = value["x"], value["y"]
    elif isinstance(value, list | tuple) and len(value) == 2:
        x, y = value
    else:
        raise ContentpipeError("focal_point must be {x: 0.5, y: 0.4} or [0.5, 0.4]", where)
    if not all(isinstance(v, int | float) and not isinstance(v, bool) and 0 <= v <= 1 for v in (x, y)):
        raise ContentpipeError(f"focal_point values must be numbers from 0 to 1, got {x!r}, {y!r}", where)
    return Focal(float(x), float(y))


def read_sidecar(path: Path, problems: Problems) -> dict[str, Any]:
    """The sidecar's values; problems name the sidecar file and line."""
    try:
        text = path.read_text(encoding="utf-8")
        data = load_yaml(text)
    except YamlSyntaxError as err:
        problems.error(f"invalid YAML: {err.message}", SourcePos(path, err.line))
        return {}
    except (OSError, UnicodeDecodeError) as err:
        problems.error(f"cannot read sidecar: {err}", SourcePos(path))
        return {}
    if data is None:
        return {}
    if not isinstance(data, dict):
        problems.error("a sidecar must be a YAML mapping (alt, focal_point, credit, rights)", SourcePos(path))
        return {}
    lines = key_lines(text)
    out: dict[str, Any] = {}
    for key, value in data.items():
        where = SourcePos(path, lines.get(str(key)), str(key))
        if key not in SIDECAR_KEYS:
            problems.warning(f"unknown sidecar key (known: {', '.join(SIDECAR_KEYS)})", where)
        elif key == "focal_point":
            try:
                out[key] = parse_focal(value, where)
            except ContentpipeError as err:
                problems.add(err.problem)
        elif not isinstance(value, str):
            problems.error(f"expected text, got {value!r}", where)
        else:
            out[key] = value
    return out


def load_image(path: Path, project_root: Path, cache: HashCache, problems: Problems) -> ImageMaster | None:
    """An image master with its sidecar, or None (and a problem) when it cannot be used."""
    try:
        facts = cache.get(path)
        if facts is None:
            facts = [file_sha256(path), *read_header(path)]
            cache.put(path, facts)
    except ContentpipeError as err:
        problems.add(err.problem)
        return None
    sidecar = path.with_name(path.name + ".yml")
    if not sidecar.exists():
        sidecar = path.with_name(path.name + ".yaml")
    meta = read_sidecar(sidecar, problems) if sidecar.exists() else {}
    sha, w, h, fmt, alpha, animated = facts
    if animated:
        problems.warning("animated image: renditions use its first frame", SourcePos(path))
    return ImageMaster(path=path, rel=PurePosixPath(path.relative_to(project_root).as_posix()),
                       sha256=sha, width=w, height=h, format=fmt, has_alpha=alpha, animated=animated,
                       alt=meta.get("alt"), focal=meta.get("focal_point"), credit=meta.get("credit", ""),
                       rights=meta.get("rights", ""))
