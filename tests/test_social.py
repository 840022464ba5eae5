"""The social channel: a payload per document and network, inside that network's real limits."""

from __future__ import annotations

import json
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

from PIL import Image

from conftest import Built, article, jpeg_bytes
from contentpipe import Project
from contentpipe.text.measure import measure

NETWORKS = {  # network: (limit, counting, url_length, share image size)
    "x": (280, "x-weighted", 23, (1200, 675)),
    "bluesky": (300, "graphemes", None, (1200, 675)),
    "mastodon": (500, "characters", 23, (1200, 675)),
    "threads": (500, "graphemes", None, (1080, 1350)),
    "linkedin": (3000, "characters", None, (1200, 627)),
    "facebook": (63206, "characters", None, (1200, 630)),
    "instagram": (2200, "characters", None, (1080, 1350)),
}


def payloads(built: Built) -> list[tuple[str, dict]]:
    return [(o.key, json.loads((built.out / o.path).read_text(encoding="utf-8")))
            for o in built.manifest.outputs if o.channel == "social"]


def test_every_document_has_a_payload_per_network_within_its_limit(built_sample: Built) -> None:
    found = payloads(built_sample)
    assert len(found) == 12 * len(NETWORKS)
    for key, post in found:
        limit, counting, url_length, size = NETWORKS[post["network"]]
        assert post["limit"] == limit and post["counting"] == counting
        assert post["length"] == measure(post["text"], counting, url_length) <= limit, key
        if post["network"] == "bluesky":
            assert len(post["text"].encode()) <= 3000
        if post["network"] in ("x", "bluesky", "mastodon", "threads"):
            assert post["link"] in post["text"]
        else:
            assert post["link"] not in post["text"]
        assert all(h in post["text"] for h in post["hashtags"])
        if post["network"] == "instagram":
            assert len(post["hashtags"]) <= 5
        image = post["image"]
        assert (image["width"], image["height"]) == size
        media = urlsplit(image["url"]).path.lstrip("/")
        with Image.open(built_sample.out / built_sample.by_key[media].path) as decoded:
            # JPEG, or PNG for a transparent master (the lantern cut-out)
            assert decoded.size == size and decoded.get_format_mimetype() == image["type"]
        assert image["alt"]


def test_links_carry_the_network_as_campaign_source(built_sample: Built) -> None:
    post = json.loads(built_sample.file("social/nl/articles/route-guide/bluesky.json").read_text(encoding="utf-8"))
    link = urlsplit(post["link"])
    assert f"{link.scheme}://{link.netloc}{link.path}" == post["canonical_url"]
    assert post["canonical_url"] == "https://www.example.com/nl/articles/route-guide/"
    assert parse_qs(link.query) == {"utm_source": ["bluesky"], "utm_medium": ["social"],
                                    "utm_campaign": ["spring-lights-2026"], "utm_content": ["route-guide"]}


def test_editor_text_is_used_as_written(built_sample: Built) -> None:
    post = json.loads(built_sample.file("social/articles/lantern-workshop/x.json").read_text(encoding="utf-8"))
    assert post["generated"] is False
    assert post["text"].startswith("Paper, a teal frame and a warm LED: build your own bike lantern")
    assert "🏮" in post["text"]


def social_project(make_project, extra: str, summary: str = "A summary.") -> Path:  # type: ignore[no-untyped-def]
    return make_project({
        "assets/a/ok.md": article("Fine", extra="tags: [spring, night market]\n"),
        "assets/a/post.md": article("Long one", extra=f"summary: {summary!r}\ntags: [cycling]\n"
                                    "hero: pic.jpg\n" + extra),
        "assets/a/pic.jpg": jpeg_bytes((1000, 1000)),
        "assets/a/pic.jpg.yml": "alt: A square picture\nfocal_point: [0.8, 0.2]\n",
    }, config="""\
[site]
name = "Test site"
base_url = "https://test.example/"
campaign = "launch"
[channels]
enabled = ["web", "social"]
""")


def test_an_editor_text_too_long_for_x_is_reported_never_cut(make_project) -> None:  # type: ignore[no-untyped-def]
    text = "界" * 130 + " 🏳️‍🌈"  # 130 CJK weigh 260, plus the link (23): too long for X, fine elsewhere
    root = social_project(make_project, f"social:\n  x: {text!r}\n")
    result = Project.load(root).build()
    [error] = result.errors
    assert error.where.path.name == "post.md" and error.where.key == "social.x"
    assert error.where.line == 8  # the line of 'x:' under 'social:'
    assert "X allows 280" in error.message and "never cut" in error.message
    out = result.out_dir
    assert not (out / "social/a/post/x.json").exists()
    mastodon = json.loads((out / "social/a/post/mastodon.json").read_text(encoding="utf-8"))
    assert mastodon["text"].startswith("Long one") and mastodon["generated"] is True  # the rest still builds
    assert (out / "social/a/ok/x.json").is_file()


