"""The only code that writes to the output folder: atomic, contained, no double claims.

Each file is written to a temporary name beside its target and renamed over it,
so the output folder never holds half a file. A path that would leave the
output folder is refused. A file whose bytes did not change is left alone (its
mtime too), and files of the previous build that this build did not produce
are removed at the end, never anything else.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import stat
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from contentpipe.errors import ContentpipeError, SourcePos

TEMP_PREFIX = ".tmp-"  # a file being written; the walkers of assets/ and publish skip hidden names


class Writer:
    def __init__(self, out_dir: Path, previous: dict[str, tuple[str, int]] | None = None) -> None:
        self.root = out_dir.resolve()
        self.previous = previous or {}  # path -> (sha256, size) of the last build
        self.claimed: dict[str, str] = {}
        self._folders: dict[Path, Path] = {}  # folder as named -> resolved, once per folder and writer
        self.written = 0
        self.unchanged = 0
        self.started_ns = time.time_ns()

    def _inside(self, rel: str) -> Path | None:
        """``rel`` in the output folder, its folders resolved but not its last part (a link there is replaced)."""
        path = self.root / rel
        if path.name in ("", ".", ".."):
            return None
        folder = self._folders.get(path.parent)
        if folder is None:
            folder = self._folders[path.parent] = path.parent.resolve()
        target = folder / path.name
        return target if target.is_relative_to(self.root) else None

    def _target(self, rel: str, origin: str) -> Path:
        target = self._inside(rel)
        if target is None:
            raise ContentpipeError(f"{rel!r} would be written outside {self.root}; refused", SourcePos(Path(origin)))
        first = self.claimed.setdefault(rel, origin)
        if first != origin:
            raise ContentpipeError(f"{rel!r} is also produced by {first}", SourcePos(Path(origin)))
        return target

    def claim(self, rel: str, origin: str) -> None:
        """Count a file this build keeps as it is (the engine knows it is current): claimed, not rewritten.

        Its path was checked to stay inside the folder when it was written.
        """
        first = self.claimed.setdefault(rel, origin)
        if first != origin:
            raise ContentpipeError(f"{rel!r} is also produced by {first}", SourcePos(Path(origin)))
        self.unchanged += 1

    def write(self, rel: str, data: bytes, origin: str) -> bool:
        """Write ``data`` at ``rel``; False when the file already held exactly these bytes."""
        target = self._target(rel, origin)
        try:
            held = target.lstat()
            if stat.S_ISREG(held.st_mode) and held.st_size == len(data) and target.read_bytes() == data:
                self.unchanged += 1
                return False
        except OSError:
            pass
        atomic_write(target, lambda fh: fh.write(data))
        self.written += 1
        return True

    def copy(self, rel: str, source: Path, sha256: str, size: int, origin: str) -> bool:
        """Place a cached file (a rendition) as a copy stamped with the source's mtime.

        Never a hard link: an edit in the output folder must not reach the
        content-addressed cache. Size and mtime equal to the source's mean the
        copy is as placed; otherwise its bytes are hashed, and it is copied
        again when they are not ``sha256``.
        """
        target = self._target(rel, origin)
        if self.previous.get(rel) == (sha256, size) and _is_placed(target, source, sha256, size):
            self.unchanged += 1
            return False
        with source.open("rb") as src:
            atomic_write(target, lambda fh: shutil.copyfileobj(src, fh))
        _stamp(target, source)
        self.written += 1
        return True

    def remove_leftovers(self) -> int:
        """Delete temporary files a killed build left (``.tmp-*``, older than this writer); their targets stand."""
        removed = 0
        for folder, _, names in os.walk(self.root):
            for name in names:
                if name.startswith(TEMP_PREFIX):
                    path = Path(folder) / name
                    try:
                        if path.lstat().st_mtime_ns < self.started_ns:
                            path.unlink()
                            removed += 1
                    except OSError:
                        continue  # gone already: another build's rename
        return removed

    def remove_stale(self, keep: set[str]) -> list[str]:
        """Delete files the previous build wrote that this one did not (a link, not its target); prune empty folders."""
        removed = []
        for rel in sorted(set(self.previous) - keep):
            target = self._inside(rel)
            if target is not None and (target.is_symlink() or target.is_file()):
                target.unlink()
                removed.append(rel)
                prune_empty_parents(target, self.root)
        return removed


def atomic_write(target: Path, fill: Callable[[BinaryIO], object]) -> None:
    """Write through ``fill`` into a temporary file beside ``target``, then rename it over ``target``."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=TEMP_PREFIX)
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


def _is_placed(target: Path, source: Path, sha256: str, size: int) -> bool:
    """True when ``target`` holds the bytes ``sha256``; hashed only when its stat differs from the source's."""
    try:
        placed, cached = target.lstat(), source.stat()
    except OSError:
        return False
    if (not stat.S_ISREG(placed.st_mode) or placed.st_size != size
            or (placed.st_dev, placed.st_ino) == (cached.st_dev, cached.st_ino)):
        return False  # a symlink, a folder, another size, or the cache's own file (a hard link)
    if placed.st_mtime_ns == cached.st_mtime_ns:
        return True
    with target.open("rb") as fh:
        same = hashlib.file_digest(fh, "sha256").hexdigest() == sha256
    if same:
        _stamp(target, source)  # the cache was made again: same bytes, so only the stamp moves
    return same


def _stamp(target: Path, source: Path) -> None:
    mtime = source.stat().st_mtime_ns
    os.utime(target, ns=(mtime, mtime))
