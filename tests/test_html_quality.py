"""Every web and mobile page passes the W3C Nu HTML checker; every page and email fits a 360 px screen.

Email HTML is written for mail clients (presentational table attributes, MSO
conditionals), not for the HTML5 checker; tests/test_email.py lints it instead.
"""

from __future__ import annotations

from pathlib import Path

from browser_tools import check_html, page_overflow
from conftest import Built


def html_files(built: Built) -> list[Path]:
    return sorted(built.out / o.path for o in built.manifest.outputs
                  if o.path.endswith(".html") and o.channel in ("web", "mobile"))


def test_every_page_passes_the_nu_html_checker(built_sample: Built) -> None:
    files = html_files(built_sample)
    assert len(files) > 20
    errors = check_html(files)
    assert errors == [], "\n".join(f"{e['file']}:{e['line']}: {e['message']}" for e in errors)


def test_no_page_scrolls_sideways_at_360_px(built_sample: Built, served: str) -> None:
    urls = {served + o.key.removesuffix("index.html"): o.key
            for o in built_sample.manifest.outputs if o.path.endswith(".html")}
    results = page_overflow(sorted(urls), width=360)
    assert len(results) == len(urls) > 20
    wide = {urls[str(u)]: r for u, r in results.items() if r["scroll_width"] > 360 or r["offenders"]}
    assert wide == {}


def test_overflow_check_catches_a_wide_page(built_sample: Built, served: str, tmp_path: Path) -> None:
    """The 360 px check can fail: an image without max-width overflows."""
    page = tmp_path / "wide.html"
    page.write_text('<!doctype html><html lang="en"><meta name="viewport" content="width=device-width">'
                    '<title>x</title><div style="width:800px">wide</div>')
    [result] = page_overflow([page], width=360).values()
    assert result["scroll_width"] > 360
