"""contentpipe: one master, every channel. ``Project.load(path).build()`` is the API.

The names below are imported on first use, so that ``contentpipe publish`` and
other light commands do not pay for loading the build stages (Pillow, Jinja2,
markdown-it) at start-up.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"
__all__ = ["BuildResult", "ContentpipeError", "Problem", "Project", "ProjectError"]

if TYPE_CHECKING:
    from contentpipe.api import BuildResult, Project
    from contentpipe.errors import ContentpipeError, Problem, ProjectError


def __getattr__(name: str) -> Any:
    if name in ("BuildResult", "Project"):
        from contentpipe import api

        return getattr(api, name)
    if name in ("ContentpipeError", "Problem", "ProjectError"):
        from contentpipe import errors

        return getattr(errors, name)
    raise AttributeError(f"module 'contentpipe' has no attribute {name!r}")
