"""Shared fixtures: the sample project copied into tmp, built once per session; tiny projects."""

from __future__ import annotations

import posixpath
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from contentpipe import BuildResult, Project
from contentpipe.manifest import Manifest

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session", autouse=True)
def shared_rendition_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One rendition cache for the whole run, so each sample master is encoded once."""
    cache = tmp_path_factory.mktemp("cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("CONTENTPIPE_CACHE_DIR", str(cache))
    yield cache
    mp.undo()


def copy_sample(dest: Path) -> Path:
    dest.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "contentpipe.toml", dest / "contentpipe.toml")
    shutil.copytree(REPO / "assets", dest / "assets")
    return dest


@pytest.fixture
def sample_project(tmp_path: Path) -> Path:
    """A fresh copy of the repository's sample project, free to change."""
    return copy_sample(tmp_path / "sample")


class Built:
    def __init__(self, root: Path, result: BuildResult) -> None:
        self.root = root
        self.result = result
        self.out = result.out_dir
        manifest = Manifest.read(self.out / "manifest.json")
        assert manifest is not None
        self.manifest = manifest
        self.by_key = {o.key: o for o in manifest.outputs}

    def file(self, key: str) -> Path:
        """The file published at ``key`` (web pages: 'articles/x/index.html')."""
        return self.out / self.by_key[key].path

    def resolve(self, page_key: str, url: str) -> str:
        """The published key that a relative URL found on ``page_key`` points at."""
        path = urlsplit(url).path
        joined = posixpath.normpath(posixpath.join(posixpath.dirname(page_key), path))
        if path.endswith("/") or path in ("", "."):
            return "index.html" if joined == "." else f"{joined}/index.html"
        return joined


@pytest.fixture(scope="session")
def built_sample(tmp_path_factory: pytest.TempPathFactory, shared_rendition_cache: Path) -> Built:
    """The sample project built once, read-only for the tests that use it."""
    root = copy_sample(tmp_path_factory.mktemp("built") / "sample")
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    return Built(root, result)


@pytest.fixture
def served(built_sample: Built) -> Iterator[str]:
    """The built sample served by published key (contentpipe preview) on 127.0.0.1."""
    from contentpipe.preview import serve_in_thread

    server = serve_in_thread(built_sample.out)
    yield f"http://127.0.0.1:{server.server_port}/"
    server.shutdown()
    server.server_close()


MINIMAL_CONFIG = """\
[site]
name = "Test site"
base_url = "https://test.example/"
default_locale = "en"
locales = ["en", "nl"]
"""


def write_files(root: Path, files: dict[str, str | bytes]) -> Path:
    for rel, content in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8")
    return root


@pytest.fixture
def make_project(tmp_path: Path) -> Callable[..., Path]:
    """Write a small project: contentpipe.toml (minimal unless given) plus the given files."""

    def make(files: dict[str, str | bytes], config: str = MINIMAL_CONFIG) -> Path:
        root = tmp_path / "proj"
        return write_files(root, {"contentpipe.toml": config, **files})

    return make


def jpeg_bytes(size: tuple[int, int] = (800, 600), color: tuple[int, int, int] = (200, 120, 40)) -> bytes:
    import io

    from PIL import Image

    buf = io.BytesIO()
    Image.new("RGB", size, color).save(buf, "JPEG", quality=85)
    return buf.getvalue()


def article(title: str = "Hello", extra: str = "", body: str = "Some text.\n") -> str:
    return f"---\ntitle: {title!r}\ndate: 2026-03-01T10:00:00Z\n{extra}---\n\n{body}"
