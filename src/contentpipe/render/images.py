"""The rendition engine: decode each master once, make every rendition it needs, cache by name.

Rendition names are content hashes of (master bytes, spec, engine version), so a
file of that name in the cache is always right: a warm build encodes nothing.
Work runs in a process pool, one task per master (decode once, then resize and
encode each spec from the decoded pixels, largest first).
"""

from __future__ import annotations

import hashlib
import io
import logging
import multiprocessing
import warnings
from collections import defaultdict
from collections.abc import Callable, Iterable
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from PIL import Image, ImageCms, ImageOps

from contentpipe.cachefile import load_json, save_json
from contentpipe.errors import Problems, SourcePos
from contentpipe.renditions import ICO_SIZES, Rendition, RenditionSpec
from contentpipe.write import atomic_write

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]
STORE_VERSION = 1
EXIF_TAGS = {"Artist": 0x013B, "Copyright": 0x8298}
_SRGB = ImageCms.createProfile("sRGB")


@dataclass(frozen=True)
class Made:
    """A rendition file in the cache: its content hash and size."""

    name: str
    path: Path
    sha256: str
    size: int


class RenditionStore:
    """A content-addressed folder of renditions, with an index of their hashes."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.index_file = folder / "index.json"
        self.index: dict[str, list[object]] = load_json(self.index_file, STORE_VERSION)
        self.added: dict[str, list[object]] = {}

    def get(self, name: str) -> Made | None:
        path = self.folder / name
        entry = self.index.get(name)
        if entry is None and path.is_file():  # made by a build sharing this store; files are whole (renamed in)
            data = path.read_bytes()
            entry = self.index[name] = [hashlib.sha256(data).hexdigest(), len(data)]
            self.added[name] = entry
        if entry and path.exists():
            return Made(name, path, str(entry[0]), int(str(entry[1])))
        return None

    def add(self, made: Made) -> None:
        self.index[made.name] = self.added[made.name] = [made.sha256, made.size]

    def save(self) -> None:
        """Merge this build's entries into the index as it is now: builds sharing the store keep theirs."""
        if self.added:
            self.index = {**load_json(self.index_file, STORE_VERSION), **self.added}
            save_json(self.index_file, STORE_VERSION, self.index)
            self.added = {}


def make_renditions(renditions: Iterable[Rendition], store: RenditionStore, jobs: int, problems: Problems,
                    progress: Progress | None = None) -> tuple[dict[str, Made], int, set[Path]]:
    """Every rendition made or found in the store.

    Returns them by name, how many were encoded, and the masters that could not
    be decoded (each reported as an error naming the master).
    """
    done: dict[str, Made] = {}
    failed: set[Path] = set()
    todo: dict[Path, list[Rendition]] = defaultdict(list)
    for r in renditions:
        if (made := store.get(r.name)) is not None:
            done[r.name] = made
        else:
            todo[r.master.path].append(r)
    if not todo:
        store.save()  # entries adopted from a build sharing the store
        return done, 0, failed
    store.folder.mkdir(parents=True, exist_ok=True)
    # largest masters first, so the last tasks are short and both workers finish together
    order = sorted(todo.items(), key=lambda kv: (-kv[1][0].master.width * kv[1][0].master.height, kv[0]))
    tasks = [(str(path), [(r.name, r.spec) for r in rs], str(store.folder)) for path, rs in order]
    total, count, encoded = sum(len(t[1]) for t in tasks), 0, 0

    def collect(path: str, result: list[tuple[str, str, int]] | str) -> None:
        nonlocal count, encoded
        if isinstance(result, str):
            problems.error(result, SourcePos(Path(path)))
            failed.add(Path(path))
            count += len(todo[Path(path)])
        else:
            for name, sha, size in result:
                made = Made(name, store.folder / name, sha, size)
                store.add(made)
                done[name] = made
                encoded += 1
                count += 1
        if progress:
            progress("renditions", count, total)

    if jobs <= 1 or len(tasks) == 1:
        for task in tasks:
            collect(task[0], _render_master_safe(*task))
    else:
        left = _in_pool(tasks, min(jobs, len(tasks)), collect)
        if left:  # a worker died (killed, or a decoder crashed): again once, then each master alone
            left = _in_pool(left, min(jobs, len(left)), collect)
        for task in left:
            if _in_pool([task], 1, collect):
                collect(task[0], "the image worker died making its renditions (a crash in the decoder?)")
    store.save()
    return done, encoded, failed


_Task = tuple[str, list[tuple[str, RenditionSpec]], str]


