"""Jinja2's immutable sandbox with contentpipe's limits wired into its hooks.

The sandbox already refuses ``__class__``, ``__globals__`` and the other ways
out, and wraps ``str.format`` wherever it is reached; what it does not bound is
what a template may *make*. Here every call, operator, attribute lookup and
loop iteration goes past the render's ``Budget`` (render/limits.py): calls
count their depth, ``*``, ``**``, ``%`` and ``+`` are checked before they run,
``~`` and every captured block (macros, ``{% set %}``, ``{% filter %}``) are
joined only when small enough, and each loop is refused at load time when it is
nested too deep, and ticks the deadline at every iteration when it runs.

The budget of the render under way lives in a ``threading.local`` of the
environment: builds run in a watcher thread while a server thread serves.
"""

from __future__ import annotations

import threading
import types
from collections.abc import Iterable, Iterator
from functools import update_wrapper
from typing import Any

from jinja2 import TemplateSyntaxError, nodes
from jinja2.compiler import CodeGenerator, Frame
from jinja2.runtime import Context, markup_join, str_join
from jinja2.sandbox import ImmutableSandboxedEnvironment, SandboxedEscapeFormatter, SandboxedFormatter
from markupsafe import Markup

from contentpipe.config.project import Limits
from contentpipe.render import limits as lim

_KEY = "[build.limits]"


class LoopsTooDeep(TemplateSyntaxError):
    """A template whose ``for`` loops nest deeper than ``loop_depth``: refused when it is loaded."""


class _Generator(CodeGenerator):
    """Jinja's code generator, with loops checked and guarded and ``~`` joined by the environment."""

    def visit_Template(self, node: nodes.Template, frame: Frame | None = None) -> None:
        _guard_loops(node, self.environment, self.name, self.filename)
        super().visit_Template(node, frame)
        # the module's own names, looked up when its functions run: after this, ``~`` is bounded too
        self.writeline("markup_join = environment.markup_join")
        self.writeline("str_join = environment.str_join")


