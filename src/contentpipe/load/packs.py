"""Channel packs: find them (built-in, installed plugins, the project), resolve ``extends``.

Precedence, lowest first: the packs shipped with contentpipe, packs installed
as Python packages (entry point group ``contentpipe.packs``), then the
project's own ``channels/``. A pack replaces a lower one of the same name; with
``extends`` it inherits that pack's rules and templates and overrides only what
it names. A project pack folder without channel.toml extends the pack of the
same name below it.

Files of a pack never come from elsewhere: a symlink whose target leaves the
pack's folder (for a project's own packs: the project) is refused with an
error naming the link, and so is a template name with ``..`` or a root.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from contentpipe.config.rules import RULES_SCHEMA, ChannelRules, build_rules, deep_merge
from contentpipe.config.schema import validate
from contentpipe.config.tomlsource import read_toml
from contentpipe.errors import ContentpipeError, Problem, Problems, SourcePos
from contentpipe.load.packdirs import builtin_packs_dir, plugin_packs

RULES_FILE = "channel.toml"
MAX_DEPTH = 8


@dataclass(frozen=True)
class PackSource:
    name: str
    dir: Path
    origin: str  # "built-in", "plugin <dist>", "project"


@dataclass(frozen=True)
class Channel:
    """A resolved channel: its merged rules and its folders, most specific first."""

    name: str
    rules: ChannelRules
    dirs: tuple[Path, ...]
    rule_files: tuple[Path, ...]
    parent_dirs: tuple[Path, ...] = ()  # the extended pack's folders, for "parent:" templates
    project_root: Path | None = None  # where the files of project packs may link to

    @property
    def template_dirs(self) -> list[Path]:
        return [d / "templates" for d in self.dirs if (d / "templates").is_dir()]

    @property
    def static_dirs(self) -> list[Path]:
        return [d / "static" for d in self.dirs if (d / "static").is_dir()]

    def refusal(self, path: Path) -> Problem | None:
        """Why the pack file at ``path`` must not be used: a symlink on its way leads outside the pack."""
        pack = next((d for d in self.dirs if path.is_relative_to(d)), None)
        if pack is None:
            return Problem("not inside a folder of this pack; refused", SourcePos(path))
        root = self.project_root
        project = root is not None and pack.parent == root / "channels"
        bound = root.resolve() if root is not None and project else pack.resolve()
        if path.resolve().is_relative_to(bound):
            return None
        parts = path.relative_to(pack).parts
        steps = [pack, *(pack.joinpath(*parts[:i]) for i in range(1, len(parts) + 1))]
        path = next((s for s in steps if s.is_symlink() and not s.resolve().is_relative_to(bound)), path)
        where = "the project" if project else "its pack"
        return Problem(f"symlink leads outside {where} (to {path.resolve()}); refused", SourcePos(path))

    def static_files(self, static: Path, problems: Problems) -> list[Path]:
        """The files under ``static`` to publish (sorted): hidden ones skipped, links leaving the pack refused."""
        found: list[Path] = []
        seen: set[Path] = set()

        def visit(folder: Path) -> None:
            if (real := folder.resolve()) in seen:
                return  # a link back up: a loop
            seen.add(real)
            for entry in sorted(os.scandir(folder), key=lambda e: e.name):
                path = Path(entry.path)
                if entry.name.startswith("."):
                    continue
                if entry.is_symlink() and not path.exists():
                    problems.error("broken symlink; skipped", SourcePos(path))
                elif entry.is_symlink() and (problem := self.refusal(path)) is not None:
                    problems.add(problem)
                elif entry.is_dir():
                    visit(path)
                elif entry.is_file():
                    found.append(path)

        if (problem := self.refusal(static)) is not None:
            problems.add(problem)
        else:
            visit(static)
        return found


def template_name_refusal(name: str) -> str | None:
    """Why a template name may not be looked up: it must be a relative path without '..' or backslashes."""
    if name.startswith("/") or "\\" in name or ".." in name.split("/") or not name.strip("/."):
        return f"template name {name!r} must be a relative path inside templates/ without '..'; refused"
    return None


def discover(project_root: Path, trust: bool = True) -> dict[str, list[PackSource]]:
    """Every pack folder by name, lowest precedence first (``trust`` false: plugin packs found without import)."""
    found: dict[str, list[PackSource]] = {}

    def add_dir(parent: Path, origin: str) -> None:
        if not parent.is_dir():
            return
        for d in sorted(parent.iterdir()):
            if d.is_dir() and not d.name.startswith((".", "_")):
                found.setdefault(d.name, []).append(PackSource(d.name, d, origin))

    add_dir(builtin_packs_dir(), "built-in")
    for name, path, dist in plugin_packs(trust):
        found.setdefault(name, []).append(PackSource(name, path, f"plugin {dist}"))
    add_dir(project_root / "channels", "project")
    return found


def load_channels(project_root: Path, problems: Problems, names: tuple[str, ...] | None = None,
                  trust: bool = True) -> dict[str, Channel]:
    """Resolve the named channels (default: every pack found); report every problem."""
    packs = discover(project_root, trust)
    wanted = names if names is not None else tuple(sorted(packs))
    channels: dict[str, Channel] = {}
    for name in wanted:
        if name not in packs:
            problems.error(f"no channel pack named {name!r} (available: {', '.join(sorted(packs))})",
                           SourcePos(project_root / "contentpipe.toml", key="channels.enabled"))
            continue
        sources = packs[name]
        try:
            raw, dirs, files, origin, parent = _resolve(packs, sources[-1], len(sources) - 1, problems, 0)
        except ContentpipeError as err:
            problems.add(err.problem)
            continue
        count = len(problems.errors)
        rules = build_rules(name, raw, origin, problems)
        channel = Channel(name, rules, dirs, files, parent, project_root)
        _check_templates(channel, origin, problems)
        if len(problems.errors) == count:
            channels[name] = channel
    return channels


_Resolved = tuple[dict[str, Any], tuple[Path, ...], tuple[Path, ...], dict[str, SourcePos], tuple[Path, ...]]


def _resolve(packs: dict[str, list[PackSource]], src: PackSource, index: int,
             problems: Problems, depth: int) -> _Resolved:
    rules_path = src.dir / RULES_FILE
    if depth > MAX_DEPTH:
        raise ContentpipeError(f"'extends' goes deeper than {MAX_DEPTH} packs (a cycle?)",
                               SourcePos(rules_path, key="channel.extends"))
    if rules_path.is_file():
        toml = read_toml(rules_path)  # a syntax error skips this pack, with its line
        own = validate(toml, RULES_SCHEMA, problems, fill=False)
        extends = own.get("channel", {}).get("extends")
        origin = {key: toml.pos(key) for table in ("outputs", "images", "networks")
                  for key in (f"{table}.{k}" for k in own.get(table, {}))}
        origin |= {f"links.{k}": toml.pos(f"links.{k}") for k in own.get("links", {})}
        origin |= {f"networks.{n}.{k}": toml.pos(f"networks.{n}.{k}")
                   for n, table in own.get("networks", {}).items() for k in table}
    elif index > 0:
        own, extends, origin = {}, src.name, {}
    else:
        raise ContentpipeError(f"pack has no {RULES_FILE}", SourcePos(rules_path))
    if not extends:
        return own, (src.dir,), (rules_path,), origin, ()
    if extends == src.name:
        if index == 0:
            raise ContentpipeError(f"extends {extends!r}, but there is no lower pack of that name to extend",
                                   SourcePos(rules_path, key="channel.extends"))
        parent_src, parent_index = packs[extends][index - 1], index - 1
    elif extends in packs:
        parent_src, parent_index = packs[extends][-1], len(packs[extends]) - 1
    else:
        raise ContentpipeError(f"extends unknown pack {extends!r} (available: {', '.join(sorted(packs))})",
                               SourcePos(rules_path, key="channel.extends"))
    base, dirs, files, base_origin, _ = _resolve(packs, parent_src, parent_index, problems, depth + 1)
    own_channel = {k: v for k, v in own.get("channel", {}).items() if k != "extends"}
    merged = deep_merge(base, {**own, "channel": {**base.get("channel", {}), **own_channel}})
    return merged, (src.dir, *dirs), (rules_path, *files), {**base_origin, **origin}, dirs


def _check_templates(channel: Channel, origin: dict[str, SourcePos], problems: Problems) -> None:
    for kind, rule in channel.rules.outputs.items():
        if rule.template and (refusal := template_name_refusal(rule.template)) is not None:
            problems.error(refusal, origin.get(f"outputs.{kind}", SourcePos(channel.rule_files[0])))
        elif rule.template and not any((d / rule.template).is_file() for d in channel.template_dirs):
            looked = ", ".join(str(d) for d in channel.template_dirs) or "no templates/ folder"
            problems.error(f"template {rule.template!r} not found (looked in {looked})",
                           origin.get(f"outputs.{kind}", SourcePos(channel.rule_files[0])))
