"""The filters a pack's templates may use: Jinja's own, bounded, and plugins' filters given plain data only.

Every filter ticks the render's deadline and charges what it returns to the
render's budget (render/limits.py). Those whose arguments choose how large the
result is (``center``, ``indent``, ``format``, ``wordwrap``, ``join``,
``replace``, ``batch``, ``slice``, ``tojson``, ``sum``...) are checked before
they run; those that turn their value into text refuse a collection that would
print too large.

A plugin filter (entry point group ``contentpipe.filters``) is Python that
trusts its arguments: handed ``"{0.__class__}".format``, a macro or a cycler,
it might call it. So its arguments must be plain data (text, numbers, booleans,
none, dates, lists and tables of those); generators made by ``map`` or ``select`` are
read into lists first, and anything else is an error naming the filter.
"""

from __future__ import annotations

import datetime
import inspect
import logging
import types
from collections.abc import Callable
from functools import wraps
from importlib import metadata
from typing import Any

from jinja2 import Undefined
from jinja2.exceptions import SecurityError
from jinja2.filters import make_attrgetter

from contentpipe.render import limits as lim

log = logging.getLogger(__name__)

Filter = Callable[..., Any]

# filters that turn their value into text: a collection given to them must not print too large
_TEXT_FILTERS = frozenset({
    "capitalize", "center", "e", "escape", "forceescape", "format", "indent", "lower", "pprint", "replace", "safe",
    "string", "striptags", "title", "trim", "truncate", "upper", "urlencode", "urlize", "wordcount", "wordwrap",
    "xmlattr",
})
# what a plugin filter may be given as it is (front matter's dates too), inside lists and tables of these
_PLAIN = (str, bytes, int, float, datetime.date, datetime.time, datetime.timedelta, range, Undefined)
# what is read into a list first
_READ_FIRST = (types.GeneratorType, map, filter, zip, reversed, type(iter([])), type(iter(())), type(iter(range(0))),
               type({}.keys()), type({}.values()), type({}.items()))


def plugin_filters() -> dict[str, Filter]:
    """The filters installed packages register (entry point group ``contentpipe.filters``): imports their code."""
    found: dict[str, Filter] = {}
    for ep in sorted(metadata.entry_points(group="contentpipe.filters"), key=lambda e: e.name):
        try:
            ep.load()(found)
        except Exception as err:  # a broken plugin must not stop the build
            log.warning("filter plugin %s cannot be loaded: %s", ep.name, err)
    return found


def install(env: Any, plugins: dict[str, Filter]) -> None:
    """Jinja's filters bounded, then ``plugins`` guarded, into ``env.filters``."""
    checks = _prechecks(env)
    for name, func in dict(env.filters).items():
        env.filters[name] = _accounted(env, name, func, checks.get(name))
    for name, func in plugins.items():
        env.filters[name] = _accounted(env, name, _plain_only(name, func, env.limits), None)


Check = Callable[..., "tuple[tuple[Any, ...], dict[str, Any]] | None"]


def _accounted(env: Any, name: str, func: Filter, check: Check | None) -> Filter:
    """``func`` ticking the deadline, checked first by ``check`` (given the filter's own arguments), charged after.

    ``check`` may answer the arguments to call with instead (an iterable read
    once while it was measured becomes a list).
    """
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0
    limits = env.limits
    text = name in _TEXT_FILTERS
    signature = inspect.signature(check) if check is not None else None

    @wraps(func)  # keeps jinja_pass_arg: Jinja still hands over the context or environment
    def accounted(*args: Any, **kwargs: Any) -> Any:
        budget = env.budget()
        budget.tick()
        if text and len(args) > skip:
            lim.check_text(args[skip], f"the value given to |{name}", limits)
        if check is not None and signature is not None:
            try:
                bound = signature.bind(*args[skip:], **kwargs)
            except TypeError:
                pass  # the filter itself says what is wrong with its arguments
            else:
                if (instead := check(*bound.args, **bound.kwargs)) is not None:
                    args, kwargs = (*args[:skip], *instead[0]), instead[1]
        return lim.check_made(func(*args, **kwargs), f"the result of |{name}", limits, budget)

    return accounted


def _plain_only(name: str, func: Filter, limits: Any) -> Filter:
    skip = 1 if getattr(func, "jinja_pass_arg", None) is not None else 0

    @wraps(func)
    def guarded(*args: Any, **kwargs: Any) -> Any:
        args = (*args[:skip], *(_plain(a, name, limits) for a in args[skip:]))
        kwargs = {k: _plain(v, name, limits) for k, v in kwargs.items()}
        return func(*args, **kwargs)

    return guarded


