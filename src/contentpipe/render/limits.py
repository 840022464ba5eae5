"""What one render of a pack's templates may use: time, call depth, and the size of what it makes.

Packs are third-party code, and Jinja2's sandbox stops a template reaching
Python internals but not a template that asks for ``"x" * 10**9``. The
sandbox's hooks (render/sandbox.py) and the bounded filters (render/filters.py)
ask this module before they make anything whose size their arguments choose,
and charge what they made to the render's ``Budget``; the loops and calls of a
template tick its deadline. No signals: builds also run in a watcher thread.

Sizes are characters of text, items of collections, digits of integers.
Every check runs *before* the value is made wherever one argument could make
it unboundedly large (repetition, padding, format widths, joins, replacements);
elsewhere a result is at most a few times its inputs, so checking it after is
enough.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Callable, Iterable
from typing import Any

from jinja2.exceptions import SecurityError

from contentpipe.config.project import Limits

_KEY = "[build.limits]"


class LimitExceeded(SecurityError):
    """A template asked for more than ``[build.limits]`` allows (the message names the key)."""


class TimeLimit(LimitExceeded):
    """The render ran past ``render_seconds``."""


class Budget:
    """One output's render: when it must end, how deep its calls are, how much its operations made."""

    __slots__ = ("deadline", "depth", "limits", "made", "seconds", "total")

    def __init__(self, limits: Limits, seconds: float | None = None) -> None:
        self.limits = limits
        self.seconds = limits.render_seconds if seconds is None else seconds
        self.deadline = time.monotonic() + self.seconds
        self.depth = 0
        self.made = 0
        self.total = limits.total_size if seconds is None else math.inf

    def tick(self) -> None:
        if time.monotonic() > self.deadline:
            raise TimeLimit(f"the render took longer than {self.seconds:g} s ({_KEY} render_seconds); "
                            "stopped here")

    def spend(self, size: int) -> None:
        self.made += size
        if self.made > self.total:
            raise LimitExceeded(f"the template made more than {self.total:,} characters and items in one render "
                                f"({_KEY} total_size)")

    def enter(self) -> None:
        self.depth += 1
        if self.depth > self.limits.macro_depth:
            self.depth -= 1
            raise LimitExceeded(f"macro recursion deeper than {self.limits.macro_depth} calls "
                                f"({_KEY} macro_depth): a macro that calls itself without end?")

    def leave(self) -> None:
        self.depth -= 1


def idle(limits: Limits) -> Budget:
    """A budget for template code run outside a render (a module's top level): depth only, no clock."""
    return Budget(limits, seconds=math.inf)


# ----- sizes -----------------------------------------------------------------------


def size(value: Any) -> int:
    """A value's own size: characters, items, digits; 1 for anything else. Never reads a view's keys."""
    if isinstance(value, str | bytes | list | tuple | set | frozenset | range):
        return len(value)
    if isinstance(value, dict):
        return dict.__len__(value)
    if isinstance(value, int):
        return value.bit_length() // 3 + 1
    return 1


def printed_size(value: Any, cap: int) -> int:
    """About how many characters ``str(value)`` makes (more than ``cap``: some number above it).

    Walked without recursion, every reference counted again (``[big] * n`` prints
    ``big`` n times), views read through ``dict``'s own methods so nothing records a read.
    """
    if isinstance(value, str | int):
        return len(value) if isinstance(value, str) else value.bit_length() // 3 + 1
    total, stack = 0, [value]
    while stack:
        v = stack.pop()
        if isinstance(v, str | bytes):
            total += len(v)
        elif isinstance(v, int):
            total += v.bit_length() // 3 + 1
        elif isinstance(v, dict):
            total += 2 + 4 * dict.__len__(v)
            stack.extend(dict.keys(v))
            stack.extend(dict.values(v))
        elif isinstance(v, list | tuple | set | frozenset):
            total += 2 + 2 * len(v)
            stack.extend(v)
        elif (attrs := _namespace_attrs(v)) is not None:
            total += 14
            stack.append(attrs)
        else:
            total += 40 if v is not None else 4
        if total > cap:
            break
    return total