def _in_pool(tasks: list[_Task], workers: int, collect: Callable[[str, Any], None]) -> list[_Task]:
    """Run tasks in a process pool; the tasks not done when a worker died (none when all went well)."""
    ctx = multiprocessing.get_context("forkserver")
    done: set[str] = set()
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=ctx) as pool:
            futures: dict[Future[list[tuple[str, str, int]] | str], str] = {
                pool.submit(_render_master_safe, *task): task[0] for task in tasks}
            for fut in as_completed(futures):
                collect(futures[fut], fut.result())
                done.add(futures[fut])
    except BrokenProcessPool:
        log.warning("an image worker died; %d masters left to make again", len(tasks) - len(done))
    return [t for t in tasks if t[0] not in done]


def _render_master_safe(path: str, specs: list[tuple[str, RenditionSpec]],
                        out_dir: str) -> list[tuple[str, str, int]] | str:
    """Run in a worker: the made files, or an error message for the master."""
    try:
        return render_master(Path(path), specs, Path(out_dir))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as err:
        return f"refused as a decompression bomb: {err}"
    except (OSError, SyntaxError, ValueError) as err:
        return f"cannot decode image: {err}"


def render_master(path: Path, specs: list[tuple[str, RenditionSpec]], out_dir: Path) -> list[tuple[str, str, int]]:
    """Every spec of one master, decoded once per JPEG DCT scale that its specs need.

    A rendition's pixels depend on its master and its spec only, never on which
    other renditions of the master this build happens to make (a cache that
    already holds the large ones must not change the bytes of the small ones).
    """
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)  # the header check ran already
        with Image.open(path) as probe:
            by_scale: dict[int, list[tuple[str, RenditionSpec]]] = {}
            for name, spec in specs:
                by_scale.setdefault(dct_scale(probe, spec), []).append((name, spec))
        made = []
        for scale, group in sorted(by_scale.items()):
            with Image.open(path) as opened:
                img = _decode(opened, scale)
            made += _make(img, group, out_dir)
    return made


def _make(img: Image.Image, specs: list[tuple[str, RenditionSpec]], out_dir: Path) -> list[tuple[str, str, int]]:
    made = []
    resized: dict[tuple[object, ...], Image.Image] = {}  # one resize per geometry, shared by its formats
    for name, spec in sorted(specs, key=lambda s: (-s[1].width * s[1].height, s[1].key())):
        geometry = (spec.width, spec.height, spec.crop, spec.pad, spec.background if spec.pad else None,
                    spec.format == "jpeg" and spec.pad is not None, spec.caption)
        if geometry not in resized:  # largest first: earlier sizes are not needed again
            out = transform(img, spec)
            resized = {geometry: title_card(out, spec.caption) if spec.caption else out}
        made.append((name, *_write(out_dir / name, encode(resized[geometry], spec))))
    return made


def dct_scale(im: Image.Image, spec: RenditionSpec) -> int:
    """The JPEG DCT scale (1, 2, 4 or 8) a spec allows: the largest that still decodes enough pixels."""
    if im.format != "JPEG":
        return 1
    w, h = im.size
    if im.getexif().get(0x0112, 1) in (5, 6, 7, 8):
        w, h = h, w
    need = max((spec.pad[2] if spec.pad else spec.width) / ((spec.crop.right - spec.crop.left) * w),
               (spec.pad[3] if spec.pad else spec.height) / ((spec.crop.bottom - spec.crop.top) * h))
    scale = 1
    while scale < 8 and 2 * scale * need < 1:
        scale *= 2
    return scale


def transform(img: Image.Image, spec: RenditionSpec) -> Image.Image:
    """Crop, resize (Lanczos, with reduce() first for big steps) and pad one decoded master."""
    c = spec.crop
    w, h = img.size
    box = (c.left * w, c.top * h, c.right * w, c.bottom * h)
    size = (spec.pad[2], spec.pad[3]) if spec.pad else (spec.width, spec.height)
    out = img.resize(size, Image.Resampling.LANCZOS, box=box, reducing_gap=3.0)
    if spec.pad is None:
        return out
    transparent = spec.background == "transparent" and spec.format != "jpeg"
    canvas = (Image.new("RGBA", (spec.width, spec.height), (0, 0, 0, 0)) if transparent
              else Image.new("RGB", (spec.width, spec.height), _hex(spec.background)))
    canvas.paste(out, spec.pad[:2], out if out.mode == "RGBA" else None)
    return canvas


