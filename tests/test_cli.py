"""The command line: human output, --json, channels listing, preview server."""

from __future__ import annotations

import json
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

from conftest import Built, article
from contentpipe.preview import serve_in_thread


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "contentpipe", *args], capture_output=True, text=True)


def test_build_prints_problems_and_a_summary(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A", body="[gone](missing.md)\n"),
                         "assets/b.md": article("B")})
    done = run("build", str(root))
    assert done.returncode == 1
    assert "assets/a.md:6: error: link to 'missing.md': no such document" in done.stderr
    assert "built with errors: 1 documents" in done.stderr
    assert done.stdout == ""


def test_build_json_summary_counts_outputs(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A"), "assets/a.nl.md": article("A nl")})
    done = run("build", str(root), "--json")
    assert done.returncode == 0, done.stderr
    summary = json.loads(done.stdout)
    assert summary["ok"] and summary["documents"] == 2 and summary["errors"] == 0
    web = summary["channels"]["web"]
    assert web["outputs"] == web["written"] == 7  # 2 pages, 2 indexes, 2 feeds, sitemap
    assert set(summary["timings"]) == {"load", "plan", "renditions", "fingerprint", "render", "write", "state"}
    assert summary["outputs"]["kept"] == 0 and summary["outputs"]["rendered"] > 8
    again = json.loads(run("build", str(root), "--json").stdout)
    assert again["channels"]["web"]["written"] == 0 and again["files"]["written"] == 0
    assert again["outputs"] == {"rendered": 0, "kept": summary["outputs"]["rendered"]}
    assert summary["engine"] == {"way": "full"}  # (again may be full too: its inputs are younger than 2 s)
    assert again["files"]["unchanged"] == summary["files"]["written"] > 8  # every channel, the manifest
    assert set(summary["channels"]) == {"web", "mobile", "email", "social"}


def test_out_writes_elsewhere_and_leaves_the_default_folder_alone(make_project: Callable[..., Path],
                                                                   tmp_path: Path) -> None:
    root = make_project({"assets/a.md": article("A")})
    done = run("build", str(root), "--out", str(tmp_path / "elsewhere"), "--channel", "web")
    assert done.returncode == 0, done.stderr
    assert (tmp_path / "elsewhere/web/a/index.html").is_file()
    assert (tmp_path / "elsewhere/manifest.json").is_file()
    assert not (root / "dist").exists()
    refused = run("build", str(root), "--out", str(root))
    assert refused.returncode == 2 and "would contain the project itself" in refused.stderr


def test_strict_fails_on_warnings(make_project: Callable[..., Path]) -> None:
    from conftest import jpeg_bytes

    root = make_project({"assets/a.md": article("A", "hero: small.jpg\n"), "assets/small.jpg": jpeg_bytes((300, 200))})
    assert run("build", str(root)).returncode == 0  # too small for the share image: a warning
    done = run("build", str(root), "--strict")
    assert done.returncode == 1 and "warning: master is 300x200, too small" in done.stderr


def test_channels_lists_packs_and_their_origin(make_project: Callable[..., Path]) -> None:
    root = make_project({"channels/web/templates/page.html": "{% extends 'parent:page.html' %}"})
    done = run("channels", str(root))
    assert done.returncode == 0
    lines = {line.split()[0]: line.split() for line in done.stdout.splitlines() if line.strip()}
    assert lines["web"][:3] == ["web", "ok", "project"]
    assert all(lines[name][1:3] == ["ok", "built-in"] for name in ("email", "mobile", "social"))


def test_preview_serves_published_keys(built_sample: Built) -> None:
    server = serve_in_thread(built_sample.out)
    base = f"http://127.0.0.1:{server.server_port}"
    try:
        with urllib.request.urlopen(f"{base}/nl/articles/route-guide/") as resp:
            assert resp.headers["Content-Type"] == "text/html; charset=utf-8"
            assert b'<html lang="nl">' in resp.read()
        media = next(o.key for o in built_sample.manifest.outputs if o.key.endswith(".webp"))
        with urllib.request.urlopen(f"{base}/{media}") as resp:
            assert resp.headers["Content-Type"] == "image/webp"
        with urllib.request.urlopen(f"{base}/articles/route-guide") as resp:  # redirected to the slash
            assert resp.url.endswith("/articles/route-guide/")
        try:
            urllib.request.urlopen(f"{base}/manifest.json")
            raise AssertionError("the manifest is not published")
        except urllib.error.HTTPError as err:
            assert err.code == 404
    finally:
        server.shutdown()
        server.server_close()


def test_build_json_prints_json_when_the_project_cannot_be_used(make_project: Callable[..., Path]) -> None:
    from conftest import MINIMAL_CONFIG

    root = make_project({"assets/a.md": article("A")}, config=MINIMAL_CONFIG + "\n[bogus]\nx = 1\n")
    done = run("build", str(root), "--json")
    assert done.returncode == 2
    summary = json.loads(done.stdout)
    assert summary["ok"] is False and summary["exit_code"] == 2 and summary["errors"] >= 1
    [problem] = [p for p in summary["problems"] if p["severity"] == "error"]
    assert problem["file"] == "contentpipe.toml" and problem["key"] == "bogus" and problem["line"] == 7
    assert "bogus" in done.stderr  # people still read stderr


def test_build_json_prints_json_on_a_usage_error(make_project: Callable[..., Path]) -> None:
    root = make_project({"assets/a.md": article("A")})
    done = run("build", str(root), "--json", "--no-such-option")
    assert done.returncode == 2
    assert json.loads(done.stdout) == {"ok": False, "exit_code": 2, "error": "No such option '--no-such-option'."}
    assert "No such option" in done.stderr
