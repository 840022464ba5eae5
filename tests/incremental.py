"""Proof harness for incremental builds: a seeded tiny project, a library of edits, and a clean build to compare with.

Whatever an incremental engine remembers, a build after any edit must give exactly
what a clean build of the same files gives: the same output tree, byte for byte,
manifest (and so its problems list) included. The steps edit files the way a user
does; the harness builds after each one and compares with a build that starts from
nothing (a fresh output folder and a fresh cache).

Steps keep no state of their own: a deliberately broken file carries a marker in
its text, so a later step can find it and mend it.
"""

from __future__ import annotations

import contextlib
import difflib
import hashlib
import io
import json
import os
import random
import re
import shutil
import tempfile
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from PIL import Image, ImageDraw

CACHE_ENV = "CONTENTPIPE_CACHE_DIR"
DOCS = "assets/articles"
IMAGES = "assets/images"
WEB_PACK = "channels/web"
SIZE = (1700, 1100)  # every slot of the built-in packs fits without a too-small warning
WORDS = ("harbour", "lantern", "bridge", "market", "tide", "quay", "dune", "lamp", "river", "spoke", "chain",
         "night", "spring", "ride", "crate", "wheel", "signal", "beacon", "ferry", "pier", "gravel", "canal", "tram",
         "festival")
TAGS = ("food", "night", "family", "routes", "music")
BROKEN_YAML = "oops: [never closed\n"  # first front-matter line of a document made broken on purpose
BROKEN_SYNTAX = "{% if %}{# broken on purpose #}\n"
BROKEN_NAME = "{{ doc.no_such_field }}"

Step = Callable[[Path, random.Random], str]
Env = Any  # a pytest.MonkeyPatch, or None for os.environ


# ----- small file helpers ---------------------------------------------------------------------------


def _toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    raise TypeError(value)


def dump_toml(data: dict[str, Any]) -> str:
    """Enough TOML for our configs: tables of scalars and lists, nested tables as dotted headers."""
    lines: list[str] = []

    def table(prefix: str, body: dict[str, Any]) -> None:
        scalars = {k: v for k, v in body.items() if not isinstance(v, dict)}
        if prefix and (scalars or not body):
            lines.append(f"[{prefix}]")
        lines.extend(f"{k} = {_toml_value(v)}" for k, v in scalars.items())
        if prefix and scalars:
            lines.append("")
        for k, v in body.items():
            if isinstance(v, dict):
                table(f"{prefix}.{k}" if prefix else k, v)

    table("", data)
    return "\n".join(lines).rstrip() + "\n"


def read_toml(path: Path) -> dict[str, Any]:
    return tomllib.loads(path.read_text(encoding="utf-8"))


def documents(root: Path) -> list[Path]:
    return sorted((root / DOCS).glob("*.md"))


def images(root: Path) -> list[Path]:
    return sorted(p for p in (root / IMAGES).iterdir() if p.suffix in (".jpg", ".png"))


def is_broken(path: Path) -> bool:
    return path.read_text(encoding="utf-8").startswith("---\n" + BROKEN_YAML)


def read_doc(path: Path) -> tuple[dict[str, Any], str, bool]:
    """(front matter, body, broken?) of a document; a broken one is read as if its marker were not there."""
    text = path.read_text(encoding="utf-8")
    broken = text.startswith("---\n" + BROKEN_YAML)
    if broken:
        text = "---\n" + text[len("---\n" + BROKEN_YAML):]
    _, fm, body = text.split("---\n", 2)
    return yaml.safe_load(fm) or {}, body, broken


def write_doc(path: Path, fm: dict[str, Any], body: str, broken: bool = False) -> None:
    dumped = yaml.safe_dump(fm, sort_keys=False, allow_unicode=True, width=1000)
    path.write_text("---\n" + (BROKEN_YAML if broken else "") + dumped + "---\n" + body, encoding="utf-8")


@contextlib.contextmanager
def editing(path: Path) -> Iterator[dict[str, Any]]:
    """Edit a document's front matter (``fm``) and body (``body``) in place; its breakage is kept."""
    fm, body, broken = read_doc(path)
    state = {"fm": fm, "body": body}
    yield state
    write_doc(path, state["fm"], state["body"], broken)


def words(rng: random.Random, n: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(n))


def sentence(rng: random.Random, n: int = 8) -> str:
    return words(rng, n).capitalize() + "."


