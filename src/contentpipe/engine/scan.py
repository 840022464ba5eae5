"""What a build reads from disk, by size and mtime, and content hashes with a fast path.

A file is known by its sha256. Size and mtime only let a build skip hashing a
file it has hashed before; an entry recorded less than ``RACY_NS`` after the
file last changed is not trusted (a second save in the same clock tick keeps
size and mtime), so it is hashed again next time, as git does with its index.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from contentpipe.engine.state import InputRow

RACY_NS = 2_000_000_000


@dataclass(frozen=True, slots=True)
class Stat:
    size: int
    mtime_ns: int


def stat_tree(root: Path, into: dict[str, Stat]) -> None:
    """Every regular file under ``root`` (hidden names skipped, links followed once), by path."""
    seen: set[str] = set()

    def visit(folder: str) -> None:
        try:
            real = os.path.realpath(folder)
            if real in seen:
                return
            seen.add(real)
            entries = list(os.scandir(folder))
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            try:
                if entry.is_dir():
                    visit(entry.path)
                elif entry.is_file():
                    st = entry.stat()
                    into[entry.path] = Stat(st.st_size, st.st_mtime_ns)
                else:
                    into[entry.path] = Stat(-1, -1)  # a broken link: an input all the same
            except OSError:
                into[entry.path] = Stat(-1, -1)

    if root.is_dir():
        visit(str(root))


def stat_inputs(config_file: Path, roots: Iterable[Path]) -> dict[str, Stat]:
    """The config file and every file under the given folders (assets/, every pack folder)."""
    found: dict[str, Stat] = {}
    try:
        st = config_file.stat()
        found[str(config_file)] = Stat(st.st_size, st.st_mtime_ns)
    except OSError:
        pass
    for root in roots:
        stat_tree(root, found)
    return found


def file_sha256(path: str) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError:
        return ""


def hash_inputs(stats: Mapping[str, Stat], known: Mapping[str, InputRow]) -> dict[str, InputRow]:
    """sha256 of every input, reusing the last build's where size and a trusted mtime agree."""
    now = time.time_ns()
    out: dict[str, InputRow] = {}
    for path, st in stats.items():
        old = known.get(path)
        known_sha = old.sha256 if old is not None and _trusted(old, st) else None
        sha = known_sha if known_sha is not None else file_sha256(path) if st.size >= 0 else ""
        out[path] = InputRow(st.size, st.mtime_ns if now - st.mtime_ns > RACY_NS else -1, sha)
    return out


def unchanged(stats: Mapping[str, Stat], known: Mapping[str, InputRow], rehash: int = 64) -> bool:
    """True when the inputs are exactly the files the last build saw, with the same bytes.

    Size and mtime decide for nearly every file. Those whose mtime is not trusted (written just before
    the last build hashed them: a racy entry) or differs are hashed, up to ``rehash`` of them: a file
    touched but not changed, or edited just before a build, still lets the next build be a no-op.
    """
    if stats.keys() != known.keys():
        return False
    suspects = [p for p, st in stats.items() if not _trusted(known[p], st)]
    if len(suspects) > rehash:
        return False
    return all(stats[p].size >= 0 and stats[p].size == known[p].size and file_sha256(p) == known[p].sha256
               for p in suspects)


def _trusted(row: InputRow, st: Stat) -> bool:
    """The recorded hash stands: same size, same mtime, and that mtime was not racy when recorded."""
    return row.mtime_ns >= 0 and row.mtime_ns == st.mtime_ns and row.size == st.size
