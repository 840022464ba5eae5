"""Builds are deterministic, warm builds do no work, and stale outputs are cleaned up safely."""

from __future__ import annotations

from pathlib import Path

import pytest

from conftest import copy_sample
from contentpipe import Project


def tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def test_two_builds_with_their_own_empty_caches_are_byte_identical(tmp_path: Path,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    """Each build encodes every rendition itself: a shared cache would hide non-deterministic encoding."""
    results = []
    for name in ("one", "two"):
        monkeypatch.setenv("CONTENTPIPE_CACHE_DIR", str(tmp_path / f"cache-{name}"))
        results.append(Project.load(copy_sample(tmp_path / name)).build())
    a, b = results
    assert a.ok and b.ok
    assert a.renditions_encoded == b.renditions_encoded == a.renditions > 0
    tree_a, tree_b = tree(tmp_path / "one/dist"), tree(tmp_path / "two/dist")
    assert "manifest.json" in tree_a and any(k.startswith("media/") for k in tree_a)
    assert tree_a.keys() == tree_b.keys()
    assert [k for k in tree_a if tree_a[k] != tree_b[k]] == []


def test_second_build_writes_and_encodes_nothing(sample_project: Path) -> None:
    project = Project.load(sample_project)
    project.build()
    before = {p: p.stat().st_mtime_ns for p in (sample_project / "dist").rglob("*") if p.is_file()}
    again = project.build()
    assert again.renditions_encoded == 0
    assert again.written == 0 and again.removed == 0
    assert again.unchanged == len(before)
    assert {p: p.stat().st_mtime_ns for p in before} == before


def test_changed_document_rewrites_only_what_depends_on_it(sample_project: Path) -> None:
    project = Project.load(sample_project)
    project.build()
    doc = sample_project / "assets/articles/open-data-rides.md"
    text = doc.read_text()
    doc.write_text(text.replace("\n---\n", "\n---\n\nA new first paragraph.\n", 1))
    result = project.build()
    assert result.renditions_encoded == 0
    assert 0 < result.written < 10, result.written  # its page, list pages, feed, sitemap, manifest


def test_deleted_document_removes_its_outputs_and_nothing_else(sample_project: Path) -> None:
    project = Project.load(sample_project)
    project.build()
    dist = sample_project / "dist"
    mine = dist / "notes.txt"
    mine.write_text("not produced by contentpipe")
    (sample_project / "assets/articles/open-data-rides.md").unlink()
    result = project.build()
    assert not (dist / "web/articles/open-data-rides").exists()
    assert (dist / "web/tags").is_dir()
    assert result.removed >= 1
    assert mine.read_text() == "not produced by contentpipe"  # only files of the last manifest are removed


def test_no_temporary_files_are_left_behind(sample_project: Path) -> None:
    Project.load(sample_project).build()
    assert list((sample_project / "dist").rglob(".tmp-*")) == []