def picture(rng: random.Random, fmt: str) -> bytes:
    """A real image at SIZE: flat shapes, so every codec encodes it quickly."""
    img = Image.new("RGB", SIZE, tuple(rng.randrange(40, 200) for _ in range(3)))
    draw = ImageDraw.Draw(img)
    for _ in range(3):
        x, y, r = rng.randrange(SIZE[0]), rng.randrange(SIZE[1]), rng.randrange(60, 300)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=tuple(rng.randrange(256) for _ in range(3)))
    buf = io.BytesIO()
    img.save(buf, "JPEG" if fmt == "jpg" else "PNG", **({"quality": 85} if fmt == "jpg" else {}))
    return buf.getvalue()


def sidecar(rng: random.Random) -> str:
    return yaml.safe_dump({"alt": sentence(rng, 6), "focal_point": {"x": round(rng.random(), 2),
                                                                    "y": round(rng.random(), 2)},
                           "credit": "Generated, contentpipe tests"}, sort_keys=False)


def free_name(folder: Path, stem: str, suffix: str) -> Path:
    n = 1
    while (path := folder / f"{stem}-{n}{suffix}").exists() or list(folder.glob(f"{stem}-{n}.*")):
        n += 1
    return path


def doc_base(path: Path) -> str:
    """'tide-2' for tide-2.md and tide-2.nl.md."""
    return path.name.removesuffix(".md").removesuffix(".nl")


def english(root: Path) -> list[Path]:
    return [p for p in documents(root) if not p.name.endswith(".nl.md")]


def image_ref(image: Path) -> str:
    return f"../images/{image.name}"


# ----- the project ----------------------------------------------------------------------------------


def site_config(rng: random.Random) -> dict[str, Any]:
    return {"site": {"name": "Proof " + words(rng, 2).title(), "base_url": "https://proof.example/",
                     "default_locale": "en", "locales": ["en", "nl"], "description": sentence(rng),
                     "campaign": "proof-" + rng.choice(WORDS)},
            "build": {"drafts": False}}


def web_rules(summary_length: int, paginate: int, latest: str) -> dict[str, Any]:
    return {"channel": {"extends": "web"}, "outputs": {"index": {"paginate": paginate}},
            "text": {"summary_length": summary_length}, "strings": {"en": {"latest": latest}}}


def page_template(variant: int) -> str:
    return ('{% extends "parent:page.html" %}\n'
            f'{{% block title %}}{{{{ doc.title }}}} (v{variant}) | {{{{ site.name }}}}{{% endblock %}}\n')


def macros_template(variant: int) -> str:
    """The built-in web _macros.html with a visible change: every macro the built-in templates import stays."""
    from contentpipe.load.packs import builtin_packs_dir

    text = (builtin_packs_dir() / "web/templates/_macros.html").read_text(encoding="utf-8")
    assert "<picture>" in text, "the built-in web _macros.html no longer draws <picture>: update macros_template"
    return text.replace("<picture>", f'<picture data-v="{variant}">')


def make_document(root: Path, rng: random.Random, path: Path, draft: bool = False) -> None:
    """A document with a random share of everything: summary, tags, hero, inline image, links."""
    others = [p for p in documents(root) if p != path]
    pics = images(root)
    fm: dict[str, Any] = {"title": sentence(rng, 4).rstrip("."),
                          "date": f"2026-0{rng.randrange(1, 10)}-{rng.randrange(10, 29)}T10:00:00Z"}
    if rng.random() < 0.6:
        fm["summary"] = sentence(rng, 12)
    if rng.random() < 0.8:
        fm["tags"] = rng.sample(TAGS, rng.randrange(1, 4))
    if pics and rng.random() < 0.7:
        fm["hero"] = image_ref(rng.choice(pics))
    if draft:
        fm["draft"] = True
    body = [sentence(rng, 14), ""]
    for other in rng.sample(others, min(len(others), rng.randrange(0, 3))):
        body += [f"See [{words(rng, 2)}]({other.name}) too.", ""]
    if pics and rng.random() < 0.5:
        body += [f"![{sentence(rng, 4)}]({image_ref(rng.choice(pics))})", ""]
    body += [f"## {words(rng, 2).title()}", "", sentence(rng, 20), ""]
    write_doc(path, fm, "\n" + "\n".join(body))


