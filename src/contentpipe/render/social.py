"""One post per network: text inside the network's real limit, hashtags from tags, the tagged link.

The text is the editor's own (front matter ``social.<network>``, or
``social.text`` for every network) or, without one, the title and summary.
An editor's own link to the page is replaced by the campaign-tagged link.
Generated text is shortened at a sentence or word boundary to fit; an editor's
text is never cut: when it does not fit, that is an error for the editor.
Hashtags are extras: they are dropped, last first, before anything is cut.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from contentpipe.config.rules import NetworkRules
from contentpipe.text.measure import measure
from contentpipe.text.truncate import truncate

HASHTAG_RE = re.compile(r"(?<![\w&])#(\w*[^\W\d]\w*)")


class PostError(ValueError):
    """The post cannot be made within the network's rules; the message is for the editor."""


@dataclass(frozen=True)
class Post:
    text: str
    hashtags: tuple[str, ...]
    length: int
    generated: bool


def hashtag(tag: str) -> str | None:
    """'night market' -> '#NightMarket', 'festival' -> '#festival'; None when no letter is left."""
    words = [w for w in re.split(r"[\W_]+", tag) if w]
    if not words:
        return None
    body = words[0] if len(words) == 1 else "".join(w[:1].upper() + w[1:] for w in words)
    return f"#{body}" if HASHTAG_RE.fullmatch(f"#{body}") else None


def hashtags_in(text: str) -> list[str]:
    return [m.group(0) for m in HASHTAG_RE.finditer(text)]


class _Measure:
    def __init__(self, net: NetworkRules) -> None:
        self.net = net

    def __call__(self, text: str) -> int:
        return measure(text, self.net.counting, self.net.url_length)

    def fits(self, text: str) -> bool:
        net = self.net
        return self(text) <= net.limit and (net.max_bytes is None or len(text.encode()) <= net.max_bytes)


def _assemble(main: str, link: str, tags: list[str]) -> str:
    text = main.strip()
    if link and link not in text:
        text = f"{text}\n\n{link}" if text else link
    missing = [t for t in tags if t.casefold() not in {h.casefold() for h in hashtags_in(text)}]
    if missing:
        text = f"{text}\n\n{' '.join(missing)}" if text else " ".join(missing)
    return text


def compose(net: NetworkRules, *, title: str, summary: str, link: str, tags: tuple[str, ...],
            own_text: str | None, ellipsis: str = "…", canonical: str = "") -> Post:
    """The post for one network; raises PostError when the editor's own text cannot fit."""
    size = _Measure(net)
    link_part = link if net.link == "text" else ""
    if own_text is not None and link_part and canonical:
        own_text = _tag_own_link(own_text, canonical, link_part)
    wanted = list(dict.fromkeys(filter(None, map(hashtag, tags))))[:net.hashtags]
    if own_text is not None:
        for n in range(len(wanted), -1, -1):  # our hashtags go first, to fit the length or the hashtag cap
            text = _assemble(own_text, link_part, wanted[:n])
            if size.fits(text) and _tags_ok(net, text):
                return Post(text, tuple(hashtags_in(text)), size(text), False)
        bare = _assemble(own_text, link_part, [])
        if size.fits(bare):  # it is the editor's own hashtags that are too many
            raise PostError(f"the {net.name} text has {len(hashtags_in(bare))} hashtags; {net.name} allows "
                            f"{net.max_hashtags}")
        extra = " with the link" if link_part and link_part not in own_text else ""
        unit = {"x-weighted": "weighted characters (URLs count 23)", "graphemes": "graphemes"}.get(
            net.counting, "characters")
        raise PostError(f"the {net.name} text is {size(bare)} {unit}{extra}; {net.name} allows {net.limit}"
                        + (f" and {net.max_bytes} bytes" if net.max_bytes else "")
                        + ": shorten it (it is never cut automatically)")
    main = f"{title}\n\n{summary}" if summary and summary != title else title
    for n in range(len(wanted), -1, -1):
        text = _assemble(main, link_part, wanted[:n])
        if size.fits(text) and _tags_ok(net, text):
            return Post(text, tuple(hashtags_in(text)), size(text), True)
    text = _shorten(size, title, summary, link_part, wanted[:1] if net.max_hashtags != 0 else [], ellipsis)
    return Post(text, tuple(hashtags_in(text)), size(text), True)


def _tag_own_link(text: str, canonical: str, link: str) -> str:
    """The editor's own link to the page becomes the campaign-tagged link (not a second copy of it)."""
    pattern = re.compile(re.escape(canonical.rstrip("/")) + r"/?(?=[\s)\]}>.,;:!?'\"]|$)")
    return pattern.sub(lambda m: link, text, count=1)


def _shorten(size: _Measure, title: str, summary: str, link: str, tags: list[str], ellipsis: str) -> str:
    """Title and a cut summary (or a cut title) that fit with the link and at most one hashtag."""
    for use_tags in (tags, []):
        overhead = size(_assemble("x", link, use_tags)) - size("x")
        budget = size.net.limit - overhead
        for _ in range(4):  # separators may count differently once joined; converge
            if summary and summary != title and size(title) + 2 < budget:
                head = f"{title}\n\n"
                main = head + truncate(summary, budget - size(head), size.net.counting,
                                       url_length=size.net.url_length, ellipsis=ellipsis)
            else:
                main = truncate(title, budget, size.net.counting, url_length=size.net.url_length,
                                ellipsis=ellipsis)
            text = _assemble(main, link, use_tags)
            if size.fits(text):
                return text
            budget -= max(1, size(text) - size.net.limit)
    raise PostError(f"the link alone does not fit in {size.net.name}'s {size.net.limit}")


def _tags_ok(net: NetworkRules, text: str) -> bool:
    return net.max_hashtags is None or len(hashtags_in(text)) <= net.max_hashtags