def _namespace_attrs(value: Any) -> dict[str, Any] | None:
    from jinja2.utils import Namespace

    return object.__getattribute__(value, "_Namespace__attrs") if isinstance(value, Namespace) else None


def _too_big(what: str, limits: Limits) -> LimitExceeded:
    return LimitExceeded(f"{what} would be larger than {limits.string_size:,} ({_KEY} string_size)")


def need(amount: float, what: str, limits: Limits) -> None:
    """Refuse to make ``what`` when it would be ``amount`` characters (or items) or more than allowed."""
    if amount > limits.string_size:
        raise _too_big(what, limits)


def check_text(value: Any, what: str, limits: Limits) -> None:
    """``value`` is about to be turned into text: a collection must not print larger than a string may be."""
    if not isinstance(value, str | int | float | type(None)):
        need(printed_size(value, limits.string_size), what, limits)


def check_made(value: Any, what: str, limits: Limits, budget: Budget) -> Any:
    """A value an operation made: no larger than one value may be, and charged to the render."""
    n = size(value)
    need(n, what, limits)
    budget.spend(n)
    return value


def _number(text: str, limits: Limits) -> int:
    return limits.string_size + 1 if len(text) > 12 else int(text)


# ----- operations whose arguments choose the size of what they make ------------------------

_PERCENT = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(\*|\d+)?(?:\.(\*|\d+))?[hlL]?[diouxXeEfFgGcrsab%]")


def check_percent(fmt: str | bytes, args: Any, limits: Limits) -> None:
    """``fmt % args``: no width or precision over the limit, written or taken from ``args`` by ``*``."""
    text = fmt.decode("latin-1") if isinstance(fmt, bytes) else fmt
    star = False
    for match in _PERCENT.finditer(text):
        for group in match.groups():
            if group == "*":
                star = True
            elif group and _number(group, limits) > limits.string_size:
                raise _too_big(f"the format width {group[:12]}", limits)
    if star:
        for v in args if isinstance(args, tuple) else (args,):
            if isinstance(v, int) and abs(v) > limits.string_size:
                raise _too_big(f"the format width {v}", limits)
    check_text(args, "the formatted values", limits)  # a table is printed whole by a plain %s


def check_spec(spec: str, limits: Limits) -> None:
    """A ``str.format`` field's spec (nested fields already filled in): no width or precision over the limit."""
    for number in re.findall(r"\d+", spec):
        if _number(number, limits) > limits.string_size:
            raise _too_big(f"the format width {number[:12]}", limits)


def binop(op: str, left: Any, right: Any, limits: Limits) -> None:
    """Before ``left <op> right``: repetition, powers, ``%`` widths and concatenation within the limit."""
    if op == "*":
        seq, n = (left, right) if isinstance(right, int) else (right, left)
        if isinstance(seq, str | bytes | list | tuple) and isinstance(n, int):
            need(len(seq) * max(n, 0), "the repeated value", limits)
        elif isinstance(seq, int) and isinstance(n, int):
            need((seq.bit_length() + n.bit_length()) * 0.302, "the product", limits)
    elif op == "**":
        if isinstance(left, int) and isinstance(right, int) and right > 0 and abs(left) > 1:
            need(left.bit_length() * right * 0.302, f"{left} ** {right}", limits)
    elif op == "%":
        if isinstance(left, str | bytes):
            check_percent(left, right, limits)
    elif op == "+" and isinstance(left, str | bytes | list | tuple) and isinstance(right, str | bytes | list | tuple):
        need(len(left) + len(right), "the concatenation", limits)


