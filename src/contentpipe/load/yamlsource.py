"""YAML read safely (PyYAML's C safe loader when it is built in), and the line of each top-level key."""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """Parse YAML with a safe loader; raises yaml.MarkedYAMLError with the position on bad input."""
    return yaml.load(text, Loader=LOADER)


def key_lines(text: str, first_line: int = 1) -> dict[str, int]:
    """Each top-level key's line number, counting ``text``'s first line as ``first_line``."""
    lines: dict[str, int] = {}
    for number, line in enumerate(text.splitlines(), first_line):
        if line[:1].isalpha() and ":" in line:
            lines.setdefault(line.split(":", 1)[0].strip(), number)
    return lines
