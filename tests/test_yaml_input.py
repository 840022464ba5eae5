"""YAML that the reader refuses (control characters) is one error naming the file; the rest builds."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from conftest import article, jpeg_bytes
from contentpipe import Project


def test_nul_byte_in_front_matter_is_one_error_and_the_rest_builds(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/bad.md": "---\ntitle: Bad\nsummary: \"a\x00b\"\n---\n\nText.\n",
        "assets/good.md": article("Good"),
    })
    result = Project.load(root).build(["web"])
    [error] = result.errors
    assert error.where.path.name == "bad.md" and error.where.line == 3
    assert error.message.startswith("malformed front matter: unacceptable character #x0000")
    assert (result.out_dir / "web/good/index.html").is_file()
    assert not (result.out_dir / "web/bad/index.html").exists()


def test_nul_byte_in_a_sidecar_is_one_error_naming_the_sidecar(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/pic.jpg": jpeg_bytes(),
        "assets/pic.jpg.yml": "alt: fine\ncredit: \"x\x00y\"\n",
        "assets/good.md": article("Good"),
    })
    result = Project.load(root).build(["web"])
    [error] = result.errors
    assert (error.where.path.name, error.where.line) == ("pic.jpg.yml", 2)
    assert "unacceptable character #x0000" in error.message
    assert (result.out_dir / "web/good/index.html").is_file()
