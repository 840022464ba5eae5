"""contentpipe.text: network lengths (with twitter-text's conformance vectors), truncation, link tagging."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest
import yaml

from contentpipe.text import measure as measure_module
from contentpipe.text.links import is_site_url, tag_url
from contentpipe.text.measure import COUNTINGS, X_V2, X_V3, find_urls, graphemes, measure, parse_x
from contentpipe.text.truncate import truncate

VECTORS = Path(__file__).parent / "data" / "twitter-text"


def vectors(file: str, section: str) -> list[Any]:
    cases = yaml.safe_load((VECTORS / file).read_text(encoding="utf-8"))["tests"][section]
    return [pytest.param(case, id=case["description"]) for case in cases]


# --- twitter-text conformance ----------------------------------------------------------------------------------


@pytest.mark.parametrize("case", vectors("validate.yml", "WeightedTweetsCounterTest"))
def test_x_weighted_v2_vectors(case: dict[str, Any]) -> None:
    # twitter-text's own Ruby and JS suites run this section with config v2 (no emoji parsing).
    result = parse_x(case["text"], X_V2)
    assert (result.weighted_length, result.valid) == (case["expected"]["weightedLength"], case["expected"]["valid"])


@pytest.mark.parametrize("case", vectors("validate.yml", "WeightedTweetsWithDiscountedEmojiCounterTest"))
def test_x_weighted_v3_vectors(case: dict[str, Any]) -> None:
    result = parse_x(case["text"], X_V3)
    assert (result.weighted_length, result.valid) == (case["expected"]["weightedLength"], case["expected"]["valid"])
    assert measure(case["text"], "x-weighted") == case["expected"]["weightedLength"]


@pytest.mark.parametrize("case", vectors("validate.yml", "UnicodeDirectionalMarkerCounterTest"))
def test_x_weighted_directional_marker_vectors(case: dict[str, Any]) -> None:
    result = parse_x(case["text"])
    assert (result.weighted_length, result.valid) == (case["expected"]["weightedLength"], case["expected"]["valid"])
    assert measure(case["text"], "x-weighted") == case["expected"]["weightedLength"]


@pytest.mark.parametrize(
    "case", vectors("extract.yml", "urls") + vectors("extract.yml", "tco_urls_with_params")
)
def test_find_urls_vectors(case: dict[str, Any]) -> None:
    text = case["text"]
    assert [text[start:end] for start, end in find_urls(text)] == case["expected"]


@pytest.mark.parametrize(
    "case", vectors("extract.yml", "urls_with_indices") + vectors("extract.yml", "urls_with_directional_markers")
)
def test_find_urls_indices_vectors(case: dict[str, Any]) -> None:
    text = case["text"]
    assert [{"url": text[s:e], "indices": [s, e]} for s, e in find_urls(text)] == case["expected"]


# --- measure ---------------------------------------------------------------------------------------------------

FAMILY = "\U0001f468\u200d\U0001f469\u200d\U0001f467\u200d\U0001f466"  # 7 code points, one cluster
WAVE_MEDIUM = "\U0001f44b\U0001f3fd"  # waving hand + skin tone modifier
FLAG_US = "\U0001f1fa\U0001f1f8"  # two regional indicators
KEYCAP_1 = "1\ufe0f\u20e3"
E_ACUTE_DECOMPOSED = "e\u0301"  # NFC turns it into U+00E9
Q_ACUTE = "q\u0301"  # no precomposed form: stays two code points


@pytest.mark.parametrize(("text", "characters", "graphemes_", "x"), [
    ("", 0, 0, 0),
    ("hello", 5, 5, 5),
    (WAVE_MEDIUM, 2, 1, 2),
    (FAMILY, 7, 1, 2),
    (FLAG_US, 2, 1, 2),
    (FLAG_US + "\U0001f1ec", 3, 2, 4),  # a lone third indicator is its own cluster
    (KEYCAP_1, 3, 1, 2),
    ("日本語", 3, 3, 6),  # CJK weighs 2 on X
    ("日本語 ok", 6, 6, 9),
    (E_ACUTE_DECOMPOSED, 1, 1, 1),
    (Q_ACUTE, 2, 1, 2),
    ("©", 1, 1, 1),  # text-style symbol: an ordinary character on X
    ("\u00a9\ufe0f", 2, 1, 2),  # emoji-style: one emoji
    ("…", 1, 1, 2),  # U+2026 is outside X's weight-1 ranges
    ("\u2014", 1, 1, 1),  # em dash is inside them
    ("\U0001f426\u200d\U0001f525", 3, 1, 2),  # phoenix (Unicode 15): newer than twitter-text's emoji list
])
def test_measure_countings(text: str, characters: int, graphemes_: int, x: int) -> None:
    assert measure(text, "characters") == characters
    assert measure(text, "graphemes") == graphemes_
    assert measure(text, "x-weighted") == x


LONG_URL = "https://example.com/articles/2025/a-very-long-slug-that-goes-on-and-on?utm_source=x#part-2"


@pytest.mark.parametrize("counting", COUNTINGS)
def test_long_url_counts_as_url_length(counting: str) -> None:
    text = f"Read {LONG_URL} now"
    assert measure(text, counting, url_length=23) == len("Read ") + 23 + len(" now")
    assert measure(f"{LONG_URL} {LONG_URL}", counting, url_length=10) == 10 + 1 + 10


def test_long_url_without_url_length() -> None:
    text = f"Read {LONG_URL} now"
    assert measure(text, "characters") == len(text)
    assert measure(text, "graphemes") == len(text)
    assert measure(text, "x-weighted") == 5 + 23 + 4  # X always shortens to 23


def test_bare_domains_count_on_x_only() -> None:
    # X links bare domains; Mastodon only replaces URLs that have a scheme.
    text = "see example.com/some/long/path"
    assert measure(text, "x-weighted") == 4 + 23
    assert measure(text, "characters", url_length=23) == len(text)


def test_measure_normalises_nfc() -> None:
    assert measure("cafe\u0301", "characters") == measure("caf\u00e9", "characters") == 4


def test_measure_rejects_unknown_counting() -> None:
    with pytest.raises(ValueError, match="counting"):
        measure("x", "words")


def test_graphemes() -> None:
    text = f"a{E_ACUTE_DECOMPOSED}{FAMILY}{FLAG_US}{WAVE_MEDIUM}क्षि"
    assert graphemes(text) == ["a", E_ACUTE_DECOMPOSED, FAMILY, FLAG_US, WAVE_MEDIUM, "क्षि"]


def test_find_urls_spans() -> None:
    text = "Go to https://example.com/x, or example.org. Not file.txt or e.g. this."
    assert [text[s:e] for s, e in find_urls(text)] == ["https://example.com/x", "example.org"]


def test_find_urls_is_linear_on_long_label_chains() -> None:
    # Matching the pattern at every start rescans these chains: minutes instead of milliseconds (no timing
    # is asserted; a regression shows as a slow suite). The answers must stay right either way.
    texts = ["a-" * 10_000 + ".", "x_" * 10_000 + ".com", "a_b." * 5_000 + "x", "a." * 10_000, "日本語、" * 5_000 + "."]
    for text in texts:
        assert find_urls(text) == []
    # "_" is fine in a subdomain but not in the name label, and a bare domain after "_" is not a URL.
    text = "x_x_x_ab.com http://x_ab.com http://x_ab.example.com"
    assert [text[s:e] for s, e in find_urls(text)] == ["http://x_ab.example.com"]


def test_url_scan_matches_finditer() -> None:
    # _url_matches skips starts that cannot match; it must yield exactly what finditer does.
    rx = measure_module._url_regexes()
    pieces = ["a", "b", "日", "-", "_", ".", "/", ":", " ", "http://", "com", "co", "@", "#", "é", "(", ")", "?", "x_"]
    rng = random.Random(20251123)
    for _ in range(3000):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 30)))
        expected = [(m.span(), m.groups()) for m in rx.extract.finditer(text)]
        assert [(m.span(), m.groups()) for m in measure_module._url_matches(text, rx)] == expected, text


def test_x_validity() -> None:
    assert parse_x("x" * 280).valid
    assert not parse_x("x" * 281).valid
    assert not parse_x("").valid
    assert not parse_x("bad \ufffe char").valid


# --- truncate --------------------------------------------------------------------------------------------------

NEWS = "Big news. We are launching a brand new thing today, with many more details to follow soon."


def test_truncate_returns_text_that_fits_unchanged() -> None:
    assert truncate(NEWS, len(NEWS)) == NEWS
    assert truncate("  spaced  ", 10) == "  spaced  "


def test_truncate_prefers_a_sentence_without_ellipsis() -> None:
    text = "First sentence is here. Second one is a bit longer than that."
    assert truncate(text, 40) == "First sentence is here."


def test_truncate_prefers_words_over_a_much_shorter_sentence() -> None:
    # "Big news." would throw away most of the budget; a word cut keeps it.
    assert truncate(NEWS, 60) == "Big news. We are launching a brand new thing today, with…"
    assert truncate(NEWS, 12) == "Big news."


def test_truncate_word_cut_drops_trailing_punctuation_and_space() -> None:
    text = "Alpha beta, gamma; delta: epsilon - zeta"
    assert truncate(text, 12) == "Alpha beta…"
    assert truncate(text, 19) == "Alpha beta, gamma…"
    assert truncate(text, 27) == "Alpha beta, gamma; delta…"
    assert truncate(text, 36) == "Alpha beta, gamma; delta: epsilon…"


def test_truncate_cjk_sentences() -> None:
    text = "故人西辞黄鹤楼。烟花三月下扬州。孤帆远影碧空尽"
    assert truncate(text, 10) == "故人西辞黄鹤楼。"
    assert truncate(text, 20, "x-weighted") == "故人西辞黄鹤楼。"
    assert truncate(text, 10, "x-weighted") == "故人西辞…"  # 4 x 2 + ellipsis 2


def test_truncate_word_longer_than_limit_cuts_at_grapheme() -> None:
    assert truncate("Supercalifragilisticexpialidocious", 10) == "Supercali…"


@pytest.mark.parametrize(("text", "limit", "counting", "expected"), [
    (WAVE_MEDIUM * 3, 5, "characters", WAVE_MEDIUM * 2 + "…"),
    (WAVE_MEDIUM * 3, 4, "characters", WAVE_MEDIUM + "…"),
    (FAMILY * 3, 10, "characters", FAMILY + "…"),
    (FAMILY * 3, 2, "graphemes", FAMILY + "…"),
    (FAMILY * 3, 5, "x-weighted", FAMILY + "…"),
    (FLAG_US * 3, 4, "characters", FLAG_US + "…"),
    (E_ACUTE_DECOMPOSED * 5, 3, "characters", E_ACUTE_DECOMPOSED * 2 + "…"),
    (Q_ACUTE * 5, 4, "characters", Q_ACUTE + "…"),
    ("日本語日本語", 8, "x-weighted", "日本語…"),  # 3 x 2 + ellipsis 2
    ("日本語日本語", 7, "x-weighted", "日本…"),
])
def test_truncate_never_splits_a_cluster(text: str, limit: int, counting: str, expected: str) -> None:
    assert truncate(text, limit, counting) == expected


def test_truncate_drops_a_hashtag_at_the_cut() -> None:
    assert truncate("Launch day #contentpipe rocks", 20) == "Launch day…"
    assert truncate("#supercalifragilistic", 10) == ""  # one token longer than the limit: nothing to keep


def test_truncate_drops_a_mention_at_the_cut() -> None:
    assert truncate("Thanks @someone@mastodon.social for this", 25) == "Thanks…"


def test_truncate_drops_a_url_at_the_cut() -> None:
    text = f"Read {LONG_URL} today"
    assert truncate(text, 40) == "Read…"
    assert truncate(LONG_URL, 40) == ""
    # Counted as 23 the URL fits whole.
    assert truncate(text + " and tomorrow", 35, url_length=23) == f"Read {LONG_URL} today…"  # 5 + 23 + 6 + 1
    assert truncate(text + " and tomorrow", 36, "x-weighted") == f"Read {LONG_URL} today…"  # "…" weighs 2
    assert truncate(text + " and tomorrow", 35, "x-weighted") == f"Read {LONG_URL}…"


def test_truncate_keeps_url_ending_in_dangling_char() -> None:
    text = "See https://example.com/a- next words here"
    assert truncate(text, 30, url_length=23) == "See https://example.com/a-…"


@pytest.mark.parametrize(("ellipsis", "expected"), [
    ("…", "Alpha beta gamma…"),
    ("...", "Alpha beta gamma..."),
    ("", "Alpha beta gamma delta"),
    (" [more]", "Alpha beta [more]"),
])
def test_truncate_ellipsis_variants(ellipsis: str, expected: str) -> None:
    assert truncate("Alpha beta gamma delta epsilon", 22, ellipsis=ellipsis) == expected


def test_truncate_ellipsis_weighs_as_counted() -> None:
    # On X "…" weighs 2 and "..." weighs 3.
    assert truncate("aaaa bbbb cccc", 11, "x-weighted") == "aaaa bbbb…"
    assert truncate("aaaa bbbb cccc", 11, "x-weighted", ellipsis="...") == "aaaa..."


def test_truncate_limit_below_ellipsis() -> None:
    assert truncate("hello world", 0) == ""
    assert truncate("hello world", 2, ellipsis="...") == ""
    assert truncate("hello world", -5) == ""
    assert truncate("", 0) == ""


@pytest.mark.parametrize("counting", COUNTINGS)
@pytest.mark.parametrize("url_length", [None, 23])
def test_truncate_result_always_fits(counting: str, url_length: int | None) -> None:
    text = (
        f"Hello {FAMILY} world! Ça va? 日本語のテキスト。 See https://example.com/path and #tags @people "
        f"{FLAG_US}{WAVE_MEDIUM} cafe\u0301 — done, finally; the end."
    )
    ends = {0}
    for cluster in graphemes(text):
        ends.add(max(ends) + len(cluster))
    tokens = [*find_urls(text), *(span_of(text, token) for token in ("#tags", "@people"))]
    for limit in range(measure(text, counting, url_length) + 2):
        result = truncate(text, limit, counting, url_length=url_length)
        assert measure(result, counting, url_length) <= limit
        kept = result.removesuffix("…")
        assert text.startswith(kept)
        assert len(kept) in ends
        assert not any(start < len(kept) < end for start, end in tokens), result


def span_of(text: str, token: str) -> tuple[int, int]:
    start = text.index(token)
    return start, start + len(token)


def test_truncate_trailing_whitespace_only() -> None:
    assert truncate("hello   ", 5) == "hello"


def test_truncate_does_not_break_at_no_break_space() -> None:
    assert truncate("Total 10\u00a0km walked today", 11) == "Total…"
    assert truncate("Total 10\u00a0km walked today", 12) == "Total 10\u00a0km…"


# --- links -----------------------------------------------------------------------------------------------------

UTM = {"utm_source": "mastodon", "utm_medium": "social", "utm_campaign": "spring launch", "utm_content": ""}
TAGS = "utm_source=mastodon&utm_medium=social&utm_campaign=spring%20launch"


@pytest.mark.parametrize(("url", "expected"), [
    ("https://example.com/post", f"https://example.com/post?{TAGS}"),
    ("https://example.com/post?id=7&lang=en", f"https://example.com/post?id=7&lang=en&{TAGS}"),
    ("https://example.com/post?", f"https://example.com/post?{TAGS}"),
    ("https://example.com/post#comments", f"https://example.com/post?{TAGS}#comments"),
    ("https://example.com/p?a=1#x?y", f"https://example.com/p?a=1&{TAGS}#x?y"),
    (
        "https://example.com/p?utm_source=newsletter&b=2",
        "https://example.com/p?utm_source=newsletter&b=2&utm_medium=social&utm_campaign=spring%20launch",
    ),
    ("HTTP://Example.COM/Post", f"HTTP://Example.COM/Post?{TAGS}"),
    ("https://bücher.example/straße", f"https://bücher.example/straße?{TAGS}"),
    ("mailto:hello@example.com", "mailto:hello@example.com"),
    ("mailto:hello@example.com?subject=Hi", "mailto:hello@example.com?subject=Hi"),
    ("tel:+31201234567", "tel:+31201234567"),
    ("ftp://example.com/file", "ftp://example.com/file"),
    ("#anchor", "#anchor"),
    ("/relative/path", "/relative/path"),
    ("relative/path?x=1", "relative/path?x=1"),
    ("//cdn.example.com/x", "//cdn.example.com/x"),
])
def test_tag_url(url: str, expected: str) -> None:
    assert tag_url(url, UTM) == expected


def test_tag_url_short_keys_and_nothing_to_add() -> None:
    assert tag_url("https://e.com/", {"source": "x", "campaign": "y"}) == "https://e.com/?utm_source=x&utm_campaign=y"
    assert tag_url("https://e.com/", {"utm_source": ""}) == "https://e.com/"
    assert tag_url("https://e.com/?utm_source=a", {"utm_source": "b"}) == "https://e.com/?utm_source=a"


@pytest.mark.parametrize(("url", "base", "expected"), [
    ("https://example.com/blog/post", "https://example.com/blog/", True),
    ("http://WWW.Example.com/blog", "https://example.com/blog", True),
    ("https://example.com/blog/post", "https://www.example.com/", True),
    ("https://example.com:443/x", "https://example.com", True),
    ("https://example.com/blogroll", "https://example.com/blog", False),
    ("https://example.com/other", "https://example.com/blog/", False),
    ("https://evil.com/blog/x", "https://example.com/blog/", False),
    ("https://example.com.evil.com/", "https://example.com/", False),
    ("https://sub.example.com/", "https://example.com/", False),
    ("https://example.com:8443/", "https://example.com/", False),
    ("https://xn--bcher-kva.example/x", "https://bücher.example/", True),
    ("/blog/post", "https://example.com/blog/", False),
    ("mailto:me@example.com", "https://example.com/", False),
])
def test_is_site_url(url: str, base: str, expected: bool) -> None:
    assert is_site_url(url, base) is expected
