"""TOML files with positions: tomllib gives values, this finds each key's line.

tomllib reports no positions for values, so a small line scanner maps every
dotted key to the line it is written on; a value in an inline table or array
takes the line of the nearest key that is written out.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contentpipe.errors import ContentpipeError, SourcePos

_HEADER = re.compile(r"^\s*\[\[?\s*(?P<name>[^\]]+?)\s*\]\]?\s*(#.*)?$")
_PART = r"""(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')"""
_KEY = re.compile(rf"^\s*(?P<key>{_PART}(?:\s*\.\s*{_PART})*)\s*=")
_DECODE_POS = re.compile(r"\(at line (\d+), column (\d+)\)")


def _split_dotted(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[str, int]:
    """Map each dotted key (and table header) to its 1-based line number."""
    lines: dict[str, int] = {}
    table: list[str] = []
    in_multiline: str | None = None
    for number, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if in_multiline in line:
                in_multiline = None
            continue
        if m := _HEADER.match(line):
            table = _split_dotted(m["name"])
            lines.setdefault(".".join(table), number)
            continue
        if m := _KEY.match(line):
            key = ".".join([*table, *_split_dotted(m["key"])])
            lines.setdefault(key, number)
            rest = line[m.end():]
            for quote in ('"""', "'''"):
                if rest.count(quote) == 1:
                    in_multiline = quote
    return lines


@dataclass(frozen=True)
class TomlSource:
    """A parsed TOML file that can say where a key is."""

    path: Path
    data: dict[str, Any]
    lines: dict[str, int] = field(default_factory=dict)

    def pos(self, key: str) -> SourcePos:
        """The position of a dotted key, or of its nearest written-out parent."""
        probe = key
        while probe:
            if probe in self.lines:
                return SourcePos(self.path, self.lines[probe], key)
            probe = probe.rpartition(".")[0]
        return SourcePos(self.path, None, key)


def read_toml(path: Path) -> TomlSource:
    """Parse a TOML file; a syntax error becomes a ContentpipeError with its line."""
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as err:
        raise ContentpipeError(f"not UTF-8 text ({err.reason})", SourcePos(path)) from err
    except OSError as err:
        raise ContentpipeError(f"cannot read: {err.strerror}", SourcePos(path)) from err
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        m = _DECODE_POS.search(str(err))
        line = int(m[1]) if m else None
        message = _DECODE_POS.sub("", str(err)).strip()
        raise ContentpipeError(f"invalid TOML: {message}", SourcePos(path, line)) from err
    return TomlSource(path, data, key_lines(text))
