"""Tests of the test tooling itself (tests/browser_tools.py)."""

from __future__ import annotations

import sys
from pathlib import Path

# tests/ must be importable; conftest.py belongs to someone else, so do it here.
sys.path.insert(0, str(Path(__file__).resolve().parent))

import pytest

from browser_tools import check_html, page_overflow


def page(body: str, css: str = "") -> str:
    """A complete, valid HTML5 document; its body content starts on line 9."""
    return ('<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            '<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f"<title>t</title><style>{css}</style>\n</head>\n<body>\n{body}\n</body>\n</html>\n")


VALID = page('<h1>Hello</h1>\n<p>A <em>valid</em> page.</p>\n<img src="x.png" alt="x">')

# Line 9: <img> without alt. Line 10: duplicate id.
INVALID = page('<img src="x.png">\n<div id="a"></div><div id="a"></div>')

WIDE = page('<p>text</p>\n<div id="wide" class="box big" style="width:1000px;height:20px"></div>')

WIDE_IMG = ("data:image/svg+xml,%3Csvg%20xmlns=%22http://www.w3.org/2000/svg%22"
            "%20width=%221200%22%20height=%2250%22/%3E")
RESPONSIVE_BODY = ('<div style="max-width:1000px">' + "word " * 300 + "</div>\n"
                   f'<img src="{WIDE_IMG}" alt="wide image">\n'
                   '<pre>' + "x" * 500 + "</pre>")
RESPONSIVE = page(RESPONSIVE_BODY, "img{max-width:100%;height:auto} pre{overflow-x:auto}")
UNSTYLED = page(RESPONSIVE_BODY)  # same content without the responsive CSS


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return p


def test_valid_pages_have_no_vnu_errors(tmp_path: Path) -> None:
    pages = {"ok": VALID, "wide": WIDE, "responsive": RESPONSIVE, "unstyled": UNSTYLED}
    assert check_html([write(tmp_path, f"{k}.html", v) for k, v in pages.items()]) == []


def test_invalid_page_errors_name_file_and_line(tmp_path: Path) -> None:
    ok = write(tmp_path, "ok page.html", VALID)  # space: vnu %-escapes URLs
    bad = write(tmp_path, "bad page.html", INVALID)
    errors = check_html([ok, bad])
    assert errors, "expected vnu errors"
    assert {e["file"] for e in errors} == {bad}
    alt = [e for e in errors if "alt" in e["message"]]
    dup = [e for e in errors if "Duplicate ID" in e["message"]]
    assert alt and alt[0]["line"] == 9, errors
    assert dup and dup[0]["line"] == 10, errors


def test_check_html_many_files_one_run(tmp_path: Path) -> None:
    paths = [write(tmp_path, f"p{i:03}.html", VALID if i % 50 else INVALID) for i in range(200)]
    errors = check_html(paths)
    assert {e["file"].name for e in errors} == {"p000.html", "p050.html", "p100.html", "p150.html"}


def test_non_ascii_file_name_under_c_locale(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Java under the C locale can't open "é.html" and vnu then says nothing.
    for var in ("LANG", "LC_ALL", "LC_CTYPE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("LC_ALL", "C")
    bad = write(tmp_path, "pâge é.html", INVALID)
    assert {e["file"] for e in check_html([bad])} == {bad}


def test_missing_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        check_html([tmp_path / "nope.html"])


def test_overflow_detects_wide_div_and_passes_responsive_page(tmp_path: Path) -> None:
    wide = write(tmp_path, "wide.html", WIDE)
    resp = write(tmp_path, "responsive.html", RESPONSIVE)
    res = page_overflow([wide, resp], width=360)

    assert res[wide]["viewport"] == 360
    assert res[wide]["scroll_width"] > 360
    assert res[wide]["offenders"] == ["div#wide.box.big right=1008px"]

    assert res[resp] == {"scroll_width": 360, "viewport": 360, "offenders": []}


def test_overflow_reports_wide_image_and_text(tmp_path: Path) -> None:
    p = write(tmp_path, "unstyled.html", UNSTYLED)
    res = page_overflow([p])[p]
    assert res["scroll_width"] > 360
    # The <pre>'s own box fits; its text doesn't (width depends on the font).
    assert res["offenders"][0] == "img right=1208px", res
    assert res["offenders"][1].startswith("pre (text) right="), res
    assert len(res["offenders"]) == 2, res
