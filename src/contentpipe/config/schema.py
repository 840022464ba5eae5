"""A small schema for TOML tables: every bad value is reported, none stops the rest.

Each problem names the file, the line, the dotted key, what is allowed and what
was given. A bad or missing value is replaced by its default so that the
caller can go on and report the other problems too.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from contentpipe.config.tomlsource import TomlSource
from contentpipe.errors import Problems

REQUIRED: Any = object()

_KIND_NAMES = {
    "str": "a string",
    "int": "an integer",
    "number": "a number",
    "bool": "true or false",
    "list[str]": "a list of strings",
    "list[int]": "a list of integers",
    "size": "a [width, height] pair of integers",
    "any": "any value",
}


def _is_int(v: object) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_KIND_CHECKS: dict[str, Callable[[object], bool]] = {
    "str": lambda v: isinstance(v, str),
    "int": _is_int,
    "number": lambda v: _is_int(v) or isinstance(v, float),
    "bool": lambda v: isinstance(v, bool),
    "list[str]": lambda v: isinstance(v, list) and all(isinstance(x, str) for x in v),
    "list[int]": lambda v: isinstance(v, list) and all(_is_int(x) for x in v),
    "size": lambda v: isinstance(v, list) and len(v) == 2 and all(_is_int(x) for x in v),
    "any": lambda v: True,
}


def describe(value: object) -> str:
    """A short, quoted description of a given value for messages."""
    kind = {bool: "a boolean", int: "an integer", float: "a number", str: "a string",
            list: "a list", dict: "a table"}.get(type(value), type(value).__name__)
    text = repr(value) if not isinstance(value, dict) else "{…}"
    if len(text) > 60:
        text = text[:57] + "…"
    return f"{kind} ({text})"


@dataclass(frozen=True)
class Field:
    """One value: its kind, default, allowed choices and an extra check."""

    kind: str
    default: Any = REQUIRED
    choices: tuple[object, ...] = ()
    check: Callable[[Any], str | None] | None = None
    doc: str = ""
    secret: bool = False  # a password: problems never repeat the value


@dataclass(frozen=True)
class Table:
    """A table with known keys, and optionally a spec for any other key (``each``)."""

    fields: Mapping[str, Field | Table] = field(default_factory=dict)
    each: Field | Table | None = None
    required: bool = False
    doc: str = ""


def validate(src: TomlSource, spec: Table, problems: Problems, data: object = None,
             prefix: str = "", fill: bool = True) -> dict[str, Any]:
    """Validate ``data`` (default: the whole file) against ``spec``.

    With ``fill`` the result has every default filled in and missing required keys
    are reported; without it the result holds only the valid keys that were given
    (for files that extend another, where the parent supplies the rest).
    """
    data = src.data if data is None and not prefix else data
    if data is None:
        data = {}
    if not isinstance(data, dict):
        problems.error(f"expected a table, got {describe(data)}", src.pos(prefix))
        data = {}
    out: dict[str, Any] = {}
    for key, value in data.items():
        dotted = f"{prefix}.{key}" if prefix else key
        sub = spec.fields.get(key, spec.each)
        if sub is None:
            allowed = ", ".join(spec.fields) or "none"
            problems.error(f"unknown key (allowed here: {allowed})", src.pos(dotted))
            continue
        if isinstance(sub, Table):
            out[key] = validate(src, sub, problems, value, dotted, fill)
        else:
            checked = _check_field(src, sub, value, dotted, problems)
            if checked is not _INVALID:
                out[key] = checked
    for key, sub in spec.fields.items() if fill else ():
        if key in out:
            continue
        dotted = f"{prefix}.{key}" if prefix else key
        if isinstance(sub, Table):
            if sub.required:
                problems.error("missing table", src.pos(dotted))
            out[key] = validate(src, sub, Problems() if sub.required else problems, {}, dotted)
        elif sub.default is REQUIRED:
            if key not in data:
                problems.error(f"missing required key ({_KIND_NAMES[sub.kind]})", src.pos(dotted))
            out[key] = None
        else:
            out[key] = sub.default
    return out


_INVALID = object()


def _check_field(src: TomlSource, spec: Field, value: object, dotted: str,
                 problems: Problems) -> object:
    shown = "a value (not shown)" if spec.secret else describe(value)
    if not _KIND_CHECKS[spec.kind](value):
        problems.error(f"expected {_KIND_NAMES[spec.kind]}, got {shown}", src.pos(dotted))
        return _INVALID
    if spec.choices:
        items = value if isinstance(value, list) else [value]
        bad = [x for x in items if x not in spec.choices]
        if bad:
            allowed = ", ".join(str(c) for c in spec.choices)
            problems.error(f"{bad[0]!r} is not allowed (allowed: {allowed})", src.pos(dotted))
            return _INVALID
    if spec.check is not None and (message := spec.check(value)):
        problems.error(f"{message}; got {shown}", src.pos(dotted))
        return _INVALID
    return value


def in_range(lo: float, hi: float) -> Callable[[Any], str | None]:
    """A check that numbers (or every number of a list) lie in [lo, hi]."""

    def check(value: Any) -> str | None:
        items = value if isinstance(value, list) else [value]
        if any(not lo <= x <= hi for x in items):
            return f"must be between {lo:g} and {hi:g}"
        return None

    return check