def _guard_loops(tree: nodes.Template, env: Any, name: str | None, filename: str | None) -> None:
    """Refuse loops nested deeper than the limit; make every loop's iterable go past the budget."""
    limit = env.limits.loop_depth
    stack: list[tuple[nodes.Node, int]] = [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        if isinstance(node, nodes.For):
            inner = depth + 1
            if inner > limit:
                raise LoopsTooDeep(f"for loops nested {inner} deep; {_KEY} loop_depth allows {limit}",
                                   node.lineno, name, filename)
            stack.append((node.iter, depth))
            stack.extend((child, inner) for child in node.iter_child_nodes(exclude=("iter",)))
            guarded = nodes.Call(nodes.EnvironmentAttribute("guard_loop"), [node.iter], [], None, None,
                                 lineno=node.lineno)
            guarded.set_environment(env)
            node.iter = guarded
        else:
            stack.extend((child, depth) for child in node.iter_child_nodes())


class _Loop:
    """A loop's iterable, ticking the render's deadline at every item (sized when the iterable is)."""

    __slots__ = ("_budget", "_items")

    def __init__(self, items: Iterable[Any], budget: lim.Budget) -> None:
        self._items = items
        self._budget = budget

    def __iter__(self) -> Iterator[Any]:
        tick = self._budget.tick
        for item in self._items:
            tick()
            yield item

    def __len__(self) -> int:
        return len(self._items)  # type: ignore[arg-type]  # TypeError when unsized: LoopContext counts then


class _BoundedFormatter(SandboxedFormatter):
    """``str.format`` in the sandbox, with widths, precisions and ``!r`` of collections bounded."""

    def convert_field(self, value: Any, conversion: str | None) -> Any:
        lim.check_text(value, "a formatted value", self._env.limits)  # type: ignore[attr-defined]
        return super().convert_field(value, conversion)

    def format_field(self, value: Any, format_spec: str) -> Any:
        lim.check_spec(format_spec, self._env.limits)  # type: ignore[attr-defined]
        return super().format_field(value, format_spec)


class _BoundedEscapeFormatter(_BoundedFormatter, SandboxedEscapeFormatter):
    pass


class Sandbox(ImmutableSandboxedEnvironment):
    """The immutable sandbox, bounded by ``limits`` (one budget per render: ``rendering()``)."""

    code_generator_class = _Generator
    intercepted_binops = frozenset({"*", "**", "%", "+"})

    def __init__(self, *args: Any, limits: Limits, **kwargs: Any) -> None:
        super().__init__(*args, finalize=self._finalize_value, **kwargs)
        self.limits = limits
        self._local = threading.local()
        self.globals["range"] = lim.range_global(limits)
        self.globals["lipsum"] = lim.lipsum_global(limits)
        self.concat = self._concat  # type: ignore[method-assign]  # every captured block and macro body

    # ----- the render's budget ------------------------------------------------------

    def budget(self) -> lim.Budget:
        """The budget of the render under way in this thread (outside one: depth only, no clock)."""
        local = self._local
        budget = getattr(local, "budget", None)
        if budget is None:
            budget = getattr(local, "idle", None)
            if budget is None:
                budget = local.idle = lim.idle(self.limits)
        return budget  # type: ignore[no-any-return]

    def begin(self) -> tuple[lim.Budget, lim.Budget | None]:
        """Start an output's render; a render inside a render keeps the outer one's budget."""
        outer = getattr(self._local, "budget", None)
        if outer is not None:
            return outer, outer
        self._local.budget = budget = lim.Budget(self.limits)
        return budget, None

    def end(self, outer: lim.Budget | None) -> None:
        self._local.budget = outer

    # ----- the sandbox's hooks --------------------------------------------------------

    def call(__self, __context: Context, __obj: Any, *args: Any, **kwargs: Any) -> Any:
        budget = __self.budget()
        budget.tick()
        if isinstance(__obj, types.MethodType | types.BuiltinMethodType):
            args = lim.method_call(__obj, args, kwargs, __self.limits)
        budget.enter()
        try:
            result = super().call(__context, __obj, *args, **kwargs)
        finally:
            budget.leave()
        return lim.check_made(result, "the call's result", __self.limits, budget)

    def call_binop(self, context: Context, operator: str, left: Any, right: Any) -> Any:
        budget = self.budget()
        budget.tick()
        lim.binop(operator, left, right, self.limits)
        return lim.check_made(super().call_binop(context, operator, left, right), "the result", self.limits,
                              budget)

    def getattr(self, obj: Any, attribute: str) -> Any:
        self.budget().tick()
        return super().getattr(obj, attribute)

    def getitem(self, obj: Any, argument: Any) -> Any:
        self.budget().tick()
        return super().getitem(obj, argument)

    def wrap_str_format(self, value: Any) -> Any:
        """Jinja's own wrapper of ``str.format``/``format_map``, with the bounded formatters."""
        if not isinstance(value, types.MethodType | types.BuiltinMethodType) or value.__name__ not in (
                "format", "format_map"):
            return None
        f_self = value.__self__
        if not isinstance(f_self, str):
            return None
        str_type = type(f_self)
        is_format_map = value.__name__ == "format_map"
        formatter: SandboxedFormatter
        if isinstance(f_self, Markup):
            formatter = _BoundedEscapeFormatter(self, escape=f_self.escape)
        else:
            formatter = _BoundedFormatter(self)

        def wrapper(*args: Any, **kwargs: Any) -> str:
            if is_format_map:
                if kwargs:
                    raise TypeError("format_map() takes no keyword arguments")
                if len(args) != 1:
                    raise TypeError(f"format_map() takes exactly one argument ({len(args)} given)")
                kwargs, args = args[0], ()
            return lim.check_made(str_type(formatter.vformat(f_self, args, kwargs)), "the formatted text",
                                  self.limits, self.budget())

        return update_wrapper(wrapper, value)

    def guard_loop(self, items: Any) -> Any:
        """The iterable of every ``for`` loop (inserted by ``_guard_loops``)."""
        return _Loop(items, self.budget())

    # ----- joins -------------------------------------------------------------------

    def _finalize_value(self, value: Any) -> Any:
        if not isinstance(value, str):
            lim.check_text(value, "the printed value", self.limits)
        return value

    def _concat(self, parts: Iterable[str]) -> str:
        if not isinstance(parts, list):
            parts = lim.joined_size(parts, "", self.limits, "the captured text")
        total = sum(map(len, parts))
        lim.need(total, "the captured text", self.limits)
        self.budget().spend(total)
        return "".join(parts)

    def _operands(self, seq: Iterable[Any]) -> list[Any]:
        values = list(seq)
        total = 0
        for v in values:
            total += len(v) if isinstance(v, str) else lim.printed_size(v, self.limits.string_size)
        lim.need(total, "the joined text (~)", self.limits)
        self.budget().spend(total)
        return values

    def markup_join(self, seq: Iterable[Any]) -> str:
        return markup_join(self._operands(seq))

    def str_join(self, seq: Iterable[Any]) -> str:
        return str_join(self._operands(seq))
