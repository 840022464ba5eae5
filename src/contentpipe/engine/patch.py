"""A kept engine's fast path: patch the last build in memory when edits leave the plan as it was.

The editor's usual change is text: a body or a summary. Such an edit changes
no output path, no list membership or order, no image use and no problem of
load or plan, so the plan of the last build stands with the edited documents
put in. Then only outputs that show an edited document can have changed: their
fingerprints are made again (engine/deps.py, as the full path makes them),
the stale ones rendered and written, the manifest written from the kept
records, and the state committed as a diff.

Anything else (a file added or removed, an image, a sidecar, a template, a
rule, contentpipe.toml, a document whose plan facts changed, an output file
changed on disk, another process's build in between) is left to the full
path, which ``try_patch`` signals by returning None before it writes a file.
"""

from __future__ import annotations

import json
import time
import uuid
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentpipe import urls
from contentpipe.config.rules import MarkdownRules
from contentpipe.engine.deps import Fingerprints, Inputs, combine
from contentpipe.engine.result import BuildResult, ChannelStats, Laps, Published, problems_json
from contentpipe.engine.scan import Stat, hash_inputs, stat_inputs
from contentpipe.engine.state import InputRow, OutputRow, Snapshot, TemplateRow, read_generation, write_state
from contentpipe.engine.writing import Placed, document_entries, output_path, placed_record
from contentpipe.errors import ContentpipeError, Problem, Problems
from contentpipe.load.documents import Document, parse_document
from contentpipe.load.masters import ASSETS_DIR, Masters
from contentpipe.load.parsed import ParsedBodies
from contentpipe.manifest import manifest_bytes, problems_text
from contentpipe.plan import Plan, PlannedOutput
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.run import render_outputs
from contentpipe.render.templates import Templates
from contentpipe.write import Writer

if TYPE_CHECKING:
    from contentpipe.engine.core import Engine
    from contentpipe.load.packs import Channel


@dataclass(frozen=True)
class World:
    """What a kept engine knows of the build it last committed (read-only once made)."""

    options_key: str
    pack_roots: tuple[Path, ...]
    generation: str  # the state's, as committed: another build in between changes it
    stats: Mapping[str, Stat]
    files: Mapping[str, InputRow]
    masters: Masters
    plan: Plan
    channels: Mapping[str, Channel]  # every channel loaded, the canonical one planned for keys included
    engine_fp: str
    problems: tuple[Problem, ...]  # what no output owns: config, load, plan, renditions, write
    output_problems: Mapping[str, tuple[Problem, ...]]
    final: tuple[Problem, ...]  # every problem, sorted: the result and the manifest
    rows: Mapping[str, OutputRow]
    templates: Mapping[tuple[str, str], TemplateRow]
    placed: Mapping[str, Placed]  # by path, in path order: the manifest's lines
    documents: Mapping[str, str]  # the manifest's documents entries, serialised
    meta: Mapping[str, str]
    counts: Mapping[str, Any]
    environments: dict[str, Templates] = field(default_factory=dict)  # compiled templates: packs are as they were

    def output_stats(self) -> dict[str, tuple[int, int]]:
        return {p: (r.size, r.mtime_ns) for p, r in self.rows.items()}


def plan_facts(doc: Document, parsed: ParsedBodies, rules: list[MarkdownRules], lines: bool) -> tuple[Any, ...]:
    """Everything load and plan read of a document: equal facts give an equal plan, problems included.

    Line numbers (of front-matter keys, of the body, of its links and images) matter only to
    problems naming them: ``lines`` is whether load or plan reported any for it.
    """
    refs = tuple(tuple(r if lines else (r.kind, r.target) for r in parsed.facts(doc, rule).refs) for rule in rules)
    where = (tuple(doc.lines.items()), doc.body_line) if lines else None
    return (doc.rel, doc.doc_id, doc.locale, doc.slug, doc.dir, doc.title, doc.date, doc.tags, doc.hero, doc.draft,
            doc.social_keys, where, refs)


def _substitute(plan: Plan, new: Mapping[Path, Document]) -> tuple[Plan, list[PlannedOutput]]:
    """The plan with the edited documents put in, and the outputs that show one of them."""
    outputs, affected = [], []
    for out in plan.outputs:
        if out.doc is not None:
            if out.doc.path in new:
                out = replace(out, doc=new[out.doc.path])
                affected.append(out)
        elif any(d.path in new for d in out.items):
            # a site-wide output (the sitemap) shows only pages, which the patch keeps, and dates (deps.sitemap)
            shows = out.rule.per != "site" or any(
                d.path in new and (d.date, d.updated) != (new[d.path].date, new[d.path].updated) for d in out.items)
            out = replace(out, items=tuple(new.get(d.path, d) for d in out.items))
            if shows:
                affected.append(out)
        outputs.append(out)
    translations = dict(plan.translations)
    for doc in new.values():
        translations[doc.doc_id] = {**translations[doc.doc_id], doc.locale: doc}
    return replace(plan, outputs=outputs, translations=translations), affected


