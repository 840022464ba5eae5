"""YAML read safely (PyYAML's C safe loader when it is built in), and the line of each top-level key."""

from __future__ import annotations

from typing import Any

import yaml

LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class YamlSyntaxError(ValueError):
    """Text that is not YAML: what is wrong, and the line of ``text`` (1-based) where known."""

    def __init__(self, message: str, line: int | None) -> None:
        super().__init__(message)
        self.message, self.line = message, line


def load_yaml(text: str) -> Any:
    """Parse YAML with a safe loader; raises YamlSyntaxError naming the line on any bad input.

    The reader refuses control characters (a NUL byte, say) with a ReaderError
    that is no MarkedYAMLError and carries an offset, not a line.
    """
    try:
        return yaml.load(text, Loader=LOADER)
    except yaml.MarkedYAMLError as err:
        mark = err.problem_mark or err.context_mark
        raise YamlSyntaxError(str(err.problem or err.context), mark.line + 1 if mark else None) from err
    except yaml.reader.ReaderError as err:
        line = text[:err.position].count("\n") + 1 if isinstance(err.position, int) else None
        char = err.character if isinstance(err.character, int) else ord(str(err.character)[:1] or "\0")
        raise YamlSyntaxError(f"unacceptable character #x{char:04x} (a control character; YAML allows none)",
                              line) from err
    except yaml.YAMLError as err:
        raise YamlSyntaxError(str(err), None) from err


def key_lines(text: str, first_line: int = 1) -> dict[str, int]:
    """Each key's line number, top-level keys as 'key', their block children as 'key.child'.

    Counts ``text``'s first line as ``first_line``. Good enough to point an
    editor at ``social.x`` without a full YAML position map.
    """
    lines: dict[str, int] = {}
    top = ""
    for number, line in enumerate(text.splitlines(), first_line):
        if ":" not in line:
            continue
        if line[:1].isalpha():
            top = line.split(":", 1)[0].strip()
            lines.setdefault(top, number)
        elif top and line[:1] == " ":
            child = line.strip()
            if child[:1].isalnum():
                lines.setdefault(f"{top}.{child.split(':', 1)[0].strip()}", number)
    return lines


def repeated_keys(text: str, first_line: int = 1) -> list[tuple[str, int, int]]:
    """Top-level keys given twice: (key, first line, repeated line). YAML keeps the last one silently."""
    seen: dict[str, int] = {}
    found = []
    for number, line in enumerate(text.splitlines(), first_line):
        if line[:1].isalpha() and ":" in line:
            key = line.split(":", 1)[0].strip()
            if key in seen:
                found.append((key, seen[key], number))
            seen.setdefault(key, number)
    return found