def test_a_long_generated_text_is_cut_at_a_boundary_to_fit(make_project) -> None:  # type: ignore[no-untyped-def]
    summary = ("Spring rides start at dusk. " * 8 + "Families 👨‍👩‍👧‍👦 and flags 🇳🇱 welcome. ") * 3
    root = social_project(make_project, "", summary=summary)
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    bluesky = json.loads((result.out_dir / "social/a/post/bluesky.json").read_text(encoding="utf-8"))
    assert bluesky["generated"] is True
    assert measure(bluesky["text"], "graphemes") <= 300
    head = bluesky["text"].split("\n\n")
    assert head[0] == "Long one"
    assert head[1].endswith((".", "…")) and summary.startswith(head[1].rstrip("…").rstrip())
    assert "https://test.example/a/post/?utm_source=bluesky" in bluesky["text"]
    x = json.loads((result.out_dir / "social/a/post/x.json").read_text(encoding="utf-8"))
    assert measure(x["text"], "x-weighted") == x["length"] <= 280
    assert x["text"].startswith("Long one\n\nSpring rides start at dusk.")
    assert x["hashtags"] in ([], ["#cycling"]) and all(h in x["text"] for h in x["hashtags"])


def test_share_images_are_cropped_around_the_focal_point(make_project) -> None:  # type: ignore[no-untyped-def]
    root = social_project(make_project, "")
    result = Project.load(root).build()
    manifest = json.loads((result.out_dir / "manifest.json").read_text())
    specs = {o["key"]: o["extra"]["spec"] for o in manifest["outputs"] if o["kind"] == "rendition"}
    x = json.loads((result.out_dir / "social/a/post/x.json").read_text(encoding="utf-8"))
    instagram = json.loads((result.out_dir / "social/a/post/instagram.json").read_text(encoding="utf-8"))
    # the square master is too small for 1200x675: the largest 16:9 window, at the top because the
    # focal point is at y = 0.2 (a centred crop would start at y = 0.21875)
    assert (x["image"]["width"], x["image"]["height"]) == (999, 562)
    assert specs[urlsplit(x["image"]["url"]).path.lstrip("/")].split("|")[1] == "0.00000,0.00000,1.00000,0.56250"
    # 4:5 portrait for Instagram, upscaled to its size, the window pushed right towards x = 0.8
    assert (instagram["image"]["width"], instagram["image"]["height"]) == (1080, 1350)
    assert specs[urlsplit(instagram["image"]["url"]).path.lstrip("/")].split("|")[1] == \
        "0.20000,0.00000,1.00000,1.00000"
    with Image.open(result.out_dir / urlsplit(instagram["image"]["url"]).path.lstrip("/")) as decoded:
        assert decoded.size == (1080, 1350)


def test_an_editor_link_to_the_page_becomes_the_tagged_link(make_project) -> None:  # type: ignore[no-untyped-def]
    root = social_project(make_project, 'social:\n  text: "Read it: https://test.example/a/post/ today."\n')
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    post = json.loads((result.out_dir / "social/a/post/mastodon.json").read_text(encoding="utf-8"))
    assert post["text"].startswith(f"Read it: {post['link']} today.")
    assert post["text"].count("https://") == 1 and "utm_source=mastodon" in post["link"]
    linkedin = json.loads((result.out_dir / "social/a/post/linkedin.json").read_text(encoding="utf-8"))
    assert linkedin["text"].startswith("Read it: https://test.example/a/post/ today.")  # link sent beside it


def test_an_unknown_network_in_front_matter_is_named(make_project) -> None:  # type: ignore[no-untyped-def]
    root = social_project(make_project, 'social:\n  twiter: "Typo"\n')
    result = Project.load(root).build()
    [warning] = [p for p in result.warnings if "twiter" in p.message]
    assert warning.where.path.name == "post.md" and warning.where.line == 8
    assert warning.message.startswith("social.twiter: no such network here (known: bluesky, facebook, instagram")


def test_a_campaign_placeholder_that_cannot_be_filled_is_a_rule_error(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/ok.md": article("Fine"),
        "channels/social/channel.toml": '[channel]\nextends = "social"\n\n[links]\nutm_content = "{slg}"\n\n'
                                        '[networks.x]\nutm_medium = "{nope"\n',
    })
    result = Project.load(root).build()
    found = sorted((p.where.line, p.where.key, p.message) for p in result.errors)
    allowed = "{campaign}, {channel}, {kind}, {locale}, {network}, {slug}"
    assert found == [
        (5, "links.utm_content", f"'{{slg}}' uses {{slg}} (allowed: {allowed})"),
        (8, "networks.x.utm_medium",
         "'{nope' uses a malformed placeholder (expected '}' before end of string) (allowed: " + allowed + ")"),
    ]
    assert all(p.where.path == root / "channels/social/channel.toml" for p in result.errors)
    assert (result.out_dir / "web/a/ok/index.html").is_file()  # the pack is left out, the rest builds
    assert not (result.out_dir / "social").exists()


