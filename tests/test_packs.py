"""Channel packs: built-in, project overrides, extends, and validation that names file and line."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from bs4 import BeautifulSoup

from conftest import article
from contentpipe import Project
from contentpipe.errors import Problems
from contentpipe.load.packs import builtin_packs_dir, load_channels


def problem_lines(problems: Problems, root: Path) -> list[str]:
    out = []
    for p in problems:
        path = p.where.path.relative_to(root) if p.where.path.is_relative_to(root) else p.where.path
        out.append(f"{path}:{p.where.line}: {p.where.key}: {p.message}")
    return out


def test_builtin_web_pack_is_found_and_valid(tmp_path: Path) -> None:
    assert (builtin_packs_dir() / "web" / "channel.toml").is_file()
    problems = Problems()
    channels = load_channels(tmp_path, problems, ("web",))
    assert not list(problems)
    rules = channels["web"].rules
    assert rules.publish_at == ""
    assert {"page", "index", "tag", "feed", "sitemap"} <= set(rules.outputs)
    assert rules.images["share"].size == (1200, 630)


def test_project_pack_without_rules_overrides_single_templates(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        "channels/web/templates/page.html": '{% extends "parent:page.html" %}'
                                            '{% block main %}<p id="custom">{{ doc.title }}</p>{% endblock %}',
    })
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.problems]
    page = BeautifulSoup((root / "dist/web/a/index.html").read_text(), "lxml")
    assert page.select_one("#custom").text == "Alpha"
    assert page.select_one("link[rel=canonical]")["href"] == "https://test.example/a/"  # base.html is built-in
    index = BeautifulSoup((root / "dist/web/index.html").read_text(), "lxml")
    assert index.select_one("h1").text == "Latest articles"  # list.html is still built-in


def test_pack_extends_another_and_overrides_some_rules(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        "channels/brand/channel.toml": '[channel]\nextends = "web"\npublish_at = "brand"\n'
                                       '[outputs.page]\ntemplate = "brand-page.html"\n'
                                       '[outputs.index]\npaginate = 1\n',
        "channels/brand/templates/brand-page.html": '{% extends "page.html" %}'
                                                    '{% block title %}BRAND {{ doc.title }}{% endblock %}',
    })
    result = Project.load(root).build(["brand"])
    assert result.ok, [str(p) for p in result.problems]
    page = BeautifulSoup((root / "dist/brand/a/index.html").read_text(), "lxml")
    assert page.title.text == "BRAND Alpha"
    assert page.select_one("link[rel=canonical]")["href"] == "https://test.example/brand/a/"
    assert result.manifest is not None
    assert {o.key for o in result.manifest.outputs if o.channel == "brand"} >= {"brand/a/index.html",
                                                                                 "brand/index.html"}


def test_every_rule_problem_names_file_line_and_key(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "channels/bad/channel.toml": """\
[channel]
description = "broken on purpose"
colour = "red"

[outputs.page]
per = "document"
template = "missing.html"
path = "{slug}/{nope}.html"

[outputs.list]
per = "everything"
template = "list.html"
path = "x.html"

[images.hero]
widths = [10, 480]
formats = ["jpeg", "gif"]

[images.empty]
formats = ["webp"]

