"""The incremental engine: exactly what a change requires is rendered again, and the result is a clean build's."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from conftest import MINIMAL_CONFIG, article, jpeg_bytes
from contentpipe import Project
from contentpipe.api import compare_trees
from contentpipe.engine.core import BuildOptions, build_clean_copy

CONFIG = MINIMAL_CONFIG + '[channels]\nenabled = ["web", "email"]\n'


@pytest.fixture
def project(make_project: Callable[..., Path]) -> Path:
    return make_project({
        "assets/a.md": article("Alpha", "tags: [lights]\nsummary: 'About alpha.'\nhero: pic.jpg\n",
                               body="First paragraph.\n\nSee [beta](b.md).\n"),
        "assets/b.md": article("Beta", "tags: [lights, market]\n", body="Beta's first paragraph.\n"),
        "assets/b.nl.md": article("Beta nl", body="Eerste alinea.\n"),
        "assets/pic.jpg": jpeg_bytes((1800, 1200)),
        "assets/pic.jpg.yml": "alt: A picture\n",
    }, config=CONFIG)


def same_as_clean(root: Path, tmp_path: Path, name: str = "clean") -> None:
    project = Project.load(root)
    clean = build_clean_copy(project.config, tmp_path / name, BuildOptions())
    assert compare_trees(project.config.out_dir, clean.out_dir) == []


def rendered(result: object) -> set[str]:
    return set(result.rendered_paths)  # type: ignore[attr-defined]


def test_a_second_build_renders_nothing_and_reports_the_same_problems(project: Path) -> None:
    (project / "assets/c.md").write_text(article("Gamma", body="[gone](gone.md) and [a draft](d.md)\n"))
    (project / "assets/d.md").write_text(article("Delta", "draft: true\n"))
    first = Project.load(project).build()
    again = Project.load(project).build()  # inputs changed within the last 2 s are hashed again, not trusted
    assert first.rendered > 10 and again.rendered == 0 and again.kept == first.rendered
    assert [str(p) for p in again.problems] == [str(p) for p in first.problems] != []
    for path in project.rglob("*"):  # as if saved a while ago: size and mtime now vouch for the content
        if path.is_file() and "dist" not in path.parts:
            os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns - 10**10))
    Project.load(project).build()
    third = Project.load(project).build()
    assert third.timings.keys() == {"check"} and third.rendered == 0  # nothing loaded, nothing planned
    assert [str(p) for p in third.problems] == [str(p) for p in first.problems]


def test_a_body_edit_renders_its_variants_and_feeds_not_the_index(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    doc = project / "assets/b.md"
    doc.write_text(doc.read_text() + "\nA second paragraph.\n")
    result = Project.load(project).build()
    done = rendered(result)
    assert {"web/b/index.html", "email/b/email.html", "email/b/email.txt", "email/b/message.eml"} <= done
    assert "web/feed.xml" in done  # the feed carries whole bodies
    assert "web/index.html" not in done and "web/tags/lights/index.html" not in done  # the summary is unchanged
    assert "web/a/index.html" not in done and "web/nl/b/index.html" not in done
    same_as_clean(project, tmp_path)


def test_a_first_paragraph_edit_renders_the_lists_showing_it(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    doc = project / "assets/b.md"
    doc.write_text(doc.read_text().replace("Beta's first paragraph.", "Beta's new opening."))
    done = rendered(Project.load(project).build())
    assert {"web/index.html", "web/tags/lights/index.html", "web/tags/market/index.html"} <= done
    same_as_clean(project, tmp_path)


def test_a_tag_change_renders_the_tag_pages_it_enters_and_leaves(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    doc = project / "assets/a.md"
    doc.write_text(doc.read_text().replace("tags: [lights]", "tags: [market, night]"))
    result = Project.load(project).build()
    assert {"web/tags/lights/index.html", "web/tags/market/index.html", "web/tags/night/index.html"} <= \
        rendered(result)
    assert not (project / "dist/web/tags/lights/index.html").read_text().count("Alpha")
    same_as_clean(project, tmp_path)


def test_a_slug_change_removes_the_old_outputs(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    doc = project / "assets/a.md"
    doc.write_text(doc.read_text().replace("title: 'Alpha'", "title: 'Alpha'\nslug: alpha-renamed"))
    Project.load(project).build()
    assert not (project / "dist/web/a").exists() and (project / "dist/web/alpha-renamed/index.html").is_file()
    same_as_clean(project, tmp_path)


def test_a_deleted_document_and_a_new_locale_version(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    (project / "assets/b.nl.md").unlink()
    (project / "assets/a.nl.md").write_text(article("Alfa", body="Nederlands.\n"))
    result = Project.load(project).build()
    assert not (project / "dist/web/nl/b").exists()
    assert "web/a/index.html" in rendered(result)  # its hreflang alternates gained nl
    page = (project / "dist/web/a/index.html").read_text()
    assert 'hreflang="nl"' in page
    same_as_clean(project, tmp_path)


def test_a_template_edit_renders_what_uses_it_and_an_added_override_too(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    override = project / "channels/web/templates/list.html"
    override.parent.mkdir(parents=True)
    override.write_text('{% extends "parent:list.html" %}{% block content %}<p>Lists.</p>{{ super() }}'
                        '{% endblock %}')
    done = rendered(Project.load(project).build())
    assert "web/index.html" in done and "web/tags/lights/index.html" in done
    assert "web/a/index.html" not in done and not any(p.startswith("email/") for p in done)
    same_as_clean(project, tmp_path, "one")
    override.write_text(override.read_text().replace("Lists.", "All lists."))
    done = rendered(Project.load(project).build())
    assert "web/index.html" in done and "web/a/index.html" not in done
    same_as_clean(project, tmp_path, "two")


def test_a_sidecar_alt_change_renders_the_pages_that_show_the_image(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    (project / "assets/pic.jpg.yml").write_text("alt: Another description\n")
    done = rendered(Project.load(project).build())
    assert "web/a/index.html" in done and "web/b/index.html" not in done
    assert "Another description" in (project / "dist/web/a/index.html").read_text()
    same_as_clean(project, tmp_path)


def test_a_rule_change_renders_what_it_governs(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    (project / "channels/email").mkdir(parents=True)
    (project / "channels/email/channel.toml").write_text('[channel]\nextends = "email"\n\n[text]\n'
                                                         'preheader_length = 40\n')
    done = rendered(Project.load(project).build())
    assert any(p.startswith("email/") for p in done) and not any(p.startswith("web/") for p in done)
    same_as_clean(project, tmp_path)


def test_an_output_changed_on_disk_is_made_again(project: Path, tmp_path: Path) -> None:
    Project.load(project).build()
    page = project / "dist/web/b/index.html"
    page.write_text(page.read_text().replace("Beta", "Btea"))
    result = Project.load(project).build()
    assert rendered(result) >= {"web/b/index.html"}
    same_as_clean(project, tmp_path)


def test_a_project_object_kept_in_memory_builds_incrementally(project: Path, tmp_path: Path) -> None:
    kept = Project.load(project)
    kept.build()
    doc = project / "assets/b.md"
    for n in range(3):
        doc.write_text(doc.read_text() + f"\nParagraph {n}.\n")
        result = kept.build()
        assert "web/b/index.html" in rendered(result) and "web/a/index.html" not in rendered(result)
    same_as_clean(project, tmp_path)


def test_verify_reports_no_difference_and_explain_names_the_dependencies(project: Path) -> None:
    run = [sys.executable, "-m", "contentpipe"]
    done = subprocess.run([*run, "build", str(project), "--verify", "--json"], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["verify"] == {"ok": True, "differences": []}
    doc = project / "assets/a.md"
    doc.write_text(doc.read_text() + "\nMore.\n")
    done = subprocess.run([*run, "explain", "a/", "--project", str(project)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert lines[0] == "web/a/index.html"
    assert "    document assets/a.md" in "\n".join(lines) and any("template page.html" in ln for ln in lines)
    assert lines[-1] == "  now: would be rendered again: document changed"
    done = subprocess.run([*run, "explain", "nowhere.html", "--project", str(project)], capture_output=True,
                          text=True)
    assert done.returncode == 1 and "no such output" in done.stdout


def test_verify_finds_a_difference(project: Path) -> None:
    """The proof can fail: an output changed behind the state's back with its size and mtime kept."""
    Project.load(project).build()
    page = project / "dist/web/b/index.html"
    st = page.stat()
    text = page.read_text()
    page.write_text(text.replace("Beta", "Btea"))
    os.utime(page, ns=(st.st_atime_ns, st.st_mtime_ns))
    _, differences = Project.load(project).verify()
    assert [(d.path, d.what) for d in differences] == [("web/b/index.html", "differs")]