def _unit(out: PlannedOutput) -> tuple[str, str]:
    return (out.channel.name, str(out.doc.path) if out.doc else output_path(out))


class _Fallback(Exception):
    """The edit is not one the patch can make: the full path builds."""


def try_patch(engine: Engine, world: World, options_key: str, started: float) -> BuildResult | None:
    try:
        return _patch(engine, world, options_key, started)
    except _Fallback:
        return None


def _patch(engine: Engine, world: World, options_key: str, started: float) -> BuildResult:
    cfg = engine.config
    lap = Laps()
    timings = lap.timings

    if options_key != world.options_key or read_generation(engine.state_path) != world.generation:
        raise _Fallback
    pack_roots = engine.pack_roots(world.meta)
    if tuple(pack_roots) != world.pack_roots:
        raise _Fallback
    stats = stat_inputs(cfg.file, [cfg.root / ASSETS_DIR, *pack_roots])
    if stats.keys() != world.stats.keys():
        raise _Fallback  # a file added or removed
    suspects = {p: st for p, st in stats.items() if st != world.stats[p] or world.files[p].mtime_ns < 0}
    files = {**world.files, **hash_inputs(suspects, world.files)}
    changed = sorted(p for p in suspects if files[p].sha256 != world.files[p].sha256)
    from contentpipe.engine.core import outputs_in_place  # the engine's own check, on what it committed

    if not engine.check_outputs_after and not outputs_in_place(str(cfg.out_dir), world.output_stats()):
        raise _Fallback
    new_docs = _reparse(engine, world, changed, files)
    lap("check")

    masters = replace(world.masters, documents=tuple(new_docs.get(d.path, d) for d in world.masters.documents))
    plan, affected = _substitute(world.plan, new_docs)
    fps = Fingerprints(plan, masters, Inputs(files, world.templates, world.engine_fp))
    units: dict[tuple[str, str], list[PlannedOutput]] = defaultdict(list)
    why: dict[str, str] = {}
    for out in affected:
        units[_unit(out)].append(out)
        old = world.rows.get(path := output_path(out))
        parts = fps.parts(out, bool(old and old.problems_json != "[]"))
        if old is None or not old.fp or parts is None:
            raise _Fallback
        if combine(parts) != old.fp:
            why[path] = "changed: " + ", ".join(sorted(k for k in parts.keys() | old.parts.keys()
                                                       if parts.get(k) != old.parts.get(k)))
    todo = [o for unit in sorted({_unit(units[u][0]) for u in units if any(output_path(o) in why
                                                                          for o in units[u])}) for o in units[unit]]
    for out in todo:
        why.setdefault(output_path(out), "rendered with its document")
    rendered = render_outputs(plan, masters, todo, BodyCache(cfg.cache_dir / "bodies"),
                              environments=world.environments, limits=cfg.limits, trust_packs=cfg.trust_packs)
    if any(r.data is None for r in rendered):
        raise _Fallback  # an output that now fails is removed from the folder: the full path does that
    from contentpipe.engine.core import Engine

    templates = Engine._template_rows(plan, rendered, Snapshot({}, {}, {}, world.templates))
    if templates != world.templates:
        raise _Fallback  # other outputs' fingerprints read these records: the full path makes them again
    lap("render")

    output_problems = dict(world.output_problems)
    same_problems = True
    for r in rendered:
        same_problems &= set(r.problems) == set(output_problems.get(path := output_path(r.out), ()))
        output_problems[path] = r.problems
    from contentpipe.engine.core import sort_problems

    final = world.final if same_problems else tuple(sort_problems(
        [*world.problems, *(p for ps in output_problems.values() for p in ps)]))
    errors = sum(p.severity == "error" for p in final)
    text = world.meta["final_manifest"] if same_problems else problems_text(problems_json(list(final), cfg.root))
    rel_memo: dict[Path, str] = {}
    documents = dict(world.documents)
    for doc in new_docs.values():
        outs = [o for o in affected if o.doc is not None and o.doc.path == doc.path and output_path(o) in world.placed]
        documents.update(document_entries(cfg, plan, outs, cfg.root, rel_memo))

    with engine.write_gate():  # requests to the preview server wait while files change
        writer = Writer(cfg.out_dir, {p: (world.rows[p].sha256, world.rows[p].size) for p in why})
        placed = dict(world.placed)
        written: dict[str, int] = defaultdict(int)
        sizes: dict[str, int] = defaultdict(int)
        for r in rendered:
            path = output_path(r.out)
            assert r.data is not None
            try:
                if writer.write(path, r.data, str(r.out.doc.path if r.out.doc else r.out.channel.rule_files[0])):
                    written[r.out.channel.name] += 1
            except ContentpipeError:
                raise _Fallback from None  # written files differ from the state: the full path renders them again
            sizes[r.out.channel.name] += len(r.data) - placed[path].size
            placed[path] = placed_record(plan, r.out, path, r.data, cfg.root, rel_memo)
        data = manifest_bytes(cfg.site.base_url, errors, len(final) - errors, text, documents,
                              [(p, pl.line) for p, pl in placed.items()])
        writer.claimed.pop(urls.MANIFEST_NAME, None)
        writer.write(urls.MANIFEST_NAME, data, str(cfg.file))
    lap("write")

    rows = dict(world.rows)
    from contentpipe.engine.core import _problems_json, _stat

    for r in rendered:
        path = output_path(r.out)
        st = _stat(f"{cfg.out_dir}/{path}")
        if st is None:
            raise _Fallback
        problems = _problems_json(r.problems)
        parts = fps.parts(r.out, problems != "[]") or {}
        rows[path] = OutputRow(st.size, st.mtime_ns, placed[path].sha256, r.out.key, combine(parts),
                               json.dumps(parts, sort_keys=True), problems, why[path], placed[path].line)
    manifest = _stat(cfg.out_dir / urls.MANIFEST_NAME)
    if manifest is not None:
        rows[urls.MANIFEST_NAME] = OutputRow(manifest.size, manifest.mtime_ns, "", "", "", why="every build")
    channels = {name: {"outputs": c["outputs"], "bytes": c["bytes"] + sizes.get(name, 0)}
                for name, c in world.counts["channels"].items()}
    counts = {**world.counts, "channels": channels}
    meta = {**world.meta, "generation": uuid.uuid4().hex, "counts": json.dumps(counts)}
    if not same_problems:
        meta |= {"final": _problems_json(final), "final_manifest": text}
    meta = write_state(engine.state_path, meta, files, rows, templates,
                       Snapshot(world.meta, world.files, world.rows, world.templates))
    lap("state")

    engine.keep_world(replace(world, generation=meta["generation"], stats=stats, files=files, masters=masters,
                              plan=plan, output_problems=output_problems, final=final, rows=rows, placed=placed,
                              documents=documents, meta=meta, counts=counts), new_docs, files)
    stats_by_channel = {name: ChannelStats(c["outputs"], written.get(name, 0), c["outputs"] - written.get(name, 0),
                                           c["bytes"]) for name, c in channels.items()}
    files_written = writer.written
    return BuildResult(cfg.root, cfg.out_dir, list(final), stats_by_channel,
                       documents=counts["documents"], drafts_skipped=counts["drafts_skipped"],
                       renditions=counts["renditions"], rendered=len(rendered),
                       kept=counts["outputs"] - len(rendered), timings=timings,
                       rendered_paths=tuple(sorted(output_path(r.out) for r in rendered)),
                       written=files_written, unchanged=sum(r.size >= 0 for r in rows.values()) - files_written,
                       seconds=time.perf_counter() - started, way="patch",
                       published=Published(placed, documents, world.placed,
                                           tuple(output_path(r.out) for r in rendered)))


