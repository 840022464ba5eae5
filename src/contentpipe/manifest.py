"""The manifest: every output of a build, with hash, size, type, cache policy and sources.

Deterministic (sorted, no timestamps) so that two builds of the same input give
the same bytes; ``publish`` reads it to know what to send and with which headers.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MANIFEST_VERSION = 1


@dataclass(frozen=True)
class OutputRecord:
    path: str  # relative to the output folder, e.g. "web/articles/spring/index.html"
    key: str  # published key, e.g. "articles/spring/index.html"
    channel: str  # "" for shared renditions
    kind: str  # the output kind ("page", "feed"...), "rendition" or "static"
    sha256: str
    size: int
    content_type: str
    cache_policy: str
    cache_control: str
    sources: tuple[str, ...] = ()  # masters it came from, relative to the project
    locale: str | None = None
    document: str | None = None  # the master document of a per-document output
    extra: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        data: dict[str, Any] = {  # by hand: dataclasses.asdict deep-copies, 19,000 times a build
            "path": self.path, "key": self.key, "channel": self.channel, "kind": self.kind, "sha256": self.sha256,
            "size": self.size, "content_type": self.content_type, "cache_policy": self.cache_policy,
            "cache_control": self.cache_control, "sources": list(self.sources), "locale": self.locale}
        if self.document is not None:
            data["document"] = self.document
        if self.extra:
            data["extra"] = dict(self.extra)
        return data


@dataclass(frozen=True)
class Manifest:
    base_url: str
    outputs: tuple[OutputRecord, ...]
    errors: int = 0
    warnings: int = 0
    problems: tuple[dict[str, Any], ...] = ()
    # every variant of each document, by channel and kind: what a reviewer opens side by side
    documents: dict[str, dict[str, Any]] = field(default_factory=dict)

    def to_bytes(self) -> bytes:
        return manifest_bytes(self.base_url, self.errors, self.warnings, self.problems, document_texts(self.documents),
                              sorted((o.path, record_line(o)) for o in self.outputs))

    def by_path(self) -> dict[str, OutputRecord]:
        return {o.path: o for o in self.outputs}

    @classmethod
    def read(cls, path: Path) -> Manifest | None:
        """The manifest at ``path``, or None when there is none or it is unreadable."""
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("version") != MANIFEST_VERSION:
                return None
            outputs = tuple(OutputRecord(**{**o, "sources": tuple(o.get("sources", ()))})
                            for o in data["outputs"])
            return cls(data["base_url"], outputs, data.get("errors", 0), data.get("warnings", 0),
                       tuple(data.get("problems", ())), dict(data.get("documents", {})))
        except (OSError, ValueError, KeyError, TypeError):
            return None


def record_line(record: OutputRecord) -> str:
    """One output's line in the manifest (the engine keeps it, so a kept output is not serialised again)."""
    return _dumps(record.to_json())


def document_texts(documents: Mapping[str, Any]) -> dict[str, str]:
    """Each documents entry serialised as it appears in the file (kept, so an edit serialises only its own)."""
    return {source: _dumps(entry) for source, entry in documents.items()}


def manifest_bytes(base_url: str, errors: int, warnings: int, problems: Sequence[dict[str, Any]] | str,
                   documents: Mapping[str, str], lines: Sequence[tuple[str, str]]) -> bytes:
    """The manifest file: a head, then one output per line sorted by path (diffable; json's C encoder).

    ``problems`` may come serialised already (``problems_text``) and ``documents`` are serialised entries
    (``document_texts``), as a kept engine keeps them. The file is the same bytes as one ``json.dumps`` of the
    whole with sorted keys; it is put together from encoded pieces so that one non-ASCII title does not make
    the whole 10 MB text wide.
    """
    text = problems if isinstance(problems, str) else problems_text(problems)
    docs = ",".join(f"{_dumps(source)}: {documents[source]}" for source in sorted(documents))
    pieces = [f'{{"base_url": {_dumps(base_url)},"documents": {{'.encode(), docs.encode(),
              f'}},"errors": {errors},"problems": '.encode(), text.encode(),
              f',"version": {MANIFEST_VERSION},"warnings": {warnings},\n"outputs": [\n'.encode(),
              ",\n".join(line for _, line in lines).encode(), b"\n]}\n"]
    return b"".join(pieces)


def problems_text(problems: Sequence[dict[str, Any]]) -> str:
    """The manifest's problem list as it appears in the file."""
    return _dumps(list(problems))


def _dumps(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ": "))
