"""The write stage: rendered and kept outputs, static files, renditions and site files, then the manifest.

Only ``write.Writer`` touches the output folder. An output the engine kept (its
fingerprint and its file unchanged) is not written again, but gets the same
manifest record a clean build would give it, made from the plan and its known
hash and size, so the manifest never depends on what was rebuilt.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from contentpipe import urls
from contentpipe.config.project import ProjectConfig
from contentpipe.engine.result import ChannelStats, problems_json
from contentpipe.errors import ContentpipeError, Problem, Problems
from contentpipe.load.packs import Channel
from contentpipe.manifest import Manifest, OutputRecord, document_texts, manifest_bytes, problems_text, record_line
from contentpipe.mediatypes import content_type
from contentpipe.plan import Plan, PlannedOutput
from contentpipe.render.images import Made
from contentpipe.write import Writer


@dataclass(frozen=True, slots=True)
class Placed:
    """One file of the build in the output folder, with its line in the manifest."""

    path: str
    key: str
    sha256: str
    size: int
    line: str


@dataclass
class Staged:
    """Every file of the build in place but the manifest: what it needs, and the writer that placed them."""

    writer: Writer
    placed: list[Placed]
    documents: dict[str, str]  # the manifest's documents entries, serialised (manifest.document_texts)
    channels: dict[str, ChannelStats] = field(default_factory=dict)


@dataclass
class Written:
    placed: list[Placed]
    channels: dict[str, ChannelStats]
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    problems_text: str = "[]"  # the manifest's problem list, serialised


def output_path(out: PlannedOutput) -> str:
    """Where an output lands in the output folder: ``<channel>/<path>``."""
    return f"{out.channel.name}/{out.path}"


def _placed(record: OutputRecord) -> Placed:
    return Placed(record.path, record.key, record.sha256, record.size, record_line(record))


def write_outputs(cfg: ProjectConfig, plan: Plan, channels: Mapping[str, Channel],
                  rendered: Mapping[str, bytes], kept: Mapping[str, Placed],
                  made: Mapping[str, Made], problems: Problems,
                  previous: Mapping[str, tuple[str, int]] | None = None) -> Staged:
    """Write what was rendered (by output path), account for what was kept as it was placed last time.

    ``previous`` is every file of the last build (sha256, size): from the engine's
    state, else read from the last manifest.
    """
    from contentpipe.siteimages import write_site_files

    root = cfg.root
    if previous is None:
        last = Manifest.read(cfg.out_dir / urls.MANIFEST_NAME)
        previous = {o.path: (o.sha256, o.size) for o in last.outputs} if last else {}
    writer = Writer(cfg.out_dir, dict(previous))
    placed: list[Placed] = []
    stats: dict[str, ChannelStats] = {}
    rel_memo: dict[Path, str] = {}

    def rel(path: Path) -> str:
        return _rel(path, root, rel_memo)

    by_path = {output_path(o): o for o in plan.outputs}
    for path in sorted(rendered.keys() | (kept.keys() & by_path.keys())):
        out = by_path[path]
        origin = str(out.doc.path if out.doc else out.channel.rule_files[0])
        try:
            if path in rendered:
                data = rendered[path]
                changed = writer.write(path, data, origin)
                entry = _placed(_record(plan, out, path, hashlib.sha256(data).hexdigest(), len(data), rel))
            else:
                writer.claim(path, origin)
                entry, changed = kept[path], False  # what it shows and comes from did not change: nor its record
        except ContentpipeError as err:
            problems.add(err.problem)
            continue
        s = stats.setdefault(out.channel.name, ChannelStats())
        s.outputs += 1
        s.bytes += entry.size
        s.written += changed
        s.unchanged += not changed
        placed.append(entry)
    placed += [_placed(r) for r in _write_static(channels, writer, problems)]
    placed += [_placed(r) for r in write_site_files(plan.site_files, channels, made, writer, problems)]
    placed += [_placed(r) for r in _write_renditions(plan, channels, made, writer)]
    present = {p.path for p in placed}
    documents = _documents(cfg, plan, [by_path[p] for p in sorted(present & by_path.keys())], rel)
    return Staged(writer, placed, document_texts(documents), stats)


def write_manifest(cfg: ProjectConfig, staged: Staged, problems: Sequence[Problem]) -> Written:
    """Remove what the last build wrote and this one did not, then write the manifest."""
    errors = sum(p.severity == "error" for p in problems)
    text = problems_text(problems_json(list(problems), cfg.root))
    data = manifest_bytes(cfg.site.base_url, errors, len(problems) - errors, text, staged.documents,
                          sorted((p.path, p.line) for p in staged.placed))
    writer = staged.writer
    writer.remove_leftovers()
    removed = len(writer.remove_stale({p.path for p in staged.placed}))
    writer.claimed.pop(urls.MANIFEST_NAME, None)
    writer.write(urls.MANIFEST_NAME, data, str(cfg.file))
    return Written(staged.placed, staged.channels, writer.written, writer.unchanged, removed, text)


def _rel(path: Path, root: Path, memo: dict[Path, str]) -> str:
    if path not in memo:
        memo[path] = path.relative_to(root).as_posix() if path.is_relative_to(root) else str(path)
    return memo[path]


def placed_record(plan: Plan, out: PlannedOutput, path: str, data: bytes, root: Path,
                  memo: dict[Path, str]) -> Placed:
    """The manifest record of one rendered output."""
    return _placed(_record(plan, out, path, hashlib.sha256(data).hexdigest(), len(data),
                           lambda p: _rel(p, root, memo)))


def document_entries(cfg: ProjectConfig, plan: Plan, outputs: Sequence[PlannedOutput], root: Path,
                     memo: dict[Path, str]) -> dict[str, str]:
    """The manifest's documents entries of these outputs' documents, serialised."""
    return document_texts(_documents(cfg, plan, outputs, lambda p: _rel(p, root, memo)))


def _record(plan: Plan, out: PlannedOutput, path: str, sha: str, size: int, rel: Any) -> OutputRecord:
    paths = {d.path for d in out.sources}
    if out.doc is not None:
        paths |= {s.master.path for s in plan.images_of(out.channel.name, out.doc)}
    return OutputRecord(
        path=path, key=out.key, channel=out.channel.name, kind=out.rule.kind, sha256=sha, size=size,
        content_type=out.rule.content_type or content_type(out.path), cache_policy=out.rule.cache,
        cache_control=out.channel.rules.cache[out.rule.cache], sources=tuple(sorted(rel(p) for p in paths)),
        locale=out.locale, document=rel(out.doc.path) if out.doc else None)


def _documents(cfg: ProjectConfig, plan: Plan, outputs: Sequence[PlannedOutput], rel: Any) -> dict[str, Any]:
    """Every variant of each document by channel and kind: one message, side by side."""
    site = cfg.site
    documents: dict[str, dict[str, Any]] = {}
    for out in outputs:
        doc = out.doc
        if doc is None:
            continue
        entry = documents.get(rel(doc.path))
        if entry is None:
            canonical = plan.doc_keys.get((site.canonical_channel, doc.path))
            entry = documents[rel(doc.path)] = {
                "id": doc.doc_id, "locale": doc.locale, "title": doc.title,
                "campaign": doc.campaign or site.campaign,
                "canonical_url": urls.absolute(site.base_url, canonical) if canonical else "",
                "variants": {},
            }
        entry["variants"].setdefault(out.channel.name, {})[out.rule.kind] = out.key
    return documents


def _write_renditions(plan: Plan, channels: Mapping[str, Channel], made: Mapping[str, Made],
                      writer: Writer) -> list[OutputRecord]:
    records = []
    cache_control = next(iter(channels.values())).rules.cache["rendition"] if channels else ""
    for name, r in sorted(plan.renditions.items()):
        m = made.get(name)
        if m is None or r.spec.format == "ico":  # failed (already reported); the icon is /favicon.ico only
            continue
        key = urls.media_key(name)
        writer.copy(key, m.path, m.sha256, m.size, str(r.master.path))
        records.append(OutputRecord(
            path=key, key=key, channel="", kind="rendition", sha256=m.sha256, size=m.size,
            content_type=r.mime, cache_policy="rendition", cache_control=cache_control,
            sources=(r.master.rel.as_posix(),),
            extra={"width": r.width, "height": r.height, "spec": r.spec.key()}))
    return records


def _write_static(channels: Mapping[str, Channel], writer: Writer, problems: Problems) -> list[OutputRecord]:
    records = []
    for channel in channels.values():
        seen: set[str] = set()
        for static in channel.static_dirs:  # most specific first: an override wins
            for file in channel.static_files(static, problems):
                rel = file.relative_to(static).as_posix()
                if rel in seen or any(part.startswith(".") for part in rel.split("/")):
                    continue
                seen.add(rel)
                data = file.read_bytes()
                path = f"{channel.name}/{rel}"
                try:
                    writer.write(path, data, str(file))
                except ContentpipeError as err:
                    problems.add(err.problem)
                    continue
                records.append(OutputRecord(
                    path=path, key=channel.rules.publish_at + rel, channel=channel.name, kind="static",
                    sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                    content_type=content_type(rel), cache_policy="asset",
                    cache_control=channel.rules.cache["asset"], sources=()))
    return records
