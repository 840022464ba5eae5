"""The render stage's hooks for the incremental engine: per-output problems and item field recording."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import article
from contentpipe.config.project import load_config
from contentpipe.errors import Problems
from contentpipe.load.masters import load_masters
from contentpipe.load.packs import load_channels
from contentpipe.plan import PlannedOutput, plan_build
from contentpipe.render.context import ContextBuilder
from contentpipe.render.templates import Templates

CONFIG = '[site]\nname = "T"\nbase_url = "https://t.example/"\n[channels]\nenabled = ["lists"]\n'


def lists_pack(**templates: str) -> dict[str, str]:
    """A project pack with one list output per template (each per locale), paths ending in .txt (absolute URLs)."""
    rules = "".join(f'[outputs.{name}]\nper = "locale"\ntemplate = "{name}.txt"\npath = "{{locale_dir}}{name}.txt"\n'
                    for name in templates)
    files = {"channels/lists/channel.toml": rules}
    files |= {f"channels/lists/templates/{name}.txt": text for name, text in templates.items()}
    return files


def undated(title: str, extra: str = "", body: str = "Some text.\n") -> str:
    """A document without a date: its params stay JSON-serialisable (front matter dates are datetimes)."""
    return f"---\ntitle: {title}\n{extra}---\n\n{body}"


def builder(root: Path, name: str = "lists") -> tuple[ContextBuilder, Templates, list[PlannedOutput]]:
    """The context builder of one channel of a real project, as the build makes it."""
    problems = Problems()
    config = load_config(root, problems)
    channels = load_channels(root, problems, (name,))
    masters = load_masters(config, problems)
    plan = plan_build(config.site, channels, masters, problems)
    assert not problems.errors, [str(p) for p in problems.errors]
    templates = Templates(channels[name])
    return ContextBuilder(plan, channels[name], templates, masters, Problems()), templates, plan.outputs


def render(ctx: ContextBuilder, templates: Templates, out: PlannedOutput) -> str:
    return templates.render(out.rule.template, ctx.for_output(out))


def test_every_output_showing_a_warned_body_carries_the_warning(make_project) -> None:  # type: ignore[no-untyped-def]
    body = "See [the plan](plan.md) and [this page]().\n"
    root = make_project({
        "assets/a/one.md": article("One", body=body),
        "assets/a/plan.md": article("Plan", extra="draft: true\n"),
        **lists_pack(feed="{% for item in items %}{{ item.body }}\n{% endfor %}",
                     archive="{% for item in items %}[{{ item.body }}]\n{% endfor %}"),
    }, config=CONFIG)
    ctx, templates, outputs = builder(root)
    shown = [o for o in outputs if o.locale == "en"]
    assert sorted(o.rule.kind for o in shown) == ["archive", "feed"]
    for out in shown:  # both show one body (the same absolute rendering, made once)
        ctx.problems = Problems()
        text = render(ctx, templates, out)
        assert "See the plan and" in text
        assert sorted((p.where.line, p.message) for p in ctx.problems) == [
            (6, "a link with an empty destination ([text]()) points at the page itself"),
            (6, "link to 'plan.md': that document is not built (a draft?)"),
        ], out.key


def test_item_views_record_the_fields_a_template_reads(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/one.md": undated("One", extra="summary: First.\n"),
        "assets/a/two.md": undated("Two", extra="summary: Second.\n"),
        **lists_pack(index="{% for item in items %}{{ item.url }} {{ item.title }}: {{ item.summary }}\n{% endfor %}",
                     feed="{% for item in items %}{{ item.body }}{% endfor %}",
                     dump="{% for item in items %}{{ item | tojson }}{% endfor %}",
                     probe="{% for item in items %}{{ 'hero' in item }} {{ item.get('card') }} "
                           "{{ item['slug'] }} {{ item.nope is defined }}{% endfor %}",
                     count="{% for item in items %}{{ item | length }}{% endfor %}"),
    }, config=CONFIG)
    ctx, templates, outputs = builder(root)
    found = {}
    for out in outputs:
        if out.locale == "en":
            ctx.reads = set()
            render(ctx, templates, out)
            found[out.rule.kind] = ctx.reads
    # 'updated' is read by the builder itself: the list's own 'updated' is the newest of its items'
    assert found["index"] == {"url", "title", "summary", "updated"}
    assert found["feed"] == {"body", "updated"}
    assert "*" in found["dump"]
    assert found["probe"] == {"hero", "card", "slug", "nope", "updated"}
    assert "*" in found["count"]


def test_recording_is_off_by_default_and_changes_nothing(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/one.md": undated("One", body="Text with [a link](https://x.example/).\n"),
        **lists_pack(dump="{% for item in items %}{{ item.body | length }} {{ item | tojson }}{% endfor %}"),
    }, config=CONFIG)
    ctx, templates, outputs = builder(root)
    [out] = [o for o in outputs if o.locale == "en"]
    assert ctx.reads is None
    plain = render(ctx, templates, out)
    ctx.reads = set()
    assert render(ctx, templates, out) == plain
    assert ctx.reads >= {"*", "body"}
    dumped = json.loads(plain.split(" ", 1)[1])
    assert dumped["title"] == "One" and dumped["body"].startswith("<p>Text with")


def test_serialising_an_item_view_goes_through_items(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({"assets/a/one.md": undated("One"), **lists_pack(index="x")}, config=CONFIG)
    ctx, _, outputs = builder(root)
    [out] = [o for o in outputs if o.locale == "en"]
    ctx.reads = set()
    [item] = ctx.for_output(out)["items"]
    ctx.reads.clear()
    for dump in (lambda v: json.dumps(v, sort_keys=True), lambda v: json.dumps(v, indent=2)):  # C and Python encoders
        reads: set[str] = ctx.reads
        reads.clear()
        assert json.loads(dump(item))["title"] == "One"
        assert reads == {"*"}
    for whole in (list, len, dict, repr, lambda v: list(v.values())):
        ctx.reads.clear()
        whole(item)
        assert "*" in ctx.reads, whole
