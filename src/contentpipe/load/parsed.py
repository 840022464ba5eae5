"""Parsed Markdown bodies, and what the build needs to know of them without parsing again.

Parsing is the costliest step of a warm build, so the facts other stages need
(every link and image target with its line, the first paragraph for a
fallback summary) are kept on disk, keyed by the document's content hash and
the channel's Markdown rules. Tokens are parsed only for bodies that must be
rendered anew.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from markdown_it.token import Token

from contentpipe.cachefile import load_json, save_json
from contentpipe.config.rules import MarkdownRules
from contentpipe.load.documents import Document
from contentpipe.render import markdown

FACTS_VERSION = 2  # bump when the parsed facts (refs, first paragraph) of one text change
KEEP_TOKENS = 64  # a page and its feed entry reuse a parse; a whole site's tokens would cost hundreds of MB


@dataclass(frozen=True)
class Facts:
    refs: tuple[markdown.Ref, ...]
    first_paragraph: str


@lru_cache(maxsize=256)
def rules_key(rules: MarkdownRules) -> str:
    return hashlib.sha256(repr(rules).encode()).hexdigest()[:16]


class ParsedBodies:
    """Tokens per (document, rules) in memory; their facts also on disk, by content hash."""

    def __init__(self, cache_file: Path | None) -> None:
        self.cache_file = cache_file
        self._tokens: dict[tuple[Path, str, MarkdownRules], list[Token]] = {}
        self._stored: dict[str, list[object]] = load_json(cache_file, FACTS_VERSION) if cache_file else {}
        self._used: dict[str, list[object]] = {}
        self._facts: dict[str, Facts] = {}

    def tokens(self, doc: Document, rules: MarkdownRules) -> list[Token]:
        """Parsed tokens; only the last few are kept (a token stream weighs ~100x its text)."""
        key = (doc.path, doc.sha256, rules)  # by content too: an engine kept between builds keeps this cache
        tokens = self._tokens.pop(key, None)
        if tokens is None:
            tokens = markdown.parse(rules, doc.body)
        self._tokens[key] = tokens
        while len(self._tokens) > KEEP_TOKENS:
            del self._tokens[next(iter(self._tokens))]
        return tokens

    def facts(self, doc: Document, rules: MarkdownRules) -> Facts:
        key = f"{doc.sha256}:{rules_key(rules)}"
        made = self._facts.get(key)
        if made is not None:
            return made
        entry = self._used.get(key) or self._stored.get(key)
        if entry is None:
            tokens = self.tokens(doc, rules)
            refs = [[r.kind, r.target, r.line] for r in markdown.references(tokens)]
            entry = [refs, markdown.first_paragraph_text(tokens)]
        self._used[key] = entry
        refs_raw, first = entry
        made = self._facts[key] = Facts(tuple(markdown.Ref(str(k), str(t), int(n)) for k, t, n in refs_raw),  # type: ignore[union-attr]
                                        str(first))
        return made

    def save(self) -> None:
        """Keep the facts of this build's documents (old entries drop out)."""
        if self.cache_file is not None and self._used != self._stored:
            save_json(self.cache_file, FACTS_VERSION, self._used)
