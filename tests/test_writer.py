"""The writer repairs what was changed in the output folder, and never shares a file with the cache."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable
from pathlib import Path

import pytest
from PIL import Image

from conftest import article, jpeg_bytes
from contentpipe import Project


@pytest.fixture
def own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A rendition cache for this test alone: these tests damage files in the output folder."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("CONTENTPIPE_CACHE_DIR", str(cache))
    return cache


def _project(make_project: Callable[..., Path]) -> Path:
    return make_project({
        "assets/a.md": article("Alpha", "hero: photo.jpg\n"),
        "assets/photo.jpg": jpeg_bytes((1200, 800)),
        "assets/photo.jpg.yml": "alt: A photo\n",
    })


def _renditions(result: object) -> list[object]:
    return [o for o in result.manifest.outputs if o.kind == "rendition"]  # type: ignore[attr-defined]


def test_a_rendition_changed_in_place_is_repaired(make_project: Callable[..., Path], own_cache: Path) -> None:
    root = _project(make_project)
    first = Project.load(root).build(["web"])
    assert first.ok, [str(p) for p in first.errors]
    record = next(o for o in _renditions(first) if o.path.endswith(".jpg"))
    target = root / "dist" / record.path
    good = target.read_bytes()
    damaged = good[:200] + bytes(b ^ 0xFF for b in good[200:400]) + good[400:]
    assert len(damaged) == len(good)
    with target.open("r+b") as fh:  # in place: same file, same size
        fh.write(damaged)

    again = Project.load(root).build(["web"])
    assert again.ok, [str(p) for p in again.errors]
    data = target.read_bytes()
    assert hashlib.sha256(data).hexdigest() == record.sha256
    with Image.open(io.BytesIO(data)) as image:
        image.load()
        assert image.size == (record.extra["width"], record.extra["height"])
    stored = own_cache / "renditions" / Path(record.path).name
    assert hashlib.sha256(stored.read_bytes()).hexdigest() == record.sha256  # the cache was not touched


def test_a_rendition_replaced_by_another_file_is_repaired(make_project: Callable[..., Path],
                                                          own_cache: Path) -> None:
    root = _project(make_project)
    first = Project.load(root).build(["web"])
    record = next(o for o in _renditions(first) if o.path.endswith(".webp"))
    target = root / "dist" / record.path
    good = target.read_bytes()
    target.unlink()
    target.write_bytes(bytes(len(good)))

    again = Project.load(root).build(["web"])
    assert again.ok and hashlib.sha256(target.read_bytes()).hexdigest() == record.sha256
    assert again.written >= 1


def test_renditions_in_the_output_are_not_the_cache_files(make_project: Callable[..., Path],
                                                          own_cache: Path) -> None:
    root = _project(make_project)
    result = Project.load(root).build(["web"])
    records = _renditions(result)
    assert records
    for record in records:
        placed = (root / "dist" / record.path).stat()
        stored = (own_cache / "renditions" / Path(record.path).name).stat()
        assert (placed.st_dev, placed.st_ino) != (stored.st_dev, stored.st_ino)
        assert placed.st_nlink == 1


def test_warm_build_leaves_every_rendition_alone(make_project: Callable[..., Path], own_cache: Path) -> None:
    root = _project(make_project)
    Project.load(root).build(["web"])
    before = {p: p.stat().st_mtime_ns for p in (root / "dist/media").iterdir()}
    again = Project.load(root).build(["web"])
    assert again.written == 0 and again.unchanged > len(before)
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_a_link_planted_at_an_output_path_is_replaced_not_followed(make_project: Callable[..., Path],
                                                                   own_cache: Path, tmp_path: Path) -> None:
    root = _project(make_project)
    Project.load(root).build(["web"])
    outside = tmp_path / "outside.html"
    outside.write_text("someone else's file")
    inside = root / "dist/web/index.html"
    page = root / "dist/web/a/index.html"
    page.unlink()
    page.symlink_to(outside)
    inside.unlink()
    inside.symlink_to(root / "dist/web/a/index.html")

    again = Project.load(root).build(["web"])
    assert again.ok, [str(p) for p in again.errors]
    assert outside.read_text() == "someone else's file"
    for path in (page, inside):
        assert not path.is_symlink() and path.is_file()
    assert b"Alpha" in page.read_bytes() and page.read_bytes() != inside.read_bytes()
