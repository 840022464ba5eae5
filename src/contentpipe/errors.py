"""Problems a user can fix, each with where it is.

A build collects problems instead of stopping at the first one: stages append
to a shared :class:`Problems` list and carry on with the rest of the input.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

Severity = Literal["error", "warning"]


@dataclass(frozen=True, slots=True)
class SourcePos:
    """A file, and where known the line (1-based) and the dotted key in it."""

    path: Path
    line: int | None = None
    key: str | None = None

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{where}: {self.key}" if self.key else where


@dataclass(frozen=True, slots=True)
class Problem:
    message: str
    where: SourcePos
    severity: Severity = "error"
    hint: str = ""

    def __str__(self) -> str:
        text = f"{self.where}: {self.message}"
        return f"{text} ({self.hint})" if self.hint else text

    def to_json(self, root: Path | None = None) -> dict[str, object]:
        path = self.where.path
        if root is not None and path.is_absolute() and path.is_relative_to(root):
            path = path.relative_to(root)
        return {
            "severity": self.severity,
            "file": path.as_posix(),
            "line": self.where.line,
            "key": self.where.key,
            "message": self.message + (f" ({self.hint})" if self.hint else ""),
        }


class ContentpipeError(Exception):
    """A problem the user can fix, raised where carrying on makes no sense."""

    def __init__(self, message: str, where: SourcePos, hint: str = "") -> None:
        self.problem = Problem(message, where, "error", hint)
        super().__init__(str(self.problem))


class ProjectError(ContentpipeError):
    """The project itself cannot be used (no config, an invalid config); ``problems`` says why."""

    def __init__(self, message: str, where: SourcePos, hint: str = "",
                 problems: list[Problem] | None = None) -> None:
        super().__init__(message, where, hint)
        self.problems = problems or []


class Problems:
    """The build's problem list: every stage reports here and goes on."""

    def __init__(self) -> None:
        self._items: list[Problem] = []
        self._seen: set[Problem] = set()

    def add(self, problem: Problem) -> None:
        if problem not in self._seen:  # one template error must not be reported per page
            self._seen.add(problem)
            self._items.append(problem)

    def error(self, message: str, where: SourcePos, hint: str = "") -> None:
        self.add(Problem(message, where, "error", hint))

    def warning(self, message: str, where: SourcePos, hint: str = "") -> None:
        self.add(Problem(message, where, "warning", hint))

    def extend(self, problems: Iterator[Problem] | list[Problem]) -> None:
        for p in problems:
            self.add(p)

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self._items if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self._items if p.severity == "warning"]

    def __iter__(self) -> Iterator[Problem]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)
