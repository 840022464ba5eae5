"""Walk assets/ safely: symlinks that leave the project are refused, loops are cut."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

from contentpipe.errors import Problems, SourcePos

SKIP_PREFIXES = (".", "_", "#")
SKIP_SUFFIXES = ("~", ".swp", ".tmp")


def walk_files(top: Path, project_root: Path, problems: Problems) -> Iterator[Path]:
    """Every regular file under ``top`` (sorted), never one outside ``project_root``."""
    root_real = project_root.resolve()
    seen_dirs: set[Path] = set()

    def inside(path: Path) -> bool:
        real = path.resolve()
        if real.is_relative_to(root_real):
            return True
        problems.error(f"symlink points outside the project (to {real}); refused", SourcePos(path))
        return False

    def visit(directory: Path) -> Iterator[Path]:
        real = directory.resolve()
        if real in seen_dirs:
            return
        seen_dirs.add(real)
        try:
            entries = sorted(os.scandir(directory), key=lambda e: e.name)
        except OSError as err:
            problems.error(f"cannot read folder: {err.strerror}", SourcePos(directory))
            return
        for entry in entries:
            if entry.name.startswith(SKIP_PREFIXES) or entry.name.endswith(SKIP_SUFFIXES):
                continue
            path = Path(entry.path)
            if entry.is_symlink():
                if not path.exists():
                    problems.error("broken symlink; skipped", SourcePos(path))
                    continue
                if not inside(path):
                    continue
            if entry.is_dir():
                yield from visit(path)
            elif entry.is_file():
                yield path

    if top.is_dir():
        yield from visit(top)