def make_project(root: Path, seed: int) -> Path:
    """A tiny seeded project: 6 documents (3 also in nl, one draft), 4 images, a project web pack."""
    rng = random.Random(seed)
    (root / DOCS).mkdir(parents=True)
    (root / IMAGES).mkdir(parents=True)
    (root / "contentpipe.toml").write_text(dump_toml(site_config(rng)), encoding="utf-8")
    for i, fmt in enumerate(("jpg", "jpg", "jpg", "png")):  # the same pixels and focal points for every seed,
        pixels = random.Random(f"image-{i}")                   # so clean builds can share their encodings
        (root / IMAGES / f"pic-{i + 1}.{fmt}").write_bytes(picture(pixels, fmt))
        side = yaml.safe_load(sidecar(pixels)) | {"alt": sentence(rng, 6)}
        (root / IMAGES / f"pic-{i + 1}.{fmt}.yml").write_text(yaml.safe_dump(side, sort_keys=False),
                                                              encoding="utf-8")
    names = rng.sample(WORDS, 6)
    for name in names:  # first without links, so every link below points at a document that exists
        write_doc(root / DOCS / f"{name}.md", {"title": name.title()}, "\nPlaceholder.\n")
    for i, name in enumerate(names):
        make_document(root, rng, root / DOCS / f"{name}.md", draft=i == 5)
    for name in names[:3]:
        make_document(root, rng, root / DOCS / f"{name}.nl.md")
    pack = root / WEB_PACK
    (pack / "templates").mkdir(parents=True)
    (pack / "channel.toml").write_text(dump_toml(web_rules(120, 3, "Newest")), encoding="utf-8")
    (pack / "templates/page.html").write_text(page_template(1), encoding="utf-8")
    (pack / "templates/_macros.html").write_text(macros_template(1), encoding="utf-8")
    return root


# ----- steps: each changes files the way a user would and says what it did -------------------------


def _pick_doc(root: Path, rng: random.Random, pool: list[Path] | None = None) -> Path | None:
    pool = documents(root) if pool is None else pool
    return rng.choice(pool) if pool else None


def _rel(root: Path, path: Path) -> str:
    return path.relative_to(root).as_posix()


def _no_document(root: Path, rng: random.Random, kind: str) -> str:
    return f"{kind}: no document left, so {add_document(root, rng)}"


def edit_body(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "edit_body")
    with editing(doc) as d:
        paragraphs = d["body"].split("\n\n")
        at = rng.randrange(len(paragraphs) + 1)
        d["body"] = "\n\n".join([*paragraphs[:at], sentence(rng, 10), *paragraphs[at:]])
    return f"edit_body {_rel(root, doc)}: a paragraph added at {at}"


def edit_summary(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "edit_summary")
    with editing(doc) as d:
        if "summary" in d["fm"] and rng.random() < 0.3:
            del d["fm"]["summary"]
            what = "removed"
        else:
            d["fm"]["summary"] = sentence(rng, rng.randrange(5, 40))
            what = "set"
    return f"edit_summary {_rel(root, doc)}: {what}"


def change_tags(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "change_tags")
    tags = rng.sample(TAGS, rng.randrange(0, 4))
    with editing(doc) as d:
        d["fm"].pop("tags", None)
        if tags:
            d["fm"]["tags"] = tags
    return f"change_tags {_rel(root, doc)}: {tags}"


def change_date(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "change_date")
    when = f"2026-{rng.randrange(1, 13):02d}-{rng.randrange(1, 29):02d}T{rng.randrange(24):02d}:00:00Z"
    with editing(doc) as d:
        d["fm"]["date"] = when
    return f"change_date {_rel(root, doc)}: {when}"


def change_title(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "change_title")
    title = sentence(rng, rng.randrange(2, 7)).rstrip(".")
    with editing(doc) as d:
        d["fm"]["title"] = title
    return f"change_title {_rel(root, doc)}: {title!r}"


def change_slug(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "change_slug")
    with editing(doc) as d:
        if "slug" in d["fm"] and rng.random() < 0.4:
            del d["fm"]["slug"]
            what = "removed"
        else:
            what = d["fm"]["slug"] = f"{rng.choice(WORDS)}-{rng.randrange(100)}"
    return f"change_slug {_rel(root, doc)}: {what}"


def toggle_draft(root: Path, rng: random.Random) -> str:
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "toggle_draft")
    with editing(doc) as d:
        draft = not d["fm"].pop("draft", False)
        if draft:
            d["fm"]["draft"] = True
    return f"toggle_draft {_rel(root, doc)}: draft={draft}"


def add_document(root: Path, rng: random.Random) -> str:
    path = free_name(root / DOCS, rng.choice(WORDS), ".md")
    make_document(root, rng, path)
    return f"add_document {_rel(root, path)}"