def joined_size(parts: Iterable[Any], sep: str, limits: Limits, what: str) -> list[Any]:
    """The parts of a join as a list, refused as soon as the joined text would be too large."""
    items: list[Any] = []
    total, step, cap = 0, len(sep), limits.string_size
    for part in parts:
        items.append(part)
        total += step + (len(part) if isinstance(part, str) else printed_size(part, cap))
        if total > cap:
            raise _too_big(what, limits)
    return items


def replaced_size(s: str, old: str, new: str, count: int | None, limits: Limits) -> None:
    hits = s.count(old) if old else len(s) + 1
    if count is not None and count >= 0:
        hits = min(hits, count)
    need(len(s) + hits * (len(new) - len(old)), "the replaced text", limits)


def method_call(obj: Any, args: tuple[Any, ...], kwargs: dict[str, Any], limits: Limits) -> tuple[Any, ...]:
    """Before a template calls a method of a string or number: padding, tabs, joins, replacements bounded.

    Returns the arguments to call with (a join's iterable, read once while
    counting, becomes a list).
    """
    owner = getattr(obj, "__self__", None)
    name = getattr(obj, "__name__", "")
    if isinstance(owner, str | bytes):
        if name in ("center", "ljust", "rjust", "zfill") and args and isinstance(args[0], int):
            need(args[0], f"{name}({args[0]})", limits)
        elif name == "expandtabs":
            tab = args[0] if args else kwargs.get("tabsize", 8)
            if isinstance(tab, int):
                need(len(owner) + owner.count("\t" if isinstance(owner, str) else b"\t") * tab, "expandtabs", limits)
        elif name == "join" and args:
            return (joined_size(args[0], owner, limits, "the joined text"), *args[1:])  # type: ignore[arg-type]
        elif name == "replace" and len(args) >= 2 and isinstance(owner, str):
            old, new = args[0], args[1]
            count = args[2] if len(args) > 2 else kwargs.get("count")
            if isinstance(old, str) and isinstance(new, str):
                replaced_size(owner, old, new, count if isinstance(count, int) else None, limits)
        elif name == "translate" and args and isinstance(args[0], dict) and isinstance(owner, str):
            widest = max((len(v) for v in dict.values(args[0]) if isinstance(v, str)), default=1)
            need(len(owner) * widest, "the translated text", limits)
    elif isinstance(owner, int) and name == "to_bytes":
        length = args[0] if args else kwargs.get("length", 1)
        if isinstance(length, int):
            need(length, f"to_bytes({length})", limits)
    return args


def range_global(limits: Limits) -> Callable[..., range]:
    """``range()`` with at most ``range_size`` items (Jinja's own cap is 100,000).

    A closure, not a ``partial``: a template could read a partial's ``func``
    and ``args`` and call it with limits of its own making.
    """

    def range_(*args: int) -> range:
        return _range(limits, *args)

    return range_


def lipsum_global(limits: Limits) -> Callable[..., str]:
    def lipsum(n: int = 5, html: bool = True, min: int = 20, max: int = 100) -> str:
        return _lipsum(limits, n, html, min, max)

    return lipsum


def _range(limits: Limits, *args: int) -> range:
    rng = range(*args)
    try:
        n: int | None = len(rng)
    except OverflowError:
        n = None
    if n is None or n > limits.range_size:
        shown = ", ".join(str(a) for a in args)
        raise LimitExceeded(f"Range too big: range({shown}) has more than {limits.range_size:,} items "
                            f"({_KEY} range_size)")
    return rng


def _lipsum(limits: Limits, n: int, html: bool, min: int, max: int) -> str:
    """Jinja's ``lipsum()``, with its paragraph and word counts bounded."""
    from jinja2.utils import generate_lorem_ipsum

    if not all(isinstance(x, int) for x in (n, min, max)):
        raise TypeError("lipsum() takes whole numbers")
    need(n, f"lipsum({n})", limits)
    need(n * max * 12, f"lipsum({n}, max={max})", limits)
    return generate_lorem_ipsum(n, html, min, max)  # type: ignore[no-any-return]