def title_card(img: Image.Image, title: str) -> Image.Image:
    """The title set in white over a dark band at the bottom: a share card that reads without its post.

    Pillow's built-in scalable font (Aileron) keeps builds reproducible with no
    font files to install; it covers Latin scripts. At most three lines; a
    longer title ends in an ellipsis.
    """
    from PIL import ImageDraw, ImageFont

    w, h = img.size
    size = max(12, round(min(w, h) / 15))
    font = ImageFont.load_default(size=size)
    margin, width = round(size * 1.2), w - 2 * round(size * 1.2)
    lines: list[str] = []
    for word in title.split():
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    if len(lines) > 3:
        lines = lines[:3]
        while lines[2] and font.getlength(lines[2] + "…") > width:
            lines[2] = lines[2].rsplit(" ", 1)[0] if " " in lines[2] else lines[2][:-1]
        lines[2] += "…"
    line_h = round(size * 1.25)
    band = len(lines) * line_h + 2 * margin
    base = img.convert("RGBA")
    shade = Image.new("L", (1, band))
    shade.putdata([round(200 * min(1.0, y / (band * 0.35))) for y in range(band)])  # fade in, then dark
    overlay = Image.new("RGBA", (w, band), (0, 0, 0, 0))
    overlay.putalpha(shade.resize((w, band)))
    base.alpha_composite(overlay, (0, h - band))
    draw = ImageDraw.Draw(base)
    for i, line in enumerate(lines):
        draw.text((margin, h - band + margin + i * line_h), line, font=font, fill=(255, 255, 255, 255))
    return base if img.mode == "RGBA" else base.convert(img.mode)


def _hex(colour: str) -> tuple[int, int, int]:
    return (int(colour[1:3], 16), int(colour[3:5], 16), int(colour[5:7], 16)) if colour[:1] == "#" else (255, 255, 255)


def _decode(im: Image.Image, scale: int = 1) -> Image.Image:
    """Decode at 1/``scale`` (JPEG DCT scaling; see dct_scale), upright, in sRGB."""
    orientation = im.getexif().get(0x0112, 1)
    if im.format == "JPEG" and scale > 1:
        im.draft("RGB" if im.mode == "RGB" else im.mode, (im.size[0] // scale, im.size[1] // scale))
    im.load()
    icc = im.info.get("icc_profile")
    img = ImageOps.exif_transpose(im) if orientation != 1 else im
    has_alpha = img.mode in ("RGBA", "LA", "PA", "RGBa", "La") or "transparency" in img.info
    if icc:
        try:
            src_profile = ImageCms.ImageCmsProfile(io.BytesIO(icc))
            if img.mode not in ("RGB", "RGBA", "CMYK", "L"):
                img = img.convert("RGBA" if has_alpha else "RGB")
            out_mode = "RGBA" if img.mode == "RGBA" else "RGB"
            converted = ImageCms.profileToProfile(img, src_profile, _SRGB, outputMode=out_mode)
            if converted is not None:
                img = converted
        except (ImageCms.PyCMSError, OSError, ValueError) as err:
            log.warning("%s: embedded colour profile ignored (%s)", getattr(im, "filename", "?"), err)
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):  # 16-bit grey: scale to 8 bits (convert() would clip)
        img = img.point(lambda v: v / 256).convert("L")
    target = "RGBA" if has_alpha else "RGB"
    if img.mode != target:
        img = img.convert(target)
    img.info = {}  # nothing of the master's metadata (EXIF, GPS, XMP, ICC) reaches a rendition
    return img


def encode(img: Image.Image, spec: RenditionSpec) -> bytes:
    """Encode with the spec's format and quality; the only metadata written is spec.metadata."""
    buf = io.BytesIO()
    exif = b""
    if spec.metadata:
        tags = Image.Exif()
        for name, value in spec.metadata:
            tags[EXIF_TAGS[name]] = value
        exif = tags.tobytes()
    if spec.format == "jpeg":
        if img.mode == "RGBA":
            flat = Image.new("RGB", img.size, (255, 255, 255))
            flat.paste(img, mask=img.getchannel("A"))
            img = flat
        # optimize: Huffman tables fitted to the image (as sharp/mozjpeg do); progressive: smaller still
        img.save(buf, "JPEG", quality=spec.quality, optimize=True, progressive=True, exif=exif)
    elif spec.format == "webp":
        img.save(buf, "WEBP", quality=spec.quality, method=4, exif=exif)
    elif spec.format == "avif":
        img.save(buf, "AVIF", quality=spec.quality, speed=8, max_threads=1, exif=exif)
    elif spec.format == "ico":  # favicon.ico: PNG frames at the sizes browsers pick from
        img.save(buf, "ICO", sizes=[(s, s) for s in ICO_SIZES])
    else:
        img.save(buf, "PNG", compress_level=6, exif=exif)
    return buf.getvalue()


def _write(path: Path, data: bytes) -> tuple[str, int]:
    atomic_write(path, lambda fh: fh.write(data))
    return hashlib.sha256(data).hexdigest(), len(data)
