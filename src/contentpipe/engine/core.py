"""The engine: one object that runs the stages and owns the dependency state, the caches and the problems.

``build`` first compares what it would read (sizes and mtimes of the config,
every master and every pack file) and what it wrote (every output file) with
the state the last build committed. When nothing changed it returns that
build's result without importing a renderer. Otherwise it loads, plans and
fingerprints every output (engine/deps.py), renders only the outputs whose
fingerprint or file changed, writes them, and commits the new state once every
file is in place.
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentpipe.config.project import ProjectConfig
from contentpipe.engine.result import BuildResult, ChannelStats, Laps, Published
from contentpipe.engine.scan import Stat, file_sha256, hash_inputs, stat_inputs, unchanged
from contentpipe.engine.state import (
    Check,
    OutputRow,
    Snapshot,
    TemplateRow,
    read_check,
    read_state,
    state_file,
    write_state,
)
from contentpipe.errors import Problem, Problems, SourcePos

if TYPE_CHECKING:  # the stages are imported when a build has work to do: a no-op imports no renderer
    from contentpipe.engine.deps import Fingerprints
    from contentpipe.engine.patch import World
    from contentpipe.engine.state import InputRow
    from contentpipe.engine.writing import Placed
    from contentpipe.load.documents import Document
    from contentpipe.load.masters import LoadMemo
    from contentpipe.load.packs import Channel
    from contentpipe.plan import Plan, PlannedOutput
    from contentpipe.render.run import Rendered


Progress = Callable[[str, int, int], None]
ASSETS_DIR = "assets"
STATE_FORMAT = "1"  # bump when what the engine records changes meaning


@dataclass(frozen=True)
class BuildOptions:
    channels: tuple[str, ...] | None = None
    drafts: bool | None = None
    all_or_nothing: bool = False
    full: bool = False  # render every output, whatever the state says (the state is still written)

    def key(self) -> str:
        from contentpipe import __version__

        return json.dumps([STATE_FORMAT, __version__, self.channels, self.drafts, self.all_or_nothing])  # not full


def problem_to_state(p: Problem) -> dict[str, Any]:
    return {"message": p.message, "path": str(p.where.path), "line": p.where.line, "key": p.where.key,
            "severity": p.severity, "hint": p.hint}


def problem_from_state(d: Mapping[str, Any], paths: dict[str, Path] | None = None) -> Problem:
    """A problem as the state keeps it; ``paths`` shares one Path per file (thousands of warnings, few files)."""
    name = str(d["path"])
    path = paths.get(name) if paths is not None else None
    if path is None:
        path = Path(name)
        if paths is not None:
            paths[name] = path
    return Problem(str(d["message"]), SourcePos(path, d.get("line"), d.get("key")),
                   d.get("severity", "error"), str(d.get("hint", "")))


def _problems_json(problems: Iterable[Problem]) -> str:
    return json.dumps([problem_to_state(p) for p in problems], ensure_ascii=False)


def sort_problems(problems: Iterable[Problem]) -> list[Problem]:
    """Every problem once, in one order whatever was rebuilt: by file, line, key, then message."""
    return sorted(set(problems), key=lambda p: (str(p.where.path), p.where.line or 0, p.where.key or "",
                                                p.severity, p.message, p.hint))


def code_stamp() -> str:
    """contentpipe's own code by size and mtime: an upgrade, or an edit of a checkout, is a change."""
    package = Path(__file__).resolve().parents[1]
    found = []
    for folder, _, names in os.walk(package):
        for name in names:
            if name.endswith(".py"):
                st = os.stat(os.path.join(folder, name))  # noqa: PTH116, PTH118 - 60 files, every build
                found.append(f"{folder}/{name}:{st.st_size}:{st.st_mtime_ns}")
    return hashlib.sha256("\n".join(sorted(found)).encode()).hexdigest()[:24]


def _mtime(path: str) -> int:
    try:
        return Path(path).stat().st_mtime_ns
    except OSError:
        return -1


