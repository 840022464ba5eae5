"""`serve` in a real browser: Debian's chromium driven by Playwright against the real command.

One `contentpipe serve` process on a copy of the sample, one browser for the module. Each test leaves
the sample as it found it and waits for the rebuild that puts it back.
"""

from __future__ import annotations

import email
import email.policy
import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from tests.browser_tools import CHROMIUM, CHROMIUM_ARGS, axe_core
from tests.conftest import copy_sample

DOC = "assets/articles/lantern-workshop.md"
PREVIEW = "_contentpipe/doc/" + DOC
TITLE = "Make your own bike lantern at the Tidebike depot"
WAIT_MS = 30_000
# whether the web, mobile and email frames all show (or all no longer show) some words, once loaded
FRAMES_SAY = """([words, shown]) => [...document.querySelectorAll('iframe')].slice(0, 3).every(f => {
  const body = f.contentDocument && f.contentDocument.readyState === 'complete' && f.contentDocument.body;
  return body && body.innerText.includes(words) === shown;
})"""


class Served:
    def __init__(self, root: Path, cache: Path) -> None:
        self.root = root
        self.proc = subprocess.Popen([sys.executable, "-m", "contentpipe", "serve", str(root), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                     env={**os.environ, "PYTHONUNBUFFERED": "1", "CONTENTPIPE_CACHE_DIR": str(cache)})
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert line.startswith("serving http://"), line + (self.proc.stderr.read() if self.proc.poll() else "")
        self.url = line.split()[1]
        self.out = root / "dist"

    def save(self, rel: str, text: str) -> None:
        """An editor's atomic save: a temp file beside the master, renamed over it."""
        path = self.root / rel
        tmp = path.with_name(f".{path.name}.tmp")
        tmp.write_text(text, encoding="utf-8")
        tmp.replace(path)

    def stop(self) -> tuple[int, str]:
        self.proc.send_signal(signal.SIGINT)
        _, err = self.proc.communicate(timeout=30)
        return self.proc.returncode, err


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory, shared_rendition_cache: Path) -> Iterator[Served]:
    server = Served(copy_sample(tmp_path_factory.mktemp("serve") / "sample"), shared_rendition_cache)
    yield server
    code, err = server.stop()
    assert code == 0 and "Traceback" not in err, err  # Ctrl-C is a clean exit


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    if not CHROMIUM.exists():
        pytest.fail("chromium not found: run bash tests/install-tools.sh")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser: object) -> Iterator[object]:
    context = browser.new_context(viewport={"width": 1600, "height": 1000})  # type: ignore[attr-defined]
    context.route(re.compile(r"^https?://(?!127\.0\.0\.1[:/])"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(WAIT_MS)
    yield page
    context.close()


def frame(page: object, title: str) -> object:
    handle = page.wait_for_selector(f'iframe[title="{title}"]', state="attached")  # type: ignore[attr-defined]
    found = handle.content_frame()
    found.wait_for_load_state("load")
    return found


def build_number(page: object) -> int:
    return int(page.evaluate("document.documentElement.dataset.contentpipeBuild || '0'"))  # type: ignore[attr-defined]


def open_preview(page: object, served: Served) -> None:
    page.goto(served.url + PREVIEW, wait_until="load")  # type: ignore[attr-defined]
    page.wait_for_function("document.documentElement.dataset.contentpipeBuild")  # type: ignore[attr-defined]


def test_a_documents_preview_shows_every_channel(served: Served, page: object) -> None:
    open_preview(page, served)
    web = frame(page, "Web page at desktop width")
    assert web.inner_text("h1").strip() == TITLE
    assert web.evaluate("innerWidth") == 1280
    mobile = frame(page, "Mobile page in a phone frame")
    assert mobile.evaluate("innerWidth") == 390 and TITLE in mobile.inner_text("body")
    mail = frame(page, "Email HTML in a 600 px frame")
    assert mail.evaluate("innerWidth") == 600 and TITLE in mail.inner_text("body")

    eml = email.message_from_bytes((served.out / "email/articles/lantern-workshop/message.eml").read_bytes(),
                                   policy=email.policy.default)
    assert page.inner_text(".email dd.subject") == eml["Subject"]  # type: ignore[attr-defined]
    assert eml["From"].addresses[0].addr_spec in page.inner_text(".email .headers")  # type: ignore[attr-defined]
    assert not page.is_visible("#email-text")  # type: ignore[attr-defined]
    page.click("#tab-text")  # type: ignore[attr-defined]
    assert page.is_visible("#email-text") and not page.is_visible("#email-html")  # type: ignore[attr-defined]
    text = (served.out / "email/articles/lantern-workshop/email.txt").read_text(encoding="utf-8")
    assert page.inner_text("#email-text pre").split() == text.split()  # type: ignore[attr-defined]

    posts = page.query_selector_all("article.post")  # type: ignore[attr-defined]
    networks = sorted(p.get_attribute("data-network") for p in posts)
    assert networks == sorted(p.stem for p in (served.out / "social/articles/lantern-workshop").glob("*.json"))
    for post in posts:
        data = json.loads((served.out / f"social/articles/lantern-workshop/{post.get_attribute('data-network')}"
                           ".json").read_text(encoding="utf-8"))
        assert f"{data['length']} / {data['limit']}" in post.inner_text()
        img = post.query_selector("img")
        img.scroll_into_view_if_needed()  # the cards load lazily
        page.wait_for_function("i => i.complete && i.naturalWidth > 0", arg=img)  # type: ignore[attr-defined]
        assert img.evaluate("i => i.naturalWidth") == data["image"]["width"]
    assert page.get_attribute(".versions a", "hreflang") == "nl"  # type: ignore[attr-defined]


def test_the_email_frames_images_load_from_the_preview(served: Served, page: object) -> None:
    open_preview(page, served)
    mail = frame(page, "Email HTML in a 600 px frame")
    images = mail.eval_on_selector_all(
        "img", "imgs => imgs.map(i => ({src: i.src, ok: i.complete && i.naturalWidth > 0}))")
    assert images and all(i["ok"] for i in images), images
    assert all(i["src"].startswith(served.url) for i in images), images
    built = (served.out / "email/articles/lantern-workshop/email.html").read_text(encoding="utf-8")
    assert 'src="https://www.example.com/media/' in built  # the file stays as it will be sent


def test_the_preview_reloads_itself_after_an_edit_and_other_pages_do_not(served: Served, page: object) -> None:
    open_preview(page, served)
    other = page.context.new_page()  # type: ignore[attr-defined]
    other.goto(served.url + "articles/route-guide/", wait_until="load")
    other.wait_for_function("document.documentElement.dataset.contentpipeBuild")
    other.evaluate("window.__marker = 1")
    before = build_number(other)
    path = served.root / DOC
    good = path.read_text(encoding="utf-8")
    words = "A sentence only this test writes."
    try:
        served.save(DOC, good.replace("No experience is needed.", f"No experience is needed. {words}", 1))
        page.wait_for_function(FRAMES_SAY, arg=[words, True])  # type: ignore[attr-defined]
        assert words in frame(page, "Web page at desktop width").inner_text("body")
        other.wait_for_function(f"Number(document.documentElement.dataset.contentpipeBuild) > {before}")
        assert other.evaluate("window.__marker") == 1  # its bytes did not change: it was not reloaded
    finally:
        served.save(DOC, good)
        page.wait_for_function(FRAMES_SAY, arg=[words, False])  # type: ignore[attr-defined]
        other.close()


def test_broken_front_matter_brings_up_the_overlay_which_clears_after_the_fix(served: Served, page: object) -> None:
    open_preview(page, served)
    path = served.root / DOC
    good = path.read_text(encoding="utf-8")
    try:
        served.save(DOC, good.replace("title:", 'title: "unclosed', 1))
        page.wait_for_selector("#contentpipe-overlay", state="visible")  # type: ignore[attr-defined]
        where = page.inner_text("#contentpipe-overlay .where")  # type: ignore[attr-defined]
        assert re.fullmatch(re.escape(DOC) + r":\d+", where), where
        overlay = page.inner_text("#contentpipe-overlay")  # type: ignore[attr-defined]
        assert "malformed front matter" in overlay and 'title: "unclosed' in overlay
        # under it, the document's preview says why it is out of the build
        assert "malformed front matter" in page.inner_text("section.problems")  # type: ignore[attr-defined]
    finally:
        served.save(DOC, good)
    page.wait_for_selector("#contentpipe-overlay", state="detached")  # type: ignore[attr-defined]
    assert frame(page, "Web page at desktop width").inner_text("h1").strip() == TITLE


def test_the_document_list_filters_and_keeps_its_filters_in_the_address(served: Served, page: object) -> None:
    page.goto(served.url + "_contentpipe/", wait_until="load")  # type: ignore[attr-defined]
    rows = "#documents tbody tr"
    total = len(page.query_selector_all(rows))  # type: ignore[attr-defined]
    assert total == 12
    visible = f"{rows}:not([hidden])"
    page.fill("#q", "lantern")  # type: ignore[attr-defined]
    shown = page.query_selector_all(visible)  # type: ignore[attr-defined]
    assert 0 < len(shown) < total and all("lantern" in r.inner_text().lower() for r in shown)
    page.fill("#q", "")  # type: ignore[attr-defined]
    page.select_option("#locale", "nl")  # type: ignore[attr-defined]
    assert {r.get_attribute("data-locale") for r in page.query_selector_all(visible)} == {"nl"}  # type: ignore
    page.check("#problems")  # type: ignore[attr-defined]
    assert all(int(r.get_attribute("data-problems")) > 0 for r in page.query_selector_all(visible))  # type: ignore
    page.uncheck("#problems")  # type: ignore[attr-defined]
    count = page.inner_text("#count")  # type: ignore[attr-defined]
    page.reload(wait_until="load")  # type: ignore[attr-defined]
    assert page.input_value("#locale") == "nl" and page.inner_text("#count") == count  # type: ignore


@pytest.mark.parametrize("path", ["_contentpipe/", PREVIEW])
def test_the_preview_pages_pass_axe(served: Served, page: object, path: str) -> None:
    page.goto(served.url + path, wait_until="load")  # type: ignore[attr-defined]
    page.add_script_tag(path=str(axe_core()))  # type: ignore[attr-defined]
    from tests.browser_tools import _AXE_JS_RUN, AXE_TAGS

    found = page.evaluate(_AXE_JS_RUN, AXE_TAGS)  # type: ignore[attr-defined]
    severe = [f"{v['id']} ({v['impact']}) at {v['target']}: {v['help']}" for v in found
              if v["impact"] in ("serious", "critical")]
    assert severe == []
