"""Reading a file of the output folder for someone else (the preview server, a test send), safely.

Only a regular file inside the folder is read, and none reached through a symlink at any step (a link
planted in the output folder is refused wherever it points, even inside it). The file is opened with
O_NOFOLLOW, so a link swapped in after the check is refused too.
"""

from __future__ import annotations

import os
from pathlib import Path


def inside(root: Path, path: Path) -> bool:
    """``path`` is a regular file under ``root``, reached from it through no symlink and no ``..``."""
    base, path = Path(os.path.abspath(root)), Path(os.path.abspath(path))  # noqa: PTH100 - no symlink resolved
    if not path.is_relative_to(base):
        return False
    current = base
    for part in path.relative_to(base).parts:
        current = current / part
        if current.is_symlink():
            return False
    return path.resolve().is_relative_to(base.resolve()) and path.is_file()


def read_inside(root: Path, path: Path) -> bytes | None:
    """The bytes of ``path`` if :func:`inside` holds; None otherwise, or when it cannot be read."""
    path = Path(os.path.abspath(path))  # noqa: PTH100 - what inside() checked is what is opened
    if not inside(root, path):
        return None
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
    except OSError:
        return None
    with os.fdopen(fd, "rb") as fh:
        return fh.read()
