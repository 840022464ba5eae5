"""The render stage's hooks for the incremental engine: per-output problems and item field recording."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import article
from contentpipe import Project
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


# ----- front matter is checked at load, not by whichever template reads it -------------------------

WEB_ONLY = '[site]\nname = "T"\nbase_url = "https://t.example/"\n[channels]\nenabled = ["web"]\n'


def test_email_front_matter_is_checked_at_load_whatever_the_channels(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/one.md": article("One", extra="email:\n  subject: 5\n  preheader: ' Look inside '\n  subjet: x\n"),
        "assets/a/two.md": article("Two", extra="email: Subject line\n"),
    }, config=WEB_ONLY)  # web never shows a subject or preheader
    problems = Problems()
    masters = load_masters(load_config(root, problems), problems)
    found = sorted((p.where.path.name, p.where.line, p.where.key, p.message) for p in problems)
    assert found == [
        ("one.md", 5, "email.subject", "email.subject must be text, got 5; ignored"),
        ("one.md", 7, "email.subjet", "email.subjet: unknown key (known: preheader, subject)"),
        ("two.md", 4, "email", "email must be a table (subject, preheader); ignored"),
    ]
    one, two = sorted(masters.documents, key=lambda d: d.title)
    assert (one.email_subject, one.email_preheader) == (None, "Look inside")
    assert (two.email_subject, two.email_preheader) == (None, None)
    result = Project.load(root).build()
    assert sorted(p.message for p in result.warnings) == sorted(p[3] for p in found)


def test_rendering_raises_no_front_matter_problems(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/one.md": article("One", extra="email:\n  subject: [not, text]\n  preheader: Soon\n  extra: 1\n"),
    }, config=CONFIG.replace('["lists"]', '["email"]'))
    ctx, templates, outputs = builder(root, "email")
    shown = [o for o in outputs if o.rule.template]
    assert {o.rule.kind for o in shown} == {"html", "text"}
    for out in shown:
        ctx.problems = Problems()
        text = render(ctx, templates, out)
        assert list(ctx.problems) == [], out.key
        if out.rule.kind == "html":
            assert "<title>One</title>" in text and ">Soon" in text
    assert ctx.subject(outputs[0].doc) == "One"


def test_a_bad_social_text_fails_only_the_posts_that_use_it(make_project) -> None:  # type: ignore[no-untyped-def]
    social = 'social:\n  x: 5\n  mastodon: "  Mine, as written  "\n'
    root = make_project({
        "assets/a/ok.md": article("Fine"),
        "assets/a/post.md": article("Post", extra=social),
        "assets/a/table.md": article("Table", extra="social: [not, a, table]\n"),
        "assets/a/text.md": article("Text", extra="social:\n  text: 7\n  bluesky: Own\n"),
    }, config=WEB_ONLY.replace('["web"]', '["web", "social"]'))
    result = Project.load(root).build()
    found = sorted((p.where.path.name, p.where.line, p.where.key, p.message) for p in result.errors)
    assert found == [
        ("post.md", 5, "social.x", "social.x must be text, got 5"),
        ("table.md", 4, "social", "social must be a table of network: text"),
        ("text.md", 5, "social.text", "social.text must be text, got 7"),
    ]
    social_dir = result.out_dir / "social/a"
    built = {p.parent.name + "/" + p.stem for p in social_dir.glob("*/*.json")}
    networks = {"x", "bluesky", "mastodon", "threads", "linkedin", "facebook", "instagram"}
    assert built == ({f"ok/{n}" for n in networks} | {f"post/{n}" for n in networks - {"x"}} | {"text/bluesky"})
    mastodon = json.loads((social_dir / "post/mastodon.json").read_text(encoding="utf-8"))
    assert mastodon["text"].startswith("Mine, as written\n") and mastodon["generated"] is False
    assert json.loads((social_dir / "post/threads.json").read_text(encoding="utf-8"))["generated"] is True


def test_the_plan_names_an_unknown_network_once_whichever_posts_render(make_project) -> None:  # type: ignore[no-untyped-def]
    root = make_project({
        "assets/a/post.md": article("Post", extra="social:\n  twiter: Typo\n  text: Fine\n"),
    }, config=WEB_ONLY.replace('["web"]', '["web", "social"]'))
    problems = Problems()
    config = load_config(root, problems)
    channels = load_channels(root, problems, ("web", "social"))
    plan_build(config.site, channels, load_masters(config, problems), problems)
    [warning] = list(problems)
    assert (warning.where.path.name, warning.where.line, warning.where.key) == ("post.md", 5, "social.twiter")
    assert warning.message == ("social.twiter: no such network here (known: bluesky, facebook, instagram, "
                               "linkedin, mastodon, text, threads, x)")
    result = Project.load(root).build()
    assert [p.message for p in result.problems] == [warning.message]
