"""Nothing from outside a pack or the output folder gets published or served, whatever the symlinks say."""

from __future__ import annotations

import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from conftest import article
from contentpipe import Project

SECRET = "TOP SECRET from outside"


@pytest.fixture
def outside(tmp_path: Path) -> Path:
    folder = tmp_path / "outside"
    folder.mkdir()
    (folder / "secret.txt").write_text(SECRET)
    (folder / "index.html").write_text(f"<p>{SECRET}</p>")
    return folder


# ----- preview --------------------------------------------------------------------


@pytest.fixture
def built_small(make_project: Callable[..., Path]) -> Path:
    root = make_project({"assets/a.md": article("Alpha"), "assets/b.md": article("Beta")})
    result = Project.load(root).build(["web"])
    assert result.ok, [str(p) for p in result.errors]
    return root / "dist"


@pytest.fixture
def preview(built_small: Path) -> Iterator[str]:
    from contentpipe.preview import serve_in_thread

    server = serve_in_thread(built_small)
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    server.server_close()


def status(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=5) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as err:
        return err.code, err.read()


def test_preview_refuses_links_planted_in_the_output(built_small: Path, preview: str, outside: Path) -> None:
    assert status(f"{preview}/a/")[0] == 200
    page = built_small / "web/a/index.html"
    page.unlink()
    page.symlink_to(outside / "index.html")  # a file link
    folder = built_small / "web/b"
    (built_small / "web/b/index.html").unlink()
    folder.rmdir()
    folder.symlink_to(outside, target_is_directory=True)  # a folder link
    inside = built_small / "web/index.html"
    inside.unlink()
    inside.symlink_to(built_small / "manifest.json")  # a link that stays inside is refused too
    for path in ("/a/", "/a/index.html", "/b/", "/b/index.html", "/"):
        code, body = status(preview + path)
        assert code == 404, path
        assert SECRET.encode() not in body and b'"outputs"' not in body


def test_preview_refuses_traversal(built_small: Path, preview: str, outside: Path) -> None:
    for path in ("/%2e%2e/outside/secret.txt", "/..%2f..%2foutside%2fsecret.txt", "/a/%2e%2e/%2e%2e/manifest.json",
                 "/manifest.json", "/%2fetc%2fpasswd", "/../../outside/secret.txt", "/web/a/index.html"):
        code, body = status(preview + path)
        assert code == 404, path
        assert SECRET.encode() not in body
    assert status(f"{preview}/a/%2e%2e/b/")[0] == 200  # a dot segment that stays inside is fine


# ----- template errors that are not Jinja2's own -------------------------------------


def _pack(name: str, template: str) -> dict[str, str]:
    return {f"channels/{name}/channel.toml": '[outputs.page]\nper = "document"\ntemplate = "p.html"\n'
                                             'path = "{slug}.html"\n',
            f"channels/{name}/templates/p.html": template}


def test_runaway_templates_are_one_error_each_and_the_build_goes_on(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        "assets/b.md": article("Beta"),
        **_pack("huge", "<p>{{ doc.title }}</p>\n{% for i in range(10**9) %}{{ i }}{% endfor %}\n"),
        **_pack("deep", "{% macro down(n) %}{{ down(n + 1) }}{% endmacro %}\n<p>{{ doc.title }}</p>\n"
                        "{{ down(0) }}\n"),
        **_pack("nested", "<p>{{ " + "(" * 400 + "1" + ")" * 400 + " }}</p>\n"),
    })
    result = Project.load(root).build()  # no traceback: a BuildResult
    errors = {(p.where.path.relative_to(root).as_posix(), p.where.line, p.message.split(":")[0])
              for p in result.errors}
    assert ("channels/huge/templates/p.html", 2, "template error") in errors
    assert ("channels/deep/templates/p.html", 1, "template error") in errors
    assert any(path == "channels/nested/templates/p.html" for path, _, _ in errors)
    assert len(result.errors) == 3, [str(p) for p in result.errors]  # once each, not once per document
    messages = " ".join(p.message for p in result.errors)
    assert "Range too big" in messages and "recursion" in messages
    assert "'huge' pack" in messages and "'deep' pack" in messages
    assert (root / "dist/web/a/index.html").is_file() and (root / "dist/web/b/index.html").is_file()
    assert not (root / "dist/huge").exists() and not (root / "dist/deep").exists()
    # the interpreter is fine afterwards: the same project builds again, with the same answer
    again = Project.load(root).build()
    assert {str(p) for p in again.errors} == {str(p) for p in result.errors}


