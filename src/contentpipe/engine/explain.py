"""``contentpipe explain OUTPUT``: what one output depends on, and why the last build rebuilt or kept it."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from contentpipe.engine.core import BuildOptions, Engine
from contentpipe.engine.state import OutputRow, Snapshot, read_state
from contentpipe.errors import Problems


def find_output(snapshot: Snapshot, out_dir: Path, target: str) -> str | None:
    """The output folder path of ``target``: a path in the output folder (with or without it), or a published key."""
    candidates = [target.lstrip("./")]
    try:
        candidates.append(Path(target).resolve().relative_to(out_dir.resolve()).as_posix())
    except ValueError:
        pass
    for c in candidates:
        if c in snapshot.outputs:
            return c
    by_key: dict[str, str] = {}
    for path, row in snapshot.outputs.items():
        key = row.key
        if key:
            by_key.setdefault(key, path)
    wanted = target.lstrip("/")
    for key in (wanted, wanted + "index.html", wanted.rstrip("/") + "/index.html"):
        if key in by_key:
            return by_key[key]
    return None


def explain(engine: Engine, target: str, options: BuildOptions | None = None) -> tuple[bool, list[str]]:
    """(found, lines to print): the output's record, its dependencies, the last build's verdict, and now's."""
    from contentpipe.engine.deps import Fingerprints, Inputs, combine, template_candidates
    from contentpipe.engine.scan import hash_inputs, stat_inputs
    from contentpipe.engine.writing import output_path
    from contentpipe.load.masters import load_masters
    from contentpipe.plan import plan_build

    options = options or BuildOptions()
    cfg = engine.config
    snapshot = read_state(engine.state_path)
    path = find_output(snapshot, cfg.out_dir, target)
    if path is None:
        return False, [f"{target}: no such output in the last build into {cfg.out_dir}"]
    row = snapshot.outputs[path]
    lines = [f"{path}", f"  published at: {row.key}", f"  last build: {row.why}"]
    problems = Problems()
    loaded, keys_only = engine.channels(options, problems)
    masters = load_masters(cfg, problems, options.drafts)
    plan = plan_build(cfg.site, loaded, masters, problems, keys_only)
    out = next((o for o in plan.outputs if output_path(o) == path), None)
    if out is None:
        lines.append("  now: no longer planned (its source is gone, or its channel is not built); "
                     "the next build removes it")
        return True, lines
    stats = stat_inputs(cfg.file, [cfg.root / "assets", *engine.pack_roots()])
    files = hash_inputs(stats, snapshot.inputs)
    fps = Fingerprints(plan, masters, Inputs(files, snapshot.templates, engine.fingerprint()))
    lines += _dependencies(out, plan, snapshot, cfg.root, files, template_candidates)
    parts = fps.parts(out)
    lines.append("  now: " + _verdict(parts, row, combine))
    return True, lines


def _verdict(parts: Mapping[str, str] | None, row: OutputRow, combine: Any) -> str:
    if parts is None:
        return "would be rendered again (its templates are not known)"
    if not row.fp or combine(parts) != row.fp:
        changed = sorted(k for k in parts.keys() | row.parts.keys() if parts.get(k) != row.parts.get(k))
        return "would be rendered again: " + ", ".join(changed) + " changed"
    return "current: nothing it depends on changed"


def _dependencies(out: Any, plan: Any, snapshot: Snapshot, root: Path, files: Mapping[str, Any],
                  candidates: Any) -> list[str]:
    def rel(p: Path) -> str:
        return p.relative_to(root).as_posix() if p.is_relative_to(root) else str(p)

    def sha(p: Path) -> str:
        row = files.get(str(p))
        return row.sha256[:12] if row is not None and row.sha256 else "missing"

    lines = ["  depends on:"]
    channel = out.channel
    if out.doc is not None:
        lines.append(f"    document {rel(out.doc.path)} ({sha(out.doc.path)})")
        for s in plan.images_of(channel.name, out.doc):
            lines.append(f"    image {rel(s.master.path)} as '{s.slot}' ({len(s.renditions)} renditions)")
    if out.items:
        template = snapshot.templates.get((channel.name, out.rule.template or ""))
        shown = ", ".join(template.fields) if template and template.fields else "everything"
        lines.append(f"    {len(out.items)} documents listed, of each: {shown}")
        lines += [f"      {rel(d.path)}" for d in out.items[:10]]
        if len(out.items) > 10:
            lines.append(f"      ... and {len(out.items) - 10} more")
    for f in channel.rule_files:
        lines.append(f"    rules {rel(f)} ({sha(f)})")
    template = snapshot.templates.get((channel.name, out.rule.template or ""))
    for name in template.names if template else ():
        for p in candidates(channel, name):
            state = sha(p)
            lines.append(f"    template {name}: {rel(p)} ({state})")
            if state != "missing":
                break
    lines.append("    [site] of contentpipe.toml, and contentpipe's own version")
    return lines