def _unlink_links(root: Path, target: str, replacement: str | None) -> int:
    """Point every body link to ``target`` at ``replacement``, or keep only its words; how many documents changed."""
    pattern = re.compile(r"\[([^\]]*)\]\(" + re.escape(target) + r"(#[^)]*)?\)")
    changed = 0
    for doc in documents(root):
        text = doc.read_text(encoding="utf-8")
        new = pattern.sub((lambda m: f"[{m[1]}]({replacement}{m[2] or ''})") if replacement else r"\1", text)
        if new != text:
            doc.write_text(new, encoding="utf-8")
            changed += 1
    return changed


def delete_document(root: Path, rng: random.Random) -> str:
    """Delete a document and unlink it everywhere: the rest stays buildable."""
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "delete_document")
    doc.unlink()
    return f"delete_document {_rel(root, doc)}: links removed from {_unlink_links(root, doc.name, None)}"


def delete_document_leave_links(root: Path, rng: random.Random) -> str:
    """Delete a document that others may still link to: those become broken (errors)."""
    if (doc := _pick_doc(root, rng)) is None:
        return _no_document(root, rng, "delete_document_leave_links")
    doc.unlink()
    return f"delete_document_leave_links {_rel(root, doc)}"


def rename_document(root: Path, rng: random.Random) -> str:
    """Rename a document (with its nl version, or alone) and update the links to it."""
    if (doc := _pick_doc(root, rng, english(root))) is None:
        return _no_document(root, rng, "rename_document")
    new = free_name(root / DOCS, rng.choice(WORDS), ".md")
    moves = [(doc, new)]
    nl = doc.with_name(doc_base(doc) + ".nl.md")
    if nl.exists() and rng.random() < 0.7:
        moves.append((nl, new.with_name(doc_base(new) + ".nl.md")))
    for old, target in moves:
        old.rename(target)
        _unlink_links(root, old.name, target.name)
    return "rename_document " + ", ".join(f"{_rel(root, a)} -> {b.name}" for a, b in moves)


def add_locale_version(root: Path, rng: random.Random) -> str:
    missing = [p for p in english(root) if not p.with_name(doc_base(p) + ".nl.md").exists()]
    if not missing:
        return f"add_locale_version: every document has nl, so {add_document(root, rng)}"
    pick = rng.choice(missing)
    path = pick.with_name(doc_base(pick) + ".nl.md")
    make_document(root, rng, path)
    return f"add_locale_version {_rel(root, path)}"


def delete_locale_version(root: Path, rng: random.Random) -> str:
    """Delete an nl version; links to it now go to the English one (when it exists)."""
    nl = [p for p in documents(root) if p.name.endswith(".nl.md")]
    if not nl:
        return f"delete_locale_version: no nl version, so {add_locale_version(root, rng)}"
    doc = rng.choice(nl)
    doc.unlink()
    en = doc.with_name(doc_base(doc) + ".md")
    changed = _unlink_links(root, doc.name, en.name if en.exists() else None)
    return f"delete_locale_version {_rel(root, doc)}: {changed} linking documents changed"


def _no_image(root: Path, rng: random.Random, kind: str) -> str:
    return f"{kind}: no image left, so {add_image(root, rng)}"


def add_image(root: Path, rng: random.Random) -> str:
    """A new image with a sidecar, used as the hero of one document."""
    fmt = rng.choice(("jpg", "png"))
    path = free_name(root / IMAGES, "pic", f".{fmt}")
    path.write_bytes(picture(rng, fmt))
    path.with_name(path.name + ".yml").write_text(sidecar(rng), encoding="utf-8")
    if (doc := _pick_doc(root, rng)) is None:
        return f"add_image {_rel(root, path)} (unused)"
    with editing(doc) as d:
        d["fm"]["hero"] = image_ref(path)
    return f"add_image {_rel(root, path)}: hero of {_rel(root, doc)}"


def replace_image(root: Path, rng: random.Random) -> str:
    if not (pics := images(root)):
        return _no_image(root, rng, "replace_image")
    path = rng.choice(pics)
    path.write_bytes(picture(rng, "jpg" if path.suffix == ".jpg" else "png"))
    return f"replace_image {_rel(root, path)}: new pixels"


def _delete_image(root: Path, rng: random.Random) -> Path | None:
    if not (pics := images(root)):
        return None
    path = rng.choice(pics)
    path.unlink()
    path.with_name(path.name + ".yml").unlink(missing_ok=True)
    return path


