"""JSON files in the build cache: versioned, written atomically, ignored when unreadable.

A cache can always be rebuilt, so a missing, corrupt or old-version file is
simply treated as empty.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from contentpipe.write import atomic_write


def load_json(path: Path, version: int) -> dict[str, Any]:
    """The ``data`` of a cache file written by :func:`save_json` with this version, or {}."""
    try:
        payload = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    if not isinstance(payload, dict) or payload.get("version") != version:
        return {}
    data = payload.get("data")
    return data if isinstance(data, dict) else {}


def save_json(path: Path, version: int, data: dict[str, Any]) -> None:
    """Write under a unique temporary name, then rename: builds sharing a cache never meet half a file."""
    text = json.dumps({"version": version, "data": data}, ensure_ascii=False, sort_keys=True)
    atomic_write(path, lambda fh: fh.write(text.encode("utf-8")))