[cache]
page = 300
""",
    })
    problems = Problems()
    load_channels(root, problems, ("bad",))
    assert problem_lines(problems, root) == [
        "channels/bad/channel.toml:3: channel.colour: unknown key "
        "(allowed here: description, extends, publish_at, urls)",
        "channels/bad/channel.toml:11: outputs.list.per: 'everything' is not allowed "
        "(allowed: document, locale, tag, site)",
        "channels/bad/channel.toml:16: images.hero.widths: must be between 16 and 8192; got a list ([10, 480])",
        "channels/bad/channel.toml:17: images.hero.formats: 'gif' is not allowed (allowed: avif, webp, jpeg, png)",
        "channels/bad/channel.toml:23: cache.page: expected a string, got an integer (300)",
        "channels/bad/channel.toml:5: outputs.page: path '{slug}/{nope}.html' uses {nope} "
        "(allowed for per = 'document': dir, locale, locale_dir, slug)",
        "channels/bad/channel.toml:10: outputs.list: output 'list' needs per",
        "channels/bad/channel.toml:15: images.hero: image slot 'hero' needs widths or size",
        "channels/bad/channel.toml:19: images.empty: image slot 'empty' needs widths or size",
    ]


def test_missing_template_and_bad_extends_are_reported(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "channels/one/channel.toml": '[outputs.page]\nper = "document"\ntemplate = "nope.html"\npath = "{slug}.html"\n',
        "channels/two/channel.toml": '[channel]\nextends = "nowhere"\n',
        "channels/loop-a/channel.toml": '[channel]\nextends = "loop-b"\n',
        "channels/loop-b/channel.toml": '[channel]\nextends = "loop-a"\n',
    })
    problems = Problems()
    channels = load_channels(root, problems, ("one", "two", "loop-a", "web"))
    assert set(channels) == {"web"}  # the valid pack still loads
    text = "\n".join(problem_lines(problems, root))
    assert "channels/one/channel.toml:1: outputs.page: template 'nope.html' not found" in text
    assert "channels/two/channel.toml:None: channel.extends: extends unknown pack 'nowhere'" in text
    assert "channel.extends: 'extends' goes deeper than 8 packs (a cycle?)" in text


def test_unknown_channel_name_lists_the_available_ones(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article()})
    result = Project.load(root).build(["webb"])
    assert [p.message for p in result.errors] == [
        "no channel pack named 'webb' (available: email, mobile, social, web)"]


def test_template_errors_name_template_file_and_line(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        "assets/b.md": article("Beta"),
        "channels/web/templates/page.html": "{% extends 'parent:page.html' %}\n"
                                            "{% block main %}\n<p>{{ doc.title }}</p>\n"
                                            "<p>{{ doc.no_such_field }}</p>\n{% endblock %}\n",
        "channels/broken/channel.toml": '[outputs.page]\nper = "document"\ntemplate = "p.html"\n'
                                        'path = "{slug}.html"\n',
        "channels/broken/templates/p.html": "<p>\n{% if doc.title %}\n{{ doc.title }\n",
    })
    result = Project.load(root).build()
    errors = {(p.where.path.name, p.where.line, p.message.split(":")[0]) for p in result.errors}
    assert ("page.html", 4, "template error") in errors
    assert ("p.html", 3, "template syntax error") in errors
    assert len(result.errors) == 2  # reported once, not once per document
    assert (root / "dist/web/index.html").is_file()  # the other outputs still build


def test_an_extending_pack_can_switch_inherited_image_slots_off(make_project: Callable[..., Path]) -> None:
    from conftest import jpeg_bytes

    root = make_project({
        "assets/a.md": article("Alpha", "hero: p.jpg\n"),
        "assets/p.jpg": jpeg_bytes((2000, 1200)),
        "channels/web/channel.toml": '[channel]\nextends = "web"\n'
                                     '[images.card]\nformats = []\n[images.share]\nformats = []\n'
                                     '[images.hero]\nformats = ["webp", "jpeg"]\n',
    })
    result = Project.load(root).build(["web"])
    assert result.ok, [str(p) for p in result.problems]
    assert result.manifest is not None
    specs = sorted(o.extra["spec"].split("|")[0] + "|" + o.extra["spec"].split("|")[2]
                   for o in result.manifest.outputs if o.kind == "rendition")
    assert specs == ["1600x960|jpeg", "1600x960|webp", "480x288|jpeg", "480x288|webp", "960x576|jpeg",
                     "960x576|webp"]
    page = BeautifulSoup((root / "dist/web/a/index.html").read_text(), "lxml")
    assert page.select_one("meta[property='og:image']") is None


def test_a_broken_canonical_pack_is_reported_when_another_channel_is_built_alone(
        make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("A", body="See [b](b.md).\n"),
        "assets/b.md": article("B"),
        "channels/web/channel.toml": "[channel\nextends = \"web\"\n",
    })
    result = Project.load(root).build(["email"])
    messages = {(p.where.path.name, p.where.line, p.message) for p in result.errors}
    assert ("channel.toml", 1, "invalid TOML: Expected ']' at the end of a table declaration") in messages
    assert any(p.where.key == "site.canonical_channel" and "'web' cannot be loaded" in p.message
               for p in result.errors)
    assert not result.ok