def delete_image(root: Path, rng: random.Random) -> str:
    """Delete an image and make every document stop using it."""
    if (path := _delete_image(root, rng)) is None:
        return _no_image(root, rng, "delete_image")
    ref, changed = image_ref(path), 0
    inline = re.compile(r"!\[[^\]]*\]\(" + re.escape(ref) + r"[^)]*\)\n?")
    for doc in documents(root):
        fm, body, broken = read_doc(doc)
        new_body = inline.sub("", body)
        if fm.get("hero") == ref or new_body != body:
            if fm.get("hero") == ref:
                del fm["hero"]
            write_doc(doc, fm, new_body, broken)
            changed += 1
    return f"delete_image {_rel(root, path)}: {changed} documents stop using it"


def delete_image_leave_uses(root: Path, rng: random.Random) -> str:
    """Delete an image that documents may still use: they become broken (errors)."""
    if (path := _delete_image(root, rng)) is None:
        return _no_image(root, rng, "delete_image_leave_uses")
    return f"delete_image_leave_uses {_rel(root, path)}"


def _edit_sidecar(root: Path, rng: random.Random, kind: str, change: Callable[[dict[str, Any]], str]) -> str:
    if not (pics := images(root)):
        return _no_image(root, rng, kind)
    image = rng.choice(pics)
    side = image.with_name(image.name + ".yml")
    data = yaml.safe_load(side.read_text(encoding="utf-8")) if side.exists() else {}
    what = change(data)
    side.write_text(yaml.safe_dump(data, sort_keys=False, allow_unicode=True), encoding="utf-8")
    return f"{kind} {_rel(root, side)}: {what}"


def change_alt(root: Path, rng: random.Random) -> str:
    def change(data: dict[str, Any]) -> str:
        data["alt"] = sentence(rng, rng.randrange(3, 9))
        return repr(data["alt"])
    return _edit_sidecar(root, rng, "change_alt", change)


def change_focal(root: Path, rng: random.Random) -> str:
    def change(data: dict[str, Any]) -> str:
        data["focal_point"] = {"x": round(rng.random(), 2), "y": round(rng.random(), 2)}
        return str(data["focal_point"])
    return _edit_sidecar(root, rng, "change_focal", change)


def edit_template(root: Path, rng: random.Random) -> str:
    """Change a block of the project's web page.html (which extends the built-in one)."""
    path = root / WEB_PACK / "templates/page.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    variant = rng.randrange(2, 1000)
    path.write_text(page_template(variant), encoding="utf-8")
    return f"edit_template {_rel(root, path)}: v{variant}"


def edit_partial(root: Path, rng: random.Random) -> str:
    """Change the project's web _macros.html, imported by page.html, list.html and body images."""
    path = root / WEB_PACK / "templates/_macros.html"
    path.parent.mkdir(parents=True, exist_ok=True)
    variant = rng.randrange(2, 1000)
    path.write_text(macros_template(variant), encoding="utf-8")
    return f"edit_partial {_rel(root, path)}: v{variant}"


OVERRIDES = {
    "channels/web/templates/list.html":
        '{% extends "parent:list.html" %}\n{% block title %}List {{ output.page }} | {{ site.name }}{% endblock %}\n',
    "channels/email/templates/email.txt":  # a pack folder without channel.toml: extends the built-in email
        "{{ doc.title }}\n\n{{ doc.text }}\n\n{{ t.read_more }}: {{ doc.link }}\n",
}


def toggle_override(root: Path, rng: random.Random) -> str:
    """Add a project template where none was (or take it away again)."""
    rel = rng.choice(sorted(OVERRIDES))
    path = root / rel
    if path.exists():
        path.unlink()
        if rel.startswith("channels/email/"):
            shutil.rmtree(root / "channels/email")
        return f"toggle_override {rel}: removed"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(OVERRIDES[rel], encoding="utf-8")
    return f"toggle_override {rel}: added"


CHANNEL_SETTINGS = ("summary_length", "latest", "paginate", "card_quality")
SITE_SETTINGS = ("name", "description", "campaign", "locales", "drafts")


