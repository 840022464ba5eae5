"""The render stage: planned outputs -> bytes, each with the problems and dependencies of its render.

Every output is rendered with a fresh problem list, so its problems belong to
it (a build that keeps the output keeps its problems too), and with the
template environment noting every template name loaded and the context noting
which fields of list items the template read: what the dependency graph needs
to know what a later change can affect.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from contentpipe.config.project import Limits
from contentpipe.errors import ContentpipeError, Problem, Problems
from contentpipe.load.masters import Masters
from contentpipe.plan import Plan, PlannedOutput
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.context import ContextBuilder
from contentpipe.render.outputs import assemble_message, finish
from contentpipe.render.templates import Templates

Progress = Callable[[str, int, int], None]
MACROS = "_macros.html"  # bodies draw their images with it, whichever output asks first


@dataclass(frozen=True)
class Rendered:
    out: PlannedOutput
    data: bytes | None  # None: not written (its problems say why)
    problems: tuple[Problem, ...]
    templates: frozenset[str]  # template names loaded while rendering it
    fields: frozenset[str]  # fields of list items its template read ("*": all of them)


def render_outputs(plan: Plan, masters: Masters, outputs: Sequence[PlannedOutput], body_cache: BodyCache,
                   progress: Progress | None = None,
                   environments: dict[str, Templates] | None = None,
                   limits: Limits | None = None, trust_packs: bool = True) -> list[Rendered]:
    """Render ``outputs`` (a document's .eml after its parts, which must be among them).

    ``environments`` keeps each channel's compiled templates for the next call:
    only for a caller that knows no pack file changed in between (nor
    ``[build.limits]`` or ``trust_packs``, which new environments are made with).
    """
    environments = {} if environments is None else environments
    rendered: list[Rendered] = []
    by_doc: dict[tuple[str, str, Path], bytes] = {}  # (channel, kind, document) -> bytes, for .eml parts
    messages: list[PlannedOutput] = []
    builders: dict[str, tuple[Templates, ContextBuilder]] = {}
    has_macros: dict[str, bool] = {}
    total = len(outputs)
    # a document's outputs in every channel together: its parsed tokens are still in memory
    ordered = sorted(outputs, key=lambda o: (o.doc is None, str(o.doc.path) if o.doc else "", o.channel.name,
                                             o.key))
    for i, out in enumerate(ordered, 1):
        if progress and (i % 25 == 0 or i == total):
            progress("pages", i, total)
        if out.rule.format == "eml":
            messages.append(out)
            continue
        name = out.channel.name
        if name not in builders:
            templates = environments.get(name) or environments.setdefault(
                name, Templates(out.channel, limits=limits, trust_packs=trust_packs))
            builders[name] = (templates, ContextBuilder(plan, out.channel, templates, masters, Problems(),
                                                        body_cache))
            has_macros[name] = any((d / MACROS).is_file() for d in templates.dirs)
        templates, builder = builders[name]
        problems = Problems()
        builder.problems = problems
        reads: set[str] = set()
        builder.reads = reads if out.rule.per in ("locale", "tag", "site") else None
        templates.env.loaded = loaded = {out.rule.template} if out.rule.template else set()
        if has_macros[name]:
            loaded.add(MACROS)
        data: bytes | None = None
        try:
            data = finish(out, templates.render(out.rule.template, builder.for_output(out)), problems)
        except ContentpipeError as err:
            problems.add(err.problem)
        finally:
            templates.env.loaded = None
            builder.reads = None
        if data is not None and out.doc is not None:
            by_doc[(name, out.rule.kind, out.doc.path)] = data
        rendered.append(Rendered(out, data, tuple(problems), frozenset(loaded), frozenset(reads)))
    for out in messages:
        problems = Problems()
        builder = builders[out.channel.name][1] if out.channel.name in builders else None
        if builder is not None:
            builder.problems = problems
        data = assemble_message(out, by_doc, builder, problems, body_cache, plan.site.base_url)
        rendered.append(Rendered(out, data, tuple(problems), frozenset(), frozenset()))
    return rendered
