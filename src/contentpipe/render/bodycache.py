"""Rendered Markdown bodies kept between builds, checked by replaying their lookups.

A body's HTML depends on its Markdown, the channel's Markdown rules, the page
it appears on, and what each link and image resolved to. The cache key covers
the first three; the entry records every link and image lookup with its
answer, and is reused only if asking again gives the same answers (which also
re-reports any warning those lookups raise). So a changed target page URL or a
new rendition re-renders exactly the bodies that use them.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from contentpipe.write import atomic_write

BODY_VERSION = "5"  # bump when the Markdown renderer's output changes


class BodyCache:
    def __init__(self, folder: Path | None) -> None:
        self.folder = folder
        self.used: set[str] = set()

    @staticmethod
    def key(doc_sha: str, channel: str, rules: str, from_key: str | None) -> str:
        raw = f"{BODY_VERSION}|{doc_sha}|{channel}|{rules}|{from_key or '<absolute>'}"
        return hashlib.sha256(raw.encode()).hexdigest()[:32]

    def _path(self, key: str) -> Path:
        assert self.folder is not None
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        if self.folder is None:
            return None
        self.used.add(key)
        try:
            data: dict[str, Any] = json.loads(self._path(key).read_text(encoding="utf-8"))
            return data
        except (OSError, ValueError):
            return None

    def put(self, key: str, entry: dict[str, Any]) -> None:
        if self.folder is None:
            return
        self.used.add(key)
        data = json.dumps(entry, ensure_ascii=False).encode("utf-8")
        atomic_write(self._path(key), lambda fh: fh.write(data))

    def prune(self) -> int:
        """Delete entries this build did not use; call only after a build of every channel."""
        if self.folder is None or not self.folder.is_dir():
            return 0
        removed = 0
        for path in self.folder.glob("*/*.json"):
            if path.stem not in self.used:
                path.unlink(missing_ok=True)
                removed += 1
        return removed
