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