def _reparse(engine: Engine, world: World, changed: list[str],
             files: Mapping[str, InputRow]) -> dict[Path, Document]:
    """The edited documents parsed again; a fallback unless each is one the plan sees as before."""
    cfg = engine.config
    memo = engine.load_memo
    docs = world.masters.by_path()
    site_key = repr(cfg.site)
    rules = [MarkdownRules(), *{c.rules.markdown for c in world.channels.values()}]
    parsed = world.masters.parsed
    named = {p.where.path for p in world.problems}
    new: dict[Path, Document] = {}
    for name in changed:
        old = docs.get(Path(name))
        known = memo.documents.get((name, world.files[name].sha256, site_key)) if memo is not None else None
        if old is None or known is None:
            raise _Fallback  # not a document the last build used (an image, a pack file, a skipped draft...)
        found = Problems()
        try:
            doc = parse_document(old.path, cfg.root / ASSETS_DIR, cfg.site, found)
        except (ContentpipeError, OSError):
            raise _Fallback from None
        lines = old.path in named
        if tuple(found) != known[1] or plan_facts(doc, parsed, rules, lines) != plan_facts(old, parsed, rules, lines):
            raise _Fallback
        if memo is not None:
            memo.documents.pop((name, world.files[name].sha256, site_key), None)
            memo.documents[(name, files[name].sha256, site_key)] = (doc, tuple(found))
        new[old.path] = doc
    return new
