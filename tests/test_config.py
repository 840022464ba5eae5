"""contentpipe.toml: the corpus shape reads; every bad value names file, line, key and what is allowed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from contentpipe import Project, ProjectError
from contentpipe.config.project import load_config
from contentpipe.errors import Problems

CORPUS_SHAPE = """\
# written by shared/bench/make_corpus.py
[site]
name = "contentpipe bench corpus (seed 1)"
base_url = "https://example.com"
default_locale = "en"
locales = ["en", "nl"]

[output]
dir = "dist"
"""


def messages(root: Path) -> list[str]:
    problems = Problems()
    with pytest.raises(ProjectError):
        load_config(root, problems)
    return [f"{p.where.path.name}:{p.where.line}: {p.where.key}: {p.message}" for p in problems]


def test_reads_the_shape_make_corpus_writes(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text(CORPUS_SHAPE)
    config = load_config(tmp_path, Problems())
    assert config.site.base_url == "https://example.com/"
    assert config.site.locales == ("en", "nl")
    assert config.site.locale_dir("en") == "" and config.site.locale_dir("nl") == "nl/"
    assert config.out_dir == (tmp_path / "dist").resolve()
    assert config.enabled_channels is None


def test_every_bad_value_is_reported_with_line_key_and_allowed(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text("""\
[site]
name = 42
base_url = "example.com"
default_locale = "de"
locales = ["en", "Dutch"]
colour = "blue"

[build]
jobs = -1

[targets.live]
url = "ftp://host/x"
acl = "everyone"
""")
    assert messages(tmp_path) == [
        "contentpipe.toml:2: site.name: expected a string, got an integer (42)",
        "contentpipe.toml:3: site.base_url: must be an absolute http(s) URL such as 'https://example.com/'; "
        "got a string ('example.com')",
        "contentpipe.toml:5: site.locales: 'Dutch' is not a locale tag (like 'en', 'nl' or 'pt-BR'); "
        "got a list (['en', 'Dutch'])",
        "contentpipe.toml:6: site.colour: unknown key (allowed here: name, base_url, default_locale, locales, "
        "default_locale_in_subdir, description, author, campaign, canonical_channel, short_name, icon, "
        "share_image, theme_color)",
        "contentpipe.toml:9: build.jobs: must be between 0 and 256; got an integer (-1)",
        "contentpipe.toml:12: targets.live.url: must be 's3://bucket/prefix' or 'file:///absolute/folder'; "
        "got a string ('ftp://host/x')",
        "contentpipe.toml:13: targets.live.acl: 'everyone' is not allowed "
        "(allowed: private, public-read, bucket-owner-full-control)",
    ]


def test_default_locale_must_be_one_of_the_locales(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text(CORPUS_SHAPE.replace('default_locale = "en"', 'default_locale = "de"'))
    assert messages(tmp_path) == [
        "contentpipe.toml:5: site.default_locale: default_locale 'de' is not one of site.locales ['en', 'nl']"]


def test_missing_site_table_and_required_keys(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text("[output]\ndir = 'dist'\n")
    assert messages(tmp_path) == ["contentpipe.toml:None: site: missing table"]
    (tmp_path / "contentpipe.toml").write_text("[site]\nname = 'x'\n")
    assert messages(tmp_path) == ["contentpipe.toml:1: site.base_url: missing required key (a string)"]


def test_toml_syntax_error_names_the_line(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text('[site]\nname = "x"\nbase_url = https://x\n')
    with pytest.raises(ProjectError) as info:
        Project.load(tmp_path)
    assert info.value.problem.where.line == 3
    assert "invalid TOML" in info.value.problem.message


def test_missing_config_says_what_a_project_is(tmp_path: Path) -> None:
    with pytest.raises(ProjectError, match=r"no contentpipe\.toml here"):
        Project.load(tmp_path)


@pytest.mark.parametrize("out", [".", "..", "assets", "assets/out", "channels"])
def test_output_folder_that_could_reach_project_files_is_refused(tmp_path: Path, out: str) -> None:
    root = tmp_path / "p"
    root.mkdir()
    (root / "contentpipe.toml").write_text(CORPUS_SHAPE.replace('dir = "dist"', f'dir = "{out}"'))
    problems = Problems()
    with pytest.raises(ProjectError):
        load_config(root, problems)
    assert [p.where.key for p in problems] == ["output.dir"]
    with pytest.raises(ProjectError):
        Project.load(root.parent / "p" if out != "." else root, out_dir=root / out)


def test_cli_exits_2_and_names_the_file_for_an_unusable_project(tmp_path: Path) -> None:
    (tmp_path / "contentpipe.toml").write_text("[site]\nname = 'x'\nbase_url = 'https://x/'\nlocale = 'en'\n")
    run = subprocess.run([sys.executable, "-m", "contentpipe", "build", str(tmp_path)],
                         capture_output=True, text=True)
    assert run.returncode == 2
    assert "contentpipe.toml:4: site.locale: error: unknown key" in run.stderr
