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


def plugin_packs(trust: bool = True) -> list[tuple[str, Path, str]]:
    """(name, folder, distribution) of every pack an installed package registers, by name.

    Loading an entry point imports its module, which runs the package's code.
    Without ``trust`` (``[build] trust_packs = false``) nothing is imported: an
    entry point naming a package (``acme = "acme_pack"``) is found by the
    import system's finders alone, and one naming a value in a module
    (``acme_pack:PACK_DIR``), which only its code can compute, is left out with a warning.
    """
    from importlib import metadata

    found = []
    for ep in sorted(metadata.entry_points(group=ENTRY_POINTS), key=lambda e: e.name):
        try:
            path = Path(_load(ep)) if trust else _package_dir(ep.module) if not ep.attr else None
        except Exception as err:  # a broken plugin must not stop the build
            log.warning("pack plugin %s cannot be loaded: %s", ep.name, err)
            continue
        if path is None:
            why = f"names {ep.value!r}, a value its code computes" if ep.attr else f"no package {ep.module!r} found"
            log.warning("pack plugin %s left out: [build] trust_packs = false, and its entry point %s",
                        ep.name, why)
            continue
        found.append((ep.name, path, ep.dist.name if ep.dist else ep.value))
    return found


def _load(ep: object) -> str | Path:
    target = ep.load()  # type: ignore[attr-defined]
    return target if isinstance(target, str | Path) else target.__path__[0]  # type: ignore[no-any-return]


def _package_dir(module: str) -> Path | None:
    """The folder of package ``module``, found as ``import`` would find it but without running any of it.

    ``PathFinder`` given the parent's search locations does not import the
    parent (``importlib.util.find_spec`` would).
    """
    from importlib.machinery import PathFinder

    locations: list[str] | None = None
    parts = module.split(".")
    for i in range(len(parts)):
        spec = PathFinder.find_spec(".".join(parts[: i + 1]), locations)
        if spec is None or not spec.submodule_search_locations:
            return None
        locations = list(spec.submodule_search_locations)
    return Path(locations[0]) if locations else None
