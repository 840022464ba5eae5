"""What each channel does with each kind of link (docs/channels.md, "Links"), on real tiny projects."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bs4 import BeautifulSoup

from browser_tools import CHROMIUM, CHROMIUM_ARGS, TESTS_DIR
from conftest import article
from contentpipe import BuildResult, Project
from contentpipe.render.formats import lint_email

CONFIG = """\
[site]
name = "Test site"
base_url = "https://test.example/"
default_locale = "en"
locales = ["en"]
campaign = "spring"
"""
UTM = "utm_source=newsletter&utm_medium=email&utm_campaign=spring&utm_content=a-body"


def build(make_project: Callable[..., Path], body: str, **files: str) -> BuildResult:
    root = make_project({"assets/a.md": article("A", body=body), **files}, config=CONFIG)
    return Project.load(root).build()


def soup(result: BuildResult, rel: str) -> BeautifulSoup:
    return BeautifulSoup((result.out_dir / rel).read_text(encoding="utf-8"), "lxml")


def body_links(result: BuildResult, rel: str) -> dict[str, str | None]:
    """Link text -> href of the links in a page's article body (not the template's own links)."""
    page = soup(result, rel)
    scope = page.find(class_="body") or page.find("article") or page
    return {a.get_text(" ", strip=True): a.get("href") for a in scope.find_all("a")}


def spans(result: BuildResult) -> dict[str, Any]:
    data = json.loads((result.out_dir / "mobile/a/index.json").read_text(encoding="utf-8"))
    return {s["text"]: s.get("url") for b in data["blocks"] if b["type"] == "paragraph" for s in b["spans"]}


def words(result: BuildResult, rel: str) -> str:
    return " ".join((result.out_dir / rel).read_text(encoding="utf-8").split())


def test_relative_links_that_are_not_documents_stay_links(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "Get [the PDF](files/guide.pdf), [see](url) and [contact](../contact/).\n")
    assert result.ok and result.warnings == []  # not "that document is not built"
    written = {"the PDF": "files/guide.pdf", "see": "url", "contact": "../contact/"}
    for page in ("web/a/index.html", "mobile/a/index.html"):  # the browser resolves them against the page
        assert {k: v for k, v in body_links(result, page).items() if k in written} == written
    email = body_links(result, "email/a/email.html")  # where the web page's links lead, campaign-tagged
    assert email["the PDF"] == f"https://test.example/a/files/guide.pdf?{UTM}"
    assert email["see"] == f"https://test.example/a/url?{UTM}"
    assert email["contact"] == f"https://test.example/contact/?{UTM}"
    assert f"the PDF (https://test.example/a/files/guide.pdf?{UTM})" in words(result, "email/a/email.txt")
    apps = spans(result)  # the app has no page: absolute against the mobile page, untagged (tag = "none")
    assert apps["the PDF"] == "https://test.example/mobile/a/files/guide.pdf"
    assert apps["contact"] == "https://test.example/mobile/contact/"


def test_a_link_with_an_empty_destination_is_kept_and_named(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "A [link]() here.\n")
    [warning] = result.warnings
    assert "empty destination" in warning.message and warning.where.line == 6
    web = soup(result, "web/a/index.html").find("a", string="link")
    assert web is not None and web["href"] == ""  # as CommonMark renders it
    assert body_links(result, "email/a/email.html")["link"] == f"https://test.example/a/?{UTM}"
    assert result.ok


def test_a_root_relative_link_resolves_against_base_url_in_email(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "Visit [the shop](/shop/).\n")
    assert result.errors == [], [str(p) for p in result.errors]
    assert body_links(result, "email/a/email.html")["the shop"] == f"https://test.example/shop/?{UTM}"
    assert f"the shop (https://test.example/shop/?{UTM})" in words(result, "email/a/email.txt")
    assert body_links(result, "web/a/index.html")["the shop"] == "/shop/"
    assert spans(result)["the shop"] == "https://test.example/shop/"


def test_email_lint_names_the_scheme_and_lets_mailto_and_tel_through(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "[chat](irc://irc.example/tide), [x](made-up-scheme://x), <a+b+c:d>,\n"
                                 "[mail](mailto:news@example.com), [call](tel:+3110), [web](https://x.example/).\n")
    messages = sorted(p.message for p in result.errors)
    assert len(messages) == 3, messages
    for scheme, href in (("a+b+c", "a+b+c:d"), ("irc", "irc://irc.example/tide"), ("made-up-scheme", "made-up-scheme://x")):
        [message] = [m for m in messages if repr(href) in m]
        assert f"{scheme}:" in message and "not absolute" not in message
    assert not (result.out_dir / "email/a/email.html").exists()
    assert lint_email('<a href="mailto:a@b.c">m</a><a href="TEL:+1">t</a><a href="#x">x</a>', 10**6) == []
    [relative] = lint_email('<a href="page/">p</a>', 10**6)
    assert "'page/' is not absolute" in relative


def test_wide_code_blocks_and_tables_are_reachable_by_keyboard(make_project: Callable[..., Path]) -> None:
    from playwright.sync_api import sync_playwright

    from contentpipe.preview import serve_in_thread

    wide = "x = " + "1234567890 " * 40
    table = "| " + " | ".join(f"column {i}" for i in range(14)) + " |\n|" + "---|" * 14 + "\n"
    result = build(make_project, f"Text.\n\n```\n{wide}\n```\n\n{table}")
    assert result.ok
    for page in ("web/a/index.html", "mobile/a/index.html"):
        [pre] = soup(result, page).find_all("pre")
        [tab_] = soup(result, page).find_all("table")
        assert pre.get("tabindex") == "0" and tab_.get("tabindex") == "0"
    axe = (TESTS_DIR / ".tools" / "node_modules" / "axe-core" / "axe.min.js").read_text(encoding="utf-8")
    server = serve_in_thread(result.out_dir)
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            tab = browser.new_page(viewport={"width": 360, "height": 640})
            for key in ("a/", "mobile/a/"):
                tab.goto(f"http://127.0.0.1:{server.server_port}/{key}")
                tab.add_script_tag(content=axe)
                found = tab.evaluate("""async () => (await axe.run(document, {runOnly: {type: 'rule',
                    values: ['scrollable-region-focusable']}})).violations.map(v => v.id)""")
                assert found == [], key
                for wanted in ("PRE", "TABLE"):
                    for _ in range(20):  # Tab through the page until the code block, then the table, has focus
                        tab.keyboard.press("Tab")
                        if tab.evaluate("document.activeElement.tagName") == wanted:
                            break
                    outline = tab.evaluate("getComputedStyle(document.activeElement).outlineStyle")
                    assert tab.evaluate("document.activeElement.tagName") == wanted and outline == "solid", key
            browser.close()
    finally:
        server.shutdown()
        server.server_close()


def test_plain_text_keeps_what_the_editor_wrote(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "Write <MAILTO:FOO@BAR.BAZ> or see <https://other.example/café>.\n\n"
                                 "| Opening hours | Closed |\n|---|---|\n")
    text = words(result, "email/a/email.txt")
    assert "Write MAILTO:FOO@BAR.BAZ or see https://other.example/café." in text
    assert "Opening hours" in text and "Closed" in text


def test_strikethrough_follows_gfm_in_every_channel(make_project: Callable[..., Path]) -> None:
    result = build(make_project, "~one~ and ~~two~~ but not ~~~three~~~ nor ~four~~.\n")
    body = soup(result, "web/a/index.html").find(class_="body") or soup(result, "web/a/index.html")
    assert [s.get_text() for s in body.find_all(["s", "del"])] == ["one", "two"]
    assert "~~~three~~~ nor ~four~~." in body.get_text()
    marked = json.loads((result.out_dir / "mobile/a/index.json").read_text(encoding="utf-8"))["blocks"][0]["spans"]
    assert [s["text"] for s in marked if s["marks"] == ["del"]] == ["one", "two"]
    assert "~~~three~~~ nor ~four~~." in words(result, "email/a/email.txt")
