"""The email channel: .eml read back with the email package, HTML parsed, images decoded, size budget."""

from __future__ import annotations

import email
from email import policy
from email.message import EmailMessage
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from PIL import Image

from conftest import Built, article, jpeg_bytes
from contentpipe import Project

GMAIL_CLIP = 102_000


def emails(built: Built, kind: str) -> list:
    return sorted((o for o in built.manifest.outputs if o.channel == "email" and o.kind == kind),
                  key=lambda o: o.key)


def read_eml(path: Path) -> EmailMessage:
    msg = email.message_from_bytes(path.read_bytes(), policy=policy.default)
    assert isinstance(msg, EmailMessage)
    return msg


def test_every_document_has_an_eml_that_reads_back_intact(built_sample: Built) -> None:
    messages = emails(built_sample, "eml")
    assert len(messages) == 12  # 8 English + 5 Dutch articles, one draft left out
    for out in messages:
        msg = read_eml(built_sample.out / out.path)
        assert msg.get_content_type() == "multipart/alternative"
        plain, html = msg.iter_parts()
        assert plain.get_content_type() == "text/plain" and html.get_content_type() == "text/html"
        assert plain.get_content_charset() == html.get_content_charset() == "utf-8"
        folder = (built_sample.out / out.path).parent
        # the parts are exactly the channel's text and HTML outputs (in MIME's canonical CRLF line ends)
        assert plain.get_content().replace("\r\n", "\n") == (folder / "email.txt").read_text(encoding="utf-8")
        assert html.get_content().replace("\r\n", "\n").rstrip("\n") == \
            (folder / "email.html").read_text(encoding="utf-8").rstrip("\n")
        assert msg["From"].addresses[0].addr_spec == "news@example.com"
        assert msg["List-Unsubscribe"] == "<https://www.example.com/newsletter/unsubscribe>"
        assert msg["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        assert msg["Message-ID"].endswith("@www.example.com>")
        assert msg["Content-Language"] in ("en", "nl")
        assert msg["Date"].datetime is not None
        # CRLF line ends throughout, as RFC 5322 wants
        raw = (built_sample.out / out.path).read_bytes()
        assert b"\n" not in raw.replace(b"\r\n", b"")


def test_subject_comes_from_front_matter_or_the_title(built_sample: Built) -> None:
    docs = built_sample.manifest.documents
    subjects = {}
    for rel, doc in docs.items():
        key = doc["variants"]["email"]["eml"]
        subjects[rel] = read_eml(built_sample.file(key))["Subject"]
    assert subjects["assets/articles/lantern-workshop.md"] == "Build your own lantern for Spring Lights"
    # non-ASCII subjects survive the RFC 2047 round trip
    assert subjects["assets/articles/meet-the-mechanics.md"] == docs["assets/articles/meet-the-mechanics.md"]["title"]


def test_email_html_is_inlined_table_layout_with_a_preheader(built_sample: Built) -> None:
    out = built_sample.by_key["email/articles/lantern-workshop/email.html"]
    soup = BeautifulSoup((built_sample.out / out.path).read_text(encoding="utf-8"), "lxml")
    assert soup.html["lang"] == "en"
    container = soup.select_one("table.container")
    assert container["width"] == "600" and container["role"] == "presentation"
    assert all(t.get("role") == "presentation" for t in soup.select("table.wrapper, table.container"))
    # CSS inlined: only media queries stay in <style>
    [style] = soup.find_all("style")
    assert "@media" in style.text and "font-family" not in style.text.split("@media")[0]
    assert "font-size: 28px" in soup.h1["style"]
    assert "color" in soup.select_one("a.button")["style"]
    pre = soup.select_one("div.preheader")
    assert pre.get_text().startswith("Two hours, one glowing lantern, no experience needed.")
    assert "display: none" in pre["style"]


def test_every_email_link_and_image_is_absolute_sized_and_tagged(built_sample: Built) -> None:
    for out in emails(built_sample, "html"):
        html = (built_sample.out / out.path).read_text(encoding="utf-8")
        assert len(html.encode()) < GMAIL_CLIP, out.key
        soup = BeautifulSoup(html, "lxml")
        for a in soup.find_all("a", href=True):
            parts = urlsplit(a["href"])
            assert parts.scheme in ("https", "mailto"), (out.key, a["href"])
            if parts.netloc == "www.example.com" and "unsubscribe" not in parts.path:
                query = parse_qs(parts.query)
                assert query["utm_source"] == ["newsletter"] and query["utm_medium"] == ["email"], a["href"]
                assert query["utm_campaign"] == ["spring-lights-2026"]
        images = soup.find_all("img")
        assert images, out.key
        for img in images:
            assert img.has_attr("alt") and img["width"].isdigit() and img["height"].isdigit()
            key = urlsplit(img["src"]).path.lstrip("/")
            assert img["src"].startswith("https://www.example.com/media/")
            with Image.open(built_sample.out / built_sample.by_key[key].path) as decoded:
                assert decoded.format in ("JPEG", "PNG")
                # the width/height attributes keep the rendition's aspect ratio
                ratio = decoded.width / decoded.height
                assert abs(int(img["width"]) / int(img["height"]) - ratio) < 0.02


def test_view_in_browser_and_cta_open_the_web_page(built_sample: Built) -> None:
    out = built_sample.by_key["email/nl/articles/night-market/email.html"]
    soup = BeautifulSoup((built_sample.out / out.path).read_text(encoding="utf-8"), "lxml")
    view = soup.select_one("td.topbar a")
    assert view.get_text() == "Bekijk deze e-mail in je browser"
    url = urlsplit(view["href"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == "https://www.example.com/nl/articles/night-market/"
    assert built_sample.by_key["nl/articles/night-market/index.html"].channel == "web"
    assert parse_qs(url.query)["utm_content"] == ["night-market-cta"]


def test_plain_text_part_is_readable(built_sample: Built) -> None:
    text = built_sample.file("email/articles/lantern-workshop/email.txt").read_text(encoding="utf-8")
    lines = text.splitlines()
    assert lines[0] == "Make your own bike lantern at the Tidebike depot"
    assert lines[1] == "=" * len(lines[0])
    assert "When and where\n--------------" in text
    assert "- Where: Tidebike depot, Kettingstraat 12" in text
    assert "<" not in text.replace("<https", "")  # no HTML left
    assert "Read the full story: https://www.example.com/articles/lantern-workshop/?utm_source=newsletter" in text
    assert all(len(line) <= 76 or "://" in line or line.startswith("[Image:") for line in lines)


def email_project(make_project, body: str, extra: str = "") -> Path:  # type: ignore[no-untyped-def]
    return make_project({
        "assets/a/ok.md": article("Fine", body="A short one.\n"),
        "assets/a/big.md": article("Big", extra=extra, body=body),
        "assets/a/pic.jpg": jpeg_bytes((900, 600)),
    }, config="""\
[site]
name = "Test site"
base_url = "https://test.example/"
campaign = "launch"
[channels]
enabled = ["web", "email"]
""")


def test_an_email_over_the_gmail_clip_size_is_an_error_naming_the_file(make_project) -> None:  # type: ignore[no-untyped-def]
    body = "\n\n".join(f"Paragraph {i}: " + "words and more words " * 40 for i in range(160))
    root = email_project(make_project, body)
    result = Project.load(root).build()
    errors = [str(p) for p in result.errors]
    assert any("big.md" in e and "Gmail clips" in e for e in errors), errors
    out = result.out_dir
    assert not (out / "email/a/big/email.html").exists() and not (out / "email/a/big/message.eml").exists()
    assert (out / "email/a/ok/message.eml").is_file()  # the rest of the build goes on
    assert (out / "web/a/big/index.html").is_file()


def test_raw_html_is_reduced_to_its_text_in_email(make_project) -> None:  # type: ignore[no-untyped-def]
    body = ('Before <span class="x" onclick="evil()">inline</span> after.\n\n'
            '<div class="promo"><b>Block</b> text &amp; more</div>\n\n![A picture](pic.jpg)\n')
    root = email_project(make_project, body)
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    soup = BeautifulSoup((result.out_dir / "email/a/big/email.html").read_text(encoding="utf-8"), "lxml")
    content = soup.select_one("td.content")
    assert "Before inline after." in content.get_text(" ", strip=True)
    assert "Block text & more" in content.get_text(" ", strip=True)
    assert not content.select("span.x, div.promo, [onclick]")
    img = content.find("img")
    assert img["alt"] == "A picture" and img["width"] == "560" and img["height"] == "373"
    with Image.open(result.out_dir / urlsplit(img["src"]).path.lstrip("/")) as decoded:
        assert decoded.format == "JPEG" and decoded.width == 900


def test_the_email_lint_finds_what_mail_clients_break_on() -> None:
    from contentpipe.render.formats import lint_email

    html = ('<a href="/relative/">x</a><a href="mailto:a@b.example">m</a><a href="#top">t</a>'
            '<a HREF=\'https://ok.example/\'>ok</a>'
            '<img src="https://cdn.example/a.webp" alt="" width="10" height="10">'
            '<img src="https://cdn.example/b.jpg" width="10">'
            '<img alt src=images/c.png width=1 height=1>')
    assert lint_email(html, 100) == [
        f"the HTML is {len(html)} bytes; Gmail clips messages over 100 bytes (the footer and unsubscribe "
        "link would be hidden)",
        "link '/relative/' is not absolute: a mail client has no page to resolve it against",
        "image 'https://cdn.example/a.webp' is not JPEG, PNG or GIF: many mail clients cannot show it",
        "image 'https://cdn.example/b.jpg' has no alt attribute (images are blocked by default in many clients)",
        "image 'https://cdn.example/b.jpg' needs numeric width and height attributes",
        "image 'images/c.png' is not an absolute http(s) URL",
    ]
    assert lint_email('<img src="https://x.example/a.png" alt="" width="1" height="1">', 10_000) == []


def test_email_front_matter_that_is_not_a_table_or_has_a_typo_is_named(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/one.md": article("One", extra='email: "Subject line"\n'),
        "assets/a/two.md": article("Two", extra="email:\n  subjet: Typo\n"),
    }, config='[site]\nname = "T"\nbase_url = "https://t.example/"\n[channels]\nenabled = ["web", "email"]\n')
    result = Project.load(root).build()
    assert result.ok
    found = sorted((p.where.path.name, p.where.line, p.message) for p in result.warnings)
    assert found == [("one.md", 4, "email must be a table (subject, preheader); ignored"),
                     ("two.md", 5, "email.subjet: unknown key (known: preheader, subject)")]
    for name, subject in (("one", "One"), ("two", "Two")):  # the title stands in
        assert read_eml(result.out_dir / f"email/a/{name}/message.eml")["Subject"] == subject
