"""What a build returns: its problems, its counts, its manifest."""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentpipe import urls
from contentpipe.errors import Problem
from contentpipe.manifest import Manifest

if TYPE_CHECKING:
    from contentpipe.engine.writing import Placed


class Laps:
    """Seconds per stage, each lap from the end of the one before (logged at INFO)."""

    def __init__(self) -> None:
        self.timings: dict[str, float] = {}
        self._clock = time.perf_counter()

    def __call__(self, stage: str) -> None:
        now = time.perf_counter()
        self.timings[stage] = round(now - self._clock, 3)
        self._clock = now
        logging.getLogger("contentpipe.engine").info("%s: %.2fs", stage, self.timings[stage])


@dataclass(frozen=True)
class Published:
    """Every file a build left in the output folder, as the manifest lists it (the preview server's view).

    Handed over by reference: a kept engine already holds both mappings, so no 15 MB manifest is read again.
    """

    files: Mapping[str, Placed]  # by path in the output folder
    documents: Mapping[str, str]  # the manifest's documents entries by source, serialised
    # a patch: the ``files`` of the build it patched, and the only paths whose records may differ from it
    patched: Mapping[str, Placed] | None = None
    rewritten: tuple[str, ...] = ()


@dataclass
class ChannelStats:
    outputs: int = 0
    written: int = 0
    unchanged: int = 0
    bytes: int = 0


@dataclass
class BuildResult:
    project: Path
    out_dir: Path
    problems: list[Problem]
    channels: dict[str, ChannelStats] = field(default_factory=dict)
    documents: int = 0
    drafts_skipped: int = 0
    renditions: int = 0
    renditions_encoded: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    rendered: int = 0  # outputs rendered by this build
    kept: int = 0  # outputs whose dependencies had not changed: not rendered again
    rendered_paths: tuple[str, ...] = ()  # which outputs were rendered (paths in the output folder)
    seconds: float = 0.0
    wrote_outputs: bool = True
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage
    way: str = "full"  # "kept": nothing changed; "patch": the last build patched in memory; "full": every stage
    published: Published | None = None  # what is in the output folder now; None when this build wrote nothing
    _manifest: Manifest | None = None

    @property
    def manifest(self) -> Manifest | None:
        """The build's manifest, read from the output folder when first asked for."""
        if self._manifest is None and self.wrote_outputs:
            self._manifest = Manifest.read(self.out_dir / urls.MANIFEST_NAME)
        return self._manifest

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``build --json``."""
        return {
            "ok": self.ok,
            "project": str(self.project),
            "out_dir": str(self.out_dir),
            "documents": self.documents,
            "drafts_skipped": self.drafts_skipped,
            "channels": {name: vars(stats) for name, stats in sorted(self.channels.items())},
            "renditions": {"total": self.renditions, "encoded": self.renditions_encoded,
                           "cached": self.renditions - self.renditions_encoded},
            "outputs": {"rendered": self.rendered, "kept": self.kept},
            "engine": {"way": self.way},
            "files": {"written": self.written, "unchanged": self.unchanged, "removed": self.removed},
            "wrote_outputs": self.wrote_outputs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": problems_json(self.problems, self.project),
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
        }


def problems_json(problems: list[Problem], root: Path) -> list[dict[str, object]]:
    """``Problem.to_json`` of each, the path made relative once per file (a corpus has thousands of warnings)."""
    files: dict[Path, str] = {}
    found = []
    for p in problems:
        path = p.where.path
        name = files.get(path)
        if name is None:
            name = files[path] = str(p.to_json(root)["file"])
        found.append({"severity": p.severity, "file": name, "line": p.where.line, "key": p.where.key,
                      "message": p.message + (f" ({p.hint})" if p.hint else "")})
    return found
