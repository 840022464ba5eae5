"""The one rule for where outputs are published and how they link to each other.

A channel's outputs are written to ``dist/<channel>/<path>`` and published at
``<publish_at><path>`` (the web channel has ``publish_at = ""``: the site root;
the others default to ``<channel>/``). Renditions are shared by all channels:
written to ``dist/media/<name>`` and published at ``media/<name>``. A published
key becomes an absolute URL as ``base_url + key``; inside a channel, outputs
link to each other with URLs relative to the linking page, so a site works
under any bucket prefix. ``index.html`` is dropped from URLs (pretty URLs).
"""

from __future__ import annotations

from functools import lru_cache

MEDIA_DIR = "media"
MANIFEST_NAME = "manifest.json"


def pretty(key: str) -> str:
    """'articles/a/index.html' -> 'articles/a/'; other keys unchanged."""
    if key == "index.html":
        return ""
    return key[:-10] if key.endswith("/index.html") else key


def absolute(base_url: str, key: str) -> str:
    return base_url + pretty(key)


def relative(from_key: str, to_key: str) -> str:
    """The URL of ``to_key`` as seen from the page published at ``from_key``."""
    return _relative(from_key.rpartition("/")[0], pretty(to_key))


@lru_cache(maxsize=65536)
def _relative(from_dir: str, target: str) -> str:
    # Keys are clean relative paths (no '.', '..' or '//'), so plain part counting is exact.
    base = from_dir.split("/") if from_dir else []
    parts = target.split("/")
    common = 0
    while common < len(base) and common < len(parts) - 1 and base[common] == parts[common]:
        common += 1
    rel = "../" * (len(base) - common) + "/".join(parts[common:])
    return rel or "./"


def media_key(name: str) -> str:
    return f"{MEDIA_DIR}/{name}"
