"""What the parts of a template context share: the channel they render for, and where problems go.

The build (or the incremental engine) may give the context builder a fresh
``Problems`` for each output, so a part never keeps a ``Problems`` of its own:
it reports through :class:`Report`, which asks the builder for the current one
at each call. A value memoised across outputs keeps the problems its making
raised and raises them again on every use, so each output that shows it
carries them.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Generic, TypeVar

from contentpipe.config.project import Site
from contentpipe.config.rules import ChannelRules
from contentpipe.errors import Problem, Problems, SourcePos
from contentpipe.load.documents import Document
from contentpipe.load.masters import Masters
from contentpipe.load.packs import Channel
from contentpipe.plan import Plan

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


@dataclass(frozen=True)
class Scope:
    """The inputs every part reads: the plan, the channel being rendered, the masters."""

    plan: Plan
    channel: Channel
    masters: Masters
    doc_by_path: Mapping[Path, Document]

    @property
    def rules(self) -> ChannelRules:
        return self.channel.rules

    @property
    def site(self) -> Site:
        return self.plan.site

    @property
    def name(self) -> str:
        return self.channel.name


class Report:
    """Sends each problem to the current ``Problems`` and to every memo being made at the time."""

    def __init__(self, current: Callable[[], Problems]) -> None:
        self._current = current
        self._making: list[list[Problem]] = []  # one list per memoised value being made, innermost last

    def warning(self, message: str, where: SourcePos) -> None:
        self.add(Problem(message, where, "warning"))

    def add(self, problem: Problem) -> None:
        self._current().add(problem)
        for raised in self._making:
            raised.append(problem)

    def making(self, make: Callable[[], V]) -> tuple[V, tuple[Problem, ...]]:
        """``make()`` and the problems it raised (they are reported as they happen, too)."""
        raised: list[Problem] = []
        self._making.append(raised)
        try:
            value = make()
        finally:
            self._making.pop()
        return value, tuple(raised)


class Memo(Generic[K, V]):
    """Values kept across outputs, each with the problems its making raised, replayed on every hit."""

    def __init__(self, report: Report) -> None:
        self._report = report
        self._kept: dict[K, tuple[V, tuple[Problem, ...]]] = {}

    def get(self, key: K, make: Callable[[], V]) -> V:
        kept = self._kept.get(key)
        if kept is None:
            kept = self._kept[key] = self._report.making(make)
            return kept[0]
        value, raised = kept
        for problem in raised:
            self._report.add(problem)
        return value
