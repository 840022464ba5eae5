"""Plain-text and native-app block renderings of Markdown bodies."""

from __future__ import annotations

import json
from typing import Any

import pytest
from markdown_it.token import Token

from contentpipe.config.rules import MarkdownRules
from contentpipe.render import markdown
from contentpipe.render.blocks import to_blocks
from contentpipe.render.plaintext import display_width, to_text


def parse(text: str) -> list[Token]:
    return markdown.parse(MarkdownRules(), text)


class Links:
    """A link callback that records its calls and tags web URLs, as a campaign would."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, int]] = []

    def __call__(self, href: str, line: int) -> str:
        self.calls.append((href, line))
        return href + "?utm=mail" if href.startswith("http") else href


def text(md: str, width: int = 76) -> str:
    return to_text(parse(md), Links(), width=width)


def blocks(md: str) -> list[dict[str, Any]]:
    def image(src: str, alt: str, title: str, line: int) -> dict[str, Any] | None:
        return None if src.startswith("missing") else {"src": src, "line": line, "renditions": [src + ".webp"]}

    out = to_blocks(parse(md), Links(), image)
    json.dumps(out)  # always serialisable
    return out


def para(value: str, *spans: dict[str, Any]) -> dict[str, Any]:
    return {"type": "paragraph", "text": value, "spans": list(spans) or [{"text": value, "marks": []}]}


# --- plain text --------------------------------------------------------------------------------------------


def test_headings_underlined_by_display_width() -> None:
    assert text("# Big *news*\n\n## Sub\n\n### Small\nbody\n\n# 日本語\n") == (
        "Big news\n========\n\nSub\n---\n\nSmall\n\nbody\n\n日本語\n======\n"
    )


def test_paragraphs_breaks_and_inline_marks() -> None:
    md = "One **strong** _em_ ~~del~~ `a  *b*`\nsoft\\\nhard\n\n\n\nTwo\n"
    assert text(md) == "One strong em ~~del~~ a  *b* soft\nhard\n\nTwo\n"


def test_wrapping_never_breaks_words_or_urls() -> None:
    url = "https://example.com/a/very/long/path/that-is-longer-than/the-width?with=query&and=more"
    md = f"Read the well-known announcement at <{url}> before Friday please.\n"
    out = text(md, width=30)
    assert out == (
        "Read the well-known\n"
        "announcement at\n"
        f"{url}?utm=mail\n"
        "before Friday please.\n"
    )
    assert text(md, width=0) == f"Read the well-known announcement at {url}?utm=mail before Friday please.\n"
    # a bare URL (no autolink) is plain text, still never broken
    assert text(f"Read the well-known announcement at {url} ok\n", width=30).splitlines()[2] == url


def test_cjk_wraps_by_display_width_and_keeps_punctuation() -> None:
    out = text("これは日本語の長い段落です。句読点の前で改行しません。\n", width=20)
    assert out == "これは日本語の長い段\n落です。句読点の前で\n改行しません。\n"
    assert all(display_width(line) <= 20 for line in out.splitlines())
    # a full stop never starts a line: it stays with the character before it
    assert text("あいうえおかきくけ。こ\n", width=18) == "あいうえおかきく\nけ。こ\n"


def test_links_use_the_callback_url_and_line() -> None:
    links = Links()
    md = ("Intro line\n"
          "See [the docs](https://docs.example/guide) or <https://auto.example/x>,\n"
          "[https://same.example](https://same.example), [write](mailto:team@example.org?subject=Hi),\n"
          "<team@example.org>, [back up](#top) and [](https://empty.example).\n")
    out = to_text(parse(md), links, width=0)
    assert out == ("Intro line See the docs (https://docs.example/guide?utm=mail) or https://auto.example/x?utm=mail, "
                   "https://same.example?utm=mail, write (team@example.org), team@example.org, back up and "
                   "https://empty.example?utm=mail.\n")
    assert links.calls == [
        ("https://docs.example/guide", 1), ("https://auto.example/x", 1), ("https://same.example", 1),
        ("mailto:team@example.org?subject=Hi", 1), ("mailto:team@example.org", 1), ("https://empty.example", 1),
    ]  # the inline token's line is the paragraph's first line; anchors are never resolved


def test_link_line_is_the_body_line() -> None:
    links = Links()
    to_text(parse("# T\n\ntext\n\n> quoted [x](https://q.example)\n"), links)
    assert links.calls == [("https://q.example", 5)]


def test_lists_nested_ordered_and_loose() -> None:
    md = ("- first item that is long enough to wrap\n"
          "  - nested\n"
          "    - deeper\n"
          "- second\n"
          "\n"
          "7. seven\n"
          "8. eight\n"
          "   1. sub one\n"
          "\n"
          "Loose:\n"
          "\n"
          "- a\n"
          "\n"
          "  more a\n"
          "- b\n")
    assert text(md, width=24) == (
        "- first item that is\n"
        "  long enough to wrap\n"
        "  - nested\n"
        "    - deeper\n"
        "- second\n"
        "\n"
        "7. seven\n"
        "8. eight\n"
        "  1. sub one\n"
        "\n"
        "Loose:\n"
        "\n"
        "- a\n"
        "\n"
        "  more a\n"
        "\n"
        "- b\n"
    )


def test_blockquote_code_and_rule() -> None:
    md = ("> quoted\n> text\n>\n> > inner\n\n"
          "```python\ndef f():\n    return 1  \n```\n\n"
          "***\n\n"
          "    indented\n")
    assert text(md) == (
        "> quoted text\n>\n> > inner\n\n"
        "    def f():\n        return 1\n\n"
        + "-" * 20 + "\n\n"
        "    indented\n"
    )


def test_code_blocks_are_not_wrapped() -> None:
    long = "x = '" + "a " * 40 + "'"
    assert text(f"```\n{long}\n```\n", width=20) == f"    {long}\n"


def test_images_alone_inline_and_without_alt() -> None:
    md = "![A red *bike*](bike.jpg \"Title\")\n\nRide ![logo](l.png) today ![](x.png).\n\n![](only.png)\n\nEnd\n"
    assert text(md) == "[Image: A red bike]\n\nRide [Image: logo] today .\n\nEnd\n"


def test_tables_become_header_value_blocks() -> None:
    md = ("| Plan | Price | |\n"
          "|:-----|------:|:-:|\n"
          "| Basic | $5 | new |\n"
          "| | | |\n"
          "| Pro [more](https://pro.example) | | |\n")
    assert text(md) == (
        "Plan: Basic\nPrice: $5\nnew\n\n"
        "Plan: Pro more (https://pro.example?utm=mail)\n"
    )


def test_footnotes_listed_under_notes() -> None:
    md = "Claim[^a] and another[^b], again[^a].\n\n[^a]: First *source*.\n[^b]: Second.\n"
    assert text(md) == "Claim[1] and another[2], again[1].\n\nNotes\n[1] First source.\n[2] Second.\n"


def test_multi_paragraph_footnote() -> None:
    md = "X[^1]\n\n[^1]: One.\n\n    Two.\n"
    assert text(md) == "X[1]\n\nNotes\n[1] One.\n\n    Two.\n"


def test_raw_html_text_kept_and_entities_decoded() -> None:
    md = ("<div class=\"promo\">\n"
          "Fish &amp; chips &mdash; <b>today</b> <!-- hidden --><script>track()</script>\n"
          "<p>Second<br>line &lt;3</p>\n"
          "</div>\n"
          "\n"
          "<!-- a comment -->\n"
          "\n"
          "Inline <span class=\"x\">tags</span> go, <br> break, <script>no()</script>kept &amp; text.\n")
    assert text(md) == (
        "Fish & chips — today\n\nSecond\nline <3\n\n"
        "Inline tags go,\nbreak, kept & text.\n"
    )


def test_output_is_normalised() -> None:
    out = text("\n\n# T\n\n\n\npara   \n\n\n> \n\n---\n")
    assert out == "T\n=\n\npara\n\n" + "-" * 20 + "\n"
    assert text("") == ""
    for md in ("x", "- a\n\n\n- b", "```\na  \n\n\n\nb\n```"):
        out = text(md)
        assert out.endswith("\n") and not out.endswith("\n\n")
        assert "\n\n\n" not in out and all(line == line.rstrip() for line in out.splitlines())


def test_tokens_are_not_mutated() -> None:
    md = ("# H\n\n## Sub\n\nA [l](https://x.example) ![i](i.png)[^1] <b>x</b>\n\n| a | b |\n|---|---|\n| 1 | 2 |\n\n"
          "- x\n  - y\n\n[^1]: n\n")
    tokens = parse(md)
    before = [t.as_dict() for t in tokens]
    to_text(tokens, Links())
    blocks_out = to_blocks(tokens, Links(), lambda *a: {"ok": True})
    assert [t.as_dict() for t in tokens] == before
    assert to_blocks(tokens, Links(), lambda *a: {"ok": True}) == blocks_out


# --- blocks ------------------------------------------------------------------------------------------------


def test_blocks_headings_paragraph_spans() -> None:
    md = "# Top\n\n## Sub *head*\n\nPlain **bold _both_** `code` ~~old~~ [go *there*](https://go.example) end\\\nnext\n"
    assert blocks(md) == [
        {"type": "heading", "level": 1, "text": "Top", "id": ""},
        {"type": "heading", "level": 2, "text": "Sub head", "id": "sub-head"},
        para("Plain bold both code old go there end\nnext",
             {"text": "Plain ", "marks": []},
             {"text": "bold ", "marks": ["strong"]},
             {"text": "both", "marks": ["em", "strong"]},
             {"text": " ", "marks": []},
             {"text": "code", "marks": ["code"]},
             {"text": " ", "marks": []},
             {"text": "old", "marks": ["del"]},
             {"text": " ", "marks": []},
             {"text": "go ", "marks": [], "url": "https://go.example?utm=mail"},
             {"text": "there", "marks": ["em"], "url": "https://go.example?utm=mail"},
             {"text": " end\nnext", "marks": []}),
    ]


def test_blocks_link_callback_and_call_to_action() -> None:
    links = Links()
    out = to_blocks(parse("Intro\n\n[Buy **now**](https://shop.example)\n\n<https://auto.example>\n"), links,
                    lambda *a: None)
    assert out == [
        para("Intro"),
        {"type": "link", "text": "Buy now", "url": "https://shop.example?utm=mail"},
        {"type": "link", "text": "https://auto.example", "url": "https://auto.example?utm=mail"},
    ]
    assert links.calls == [("https://shop.example", 3), ("https://auto.example", 5)]
    # a link with text around it is not a call to action
    assert blocks("Go [here](https://h.example).")[0]["type"] == "paragraph"


def test_blocks_images() -> None:
    md = ("![Alt *one*](a.jpg \"Caption\")\n\n"
          "![gone](missing.jpg)\n\n"
          "Before ![inline](b.png) after.\n\n"
          "[![linked](c.png)](https://c.example)\n")
    assert blocks(md) == [
        {"type": "image", "alt": "Alt one", "caption": "Caption",
         "image": {"src": "a.jpg", "line": 1, "renditions": ["a.jpg.webp"]}},
        {"type": "image", "alt": "gone", "caption": "", "src": "missing.jpg"},
        para("Before after."),
        {"type": "image", "alt": "inline", "caption": "",
         "image": {"src": "b.png", "line": 5, "renditions": ["b.png.webp"]}},
        {"type": "image", "alt": "linked", "caption": "",
         "image": {"src": "c.png", "line": 7, "renditions": ["c.png.webp"]}, "url": "https://c.example?utm=mail"},
    ]


def test_blocks_lists_nested() -> None:
    md = "- a\n  - b\n    1. c\n- d\n\n3. three\n4. four\n"
    assert blocks(md) == [
        {"type": "list", "ordered": False, "items": [
            [para("a"), {"type": "list", "ordered": False, "items": [
                [para("b"), {"type": "list", "ordered": True, "start": 1, "items": [[para("c")]]}],
            ]}],
            [para("d")],
        ]},
        {"type": "list", "ordered": True, "start": 3, "items": [[para("three")], [para("four")]]},
    ]


def test_blocks_quote_code_divider() -> None:
    md = "> said\n> > inner\n\n```js title=x\nlet a = 1;\n```\n\n---\n\n    plain\n"
    assert blocks(md) == [
        {"type": "quote", "blocks": [para("said"), {"type": "quote", "blocks": [para("inner")]}]},
        {"type": "code", "language": "js", "text": "let a = 1;"},
        {"type": "divider"},
        {"type": "code", "language": "", "text": "plain"},
    ]


def test_blocks_table_with_alignment() -> None:
    md = "| Name | Qty | Note | x |\n|:--|--:|:-:|---|\n| *Tea* | 2 | | [l](https://l.example) |\n| Cake |\n"
    assert blocks(md) == [{
        "type": "table",
        "header": ["Name", "Qty", "Note", "x"],
        "rows": [["Tea", "2", "", "l"], ["Cake", "", "", ""]],
        "align": ["left", "right", "center", ""],
    }]


def test_blocks_footnotes() -> None:
    md = "Fact[^src] and more[^2].\n\n[^src]: From *here*.\n[^2]: Two.\n\n    Para.\n"
    assert blocks(md) == [
        para("Fact[1] and more[2].",
             {"text": "Fact", "marks": []},
             {"text": "[1]", "marks": [], "footnote": 1},
             {"text": " and more", "marks": []},
             {"text": "[2]", "marks": [], "footnote": 2},
             {"text": ".", "marks": []}),
        {"type": "footnotes", "items": [
            {"id": 1, "blocks": [para("From here.", {"text": "From ", "marks": []},
                                      {"text": "here", "marks": ["em"]}, {"text": ".", "marks": []})]},
            {"id": 2, "blocks": [para("Two."), para("Para.")]},
        ]},
    ]


def test_blocks_raw_html() -> None:
    md = ("<div>\nFish &amp; chips &mdash; <b>now</b><script>x()</script>\n</div>\n\n"
          "<!-- dropped -->\n\n"
          "Say <em>hi</em> &amp; <br>bye\n")
    assert blocks(md) == [
        para("Fish & chips — now"),
        para("Say hi &\nbye"),
    ]


def test_blocks_cjk_and_key_order_are_stable() -> None:
    out = blocks("## 日本語の見出し\n\n本文です。\n")
    assert out == [{"type": "heading", "level": 2, "text": "日本語の見出し", "id": out[0]["id"]}, para("本文です。")]
    assert json.dumps(out, ensure_ascii=False) == (
        '[{"type": "heading", "level": 2, "text": "日本語の見出し", "id": "' + out[0]["id"] + '"}, '
        '{"type": "paragraph", "text": "本文です。", "spans": [{"text": "本文です。", "marks": []}]}]'
    )


@pytest.mark.parametrize("md", ["", "\n\n", "<!-- only -->\n"])
def test_empty_bodies(md: str) -> None:
    assert text(md) == ""
    assert blocks(md) == []


def test_unclosed_inline_script_ends_with_its_paragraph() -> None:
    md = "Before <script>hidden()\n\nAfter\n"
    assert text(md) == "Before\n\nAfter\n"
    assert blocks(md) == [para("Before"), para("After")]


# --- links the channel keeps, drops or rewrites; strikethrough ----------------------------------------------


def test_autolinks_show_what_the_editor_wrote() -> None:
    assert text("Mail <MAILTO:FOO@BAR.BAZ> or <team@example.org>, see <made-up://x/café>.\n", width=0) == (
        "Mail MAILTO:FOO@BAR.BAZ or team@example.org, see made-up://x/café.\n")
    # a URL the caller changed (campaign tags) is shown changed, its non-ASCII still readable; %20 stays
    assert text("<https://x.example/café%20bar>\n") == "https://x.example/café%20bar?utm=mail\n"


def test_a_table_with_only_a_header_keeps_its_words() -> None:
    assert text("| Opening | | **Hours** |\n|---|---|---|\n") == "Opening | Hours\n"


def test_a_dropped_link_keeps_its_words_and_an_empty_one_stays() -> None:
    def drop(href: str, line: int) -> str | None:
        return None if href == "gone" else href

    md = "[Gone **away**](gone) and [empty]().\n\n[Gone](gone)\n"
    assert to_text(parse(md), drop) == "Gone away and empty.\n\nGone\n"
    assert to_blocks(parse(md), drop, lambda *a: None) == [
        para("Gone away and empty.", {"text": "Gone ", "marks": []}, {"text": "away", "marks": ["strong"]},
             {"text": " and ", "marks": []}, {"text": "empty", "marks": [], "url": ""}, {"text": ".", "marks": []}),
        para("Gone"),  # not a call to action without its link
    ]


def html(md: str, **rules: Any) -> str:
    return markdown.parser(MarkdownRules(**rules)).render(md)


@pytest.mark.parametrize(("md", "expected"), [
    ("~~Hi~~ Hello, ~there~ world!", "<p><s>Hi</s> Hello, <s>there</s> world!</p>\n"),  # GFM example 491
    ("This ~~has a\n\nnew paragraph~~.", "<p>This ~~has a</p>\n<p>new paragraph~~.</p>\n"),  # 492
    ("This will ~~~not~~~ strike.", "<p>This will ~~~not~~~ strike.</p>\n"),  # 493
    ("~a~~ and ~~b~", "<p>~a~~ and ~~b~</p>\n"),  # each closer meets an opener of another length
    ("~a~~b~", "<p>~a~~b~</p>\n"),
    ("~a ~~b~~ c~", "<p><s>a <s>b</s> c</s></p>\n"),
    ("*~a~* ~ b ~ x~y~z", "<p><em><s>a</s></em> ~ b ~ x<s>y</s>z</p>\n"),
])
def test_strikethrough_follows_gfm(md: str, expected: str) -> None:
    assert html(md) == expected


def test_strikethrough_off_leaves_tildes() -> None:
    assert html("~a~ ~~b~~", strikethrough=False) == "<p>~a~ ~~b~~</p>\n"
    assert text("~a~ ~~b~~ ~~~c~~~") == "~a~ ~~b~~ ~~~c~~~\n"  # as written: struck words keep their mark


def test_code_blocks_are_focusable() -> None:
    assert html("```py\nx\n```\n\n    y\n") == (
        '<pre tabindex="0"><code class="language-py">x\n</code></pre>\n<pre tabindex="0"><code>y\n</code></pre>\n')
    clean = markdown.sanitize('<pre tabindex="0" onclick="x()"><code>z</code></pre>')
    assert clean == '<pre tabindex="0"><code>z</code></pre>'


def test_struck_words_keep_their_tildes_in_plain_text() -> None:
    from contentpipe.config.rules import MarkdownRules
    from contentpipe.render import markdown, plaintext

    tokens = markdown.parse(MarkdownRules(), "Was ~~$10~~ now $8, ~gone~.\n")
    assert plaintext.to_text(tokens, lambda href, line: href) == "Was ~~$10~~ now $8, ~gone~.\n"
