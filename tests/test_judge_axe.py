"""Judge: axe-core, in the real browser, on every web and mobile page of the sample.

Each HTML page of the web and mobile channels is served as published (contentpipe preview)
and checked by axe-core against WCAG 2.0/2.1 A and AA and axe's best practices; a serious or
critical violation fails, named by rule, impact, page and element.
"""

from __future__ import annotations

from pathlib import Path

from browser_tools import axe_violations
from conftest import Built

SEVERE = {"serious", "critical"}


def html_pages(built: Built) -> list[str]:
    """The published key of every web and mobile HTML page, from the manifest."""
    return sorted(o.key for o in built.manifest.outputs
                  if o.channel in ("web", "mobile") and o.content_type.startswith("text/html"))


def test_no_serious_or_critical_axe_violation_on_any_page(built_sample: Built, served: str) -> None:
    keys = html_pages(built_sample)
    assert any(k.startswith("mobile/") for k in keys) and "index.html" in keys, keys
    found = axe_violations([served + k for k in keys])
    assert set(found) == {served + k for k in keys}
    severe = [f"{v['id']} ({v['impact']}) on {url.removeprefix(served)} at {v['target']}: {v['help']}"
              for url, vs in found.items() for v in vs if v["impact"] in SEVERE]
    assert not severe, f"{len(severe)} serious/critical axe violations:\n" + "\n".join(severe)


def test_axe_finds_a_violation(tmp_path: Path) -> None:
    """The judge itself: a page with an unlabelled image and an unnamed button does not pass."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><html lang="en"><head><title>t</title></head><body><main>'
                    '<img src="x.png"><button></button></main></body></html>', encoding="utf-8")
    found = axe_violations([page.as_uri()])[page.as_uri()]
    assert {"image-alt", "button-name"} <= {v["id"] for v in found if v["impact"] in SEVERE}, found