def change_channel_rules(root: Path, rng: random.Random, which: str | None = None) -> str:
    """A value of the project's web channel.toml (which extends the built-in web pack)."""
    path = root / WEB_PACK / "channel.toml"
    rules = read_toml(path) if path.exists() else web_rules(120, 3, "Newest")
    which = which or rng.choice(CHANNEL_SETTINGS)
    value: Any
    if which == "summary_length":
        value = rules["text"]["summary_length"] = rng.choice((0, 30, 60, 120, 200))
    elif which == "latest":
        value = rules["strings"]["en"]["latest"] = words(rng, 2).title()
    elif which == "paginate":
        value = rules["outputs"]["index"]["paginate"] = rng.choice((0, 1, 2, 3, 5))
    else:  # only the small list-card renditions change
        quality = rng.randrange(50, 90)
        value = rules.setdefault("images", {})["card"] = {"quality": {"jpeg": quality, "webp": quality}}
    path.write_text(dump_toml(rules), encoding="utf-8")
    return f"change_channel_rules {which} = {value!r}"


def change_site_config(root: Path, rng: random.Random, which: str | None = None) -> str:
    """contentpipe.toml: site name, description, campaign, locales order or [build] drafts."""
    path = root / "contentpipe.toml"
    config = read_toml(path)
    which = which or rng.choice(SITE_SETTINGS)
    value: Any
    if which == "locales":
        value = config["site"]["locales"] = list(reversed(config["site"]["locales"]))
    elif which == "drafts":
        value = config["build"]["drafts"] = not config["build"].get("drafts", False)
    elif which == "campaign":
        value = config["site"]["campaign"] = "proof-" + rng.choice(WORDS)
    else:
        value = config["site"][which] = sentence(rng, 3 if which == "name" else 10).rstrip(".")
    path.write_text(dump_toml(config), encoding="utf-8")
    return f"change_site_config {which} = {value!r}"


def break_front_matter(root: Path, rng: random.Random) -> str:
    """Malformed YAML in a document's front matter (fix_problems mends it)."""
    healthy = [p for p in documents(root) if not is_broken(p)]
    if not healthy:
        return f"break_front_matter: nothing left to break, so {fix_problems(root, rng)}"
    doc = rng.choice(healthy)
    fm, body, _ = read_doc(doc)
    write_doc(doc, fm, body, broken=True)
    return f"break_front_matter {_rel(root, doc)}"


def _templates(root: Path) -> list[Path]:
    return sorted((root / "channels").glob("*/templates/*"))


def break_template(root: Path, rng: random.Random) -> str:
    """A template syntax error, or a name StrictUndefined refuses at render time (fix_problems mends it)."""
    if not (found := _templates(root)):
        return f"break_template: no project template, so {edit_template(root, rng)}"
    path = rng.choice(found)
    text = path.read_text(encoding="utf-8")
    if rng.random() < 0.5 or "{% block title %}" not in text:
        path.write_text(text + BROKEN_SYNTAX, encoding="utf-8")
        how = "syntax error"
    else:
        path.write_text(text.replace("{% block title %}", "{% block title %}" + BROKEN_NAME, 1), encoding="utf-8")
        how = "undefined name"
    return f"break_template {_rel(root, path)}: {how}"


def break_channel_rules(root: Path, rng: random.Random) -> str:
    """A wrong type in the project's channel.toml (fix_problems mends it)."""
    path = root / WEB_PACK / "channel.toml"
    rules = read_toml(path) if path.exists() else web_rules(120, 3, "Newest")
    rules["text"]["summary_length"] = "long"
    path.write_text(dump_toml(rules), encoding="utf-8")
    return "break_channel_rules text.summary_length = 'long'"


def fix_problems(root: Path, rng: random.Random) -> str:
    """Mend everything a break_* step broke."""
    fixed = []
    for doc in documents(root):
        if is_broken(doc):
            fm, body, _ = read_doc(doc)
            write_doc(doc, fm, body)
            fixed.append(_rel(root, doc))
    for path in _templates(root):
        text = path.read_text(encoding="utf-8")
        if BROKEN_SYNTAX in text or BROKEN_NAME in text:
            path.write_text(text.replace(BROKEN_SYNTAX, "").replace(BROKEN_NAME, ""), encoding="utf-8")
            fixed.append(_rel(root, path))
    rules = root / WEB_PACK / "channel.toml"
    if rules.exists() and isinstance((data := read_toml(rules))["text"].get("summary_length"), str):
        data["text"]["summary_length"] = 90
        rules.write_text(dump_toml(data), encoding="utf-8")
        fixed.append(_rel(root, rules))
    return f"fix_problems: {', '.join(fixed) or 'nothing was broken'}"


