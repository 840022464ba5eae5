"""GFM strikethrough for markdown-it-py: ``~one~`` and ``~~two~~`` strike, ``~~~three~~~`` does not.

The GFM spec (https://github.github.com/gfm/#strikethrough-extension-): a run of one or two
tildes can open or close by the same flanking rules as ``*``; a run of three or more is plain
text; an opener only strikes with a closer of the same length. markdown-it's own rule strikes
only ``~~`` and splits longer runs, so this replaces it (same rule name, so
``enable("strikethrough")`` still switches it on). As in GitHub's cmark-gfm, a closer pairs with
the nearest opener, and a pair of different lengths (``~a~~``) stays text.
"""

from __future__ import annotations

from markdown_it import MarkdownIt
from markdown_it.rules_inline.state_inline import Delimiter, StateInline

TILDE = 0x7E


def strikethrough_plugin(md: MarkdownIt) -> None:
    """Swap markdown-it's strikethrough for the GFM one (enable it with ``md.enable("strikethrough")``)."""
    md.inline.ruler.at("strikethrough", _tokenize)
    md.inline.ruler2.at("strikethrough", _post_process)


def _tokenize(state: StateInline, silent: bool) -> bool:
    if silent or state.src[state.pos] != "~":
        return False
    scanned = state.scanDelims(state.pos, True)
    token = state.push("text", "", 0)
    token.content = "~" * scanned.length
    if scanned.length <= 2:  # length 0: no "rule of 3", which is for emphasis only
        state.delimiters.append(Delimiter(marker=TILDE, length=0, token=len(state.tokens) - 1, end=-1,
                                          open=scanned.can_open, close=scanned.can_close))
    state.pos += scanned.length
    return True


def _pair(state: StateInline, delimiters: list[Delimiter]) -> None:
    for opener in delimiters:
        if opener.marker != TILDE or opener.end == -1:
            continue
        closer = delimiters[opener.end]
        if state.tokens[opener.token].content != state.tokens[closer.token].content:
            continue
        for index, nesting in ((opener.token, 1), (closer.token, -1)):
            token = state.tokens[index]
            token.type, token.tag, token.nesting = ("s_open" if nesting == 1 else "s_close"), "s", nesting
            token.markup, token.content = token.content, ""


def _post_process(state: StateInline) -> None:
    _pair(state, state.delimiters)
    for meta in state.tokens_meta:
        if meta and "delimiters" in meta:
            _pair(state, meta["delimiters"])
