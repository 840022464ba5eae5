"""Fingerprints: for every planned output, a hash of everything its bytes can depend on.

Pure, over the plan, the loaded masters and the input hashes; no templates are
rendered and nothing is imported that a no-op build would not need. An output
is made again when its fingerprint changes, and kept when it does not. Each
fingerprint is a few named parts, so ``explain`` can say which one changed:

- ``engine``: contentpipe's and its renderers' versions, the image formats, [site];
- ``rules``: the channel's rules, apart from other outputs' (that output's own rule included);
- ``templates``: every template file its renders loaded, and every path tried before it (an
  override added in front of a template changes it);
- ``document``: for a document's outputs, its file; its pages, tags, translations and link
  targets in the plan; its images (renditions, alt, credit);
- ``list``: for list outputs, their page, their neighbours, and per item only what list
  templates read: front matter, URLs and images, plus the body where a template shows it;
- ``site``: the channel's locale links, site icon and share image, and for a sitemap every page.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from contentpipe.engine.state import InputRow, TemplateRow
    from contentpipe.load.documents import Document
    from contentpipe.load.masters import Masters
    from contentpipe.load.packs import Channel
    from contentpipe.plan import Plan, PlannedOutput

# fields of a Document that are not what list items show (the body is behind its own part)
_NOT_META = frozenset({"body", "sha256", "lines", "body_line"})
# item fields whose value needs no more than front matter, URLs and images (everything else: the body too)
LIGHT_FIELDS = frozenset({
    "id", "title", "slug", "locale", "date", "date_text", "updated", "summary", "campaign", "params",
    "url", "absolute_url", "canonical_url", "link", "outputs", "translations", "tags", "hero", "card",
    "share", "subject", "preheader", "jsonld",
})


def h(*values: object) -> str:
    return hashlib.sha256(repr(values).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def combine(parts: Mapping[str, str]) -> str:
    return h(sorted(parts.items()))


def template_candidates(channel: Channel, name: str) -> list[Path]:
    """Where the loader looks for a template name, in order (see render/templates.py)."""
    found = [d.joinpath(*name.split("/")) for d in channel.template_dirs]
    if name.startswith("parent:"):
        parents = [d / "templates" for d in channel.parent_dirs if (d / "templates").is_dir()]
        found += [d.joinpath(*name.removeprefix("parent:").split("/")) for d in parents]
    return found


@dataclass(frozen=True)
class Inputs:
    """What the fingerprints read besides the plan: file hashes and last build's template records."""

    files: Mapping[str, InputRow]
    templates: Mapping[tuple[str, str], TemplateRow]
    engine: str  # versions, formats, [site]