def test_instagram_hashtags_stay_within_its_cap(make_project) -> None:  # type: ignore[no-untyped-def]
    four = "#one #two #three #four"
    root = social_project(make_project, f"social:\n  instagram: {('Caption ' + four)!r}\n")  # tags: [cycling]
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    post = json.loads((result.out_dir / "social/a/post/instagram.json").read_text(encoding="utf-8"))
    assert post["hashtags"] == ["#one", "#two", "#three", "#four", "#cycling"]  # ours fits under the cap of 5
    six = "Caption " + " ".join(f"#t{i}x" for i in range(6))
    root2 = social_project(make_project, f"social:\n  instagram: {six!r}\n")
    [error] = Project.load(root2).build().errors
    assert error.message == "the Instagram text has 6 hashtags; Instagram allows 5"
    assert error.where.key == "social.instagram"


def test_a_slot_with_title_makes_a_share_card(make_project) -> None:  # type: ignore[no-untyped-def]
    from PIL import ImageStat

    root = social_project(make_project, "")
    result = Project.load(root).build()
    assert result.ok, [str(p) for p in result.errors]
    out = result.out_dir

    def image(network: str) -> Image.Image:
        post = json.loads((out / f"social/a/post/{network}.json").read_text(encoding="utf-8"))
        return Image.open(out / urlsplit(post["image"]["url"]).path.lstrip("/")).convert("L")

    card, plain = image("instagram"), image("threads")  # same size and crop; only the card has the title
    assert card.size == plain.size == (1080, 1350)
    bottom = (0, 1150, 1080, 1350)
    # the master is one flat colour, so any text or band is ours: darker band, white glyphs on it
    assert ImageStat.Stat(card.crop(bottom)).mean[0] < ImageStat.Stat(plain.crop(bottom)).mean[0] - 20
    assert card.crop(bottom).getextrema()[1] > 240 and plain.crop(bottom).getextrema()[1] < 200
    top = (0, 0, 1080, 400)
    assert abs(ImageStat.Stat(card.crop(top)).mean[0] - ImageStat.Stat(plain.crop(top)).mean[0]) < 2


# ----- where a network folds a post behind "see more" ---------------------------------------------------


def test_fold_index_keeps_clusters_and_urls_whole() -> None:
    from contentpipe.text.truncate import fold_index

    assert fold_index("short", "characters", 10) is None
    assert fold_index("abcdefghij", "characters", 4) == 4
    family = "\U0001f468\u200d\U0001f469\u200d\U0001f467"  # one grapheme, five code points
    text = "ab" + family + "cd"
    assert fold_index(text, "graphemes", 3) == 2 + len(family)  # the family is one, and never split
    assert fold_index(text, "characters", 4) == 2  # counted by code point it does not fit: cut before it
    flag = "\U0001f1f3\U0001f1f1"
    assert fold_index("x" + flag + "y", "graphemes", 2) == 1 + len(flag)
    accented = "cafe\u0301 noir"  # e + combining acute
    assert fold_index(accented, "characters", 3) == 3  # never between the e and its accent
    assert fold_index(accented, "characters", 4) == 5  # and the pair counts one, as the network sees it (NFC)
    url = "See https://example.com/a/long/path/to/the/page now"
    assert fold_index(url, "characters", 20) == url.index("https")  # a URL it would cut goes below the fold
    cjk = "\u6f22\u5b57" * 10  # weight 2 each for X
    assert fold_index(cjk, "x-weighted", 7) == 3


def test_linkedin_posts_say_where_see_more_folds_them(built_sample: Built) -> None:
    from contentpipe.text.measure import graphemes

    seen = 0
    for key in built_sample.by_key:
        if not key.endswith("/linkedin.json"):
            continue
        post = json.loads(built_sample.file(key).read_text(encoding="utf-8"))
        text, fold = post["text"], post["fold"]
        if measure(text, "characters") <= 140:
            assert fold is None
            continue
        seen += 1
        assert measure(text[:fold], "characters") <= 140
        assert measure(text[:fold] + graphemes(text[fold:])[0], "characters") > 140
        assert post["fold_utf16"] == len(text[:fold].encode("utf-16-le")) // 2
    assert seen
    for key in built_sample.by_key:
        if key.endswith(("/x.json", "/bluesky.json", "/mastodon.json", "/threads.json")):
            assert json.loads(built_sample.file(key).read_text(encoding="utf-8"))["fold"] is None


def test_a_fold_past_the_limit_is_a_rule_error(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"assets/a.md": article("A"),
                         "channels/brand/channel.toml": '[channel]\nextends = "social"\n\n[networks.x]\nfold = 281\n'})
    result = Project.load(root).build(["brand"])
    [error] = [p for p in result.errors if "fold" in p.message]
    assert error.where.path == root / "channels/brand/channel.toml" and error.where.line == 5
    assert "past its limit 280" in error.message