# ----- symlinks and names in packs -------------------------------------------------------


def refused(result: object, root: Path) -> set[str]:
    return {p.where.path.relative_to(root).as_posix() for p in result.errors  # type: ignore[attr-defined]
            if "refused" in p.message}


def leaked(dist: Path) -> list[str]:
    return [p.as_posix() for p in dist.rglob("*") if p.is_file() and SECRET.encode() in p.read_bytes()]


def test_template_links_leaving_the_project_are_refused(make_project: Callable[..., Path], outside: Path) -> None:
    (outside / "page.html").write_text(f"<p>{{{{ doc.title }}}} {SECRET}</p>\n")
    root = make_project({
        "assets/a.md": article("Alpha"),
        **_pack("brand", "{% include 'parts/secret.txt' %}\n"),
        **_pack("brand2", "<p>{{ doc.title }}</p>\n{% include 'inc.html' %}\n"),
    })
    (root / "channels/web/templates").mkdir(parents=True)
    (root / "channels/web/templates/page.html").symlink_to(outside / "page.html")  # a template
    (root / "channels/brand/templates/parts").symlink_to(outside, target_is_directory=True)  # a folder
    (root / "channels/brand2/templates/inc.html").symlink_to(outside / "secret.txt")  # an include
    result = Project.load(root).build()
    assert refused(result, root) == {"channels/web/templates/page.html", "channels/brand/templates/parts",
                                     "channels/brand2/templates/inc.html"}
    assert all("outside the project" in p.message for p in result.errors), [str(p) for p in result.errors]
    assert len(result.errors) == 3
    dist = root / "dist"
    assert leaked(dist) == []
    assert not (dist / "web/a/index.html").exists()  # the output that needed the link is left out
    assert (dist / "web/index.html").is_file() and (dist / "web/feed.xml").is_file()  # the rest builds
    assert not (dist / "brand").exists() and not (dist / "brand2").exists()


def test_links_that_stay_in_the_project_are_followed(make_project: Callable[..., Path]) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        "shared/page.html": "{% extends 'parent:page.html' %}\n{% block main %}<p>shared page</p>{% endblock %}\n",
        "channels/web/static/real.css": "p { color: red }\n",
    })
    (root / "channels/web/templates").mkdir(parents=True)
    (root / "channels/web/templates/page.html").symlink_to(root / "shared/page.html")
    (root / "channels/web/static/alias.css").symlink_to("real.css")
    result = Project.load(root).build(["web"])
    assert result.ok, [str(p) for p in result.errors]
    assert "shared page" in (root / "dist/web/a/index.html").read_text()
    assert (root / "dist/web/alias.css").read_text() == "p { color: red }\n"
    assert not (root / "dist/web/alias.css").is_symlink()


