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
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

SCHEMA_VERSION = 3

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS inputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                                   sha256 TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS outputs (path TEXT PRIMARY KEY, size INTEGER NOT NULL, mtime_ns INTEGER NOT NULL,
                                    sha256 TEXT NOT NULL, key TEXT NOT NULL, fp TEXT NOT NULL,
                                    parts TEXT NOT NULL, problems TEXT NOT NULL, why TEXT NOT NULL,
                                    line TEXT NOT NULL);
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
    """One file of the last build: where it stands on disk, and what it was made from.

    ``parts`` and ``problems`` stay JSON text until asked for: a build reads
    every row, and most are only compared by ``fp`` and by size and mtime.
    """

    size: int  # -1: no file (its render failed; its problems are still known)
    mtime_ns: int
    sha256: str
    key: str  # published key
    fp: str  # hash of ``parts``; "" for files copied or made by every build (static, renditions)
    parts_json: str = "{}"  # component -> hash: what `explain` and the build's reasons compare
    problems_json: str = "[]"  # raised while rendering it
    why: str = ""  # why the last build rendered or kept it
    line: str = ""  # its line in the manifest, as written

    @property
    def parts(self) -> dict[str, str]:
        value: dict[str, str] = json.loads(self.parts_json)
        return value

    @property
    def problems(self) -> list[dict[str, Any]]:
        if self.problems_json == "[]":
            return []
        value: list[dict[str, Any]] = json.loads(self.problems_json)
        return value


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
            outputs = {row[0]: OutputRow(*row[1:]) for row in db.execute("SELECT * FROM outputs")}
            templates = {(c, n): TemplateRow(tuple(json.loads(names)), tuple(json.loads(fields)))
                         for c, n, names, fields in db.execute("SELECT * FROM templates")}
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError, TypeError):
        return Snapshot.empty()  # a damaged state is no state: everything is made again
    return Snapshot(meta, inputs, outputs, templates)


@dataclass(frozen=True)
class Check:
    """What the no-op check compares: the meta, the inputs, and where every output file stood."""

    meta: Mapping[str, str]
    inputs: Mapping[str, InputRow]
    outputs: Mapping[str, tuple[int, int]]  # path -> (size, mtime_ns); size -1: no file


def read_check(path: Path) -> Check | None:
    """The committed state as far as the no-op check needs it (a fraction of ``read_state``), or None."""
    if not path.is_file():
        return None
    try:
        db = _connect(path)
        try:
            meta = dict(db.execute("SELECT key, value FROM meta"))
            if meta.get("schema") != str(SCHEMA_VERSION):
                return None
            inputs = {p: InputRow(s, m, h) for p, s, m, h in db.execute("SELECT * FROM inputs")}
            outputs = {p: (s, m) for p, s, m in db.execute("SELECT path, size, mtime_ns FROM outputs")}
        finally:
            db.close()
    except (sqlite3.DatabaseError, ValueError, TypeError):
        return None
    return Check(meta, inputs, outputs)


def read_generation(path: Path) -> str | None:
    """The id of the last commit: a kept engine's memory is of that build only if it is still the last."""
    if not path.is_file():
        return None
    try:
        db = sqlite3.connect(path, timeout=60)
        try:
            row = db.execute("SELECT value FROM meta WHERE key = 'generation'").fetchone()
        finally:
            db.close()
    except sqlite3.DatabaseError:
        return None
    return str(row[0]) if row else None


def write_state(path: Path, meta: Mapping[str, str], inputs: Mapping[str, InputRow],
                outputs: Mapping[str, OutputRow], templates: Mapping[tuple[str, str], TemplateRow],
                previous: Snapshot | None = None) -> dict[str, str]:
    """Commit the new state in one transaction; call only once every output named is in place.

    With ``previous`` (what this build read), only the rows that differ are written.
    Returns the meta as committed.
    """
    base = previous if previous is not None and previous.meta.get("schema") == str(SCHEMA_VERSION) else None
    db = _connect(path)
    try:
        db.execute("BEGIN IMMEDIATE")
        if base is None:  # no state, another schema version or a damaged one: made anew
            for table in ("meta", "inputs", "outputs", "templates"):
                db.execute(f"DROP TABLE IF EXISTS {table}")
            for statement in filter(str.strip, _SCHEMA.split(";")):
                db.execute(statement)
            base = Snapshot.empty()
        meta = {**meta, "schema": str(SCHEMA_VERSION)}
        db.executemany("DELETE FROM meta WHERE key = ?", [(k,) for k in base.meta.keys() - meta.keys()])
        db.executemany("INSERT OR REPLACE INTO meta VALUES (?, ?)",
                       [(k, v) for k, v in meta.items() if base.meta.get(k) != v])
        db.executemany("DELETE FROM inputs WHERE path = ?", [(p,) for p in base.inputs.keys() - inputs.keys()])
        db.executemany("INSERT OR REPLACE INTO inputs VALUES (?, ?, ?, ?)",
                       [(p, r.size, r.mtime_ns, r.sha256) for p, r in inputs.items()
                        if _differs(base.inputs.get(p), r)])
        db.executemany("DELETE FROM outputs WHERE path = ?", [(p,) for p in base.outputs.keys() - outputs.keys()])
        db.executemany("INSERT OR REPLACE INTO outputs VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                       [(p, r.size, r.mtime_ns, r.sha256, r.key, r.fp, r.parts_json, r.problems_json, r.why, r.line)
                        for p, r in outputs.items() if _differs(base.outputs.get(p), r)])
        db.executemany("DELETE FROM templates WHERE channel = ? AND name = ?",
                       list(base.templates.keys() - templates.keys()))
        db.executemany("INSERT OR REPLACE INTO templates VALUES (?, ?, ?, ?)",
                       [(c, n, json.dumps(list(r.names)), json.dumps(list(r.fields)))
                        for (c, n), r in templates.items() if base.templates.get((c, n)) != r])
        db.execute("COMMIT")
        return meta
    except BaseException:
        if db.in_transaction:
            db.execute("ROLLBACK")
        raise
    finally:
        db.close()


def _differs(old: object, new: object) -> bool:
    return old is not new and old != new  # a kept engine hands back the very rows it read: skip comparing them
