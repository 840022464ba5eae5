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
