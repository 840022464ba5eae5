"""Where channel packs live: the built-in folder, and the folders installed packages register.

Apart from packs.py so that a build with nothing to do can find every folder
to check without importing the rules schema.
"""

from __future__ import annotations

import logging
from importlib import resources
from pathlib import Path

log = logging.getLogger(__name__)

ENTRY_POINTS = "contentpipe.packs"


def builtin_packs_dir() -> Path:
    """The built-in packs: inside the wheel, or the repository's channels/ in a checkout."""
    shipped = Path(str(resources.files("contentpipe") / "_channels"))
    if shipped.is_dir():
        return shipped
    return Path(__file__).resolve().parents[3] / "channels"


def plugin_packs() -> list[tuple[str, Path, str]]:
    """(name, folder, distribution) of every pack an installed package registers, by name."""
    from importlib import metadata

    found = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            target = ep.load()
            path = Path(target if isinstance(target, str | Path) else target.__path__[0])
        except Exception as err:  # a broken plugin must not stop the build
            log.warning("pack plugin %s cannot be loaded: %s", ep.name, err)
            continue
        found.append((ep.name, path, ep.dist.name if ep.dist else ep.value))
    return found
