"""Shorten a post to a network's limit without breaking what readers see as one unit.

A cut inside a URL, #hashtag or @mention leaves a dead link or a different tag,
and a cut inside a grapheme cluster leaves half an emoji, so the cut only ever
lands between whole tokens and whole clusters. A complete sentence needs no
ellipsis; a cut mid-sentence gets one.
"""

from __future__ import annotations

from collections.abc import Callable

import regex

from contentpipe.text.measure import find_urls, graphemes, measure

# A sentence cut is used only if it keeps at least this share of the limit;
# otherwise "Big news. <long paragraph>" would shrink to "Big news." when a
# word cut could keep most of the paragraph. 0 means always prefer sentences.
SENTENCE_MIN_FILL = 0.5

_SENTENCE_END = regex.compile(r"[.!?…]+[\"'”’»)\]]*(?=\s)|[。！？]+[」』”’）]*")
_WORD_END = regex.compile(r"(?<=\S)[^\S\u00a0\u2007\u202f]")  # not at no-break spaces
_TAG = regex.compile(r"(?<![\w&])[#＃](?![\uFE0F\u20E3])[\p{L}\p{M}\p{Nd}_\u200C\u200D]+")
_MENTION = regex.compile(r"(?<![\w@＠])[@＠]\w+(?:@[\w\-]+(?:\.[\w\-]+)+)?")
_DANGLING = set(",;:-–—([{“‘«")
_PROBE = 8  # extra candidates tried above the bisected frontier


def truncate(
    text: str,
    limit: int,
    counting: str = "characters",
    *,
    url_length: int | None = None,
    ellipsis: str = "…",
) -> str:
    """Longest prefix of text whose measure (ellipsis included) is <= limit.

    Prefers a sentence boundary (no ellipsis added), then a word boundary, then a
    grapheme boundary; never cuts inside a URL, #hashtag, @mention or grapheme
    cluster. Returns '' if nothing fits or limit is below the ellipsis' measure.
    """

    def size(candidate: str) -> int:
        return measure(candidate, counting, url_length)

    if size(text) <= limit:
        return text
    if limit < size(ellipsis):
        return ""
    if size(text.rstrip()) <= limit:  # only trailing whitespace is over: nothing is lost
        return text.rstrip()
    in_token = bytearray(len(text) + 1)  # in_token[i]: char i belongs to a URL, #tag or @mention
    for start, end in _protected_spans(text):
        in_token[start:end] = b"\x01" * (end - start)

    def inside(pos: int) -> bool:
        return pos > 0 and in_token[pos - 1] and in_token[pos]

    def trimmed(pos: int) -> int:
        """Drop trailing spaces and dangling punctuation, but never a token's last char."""
        while pos > 0 and (text[pos - 1].isspace() or text[pos - 1] in _DANGLING) and not in_token[pos - 1]:
            pos -= 1
        return pos

    sentence_ends = sorted({m.end() for m in _SENTENCE_END.finditer(text) if not inside(m.end())})
    sentence = _longest(sentence_ends, lambda p: text[:p], lambda s: size(s) <= limit)
    if sentence and size(sentence) >= SENTENCE_MIN_FILL * limit:
        return sentence

    def with_ellipsis(pos: int) -> str:
        end = trimmed(pos)
        if end in sentence_ends:  # the cut happens to complete a sentence
            return text[:end]
        return text[:end] + ellipsis if end else ""

    def fits(candidate: str) -> bool:
        return bool(candidate) and size(candidate) <= limit

    word_ends = [m.start() for m in _WORD_END.finditer(text)]
    best = _longest(word_ends, with_ellipsis, fits)
    if best is None:
        cluster_ends = _cluster_ends(text)
        best = _longest([p for p in cluster_ends if not inside(p)], with_ellipsis, fits)
    if best is None and sentence:
        return sentence
    return best or ""


def _protected_spans(text: str) -> list[tuple[int, int]]:
    spans = find_urls(text)
    spans += [m.span() for m in _TAG.finditer(text)]
    spans += [m.span() for m in _MENTION.finditer(text)]
    return spans


def _cluster_ends(text: str) -> list[int]:
    ends, pos = [], 0
    for cluster in graphemes(text):
        pos += len(cluster)
        ends.append(pos)
    return ends


def _longest(positions: list[int], build: Callable[[int], str], ok: Callable[[str], bool]) -> str | None:
    """Candidate for the largest position that is ok, assuming ok is (nearly) monotone.

    Measures can dip when a cut turns text into a URL, so bisect for the frontier
    and then scan down from a little above it; the result is always verified.
    """
    lo, hi = 0, len(positions)
    while lo < hi:
        mid = (lo + hi) // 2
        if ok(build(positions[mid])):
            lo = mid + 1
        else:
            hi = mid
    for index in range(min(lo + _PROBE, len(positions)) - 1, -1, -1):
        candidate = build(positions[index])
        if ok(candidate):
            return candidate
    return None


def fold_index(text: str, counting: str, fold: int, url_length: int | None = None) -> int | None:
    """Where a network folds ``text`` behind "see more": the end of the longest prefix of whole grapheme
    clusters that measures at most ``fold`` the network's way, moved back to the start of a URL it would
    cut. None when the whole text shows (or nothing before the fold is a whole cluster).
    """
    if measure(text, counting, url_length) <= fold:
        return None
    urls = find_urls(text)
    ends = [p for p in _cluster_ends(text) if not any(s < p < e for s, e in urls)]
    best = _longest(ends, lambda p: text[:p], lambda prefix: measure(prefix, counting, url_length) <= fold)
    return len(best) if best else None
