"""The Python API: ``Project.load(path).build()``. The CLI and the watcher are thin layers on it.

Stages run one way: load (config, packs, masters) -> plan -> render (renditions,
templates) -> write (outputs, manifest). Problems are collected all along; a
document with an error is left out and the rest still builds.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentpipe import urls
from contentpipe.config.project import ProjectConfig, check_output_dir, load_config
from contentpipe.errors import ContentpipeError, Problem, Problems, ProjectError, SourcePos
from contentpipe.manifest import Manifest, OutputRecord
from contentpipe.mediatypes import content_type

if TYPE_CHECKING:  # the stages are imported when a build runs: light commands start faster
    from contentpipe.load.masters import Masters
    from contentpipe.load.packs import Channel
    from contentpipe.plan import Plan, PlannedOutput
    from contentpipe.render.bodycache import BodyCache
    from contentpipe.render.images import Made
    from contentpipe.write import Writer

log = logging.getLogger(__name__)

Progress = Callable[[str, int, int], None]


@dataclass
class ChannelStats:
    outputs: int = 0
    written: int = 0
    unchanged: int = 0
    bytes: int = 0


@dataclass
class BuildResult:
    project: Path
    out_dir: Path
    problems: list[Problem]
    channels: dict[str, ChannelStats] = field(default_factory=dict)
    documents: int = 0
    drafts_skipped: int = 0
    renditions: int = 0
    renditions_encoded: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    seconds: float = 0.0
    wrote_outputs: bool = True
    manifest: Manifest | None = None
    timings: dict[str, float] = field(default_factory=dict)  # seconds per stage

    @property
    def errors(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "error"]

    @property
    def warnings(self) -> list[Problem]:
        return [p for p in self.problems if p.severity == "warning"]

    @property
    def ok(self) -> bool:
        return not self.errors

    def summary(self) -> dict[str, Any]:
        """The machine-readable summary printed by ``build --json``."""
        return {
            "ok": self.ok,
            "project": str(self.project),
            "out_dir": str(self.out_dir),
            "documents": self.documents,
            "drafts_skipped": self.drafts_skipped,
            "channels": {name: vars(stats) for name, stats in sorted(self.channels.items())},
            "renditions": {"total": self.renditions, "encoded": self.renditions_encoded,
                           "cached": self.renditions - self.renditions_encoded},
            "files": {"written": self.written, "unchanged": self.unchanged, "removed": self.removed},
            "wrote_outputs": self.wrote_outputs,
            "errors": len(self.errors),
            "warnings": len(self.warnings),
            "problems": [p.to_json(self.project) for p in self.problems],
            "seconds": round(self.seconds, 3),
            "timings": self.timings,
        }


class Project:
    """A contentpipe project folder: contentpipe.toml, assets/ and optionally channels/."""

    def __init__(self, config: ProjectConfig, config_problems: list[Problem]) -> None:
        self.config = config
        self.root = config.root
        self.config_problems = config_problems

    @classmethod
    def load(cls, path: Path | str = ".", out_dir: Path | str | None = None) -> Project:
        """Read and validate the project's config; raises ProjectError listing every problem."""
        root = Path(path).resolve()
        problems = Problems()
        config = load_config(root, problems)
        if out_dir is not None:
            out = Path(out_dir).resolve()
            if (message := check_output_dir(root, out)) is not None:
                raise ProjectError(message, SourcePos(Path(out_dir)))
            config = replace(config, out_dir=out)
        return cls(config, list(problems))

    def build(self, channels: list[str] | tuple[str, ...] | None = None, *, drafts: bool | None = None,
              all_or_nothing: bool = False, progress: Progress | None = None) -> BuildResult:
        """Build every enabled channel into the output folder; never raises for content problems."""
        from contentpipe.load.masters import load_masters
        from contentpipe.load.packs import discover, load_channels
        from contentpipe.plan import plan_build
        from contentpipe.render.bodycache import BodyCache
        from contentpipe.render.images import RenditionStore, make_renditions

        started = clock = time.perf_counter()
        timings: dict[str, float] = {}

        def lap(stage: str) -> None:
            nonlocal clock
            now = time.perf_counter()
            timings[stage] = round(now - clock, 3)
            clock = now
            log.info("%s: %.2fs", stage, timings[stage])

        cfg = self.config
        problems = Problems()
        problems.extend(self.config_problems)
        names = tuple(channels) if channels else cfg.enabled_channels
        loaded = load_channels(self.root, problems, names)
        canonical = cfg.site.canonical_channel
        keys_only: frozenset[str] = frozenset()
        found = discover(self.root)
        if canonical not in loaded and canonical in found:  # planned for its keys only: its problems count
            loaded.update(load_channels(self.root, problems, (canonical,)))
            keys_only = frozenset({canonical}) & loaded.keys()
        if canonical in found and canonical not in loaded:
            problems.error(f"the canonical channel {canonical!r} cannot be loaded (see its problems): "
                           "no variant can link to its canonical page", SourcePos(cfg.file, None,
                                                                                  "site.canonical_channel"))
        masters = load_masters(cfg, problems, drafts)
        lap("load")
        plan = plan_build(cfg.site, loaded, masters, problems, keys_only)
        result = BuildResult(self.root, cfg.out_dir, [], documents=len(masters.documents),
                             drafts_skipped=masters.drafts_skipped, timings=timings)
        lap("plan")

        store = RenditionStore(cfg.cache_dir / "renditions")
        made, encoded, failed = make_renditions(plan.renditions.values(), store, cfg.jobs, problems, progress)
        if failed:  # a master whose header was fine but whose pixels are not: drop its documents, plan again
            masters = masters.without_images(failed, self.root, problems)
            plan = plan_build(cfg.site, loaded, masters, problems, keys_only)
            result.documents = len(masters.documents)
        result.renditions, result.renditions_encoded = len(plan.renditions), encoded
        lap("renditions")

        body_cache = BodyCache(cfg.cache_dir / "bodies")
        rendered = self._render(plan, masters, problems, body_cache, progress)
        masters.parsed.save()
        built = {name: channel for name, channel in loaded.items() if name not in keys_only}
        if names is None or set(built) == set(found):
            body_cache.prune()
        lap("render")
        if all_or_nothing and problems.errors:
            result.wrote_outputs = False
        else:
            self._write(plan, built, rendered, made, problems, result)
        lap("write")
        result.problems = list(problems)
        result.seconds = time.perf_counter() - started
        return result

    # ----- stages -----------------------------------------------------------------

    def _render(self, plan: Plan, masters: Masters, problems: Problems, body_cache: BodyCache,
                progress: Progress | None) -> list[tuple[PlannedOutput, bytes]]:
        from contentpipe.render.context import ContextBuilder
        from contentpipe.render.outputs import assemble_message, finish
        from contentpipe.render.templates import Templates

        rendered: list[tuple[PlannedOutput, bytes]] = []
        by_doc: dict[tuple[str, str, Path], bytes] = {}  # (channel, kind, document) -> bytes, for .eml parts
        messages: list[PlannedOutput] = []
        total = len(plan.outputs)
        builders: dict[str, tuple[Templates, ContextBuilder]] = {}
        # a document's outputs in every channel together: its parsed tokens are still in memory
        by_document = sorted(plan.outputs, key=lambda o: (o.doc is None, str(o.doc.path) if o.doc else ""))
        for i, out in enumerate(by_document, 1):
            if progress and (i % 25 == 0 or i == total):
                progress("pages", i, total)
            if out.rule.format == "eml":
                messages.append(out)  # assembled from its parts once they are rendered
                continue
            name = out.channel.name
            if name not in builders:
                templates = Templates(out.channel)
                builders[name] = (templates, ContextBuilder(plan, out.channel, templates, masters, problems,
                                                            body_cache))
            templates, ctx = builders[name]
            try:
                data = finish(out, templates.render(out.rule.template, ctx.for_output(out)), problems)
            except ContentpipeError as err:
                problems.add(err.problem)
                continue
            if data is None:
                continue
            rendered.append((out, data))
            if out.doc is not None:
                by_doc[(name, out.rule.kind, out.doc.path)] = data
        for out in messages:
            data = assemble_message(out, by_doc, builders[out.channel.name][1] if out.channel.name in builders
                                    else None, problems, body_cache, self.config.site.base_url)
            if data is not None:
                rendered.append((out, data))
        return rendered

    def _write(self, plan: Plan, channels: dict[str, Channel], rendered: list[tuple[Any, bytes]],
               made: dict[str, Made], problems: Problems, result: BuildResult) -> None:
        from contentpipe.siteimages import write_site_files
        from contentpipe.write import Writer

        cfg = self.config
        manifest_path = cfg.out_dir / urls.MANIFEST_NAME
        previous = Manifest.read(manifest_path)
        writer = Writer(cfg.out_dir, {o.path: (o.sha256, o.size) for o in previous.outputs} if previous else {})
        records: list[OutputRecord] = []
        documents: dict[str, dict[str, Any]] = {}

        rel_memo: dict[Path, str] = {}

        def rel_source(path: Path) -> str:
            if path not in rel_memo:
                rel_memo[path] = (path.relative_to(self.root).as_posix() if path.is_relative_to(self.root)
                                  else str(path))
            return rel_memo[path]

        for out, data in rendered:
            rules = out.channel.rules
            path = f"{out.channel.name}/{out.path}"
            try:
                changed = writer.write(path, data, str(out.doc.path if out.doc else out.channel.rule_files[0]))
            except ContentpipeError as err:
                problems.add(err.problem)
                continue
            stats = result.channels.setdefault(out.channel.name, ChannelStats())
            stats.outputs += 1
            stats.bytes += len(data)
            stats.written += changed
            stats.unchanged += not changed
            records.append(OutputRecord(
                path=path, key=out.key, channel=out.channel.name, kind=out.rule.kind,
                sha256=hashlib.sha256(data).hexdigest(), size=len(data),
                content_type=out.rule.content_type or content_type(out.path),
                cache_policy=out.rule.cache, cache_control=rules.cache[out.rule.cache],
                sources=self._sources(plan, out, rel_source), locale=out.locale,
                document=rel_source(out.doc.path) if out.doc else None))
            if out.doc is not None:
                self._add_variant(documents, plan, out, rel_source(out.doc.path))
        records += self._write_static(channels, writer, problems, result)
        records += write_site_files(plan.site_files, channels, made, writer, problems)
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
        errors, warnings = problems.errors, problems.warnings
        manifest = Manifest(cfg.site.base_url, tuple(records), len(errors), len(warnings),
                            tuple(p.to_json(self.root) for p in problems), documents)
        keep = {r.path for r in records}
        result.removed = len(writer.remove_stale(keep))
        writer.claimed.pop(urls.MANIFEST_NAME, None)
        writer.write(urls.MANIFEST_NAME, manifest.to_bytes(), str(cfg.file))
        result.written, result.unchanged = writer.written, writer.unchanged
        result.manifest = manifest

    def _add_variant(self, documents: dict[str, dict[str, Any]], plan: Plan, out: PlannedOutput, rel: str) -> None:
        """Group outputs by document: one message, every channel's variant side by side."""
        doc = out.doc
        assert doc is not None
        site = self.config.site
        entry = documents.get(rel)
        if entry is None:
            canonical = plan.doc_keys.get((site.canonical_channel, doc.path))
            entry = documents[rel] = {
                "id": doc.doc_id, "locale": doc.locale, "title": doc.title,
                "campaign": doc.campaign or site.campaign,
                "canonical_url": urls.absolute(site.base_url, canonical) if canonical else "",
                "variants": {},
            }
        entry["variants"].setdefault(out.channel.name, {})[out.rule.kind] = out.key

    @staticmethod
    def _sources(plan: Plan, out: PlannedOutput, rel: Callable[[Path], str]) -> tuple[str, ...]:
        """The masters an output came from: its documents, and for a document page its images too."""
        paths = {d.path for d in out.sources}
        if out.doc is not None:
            paths |= {s.master.path for s in plan.images_of(out.channel.name, out.doc)}
        return tuple(sorted(rel(p) for p in paths))

    def _write_static(self, channels: dict[str, Channel], writer: Writer, problems: Problems,
                      result: BuildResult) -> list[OutputRecord]:
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