def outputs_in_place(out_dir: str, outputs: Mapping[str, tuple[int, int]]) -> bool:
    """Every file of the last build still has the size and mtime it was left with (none is back)."""
    for path, (size, mtime_ns) in outputs.items():
        try:
            st = os.stat(f"{out_dir}/{path}")  # noqa: PTH116 - 19,000 Path objects cost more than the stats
        except OSError:
            if size >= 0:
                return False
            continue
        if size < 0 or st.st_size != size or st.st_mtime_ns != mtime_ns:
            return False
    return True


def _stat(path: Path | str) -> Stat | None:
    try:
        st = os.stat(path)  # noqa: PTH116 - also given strings: this runs once per output
    except OSError:
        return None
    return Stat(st.st_size, st.st_mtime_ns)


class Engine:
    """Builds one project into one output folder, again and again, doing only what changed."""

    def __init__(self, config: ProjectConfig, config_problems: Iterable[Problem] = (),
                 out_dir: Path | None = None) -> None:
        self.config = config
        self.config_problems = tuple(config_problems)
        self.out_dir = out_dir  # given by the caller (--out): it stands whatever contentpipe.toml says
        self.state_path = state_file(config.cache_dir, config.out_dir)
        self._config_sha = file_sha256(str(config.file))
        self._path_env = ("", "[]")
        self.code = code_stamp()
        self._load_memo: LoadMemo | None = None  # what a kept engine need not parse again (made by the first build)
        self._world: World | None = None  # the last committed build, which a kept engine can patch
        # entered around each write stage: the preview server holds requests while files change under it
        self.write_gate: Callable[[], AbstractContextManager[object]] = nullcontext
        # a watcher's engine: the patch does not stat every output first; the watcher asks outputs_intact()
        # after it has pushed the build, and a folder changed by someone else is built again right away
        self.check_outputs_after = False

    # ----- the build -------------------------------------------------------------

    def build(self, options: BuildOptions = BuildOptions(), progress: Progress | None = None) -> BuildResult:
        started = time.perf_counter()
        if (unusable := self._reload_config()) is not None:
            return BuildResult(self.config.root, self.config.out_dir, unusable, wrote_outputs=False,
                               seconds=time.perf_counter() - started)
        if self._world is not None and not options.full:
            from contentpipe.engine.patch import try_patch

            if (patched := try_patch(self, self._world, options.key(), started)) is not None:
                return patched
        check = read_check(self.state_path)
        pack_roots = self.pack_roots(check.meta if check is not None else None)
        stats = stat_inputs(self.config.file, [self.config.root / ASSETS_DIR, *pack_roots])
        if not options.full and check is not None and self._nothing_changed(check, options, pack_roots, stats):
            return self._kept_result(check, started)
        snapshot = read_state(self.state_path)
        if options.full:
            snapshot = Snapshot(snapshot.meta, snapshot.inputs, {}, {})  # known hashes, no known outputs
        return self._build(snapshot, options, stats, pack_roots, started, progress)

    def _reload_config(self) -> list[Problem] | None:
        """Read contentpipe.toml again if it changed since it was read (an engine kept by a watcher).

        Returns the problems when the new file cannot be used at all: the build
        then writes nothing and the last good config stays, until it is fixed.
        """
        from contentpipe.config.project import load_config
        from contentpipe.errors import ProjectError

        sha = file_sha256(str(self.config.file))
        if sha == self._config_sha:
            return None
        problems = Problems()
        try:
            config = load_config(self.config.root, problems)
        except ProjectError as err:
            return sort_problems([*err.problems, err.problem])
        if self.out_dir is not None:
            config = replace(config, out_dir=self.out_dir)
        self.config, self.config_problems, self._config_sha = config, tuple(problems), sha
        self._load_memo = None
        self._world = None
        self.state_path = state_file(config.cache_dir, config.out_dir)
        return None

    @property
    def load_memo(self) -> LoadMemo | None:
        return self._load_memo

    def fingerprint(self) -> str:
        """What every output depends on: the engine's versions, [site], the template limits and pack trust."""
        from contentpipe.engine.deps import engine_fingerprint
        from contentpipe.plan import available_formats
        from contentpipe.render.bodycache import BODY_VERSION

        cfg = self.config
        return engine_fingerprint(cfg.site, available_formats(),
                                  [BODY_VERSION, self.code, repr(cfg.limits), str(cfg.trust_packs)])

    def outputs_intact(self) -> bool:
        """Every output of the kept build is as it was left; when not, the next build takes the full path."""
        world = self._world
        if world is None or outputs_in_place(str(self.config.out_dir), world.output_stats()):
            return True
        self._world = None
        return False

    def keep_world(self, world: World, documents: Mapping[Path, Document], files: Mapping[str, InputRow]) -> None:
        """After a patch: its build is the one to patch next; the loader's memory follows the edits."""
        self._world = world
        if self._load_memo is not None:
            self._load_memo.files = {path: row.sha256 for path, row in files.items()}

    def pack_roots(self, meta: Mapping[str, str] | None = None) -> list[Path]:
        """Every folder packs can come from: built-in, the project's channels/, each installed pack.

        Installed packs are found through entry points, which costs a scan of
        every installed distribution; the last build's answer stands while no
        folder on sys.path has changed (an install or removal changes one).
        """
        from contentpipe.load.packdirs import builtin_packs_dir, plugin_packs

        trust = self.config.trust_packs
        env = json.dumps([(p, _mtime(p)) for p in sys.path] + ([] if trust else ["untrusted"]))
        meta = meta or {}
        if meta.get("path_env") == env and "plugin_packs" in meta:
            plugins = [Path(p) for p in json.loads(meta["plugin_packs"])]
        else:
            plugins = [path for _, path, _ in plugin_packs(trust)]
        self._path_env = (env, json.dumps([str(p) for p in plugins]))
        return [builtin_packs_dir(), self.config.root / "channels", *plugins]

    def _nothing_changed(self, check: Check, options: BuildOptions, pack_roots: list[Path],
                         stats: Mapping[str, Stat]) -> bool:
        meta = check.meta
        if meta.get("options") != options.key() or meta.get("packs") != json.dumps([str(p) for p in pack_roots]):
            return False
        if meta.get("code") != self.code or "final" not in meta:
            return False
        if not unchanged(stats, check.inputs):
            return False
        return outputs_in_place(str(self.config.out_dir), check.outputs)

    def _kept_result(self, check: Check, started: float) -> BuildResult:
        """The last build's result again: its problems as it sorted them, its counts."""
        meta = check.meta
        counts = json.loads(meta.get("counts", "{}"))
        paths: dict[str, Path] = {}
        problems = [problem_from_state(p, paths) for p in json.loads(meta["final"])]
        channels = {name: ChannelStats(s["outputs"], 0, s["outputs"], s["bytes"])
                    for name, s in counts.get("channels", {}).items()}
        files = sum(size >= 0 for size, _ in check.outputs.values())
        return BuildResult(self.config.root, self.config.out_dir, problems, channels,
                           documents=counts.get("documents", 0), drafts_skipped=counts.get("drafts_skipped", 0),
                           renditions=counts.get("renditions", 0), unchanged=files,
                           kept=counts.get("outputs", 0), seconds=time.perf_counter() - started,
                           timings={"check": round(time.perf_counter() - started, 3)}, way="kept")

    def _build(self, snapshot: Snapshot, options: BuildOptions, stats: Mapping[str, Stat],
               pack_roots: list[Path], started: float, progress: Progress | None) -> BuildResult:
        from contentpipe.engine.deps import Fingerprints, Inputs, combine
        from contentpipe.engine.writing import Placed, output_path, write_manifest, write_outputs
        from contentpipe.load.masters import LoadMemo, load_masters
        from contentpipe.plan import plan_build
        from contentpipe.render.bodycache import BodyCache
        from contentpipe.render.images import RenditionStore, make_renditions
        from contentpipe.render.run import render_outputs

        cfg = self.config
        self._world = None
        lap = Laps()
        timings = lap.timings

        files = hash_inputs(stats, snapshot.inputs)
        problems = Problems()  # config, load, plan and renditions: recomputed by every build that has work
        problems.extend(list(self.config_problems))
        loaded, keys_only = self.channels(options, problems)
        if self._load_memo is None:
            self._load_memo = LoadMemo()
        self._load_memo.files = {path: row.sha256 for path, row in files.items()}
        masters = load_masters(cfg, problems, options.drafts, self._load_memo)
        lap("load")
        plan = plan_build(cfg.site, loaded, masters, problems, keys_only)
        lap("plan")
        store = RenditionStore(cfg.cache_dir / "renditions")
        made, encoded, failed = make_renditions(plan.renditions.values(), store, cfg.jobs, problems, progress)
        if failed:  # a master whose header was fine but whose pixels are not: drop its documents, plan again
            masters = masters.without_images(failed, cfg.root, problems)
            plan = plan_build(cfg.site, loaded, masters, problems, keys_only)
        lap("renditions")

        engine_fp = self.fingerprint()
        fps = Fingerprints(plan, masters, Inputs(files, snapshot.templates, engine_fp))
        todo, kept, why = self._plan_work(plan, fps, snapshot, combine)
        lap("fingerprint")
        body_cache = BodyCache(cfg.cache_dir / "bodies")
        rendered = render_outputs(plan, masters, todo, body_cache, progress, limits=cfg.limits,
                                  trust_packs=cfg.trust_packs)
        masters.parsed.save()
        if not kept and options.channels is None and cfg.enabled_channels is None:
            body_cache.prune()  # everything was rendered: what it did not use is for nothing now
        built = {name: channel for name, channel in loaded.items() if name not in keys_only}
        lap("render")

        output_problems: dict[str, tuple[Problem, ...]] = {output_path(r.out): r.problems for r in rendered}
        for path in kept:
            output_problems[path] = tuple(problem_from_state(p) for p in snapshot.outputs[path].problems)
        before_write = sort_problems([*problems, *(p for ps in output_problems.values() for p in ps)])
        result = BuildResult(cfg.root, cfg.out_dir, before_write, documents=len(masters.documents),
                             drafts_skipped=masters.drafts_skipped, renditions=len(plan.renditions),
                             renditions_encoded=encoded, rendered=len(rendered), kept=len(kept), timings=timings,
                             rendered_paths=tuple(sorted(output_path(r.out) for r in rendered)))
        if options.all_or_nothing and any(p.severity == "error" for p in before_write):
            result.wrote_outputs = False
            lap("write")
            result.seconds = time.perf_counter() - started
            return result  # nothing written, and so no state to commit

        write_problems = Problems()
        rows_before = snapshot.outputs
        previous = {p: (r.sha256, r.size) for p, r in rows_before.items() if r.size >= 0 and r.line} \
            if rows_before else None
        with self.write_gate():
            staged = write_outputs(cfg, plan, built,
                                   {output_path(r.out): r.data for r in rendered if r.data is not None},
                                   {p: Placed(p, rows_before[p].key, rows_before[p].sha256, rows_before[p].size,
                                              rows_before[p].line) for p in kept}, made, write_problems, previous)
            final = sort_problems([*before_write, *write_problems])
            written = write_manifest(cfg, staged, final)
        lap("write")

        templates = self._template_rows(plan, rendered, snapshot)
        fps = Fingerprints(plan, masters, Inputs(files, templates, engine_fp))  # with this build's records
        rows = self._output_rows(plan, fps, combine, written.placed, rendered, snapshot, kept, why, templates)
        counts = {"documents": len(masters.documents), "drafts_skipped": masters.drafts_skipped,
                  "renditions": len(plan.renditions), "outputs": len(rendered) + len(kept),
                  "channels": {n: {"outputs": s.outputs, "bytes": s.bytes} for n, s in written.channels.items()}}
        meta = {"options": options.key(), "packs": json.dumps([str(p) for p in pack_roots]),
                "path_env": self._path_env[0], "plugin_packs": self._path_env[1], "code": self.code,
                "final": _problems_json(final), "final_manifest": written.problems_text,
                "generation": uuid.uuid4().hex,
                "counts": json.dumps(counts), "project": str(cfg.root), "out_dir": str(cfg.out_dir)}
        meta = write_state(self.state_path, meta, files, rows, templates, None if options.full else snapshot)
        lap("state")
        if self._load_memo is not None and self._load_memo.documents:  # a kept engine: the next edit may patch
            from contentpipe.engine.patch import World

            self._world = World(options.key(), tuple(pack_roots), meta["generation"], stats, files, masters, plan,
                                loaded, engine_fp, (*problems, *write_problems), output_problems, tuple(final),
                                rows, templates, {p.path: p for p in sorted(written.placed, key=lambda p: p.path)},
                                staged.documents, meta, counts)

        result.problems = final
        result.published = Published({p.path: p for p in written.placed}, staged.documents)
        result.channels = written.channels
        result.written, result.unchanged, result.removed = written.written, written.unchanged, written.removed
        result.seconds = time.perf_counter() - started
        return result

    def channels(self, options: BuildOptions, problems: Problems) -> tuple[dict[str, Channel], frozenset[str]]:
        """The channels to build, and the canonical one planned for its keys only (``--channel email``)."""
        from contentpipe.load.packs import discover, load_channels

        cfg = self.config
        names = options.channels or cfg.enabled_channels
        trust = cfg.trust_packs
        loaded = load_channels(cfg.root, problems, names, trust)
        canonical = cfg.site.canonical_channel
        keys_only: frozenset[str] = frozenset()
        found = discover(cfg.root, trust)
        if canonical not in loaded and canonical in found:  # planned for its keys only: its problems count
            loaded.update(load_channels(cfg.root, problems, (canonical,), trust))
            keys_only = frozenset({canonical}) & loaded.keys()
        if canonical in found and canonical not in loaded:
            problems.error(f"the canonical channel {canonical!r} cannot be loaded (see its problems): "
                           "no variant can link to its canonical page",
                           SourcePos(cfg.file, None, "site.canonical_channel"))
        return loaded, keys_only

    def _plan_work(self, plan: Plan, fps: Fingerprints, snapshot: Snapshot,
                   combine: Callable[[Mapping[str, str]], str]) -> tuple[list[PlannedOutput], set[str], dict[str, str]]:
        """Which outputs to render (a document's outputs in a channel together), which to keep, and why."""
        from contentpipe.engine.writing import output_path

        out_dir = self.config.out_dir
        why: dict[str, str] = {}
        units: dict[tuple[str, str], list[PlannedOutput]] = defaultdict(list)
        stale_units: set[tuple[str, str]] = set()
        for out in plan.outputs:
            path = output_path(out)
            unit = (out.channel.name, str(out.doc.path) if out.doc else path)
            units[unit].append(out)
            old = snapshot.outputs.get(path)
            parts = fps.parts(out, bool(old and old.problems_json != "[]"))
            if old is None or not old.fp:
                why[path] = "new output"
            elif parts is None:
                why[path] = "its templates are not known yet"
            elif combine(parts) != old.fp:
                changed = sorted(k for k in parts.keys() | old.parts.keys() if parts.get(k) != old.parts.get(k))
                why[path] = "changed: " + ", ".join(changed)
            elif _stat(f"{out_dir}/{path}") != Stat(old.size, old.mtime_ns):
                why[path] = "its file changed on disk"
            else:
                continue
            stale_units.add(unit)
        todo = [o for unit in sorted(stale_units) for o in units[unit]]
        for out in todo:
            why.setdefault(output_path(out), "rendered with its document")
        render = {output_path(o) for o in todo}
        kept = {output_path(o) for o in plan.outputs} - render
        return todo, kept, why

    @staticmethod
    def _template_rows(plan: Plan, rendered: list[Rendered],
                       snapshot: Snapshot) -> dict[tuple[str, str], TemplateRow]:
        """Per template, what its renders loaded and read: this build's, plus the last one's for outputs kept."""
        names: dict[tuple[str, str], set[str]] = defaultdict(set)
        fields: dict[tuple[str, str], set[str]] = defaultdict(set)
        renders: dict[tuple[str, str], int] = defaultdict(int)
        for r in rendered:
            key = (r.out.channel.name, r.out.rule.template or "")
            names[key] |= r.templates
            fields[key] |= r.fields
            renders[key] += 1
        uses: dict[tuple[str, str], int] = defaultdict(int)
        for out in plan.outputs:
            uses[(out.channel.name, out.rule.template or "")] += 1
        rows: dict[tuple[str, str], TemplateRow] = {}
        for key in uses.keys() | snapshot.templates.keys():
            old = snapshot.templates.get(key)
            if key not in uses:
                continue  # no output uses it any more
            if renders.get(key, 0) < uses[key] and old is not None:  # some outputs kept what they read before
                names[key] |= set(old.names)
                fields[key] |= set(old.fields)
            if key in names or old is not None:
                rows[key] = TemplateRow(tuple(sorted(names[key])), tuple(sorted(fields[key])))
        return rows

    def _output_rows(self, plan: Plan, fps: Fingerprints, combine: Callable[[Mapping[str, str]], str],
                     placed: Iterable[Placed], rendered: list[Rendered], snapshot: Snapshot, kept: set[str],
                     why: Mapping[str, str], templates: Mapping[tuple[str, str], TemplateRow]) -> dict[str, OutputRow]:
        """A row for every file now in the output folder, its fingerprint made with this build's records."""
        from contentpipe import urls
        from contentpipe.engine.writing import output_path

        out_dir = self.config.out_dir
        planned = {output_path(o): o for o in plan.outputs}
        fresh = {output_path(r.out): r for r in rendered}
        rows: dict[str, OutputRow] = {}
        for record in placed:
            st = _stat(f"{out_dir}/{record.path}")
            if st is None:
                continue
            out = planned.get(record.path)
            problems = "[]"
            if record.path in fresh:
                problems = _problems_json(fresh[record.path].problems)
            elif record.path in kept:
                problems = snapshot.outputs[record.path].problems_json
            old = snapshot.outputs.get(record.path)
            reason = why.get(record.path, "kept: nothing it depends on changed")
            if record.path in kept and old is not None and out is not None and \
                    templates.get(key := (out.channel.name, out.rule.template or "")) == snapshot.templates.get(key):
                rows[record.path] = OutputRow(st.size, st.mtime_ns, record.sha256, record.key, old.fp,
                                              old.parts_json, problems, reason, record.line)  # its fingerprint stands
                continue
            parts = fps.parts(out, problems != "[]") if out is not None else None
            rows[record.path] = OutputRow(st.size, st.mtime_ns, record.sha256, record.key,
                                          combine(parts) if parts else "", json.dumps(parts or {}, sort_keys=True),
                                          problems, reason, record.line)
        for path, r in fresh.items():  # not written (a template error, an email lint): its problems stay known
            if path not in rows:
                rows[path] = OutputRow(-1, -1, "", r.out.key, "", "{}", _problems_json(r.problems), "rendering failed")
        manifest = _stat(out_dir / urls.MANIFEST_NAME)
        if manifest is not None:
            rows[urls.MANIFEST_NAME] = OutputRow(manifest.size, manifest.mtime_ns, "", "", "", why="every build")
        return rows


def build_clean_copy(config: ProjectConfig, into: Path, options: BuildOptions) -> BuildResult:
    """A clean build of the same project into ``into``: no state, no caches but the rendition store."""
    clean = replace(config, out_dir=into / "out", cache_dir=into / "cache")
    clean.cache_dir.mkdir(parents=True, exist_ok=True)
    store = config.cache_dir / "renditions"
    if store.is_dir():  # renditions are content-addressed and checked by hash: sharing them is safe
        (clean.cache_dir / "renditions").symlink_to(store)
    return Engine(clean).build(options)