def has_problems(root: Path) -> bool:
    return (
        any(is_broken(p) for p in documents(root))
        or any(BROKEN_SYNTAX in t or BROKEN_NAME in t for t in (p.read_text(encoding="utf-8")
                                                               for p in _templates(root)))
        or ((r := root / WEB_PACK / "channel.toml").exists()
            and isinstance(read_toml(r)["text"].get("summary_length"), str)))


STEPS: dict[str, Step] = {step.__name__: step for step in (
    edit_body, edit_summary, change_tags, change_date, change_title, change_slug, toggle_draft,
    add_document, delete_document, delete_document_leave_links, rename_document,
    add_locale_version, delete_locale_version,
    add_image, replace_image, delete_image, delete_image_leave_uses, change_alt, change_focal,
    edit_template, edit_partial, toggle_override, change_channel_rules, change_site_config,
    break_front_matter, break_template, break_channel_rules, fix_problems,
)}
BREAKS = ("break_front_matter", "break_template", "break_channel_rules")


def choose_step(root: Path, rng: random.Random, exclude: tuple[str, ...] = ()) -> Step:
    """A random step; breakage is rarer than edits, and once something is broken it is often mended next."""
    if has_problems(root) and rng.random() < 0.4:
        return fix_problems
    names = [n for n in STEPS if n != "fix_problems" and n not in exclude]
    weights = [0.4 if n in BREAKS else 1.0 for n in names]
    return STEPS[rng.choices(names, weights)[0]]


# ----- comparing with a clean build ------------------------------------------------------------------


@contextlib.contextmanager
def cache_env(env: Env, cache: Path) -> Iterator[None]:
    """CONTENTPIPE_CACHE_DIR set to ``cache`` for the block: through a pytest MonkeyPatch, or os.environ."""
    if env is not None:
        with env.context() as mp:
            mp.setenv(CACHE_ENV, str(cache))
            yield
        return
    before = os.environ.get(CACHE_ENV)
    os.environ[CACHE_ENV] = str(cache)
    try:
        yield
    finally:
        if before is None:
            os.environ.pop(CACHE_ENV, None)
        else:
            os.environ[CACHE_ENV] = before


def tree(root: Path) -> dict[str, bytes]:
    """Every file under ``root`` (hidden ones too), by relative path."""
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*"))
            if p.is_file() or p.is_symlink()} if root.exists() else {}


def _text_diff(name: str, clean: bytes, got: bytes, lines: int) -> list[str]:
    try:
        a, b = clean.decode("utf-8").splitlines(), got.decode("utf-8").splitlines()
    except UnicodeDecodeError:
        return [f"  {name}: binary, clean {len(clean)} B sha256 {hashlib.sha256(clean).hexdigest()[:12]}, "
                f"got {len(got)} B sha256 {hashlib.sha256(got).hexdigest()[:12]}"]
    diff = list(difflib.unified_diff(a, b, "clean/" + name, "incremental/" + name, n=1, lineterm=""))
    shown = [f"    {line[:200]}" for line in diff[:lines]]
    return [f"  {name}:", *shown, *(["    ..."] if len(diff) > lines else [])]


def diff_trees(clean: dict[str, bytes], got: dict[str, bytes], files: int = 8, lines: int = 14) -> str:
    """A readable summary of how ``got`` differs from ``clean``; '' when they are the same."""
    missing = sorted(clean.keys() - got.keys())
    extra = sorted(got.keys() - clean.keys())
    differ = sorted(k for k in clean.keys() & got.keys() if clean[k] != got[k])
    if not (missing or extra or differ):
        return ""
    out = [f"{len(differ)} differ, {len(missing)} missing, {len(extra)} extra (of {len(clean)} files in the clean "
           "build)"]
    if missing:
        out.append("missing: " + ", ".join(missing[:20]) + (" ..." if len(missing) > 20 else ""))
    if extra:
        out.append("extra: " + ", ".join(extra[:20]) + (" ..." if len(extra) > 20 else ""))
    if differ:
        out.append("differ: " + ", ".join(differ[:20]) + (" ..." if len(differ) > 20 else ""))
        first = sorted(differ, key=lambda k: (k != "manifest.json", k))  # the manifest says the most
        for name in first[:files]:
            out += _text_diff(name, clean[name], got[name], lines)
    return "\n".join(out)


