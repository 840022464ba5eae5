"""The only code that writes to the output folder: atomic, contained, no double claims.

Each file is written to a temporary name beside its target and renamed over it,
so the output folder never holds half a file. A path that would leave the
output folder is refused. A file whose bytes did not change is left alone (its
mtime too), and files of the previous build that this build did not produce
are removed at the end, never anything else.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from contentpipe.errors import ContentpipeError, SourcePos


class Writer:
    def __init__(self, out_dir: Path, previous: dict[str, tuple[str, int]] | None = None) -> None:
        self.root = out_dir.resolve()
        self.previous = previous or {}  # path -> (sha256, size) of the last build
        self.claimed: dict[str, str] = {}
        self.written = 0
        self.unchanged = 0

    def _target(self, rel: str, origin: str) -> Path:
        target = (self.root / rel).resolve()
        if not target.is_relative_to(self.root) or target == self.root:
            raise ContentpipeError(f"{rel!r} would be written outside {self.root}; refused", SourcePos(Path(origin)))
        first = self.claimed.setdefault(rel, origin)
        if first != origin:
            raise ContentpipeError(f"{rel!r} is also produced by {first}", SourcePos(Path(origin)))
        return target

    def write(self, rel: str, data: bytes, origin: str) -> bool:
        """Write ``data`` at ``rel``; False when the file already held exactly these bytes."""
        target = self._target(rel, origin)
        try:
            if target.stat().st_size == len(data) and target.read_bytes() == data:
                self.unchanged += 1
                return False
        except OSError:
            pass
        atomic_write(target, lambda fh: fh.write(data))
        self.written += 1
        return True

    def copy(self, rel: str, source: Path, sha256: str, size: int, origin: str) -> bool:
        """Place a cached file (a rendition); hard-linked when the file system allows it."""
        target = self._target(rel, origin)
        if self.previous.get(rel) == (sha256, size) and _size(target) == size:
            self.unchanged += 1
            return False
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(f".tmp-{os.getpid()}-{target.name}")
        try:
            tmp.unlink(missing_ok=True)
            os.link(source, tmp)
            tmp.replace(target)
        except OSError:
            tmp.unlink(missing_ok=True)
            with source.open("rb") as src:
                atomic_write(target, lambda fh: shutil.copyfileobj(src, fh))
        self.written += 1
        return True

    def remove_stale(self, keep: set[str]) -> list[str]:
        """Delete files the previous build wrote that this one did not; prune empty folders."""
        removed = []
        for rel in sorted(set(self.previous) - keep):
            target = (self.root / rel).resolve()
            if target.is_relative_to(self.root) and target.is_file():
                target.unlink()
                removed.append(rel)
                prune_empty_parents(target, self.root)
        return removed


def atomic_write(target: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Write through ``fill`` into a temporary file beside ``target``, then rename it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as fh:
            fill(fh)
        Path(tmp).chmod(0o644)
        Path(tmp).replace(target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def prune_empty_parents(path: Path, root: Path) -> None:
    """Remove the folders above ``path`` that are now empty, up to (not including) ``root``."""
    parent = path.parent
    while parent != root and parent.is_relative_to(root) and not any(parent.iterdir()):
        parent.rmdir()
        parent = parent.parent


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except OSError:
        return -1