class Fingerprints:
    """Fingerprints of the outputs of one plan; memoises the parts outputs share.

    Memo keys name a document by ``id``: the masters and the plan hold every document while
    this object lives, and an int hashes without pathlib's Python-level ``__hash__``.
    """

    def __init__(self, plan: Plan, masters: Masters, inputs: Inputs) -> None:
        self.plan, self.masters, self.inputs = plan, masters, inputs
        self.canonical = plan.site.canonical_channel
        self._docs = masters.by_path()
        self._memo: dict[tuple[Any, ...], str] = {}
        self._targets: dict[tuple[Any, ...], tuple[tuple[str, Path], ...]] = {}

    def _once(self, key: tuple[Any, ...], make: Any) -> str:
        value = self._memo.get(key)
        if value is None:
            value = self._memo[key] = make()
        return value

    # ----- shared parts ----------------------------------------------------------

    def file(self, path: Path) -> str:
        row = self.inputs.files.get(str(path))
        return row.sha256 if row is not None else ""

    def templates(self, channel: Channel, template: str | None) -> str | None:
        """The hash of every template file a render with ``template`` loaded; None: never rendered yet."""
        if not template:
            return h(None)
        row = self.inputs.templates.get((channel.name, template))
        if row is None:
            return None

        def make() -> str:
            found = []  # the file each name resolves to now: an override added in front changes it
            for name in row.names:
                path = next((p for p in template_candidates(channel, name) if self.file(p)), None)
                found.append((name, str(path), self.file(path) if path else ""))
            return h(found)

        return self._once(("templates", channel.name, template), make)

    def rules(self, channel: Channel, out: PlannedOutput) -> str:
        base = self._once(("rules", channel.name), lambda: h(repr(replace(channel.rules, outputs={}))))
        return self._once(("rule", channel.name, out.rule.kind), lambda: h(base, repr(out.rule)))

    def meta(self, channel: Channel, doc: Document) -> str:
        """What a list shows of a document: its front matter and first paragraph, not its whole body."""
        def make() -> str:
            own = self._once(("front", id(doc)), lambda: h(
                [(f.name, repr(getattr(doc, f.name))) for f in fields(doc) if f.name not in _NOT_META]))
            return h(own, self.masters.parsed.facts(doc, channel.rules.markdown).first_paragraph)

        return self._once(("meta", channel.name, id(doc)), make)

    def urls(self, channel: str, doc: Document) -> str:
        """Its pages, tags and translations in the plan, as every view of it links to them."""
        def make() -> str:
            p = self.plan
            translations = [(loc, str(o.path), o.title, p.doc_keys.get((channel, o.path)),
                             p.doc_keys.get((self.canonical, o.path)))
                            for loc, o in sorted(p.translations.get(doc.doc_id, {}).items())]
            return h(sorted(p.doc_outputs.get((channel, doc.path), {}).items()),
                     p.doc_keys.get((channel, doc.path)), p.doc_keys.get((self.canonical, doc.path)),
                     [(t, p.tag_keys.get((channel, doc.locale, t))) for t in doc.tags], translations)

        return self._once(("urls", channel, id(doc)), make)

    def images(self, channel: str, doc: Document) -> str:
        def make() -> str:
            sets = [(s.slot, str(s.master.path), s.master.sha256, s.alt, s.master.credit, s.master.rights, s.sizes,
                     self._renditions(s.renditions)) for s in self.plan.images_of(channel, doc)]
            return h(sets)

        return self._once(("images", channel, id(doc)), make)

    def _renditions(self, renditions: tuple[Any, ...]) -> str:
        """One image's renditions: the plan shares one tuple among the documents showing that image."""
        return self._once(("renditions", id(renditions)),
                          lambda: h([(r.name, r.width, r.height, r.spec.format) for r in renditions]))

    def _link_targets(self, ch: Channel, doc: Document) -> tuple[tuple[str, Path], ...]:
        """(as written, resolved path) of each link of the body to a document.

        A target that is a document is named by that document's own path object: the plan's
        keys hold it, so each lookup below compares by identity, not path by path.
        """
        key = ("targets", doc.sha256, ch.rules.markdown, doc.path)
        found = self._targets.get(key)
        if found is None:
            from contentpipe.load.documents import resolve_ref
            from contentpipe.load.masters import document_target

            pairs = []
            for ref in self.masters.parsed.facts(doc, ch.rules.markdown).refs:
                target = document_target(ref.target) if ref.kind == "link" else None
                if target is not None:
                    path = resolve_ref(doc.path.parent, target)
                    known = self._docs.get(path)
                    pairs.append((ref.target, known.path if known is not None else path))
            found = self._targets[key] = tuple(pairs)
        return found

    def links(self, ch: Channel, doc: Document) -> str:
        """Where the body's links to other documents lead from this channel (or that they lead nowhere)."""
        channel = ch.name

        def make() -> str:
            p = self.plan
            return h([(written, str(path), path in self._docs, p.doc_keys.get((channel, path)),
                       p.doc_keys.get((self.canonical, path))) for written, path in self._link_targets(ch, doc)])

        return self._once(("links", channel, id(doc)), make)

    def document(self, ch: Channel, doc: Document) -> str:
        return h(self.meta(ch, doc), doc.sha256, self.urls(ch.name, doc), self.images(ch.name, doc),
                 self.links(ch, doc))

    def item(self, ch: Channel, doc: Document, light: bool) -> str:
        light_part = h(self.meta(ch, doc), self.urls(ch.name, doc), self.images(ch.name, doc))
        return light_part if light else h(light_part, doc.sha256, self.links(ch, doc))

    def site(self, channel: str, locale: str | None) -> str:
        def make() -> str:
            p = self.plan
            keys = sorted((k, v) for k, v in p.locale_keys.items() if k[0] == channel)
            images = sorted((k, repr(v)) for k, v in p.site_images.items() if k[0] == channel)
            return h(keys, locale, images, repr(p.icons), repr(p.site_files))

        return self._once(("site", channel, locale), make)

    def sitemap(self, channel: str) -> str:
        def make() -> str:
            pages = []
            for out in self.plan.outputs:
                if out.channel.name == channel and out.key.endswith(".html"):
                    doc = out.doc
                    pages.append((out.key, out.rule.per, out.page, out.locale,
                                  self.urls(channel, doc) if doc else None,
                                  (repr(doc.date), repr(doc.updated)) if doc else None))
            return h(pages)

        return self._once(("sitemap", channel), make)

    # ----- one output ------------------------------------------------------------

    def parts(self, out: PlannedOutput, problems: bool = False) -> dict[str, str] | None:
        """The named parts of an output's fingerprint; None when it cannot be known before rendering.

        An output whose render raised problems also depends on where its pack's
        rule files are, which some problems name (an override folder added in
        front changes that, and nothing else).
        """
        channel = out.channel
        templates = self.templates(channel, out.rule.template)
        if templates is None:
            return None
        parts = {"engine": self.inputs.engine, "rules": self.rules(channel, out), "templates": templates,
                 "output": h(out.key, out.path, out.locale, out.tag, out.page, out.pages, out.page_keys),
                 "site": self.site(channel.name, out.locale)}
        if problems:
            parts["rule files"] = h([str(f) for f in channel.rule_files])
        if out.doc is not None:
            parts["document"] = self.document(channel, out.doc)
        elif out.rule.per == "site":
            parts["list"] = self.sitemap(channel.name)
        else:
            row = self.inputs.templates.get((channel.name, out.rule.template or ""))
            light = row is not None and "*" not in row.fields and set(row.fields) <= LIGHT_FIELDS
            parts["list"] = h([self.item(channel, d, light) for d in out.items],
                              [(loc, self.plan.locale_keys.get((channel.name, out.rule.kind, loc)))
                               for loc in self.plan.site.locales])
        return parts


def engine_fingerprint(site: Any, formats: Iterable[str], extra: Iterable[str] = ()) -> str:
    """What every output depends on: the code that makes it, the formats it can use, the [site] table."""
    from importlib import metadata

    from contentpipe import __version__

    versions = []
    for dist in ("jinja2", "markdown-it-py", "mdit-py-plugins", "nh3", "css-inline", "pillow", "regex"):
        try:
            versions.append((dist, metadata.version(dist)))
        except metadata.PackageNotFoundError:
            versions.append((dist, ""))
    return h(__version__, versions, sorted(formats), repr(site), list(extra))