def test_an_edit_of_the_macros_drawing_body_images_reaches_every_body(project: Path, tmp_path: Path) -> None:
    """Rendered bodies are cached by content; the pack's body_image macro is part of that content."""
    (project / "assets/b.md").write_text(article("Beta", "tags: [lights]\n",
                                                 body="Beta's first paragraph.\n\n![A pic](pic.jpg)\n"))
    macros = project / "channels/web/templates/_macros.html"
    macros.parent.mkdir(parents=True)
    base = '{% macro picture(img, lazy=true, priority=false) %}<img src="{{ img.src }}" alt="{{ img.alt }}">' \
           '{% endmacro %}{% macro share_meta(type, title, description, url, image) %}{% endmacro %}'
    macros.write_text(base + '{% macro body_image(img, caption="", figure=false) %}<i class="one">'
                             '{{ picture(img) }}</i>{% endmacro %}')
    Project.load(project).build()
    assert 'class="one"' in (project / "dist/web/b/index.html").read_text()
    macros.write_text(macros.read_text().replace('class="one"', 'class="two"'))
    Project.load(project).build()
    assert 'class="two"' in (project / "dist/web/b/index.html").read_text()
    same_as_clean(project, tmp_path)


def test_a_state_of_another_schema_version_is_made_anew(project: Path) -> None:
    import sqlite3

    first = Project.load(project)
    first.build()
    db = sqlite3.connect(first.engine.state_path)
    db.execute("DROP TABLE outputs")
    db.execute("CREATE TABLE outputs (path TEXT PRIMARY KEY, size INTEGER)")  # an older layout
    db.execute("UPDATE meta SET value = '0' WHERE key = 'schema'")
    db.commit()
    db.close()
    again = Project.load(project).build()
    assert again.ok and again.kept == 0 and again.rendered > 10  # no state: everything made again, no crash
    assert Project.load(project).build().rendered == 0  # and the new state serves the next build
