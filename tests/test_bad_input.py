"""Bad input: each problem has a clear message with file and line, and the rest still builds."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MINIMAL_CONFIG, article, jpeg_bytes
from contentpipe import Project


def located(result: object, root: Path) -> set[tuple[str, int | None, str]]:
    return {(p.where.path.relative_to(root).as_posix() if p.where.path.is_relative_to(root) else str(p.where.path),
             p.where.line, p.message) for p in result.errors}  # type: ignore[attr-defined]


@pytest.fixture
def messy_project(make_project: Callable[..., Path]) -> Path:
    return make_project({
        "assets/images/photo.jpg": jpeg_bytes(),
        "assets/images/photo.jpg.yml": "alt: A photo\nfocal_point: {x: 0.5, y: 0.5}\n",
        "assets/good.md": article("Good one", "hero: images/photo.jpg\n",
                                  "Intro.\n\n![inline](images/photo.jpg)\n\n[other](good.nl.md)\n"),
        "assets/good.nl.md": article("Goede", body="Tekst.\n"),
        "assets/broken-yaml.md": "---\ntitle: Broken\ntags: [a, b\ndate: 2026-01-01\n---\nBody\n",
        "assets/no-title.md": "---\ndate: 2026-01-01\n---\nBody\n",
        "assets/no-front-matter.md": "# Just markdown\n",
        "assets/bad-date.md": article("Bad date").replace("date: 2026-03-01T10:00:00Z", "date: next tuesday"),
        "assets/missing-hero.md": article("Missing hero", "hero: images/nope.jpg\n"),
        "assets/missing-inline.md": article("Missing inline", body="Line one.\n\n![x](images/gone.png)\n"),
        "assets/broken-link.md": article("Broken link", body="See [this](nowhere.md).\n"),
        "assets/escape.md": article("Escape", "slug: ../../etc\n"),
        "assets/unknown-locale.de.md": article("Deutsch"),
        "assets/images/corrupt.jpg": b"\xff\xd8\xff\xe0 this is not really a jpeg",
        "assets/images/liar.png": jpeg_bytes(),
        "assets/images/bad-sidecar.jpg": jpeg_bytes(),
        "assets/images/bad-sidecar.jpg.yml": "alt: ok\nfocal_point: {x: 3, y: 0.5}\n",
    })


def test_every_problem_is_reported_with_file_and_line(messy_project: Path) -> None:
    result = Project.load(messy_project).build()
    got = located(result, messy_project)
    expected = {
        ("assets/broken-yaml.md", 4, "malformed front matter: did not find expected ',' or ']'"),
        ("assets/no-title.md", 1, "missing required key 'title'"),
        ("assets/no-front-matter.md", 1, "no front matter: a document starts with '---', YAML, then '---'"),
        ("assets/bad-date.md", 3, "expected an ISO 8601 date like 2026-03-02 or 2026-03-02T09:00:00Z, "
                                  "got 'next tuesday'"),
        ("assets/missing-hero.md", 4, "image not found: assets/images/nope.jpg"),
        ("assets/missing-inline.md", 8, "image not found: assets/images/gone.png"),
        ("assets/broken-link.md", 6, "link to 'nowhere.md': no such document"),
        ("assets/escape.md", 4, "slug '../../etc' is not one safe path segment (letters, digits, '-', '_', '.', '~')"),
        ("assets/unknown-locale.de.md", None, "locale 'de' is not in site.locales (en, nl)"),
        ("assets/images/corrupt.jpg", None, "cannot read image: cannot identify image file "
                                            f"{str(messy_project / 'assets/images/corrupt.jpg')!r}"),
        ("assets/images/liar.png", None, "file extension says PNG but the file is JPEG"),
        ("assets/images/bad-sidecar.jpg.yml", 2, "focal_point values must be numbers from 0 to 1, got 3, 0.5"),
    }
    missing = {e for e in expected if e not in got}
    # the corrupt-file message comes from Pillow and varies: match it by file only
    assert {m for m in missing if m[0] != "assets/images/corrupt.jpg"} == set()
    assert any(f == "assets/images/corrupt.jpg" for f, _, _ in got)
    # the valid documents were still built, and nothing was written for the broken ones
    out = messy_project / "dist/web"
    assert (out / "good/index.html").is_file()
    assert (out / "nl/good/index.html").is_file()
    assert {p.parent.name for p in out.glob("*/index.html")} == {"good", "nl"}
    assert not any(out.rglob("etc"))
    assert result.manifest is not None and result.manifest.errors == len(result.errors)


def test_cli_exits_1_with_json_listing_every_problem(messy_project: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "contentpipe", "build", str(messy_project), "--json"],
                         capture_output=True, text=True)
    assert run.returncode == 1
    summary = json.loads(run.stdout)
    assert summary["ok"] is False
    assert summary["errors"] >= 12
    assert summary["channels"]["web"]["outputs"] > 0
    files = {p["file"] for p in summary["problems"]}
    assert {"assets/broken-yaml.md", "assets/escape.md", "assets/images/liar.png"} <= files
    first = next(p for p in summary["problems"] if p["file"] == "assets/broken-yaml.md")
    assert first == {"severity": "error", "file": "assets/broken-yaml.md", "line": 4, "key": None,
                     "message": "malformed front matter: did not find expected ',' or ']'"}


def test_all_or_nothing_writes_nothing_when_there_is_an_error(messy_project: Path) -> None:
    result = Project.load(messy_project).build(all_or_nothing=True)
    assert result.errors and not result.wrote_outputs
    assert not (messy_project / "dist").exists()


def test_symlink_out_of_the_project_is_refused(make_project: Callable[..., Path], tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "secret.md").write_text(article("Secret"))
    (outside / "photo.jpg").write_bytes(jpeg_bytes())
    root = make_project({"assets/a.md": article("A", body="![x](linked-photo.jpg)\n")})
    (root / "assets/secret.md").symlink_to(outside / "secret.md")
    (root / "assets/linked-dir").symlink_to(outside)
    (root / "assets/linked-photo.jpg").symlink_to(outside / "photo.jpg")
    result = Project.load(root).build()
    refused = {p.where.path.name for p in result.errors if "symlink points outside the project" in p.message}
    assert refused == {"secret.md", "linked-dir", "linked-photo.jpg"}
    assert not (root / "dist/web/secret").exists()
    assert [p.message for p in result.errors if p.where.path.name == "a.md"] == [
        "image assets/linked-photo.jpg cannot be used (see its own error)"]


def test_symlink_inside_the_project_is_followed(make_project: Callable[..., Path]) -> None:
    root = make_project({"shared/a.md": article("Shared")})
    (root / "assets").mkdir()
    (root / "assets/shared").symlink_to(root / "shared")
    result = Project.load(root).build()
    assert result.ok
    assert (root / "dist/web/shared/a/index.html").is_file()


def test_two_documents_claiming_one_path_are_both_named(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("A", "slug: same\n"),
        "assets/b.md": article("B", "slug: same\n"),
    })
    result = Project.load(root).build()
    [error] = result.errors  # once, though every channel's outputs clash
    assert error.where.path.name == "b.md" and error.where.line == 4
    assert re.fullmatch(f"output '.*same/.*' is also produced by {re.escape(str(root / 'assets/a.md'))}",
                        error.message)


def test_decompression_bomb_header_is_refused(make_project: Callable[..., Path]) -> None:
    import struct
    import zlib

    def png(width: int, height: int) -> bytes:
        def chunk(kind: bytes, data: bytes) -> bytes:
            return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        raw = zlib.compress(b"\x00" * (width // 8 + 1), 9)
        return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0))
                + chunk(b"IDAT", raw) + chunk(b"IEND", b""))

    bomb = png(30_000, 30_000)
    assert len(bomb) < 10_000
    root = make_project({"assets/bomb.png": bomb, "assets/a.md": article("A", "hero: bomb.png\n")})
    result = Project.load(root).build()
    messages = [p.message for p in result.errors if p.where.path.name == "bomb.png"]
    assert messages and "decompression bomb" in messages[0]
    assert result.documents == 0  # the document using it is left out, with its own error


def test_front_matter_key_given_twice_is_named(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A", "tags: [one]\ntags: [two]\n")})
    result = Project.load(root).build()
    [warning] = result.warnings
    assert (warning.where.path.name, warning.where.line, warning.where.key) == ("a.md", 5, "tags")
    assert warning.message == "'tags' is given twice (lines 4 and 5); the second one is used"


def test_a_link_to_a_draft_keeps_its_words_and_loses_the_link(make_project: Callable[..., Path]) -> None:
    from bs4 import BeautifulSoup

    root = make_project({
        "assets/a.md": article("A", body="See [the plan](b.md) soon.\n"),
        "assets/b.md": article("B", "draft: true\n"),
    }, config=MINIMAL_CONFIG + '[channels]\nenabled = ["web", "email"]\n')
    result = Project.load(root).build()
    [warning] = result.warnings  # once, though two channels render the body
    assert warning.message == "link to 'b.md': that document is not built (a draft?)" and warning.where.line == 6
    for page in ("web/a/index.html", "email/a/email.html"):
        body = BeautifulSoup((result.out_dir / page).read_text(encoding="utf-8"), "lxml")
        assert "See the plan soon." in body.get_text(" ", strip=True)
        assert not body.find("a", href=lambda h: h and "b.md" in h)
    assert "See the plan soon." in (result.out_dir / "email/a/email.txt").read_text(encoding="utf-8")
