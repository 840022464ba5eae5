"""The persisted build state: what every output was made from, in SQLite in the cache dir.

One database per output folder. It holds the inputs seen (size, mtime, sha256),
every output with the fingerprint of what it was made from, its manifest record
and the problems its rendering raised, and per template the names it loaded.
The state is written in one transaction after every file of a build is in
place, so a build killed at any moment leaves the previous state, which the
files on disk then contradict (their size or mtime differ): the next build
renders them again. A stale cache can cost time, never give a wrong output.
"""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                                   sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                                    fp TEXT NOT NULL, parts TEXT NOT NULL, record TEXT NOT NULL,
                                    problems TEXT NOT NULL, why TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS templates (channel TEXT NOT NULL, name TEXT NOT NULL, names TEXT NOT NULL,
                                      fields TEXT NOT NULL, PRIMARY KEY (channel, name));
"""


@dataclass(frozen=True, slots=True)
class InputRow:
    size: int
    mtime_ns: int  # -1: recorded too close to its change to be trusted ("racy"); hash it next time
    sha256: str


@dataclass(frozen=True, slots=True)
class OutputRow:
    """One file of the last build: where it stands on disk, and what it was made from."""

    size: int
    mtime_ns: int
    fp: str  # hash of ``parts``; "" for files that are copied or made every build (static, renditions)
    parts: Mapping[str, str]  # component -> hash: what `explain` compares
    record: Mapping[str, Any]  # its manifest record
    problems: tuple[Mapping[str, Any], ...]  # raised while rendering it
    why: str  # why the last build rendered or kept it


@dataclass(frozen=True, slots=True)
class TemplateRow:
    names: tuple[str, ...]  # every template name loaded while rendering with it (itself included)
    fields: tuple[str, ...]  # fields of list items its renders read ("*": all)


@dataclass(frozen=True)
class Snapshot:
    """The whole state as it was committed by the last build."""

    meta: Mapping[str, str]
    inputs: Mapping[str, InputRow]
    outputs: Mapping[str, OutputRow]
    templates: Mapping[tuple[str, str], TemplateRow]

    @classmethod
    def empty(cls) -> Snapshot:
        return cls({}, {}, {}, {})


def state_file(cache_dir: Path, out_dir: Path) -> Path:
    """The state of one output folder: builds into different folders never share one."""
    digest = hashlib.sha256(str(out_dir.resolve()).encode()).hexdigest()[:16]
    return cache_dir / "state" / f"{digest}.sqlite"


def _connect(path: Path) -> sqlite3.Connection:
    path.parent.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, timeout=60, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer; a killed writer loses nothing
    db.execute("PRAGMA synchronous=NORMAL")
    db.executescript(_SCHEMA)
    return db


def read_state(path: Path) -> Snapshot:
    """The committed state, or an empty one: none yet, another schema version, or unreadable."""
    if not path.is_file():
        return Snapshot.empty()
    try:
        db = _connect(path)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("schema") != str(SCHEMA_VERSION):
                return Snapshot.empty()
            inputs = {p: InputRow(s, m, h) for p, s, m, h in db.execute("SELECT * FROM inputs")}
            outputs = {p: OutputRow(s, m, fp, json.loads(parts), json.loads(record), tuple(json.loads(probs)), why)
                       for p, s, m, fp, parts, record, probs, why in db.execute("SELECT * FROM outputs")}
            templates = {(c, n): TemplateRow(tuple(json.loads(names)), tuple(json.loads(fields)))
                         for c, n, names, fields in db.execute("SELECT * FROM templates")}
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError, TypeError):
        return Snapshot.empty()  # a damaged state is no state: everything is made again
    return Snapshot(meta, inputs, outputs, templates)


def write_state(path: Path, meta: Mapping[str, str], inputs: Mapping[str, InputRow],
                outputs: Mapping[str, OutputRow], templates: Mapping[tuple[str, str], TemplateRow]) -> None:
    """Replace the state in one transaction; call only once every output named is in place."""
    db = _connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        for table in ("meta", "inputs", "outputs", "templates"):
            db.execute(f"DELETE FROM {table}")
        db.executemany("INSERT INTO meta VALUES (?, ?)", [*meta.items(), ("schema", str(SCHEMA_VERSION))])
        db.executemany("INSERT INTO inputs VALUES (?, ?, ?, ?)",
                       ((p, r.size, r.mtime_ns, r.sha256) for p, r in inputs.items()))
        db.executemany("INSERT INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?)", _output_rows(outputs.items()))
        db.executemany("INSERT INTO templates VALUES (?, ?, ?, ?)",
                       ((c, n, json.dumps(list(r.names)), json.dumps(list(r.fields)))
                        for (c, n), r in templates.items()))
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def _output_rows(items: Iterable[tuple[str, OutputRow]]) -> Iterable[tuple[Any, ...]]:
    for p, r in items:
        yield (p, r.size, r.mtime_ns, r.fp, json.dumps(dict(r.parts), sort_keys=True),
               json.dumps(dict(r.record), sort_keys=True, ensure_ascii=False),
               json.dumps([dict(x) for x in r.problems], ensure_ascii=False), r.why)