def fast_tmp() -> str | None:
    """/dev/shm when there is one: a clean build creates every folder and file anew, and memory does that fastest."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK) else None


@dataclass(frozen=True)
class Clean:
    """A clean build of a project: its result and its output tree."""

    problems: list[dict[str, Any]]
    files: dict[str, bytes]


def clean_build(root: Path, env: Env = None, renditions: Path | None = None) -> Clean:
    """Build ``root`` from nothing: a fresh output folder and a fresh cache folder, both thrown away after.

    ``renditions``, when given, is a rendition store only clean builds use: its files are
    named by the hash of what they are made from, so reusing it between clean builds saves the
    encoding and cannot make two clean builds differ; nothing an incremental build wrote is in it.
    """
    from contentpipe import Project

    with tempfile.TemporaryDirectory(prefix="contentpipe-clean-", dir=fast_tmp()) as tmp:
        cache, out = Path(tmp) / "cache", Path(tmp) / "out"
        cache.mkdir()
        if renditions is not None:
            renditions.mkdir(parents=True, exist_ok=True)
            (cache / "renditions").symlink_to(renditions, target_is_directory=True)
        with cache_env(env, cache):
            result = Project.load(root, out_dir=out).build()
        return Clean([p.to_json(root) for p in result.problems], tree(out))


def compare_with_clean(root: Path, out: Path, env: Env = None, renditions: Path | None = None) -> str:
    """'' when ``out`` holds exactly what a clean build of ``root`` gives, else a readable diff summary."""
    return diff_trees(clean_build(root, env, renditions).files, tree(out))


# ----- sequences -------------------------------------------------------------------------------------


class SequenceFailure(AssertionError):
    pass


def _build(root: Path, mode: str, project: Any) -> Any:
    from contentpipe import Project

    if mode == "memory":
        return project.build()
    if mode == "fresh":
        return Project.load(root).build()
    raise ValueError(f"mode must be 'memory' or 'fresh', not {mode!r}")


def check_build(root: Path, result: Any, env: Env, renditions: Path | None) -> str:
    """'' when a build's output tree and its reported problems are those of a clean build."""
    clean = clean_build(root, env, renditions)
    report = diff_trees(clean.files, tree(result.out_dir))
    got = [p.to_json(root) for p in result.problems]
    if got != clean.problems:
        missing = [p for p in clean.problems if p not in got]
        extra = [p for p in got if p not in clean.problems]
        report += (f"\nBuildResult.problems differ from the clean build's: missing {missing}, extra {extra}"
                   if missing or extra else "\nBuildResult.problems: the same problems in another order")
    return report.strip()


def run_sequence(seed: int, steps: int | list[Step], mode: str, *, workdir: Path | None = None, env: Env = None,
                 renditions: Path | None = None, seed_store: Path | None = None, exclude: tuple[str, ...] = (),
                 check_first: bool = True) -> list[str]:
    """Make the project of ``seed``, build, then after each step build again and compare with a clean build.

    ``steps`` is a number of random steps (drawn from the seed) or a list of steps. ``mode``:
    "memory" keeps one Project and calls build() again; "fresh" loads the project anew each
    time (the persisted state). ``seed_store`` is copied in as the rendition cache of the
    incremental builds, so they need not encode what clean builds already encoded; ``exclude``
    names steps random sequences never draw; ``check_first`` compares the first build too. Raises
    SequenceFailure naming the seed, the step and the steps so far; returns the descriptions.
    """
    from contentpipe import Project

    kept = f"\nproject in {workdir}" if workdir is not None else ""
    with contextlib.ExitStack() as stack:
        if workdir is None:
            workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="contentpipe-seq-")))
        root, cache = make_project(workdir / f"seq-{seed}-{mode}", seed), workdir / f"cache-{seed}-{mode}"
        if seed_store is not None and seed_store.exists():
            shutil.copytree(seed_store, cache / "renditions", symlinks=False)
        stack.enter_context(cache_env(env, cache))
        rng = random.Random(f"steps-{seed}")
        done = ["initial build"]
        project = Project.load(root)
        result = _build(root, mode, project)
        plan = steps if isinstance(steps, list) else [None] * steps
        for number in range(len(plan) + 1):
            if number:
                step = plan[number - 1] or choose_step(root, rng, exclude)
                done.append(step(root, rng))
                result = _build(root, mode, project)
            elif not check_first:
                continue
            report = check_build(root, result, env, renditions)
            if report:
                history = "\n".join(f"  {i}. {d}" for i, d in enumerate(done))
                raise SequenceFailure(f"seed {seed}, mode {mode}: after step {number} the build differs from a "
                                      f"clean build\nsteps:\n{history}\n{report}{kept}")
        return done