def _plain(value: Any, name: str, limits: Any) -> Any:
    """``value`` if it is plain data (a generator read into a list first); else a SecurityError naming the filter."""
    if isinstance(value, _READ_FIRST):
        value = lim.joined_size(value, "", limits, f"the value given to |{name}")
    stack, seen = [value], 0
    while stack:
        v = stack.pop()
        seen += 1
        if seen > limits.string_size:
            raise lim.LimitExceeded(f"the value given to |{name} is larger than {limits.string_size:,} items "
                                    "([build.limits] string_size)")
        if v is None or isinstance(v, _PLAIN):
            continue
        if isinstance(v, dict):
            stack.extend(dict.keys(v))
            stack.extend(dict.values(v))
        elif isinstance(v, list | tuple | set | frozenset):
            stack.extend(v)
        else:
            raise SecurityError(f"filter {name!r} may be given plain data only (text, numbers, dates, lists, tables), "
                                f"not a {type(v).__name__}")
    return value


def _prechecks(env: Any) -> dict[str, Check]:
    """For Jinja's filters whose arguments choose how large their result is: a check before they run."""
    limits = env.limits
    need = lim.need

    def center(value: Any, width: int = 80) -> None:
        if isinstance(width, int):
            need(width, f"center({width})", limits)

    def indent(s: Any, width: int | str = 4, first: bool = False, blank: bool = False) -> None:
        unit = len(width) if isinstance(width, str) else width if isinstance(width, int) else 0
        need(unit, f"indent({width!r})", limits)
        text = str(s)
        need(len(text) + (text.count("\n") + 1) * unit, "the indented text", limits)

    def format_(value: Any, *args: Any, **kwargs: Any) -> None:
        lim.check_percent(str(value), kwargs or args, limits)

    def wordwrap(s: Any, width: int = 79, break_long_words: bool = True, wrapstring: str | None = None,
                 break_on_hyphens: bool = True) -> None:
        text = str(s)
        sep = len(wrapstring) if isinstance(wrapstring, str) else 2
        lines = (len(text) // width if isinstance(width, int) and width > 0 else 0) + text.count("\n") + 1
        need(len(text) + lines * sep, "the wrapped text", limits)

    def join(value: Any, d: str = "", attribute: str | int | None = None) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if attribute is not None:
            value = map(make_attrgetter(env, attribute), value)
        return (lim.joined_size(value, str(d), limits, "the joined text"), d), {}

    def replace(s: Any, old: Any, new: Any, count: int | None = None) -> None:
        lim.replaced_size(str(s), str(old), str(new), count if isinstance(count, int) else None, limits)

    def batch(value: Any, linecount: int, fill_with: Any = None) -> None:
        if isinstance(linecount, int) and linecount > limits.range_size:
            raise lim.LimitExceeded(f"batch({linecount}) asks for rows of more than {limits.range_size:,} items "
                                    "([build.limits] range_size)")

    def slice_(value: Any, slices: int, fill_with: Any = None) -> None:
        if isinstance(slices, int) and slices > limits.range_size:
            raise lim.LimitExceeded(f"slice({slices}) asks for more than {limits.range_size:,} slices "
                                    "([build.limits] range_size)")

    def tojson(value: Any, indent: int | str | None = None) -> None:
        width = len(indent) if isinstance(indent, str) else indent if isinstance(indent, int) else 0
        need(lim.printed_size(value, limits.string_size) * (1 + max(width, 0)), "the JSON text", limits)

    def sum_(iterable: Any, attribute: str | int | None = None,
             start: Any = 0) -> tuple[tuple[Any, ...], dict[str, Any]]:
        if attribute is not None:
            iterable = map(make_attrgetter(env, attribute), iterable)
        items, total = [], lim.size(start)
        for item in iterable:
            items.append(item)
            total += lim.size(item)
            need(total, "the sum", limits)
        return (items,), {"start": start}

    def pprint(value: Any) -> None:
        need(lim.printed_size(value, limits.string_size) * 2, "the pretty-printed text", limits)

    return {"center": center, "indent": indent, "format": format_, "wordwrap": wordwrap, "join": join,
            "replace": replace, "batch": batch, "slice": slice_, "tojson": tojson, "sum": sum_, "pprint": pprint}