def test_static_links_leaving_the_project_are_refused(make_project: Callable[..., Path], outside: Path) -> None:
    (outside / "nested").mkdir()
    (outside / "nested/deep.txt").write_text(SECRET)
    root = make_project({
        "assets/a.md": article("Alpha"),
        "channels/web/static/site.css": "body { margin: 0 }\n",
        "channels/web/static/img/logo.svg": "<svg xmlns='http://www.w3.org/2000/svg'/>\n",
    })
    static = root / "channels/web/static"
    (static / "leak.txt").symlink_to(outside / "secret.txt")
    (static / "img/dir").symlink_to(outside, target_is_directory=True)
    (static / "gone.txt").symlink_to(root / "nowhere.txt")
    result = Project.load(root).build(["web"])
    assert refused(result, root) == {"channels/web/static/leak.txt", "channels/web/static/img/dir"}
    assert "channels/web/static/gone.txt" in {p.where.path.relative_to(root).as_posix() for p in result.errors}
    dist = root / "dist"
    assert leaked(dist) == []
    assert (dist / "web/site.css").is_file() and (dist / "web/img/logo.svg").is_file()
    assert (dist / "web/a/index.html").is_file()
    assert result.manifest is not None
    assert {o.key for o in result.manifest.outputs if o.kind == "static"} == {"site.css", "img/logo.svg"}


def test_template_names_with_dot_dot_or_a_root_are_refused(make_project: Callable[..., Path],
                                                           outside: Path) -> None:
    root = make_project({
        "assets/a.md": article("Alpha"),
        **_pack("up", "{% include '../../../outside/secret.txt' %}\n"),
        **_pack("abs", "{% include '" + str(outside / "secret.txt") + "' %}\n"),
        **_pack("parent", "{% include 'parent:../channel.toml' %}\n"),
        "channels/rules/channel.toml": '[outputs.page]\nper = "document"\ntemplate = "../../outside/secret.txt"\n'
                                       'path = "{slug}.html"\n',
    })
    result = Project.load(root).build()
    by_file = {p.where.path.relative_to(root).as_posix(): p.message for p in result.errors}
    assert set(by_file) == {"channels/up/templates/p.html", "channels/abs/templates/p.html",
                            "channels/parent/templates/p.html", "channels/rules/channel.toml"}, by_file
    assert all("refused" in message for message in by_file.values()), by_file
    assert leaked(root / "dist") == []
    assert (root / "dist/web/a/index.html").is_file()


def test_an_installed_pack_is_confined_to_its_own_folder(tmp_path: Path) -> None:
    from contentpipe.config.rules import build_rules
    from contentpipe.errors import Problems
    from contentpipe.load.packs import Channel

    pack = tmp_path / "site-packages/acme_pack"
    (pack / "static").mkdir(parents=True)
    (pack / "static/own.css").write_text("p {}\n")
    (pack / "static/alias.css").symlink_to("own.css")
    (tmp_path / "site-packages/other.txt").write_text(SECRET)
    (pack / "static/neighbour.txt").symlink_to(tmp_path / "site-packages/other.txt")
    channel = Channel("acme", build_rules("acme", {}, {}, Problems()), (pack,), (pack / "channel.toml",))
    problems = Problems()
    files = channel.static_files(pack / "static", problems)
    assert [f.name for f in files] == ["alias.css", "own.css"]
    assert [(p.where.path.name, "outside its pack" in p.message) for p in problems] == [("neighbour.txt", True)]


def test_reading_inside_the_output_folder_never_follows_a_link(tmp_path: Path) -> None:
    from contentpipe.safefiles import read_inside

    out = tmp_path / "out"
    (out / "web").mkdir(parents=True)
    (out / "web/page.html").write_text("page", encoding="utf-8")
    (tmp_path / "outside/deep").mkdir(parents=True)
    (tmp_path / "outside/page.html").write_text(SECRET, encoding="utf-8")
    (out / "link").symlink_to(tmp_path / "outside/deep")
    (out / "web/file-link.html").symlink_to(out / "web/page.html")
    assert read_inside(out, out / "web/page.html") == b"page"
    assert read_inside(out, out / "link/../page.html") is None  # not the outside file: out/page.html is absent
    assert read_inside(out, out / "link/../web/page.html") == b"page"  # .. is taken by name, never via a link
    for refused in (out / "web/file-link.html", out / "link", out / "../outside/page.html",
                    tmp_path / "outside/page.html", out / "web"):
        assert read_inside(out, refused) is None, refused
