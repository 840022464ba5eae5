"""The Python API: ``Project.load(path).build()``. The CLI and the watcher are thin layers on it.

A ``Project`` holds one build engine (engine/core.py). Each ``build()`` does only
what changed since the last build into the same output folder, by the
dependency state the engine keeps in the cache dir, and gives the same files as
a clean build; ``verify()`` proves it by building clean beside it.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass, replace
from pathlib import Path

from contentpipe.config.project import ProjectConfig, check_output_dir, load_config
from contentpipe.engine.core import BuildOptions, Engine, Progress, build_clean_copy
from contentpipe.engine.result import BuildResult, ChannelStats
from contentpipe.errors import Problem, Problems, ProjectError, SourcePos

__all__ = ["BuildResult", "ChannelStats", "Difference", "Project"]


@dataclass(frozen=True)
class Difference:
    """One file on which an incremental build and a clean build disagree."""

    path: str
    what: str  # "missing" (only the clean build has it), "extra" (only ours), "differs"


class Project:
    """A contentpipe project folder: contentpipe.toml, assets/ and optionally channels/."""

    def __init__(self, config: ProjectConfig, config_problems: list[Problem], out_dir: Path | None = None) -> None:
        self.root = config.root
        self.engine = Engine(config, config_problems, out_dir)

    @property
    def config(self) -> ProjectConfig:
        """The config as the last build read it (a kept project reads contentpipe.toml again when it changes)."""
        return self.engine.config

    @property
    def config_problems(self) -> tuple[Problem, ...]:
        return self.engine.config_problems

    @classmethod
    def load(cls, path: Path | str = ".", out_dir: Path | str | None = None) -> Project:
        """Read and validate the project's config; raises ProjectError listing every problem."""
        root = Path(path).resolve()
        problems = Problems()
        config = load_config(root, problems)
        out = None
        if out_dir is not None:
            out = Path(out_dir).resolve()
            if (message := check_output_dir(root, out)) is not None:
                raise ProjectError(message, SourcePos(Path(out_dir)))
            config = replace(config, out_dir=out)
        return cls(config, list(problems), out)

    def build(self, channels: list[str] | tuple[str, ...] | None = None, *, drafts: bool | None = None,
              all_or_nothing: bool = False, full: bool = False, progress: Progress | None = None) -> BuildResult:
        """Build every enabled channel into the output folder; never raises for content problems.

        ``full`` renders every output again, whatever the dependency state says.
        """
        options = BuildOptions(tuple(channels) if channels else None, drafts, all_or_nothing, full)
        return self.engine.build(options, progress)

    def verify(self, channels: list[str] | tuple[str, ...] | None = None, *,
               drafts: bool | None = None) -> tuple[BuildResult, list[Difference]]:
        """Build incrementally, then clean into a temporary folder; every file on which they differ."""
        options = BuildOptions(tuple(channels) if channels else None, drafts, False)
        result = self.engine.build(options)
        with tempfile.TemporaryDirectory(prefix="contentpipe-verify-") as tmp:
            clean = build_clean_copy(self.config, Path(tmp), options)
            return result, compare_trees(result.out_dir, clean.out_dir)


def compare_trees(ours: Path, clean: Path) -> list[Difference]:
    """Every file that is missing, extra or different in ``ours`` against ``clean``."""
    def files(root: Path) -> dict[str, Path]:
        return {p.relative_to(root).as_posix(): p for p in root.rglob("*") if p.is_file()} if root.is_dir() else {}

    a, b = files(ours), files(clean)
    found = [Difference(p, "missing") for p in sorted(b.keys() - a.keys())]
    found += [Difference(p, "extra") for p in sorted(a.keys() - b.keys())]
    found += [Difference(p, "differs") for p in sorted(a.keys() & b.keys())
              if a[p].stat().st_size != b[p].stat().st_size or a[p].read_bytes() != b[p].read_bytes()]
    return found
