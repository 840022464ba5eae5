"""Plan: documents x channels x locales -> the outputs to render and the renditions they need.

Pure: no pixels, no templates, no writes. Every output gets its channel path
and published key here, so a collision (two documents with one slug) is found
before anything is rendered.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from PIL import features

from contentpipe.config.project import Site
from contentpipe.config.rules import ImageSlot, OutputRule
from contentpipe.errors import Problems, SourcePos
from contentpipe.load.documents import Document, resolve_ref, slugify
from contentpipe.load.images import Focal, ImageMaster
from contentpipe.load.masters import Masters, local_target
from contentpipe.load.packs import Channel
from contentpipe.renditions import Rendition, plan_slot
from contentpipe.siteimages import IconSet, SiteFile, plan_icons, plan_share_images, site_files

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def available_formats() -> frozenset[str]:
    """Output formats this Pillow build can write."""
    found = {"jpeg", "png"}
    found |= {f for f in ("webp", "avif") if features.check(f)}
    return frozenset(found)


def tag_slug(tag: str) -> str:
    slug = slugify(tag)
    if slug == "item" and tag.lower() != "item":  # nothing ASCII in it (a CJK tag, say)
        slug = "tag-" + hashlib.sha1(tag.encode()).hexdigest()[:8]
    return slug


def sort_key(doc: Document) -> tuple[float, str, str]:
    """Newest first; undated documents last; then by title and path, so order is stable."""
    return (-(doc.date or EPOCH).timestamp(), doc.title.casefold(), doc.rel.as_posix())


@dataclass(frozen=True)
class ImageSet:
    """One image as one slot asks for it: every rendition, and the text around it."""

    slot: str
    master: ImageMaster
    alt: str
    renditions: tuple[Rendition, ...]
    sizes: str


@dataclass(frozen=True)
class PlannedOutput:
    channel: Channel
    rule: OutputRule
    path: str  # inside dist/<channel>/
    key: str  # published key
    locale: str | None = None
    doc: Document | None = None
    items: tuple[Document, ...] = ()
    tag: str | None = None
    page: int = 1
    pages: int = 1
    page_keys: tuple[str, ...] = ()

    @property
    def sources(self) -> tuple[Document, ...]:
        return (self.doc,) if self.doc else self.items


@dataclass
class Plan:
    site: Site
    outputs: list[PlannedOutput] = field(default_factory=list)
    renditions: dict[str, Rendition] = field(default_factory=dict)
    images: dict[tuple[str, Path, str], ImageSet] = field(default_factory=dict)  # (channel, doc, use)
    translations: dict[str, dict[str, Document]] = field(default_factory=dict)
    doc_keys: dict[tuple[str, Path], str] = field(default_factory=dict)  # (channel, doc) -> page key
    tag_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (channel, locale, tag)
    locale_keys: dict[tuple[str, str, str], str] = field(default_factory=dict)  # (channel, kind, locale)
    doc_outputs: dict[tuple[str, Path], dict[str, str]] = field(default_factory=dict)  # (channel, doc) -> kind: key
    site_images: dict[tuple[str, str], ImageSet] = field(default_factory=dict)  # (channel, slot): [site] images
    icons: IconSet | None = None
    site_files: list[SiteFile] = field(default_factory=list)  # favicon.ico, site.webmanifest
    _by_doc: dict[tuple[str, Path], list[ImageSet]] = field(default_factory=dict)
    slot_memo: dict[tuple[Path, str, str, Focal | None, str], tuple[tuple[Rendition, ...], str | None]] = field(
        default_factory=dict)

    def image(self, channel: str, doc: Document, use: str) -> ImageSet | None:
        return self.images.get((channel, doc.path, use))

    def images_of(self, channel: str, doc: Document) -> list[ImageSet]:
        return self._by_doc.get((channel, doc.path), [])


def plan_build(site: Site, channels: dict[str, Channel], masters: Masters, problems: Problems,
               keys_only: frozenset[str] = frozenset()) -> Plan:
    """Plan every output of ``channels``; for those in ``keys_only`` just their page keys.

    A channel built alone (``--channel email``) still links to the canonical
    channel's pages, so the canonical channel is planned for its keys.
    """
    plan = Plan(site)
    for doc in masters.documents:
        plan.translations.setdefault(doc.doc_id, {})[doc.locale] = doc
    by_locale: dict[str, list[Document]] = defaultdict(list)
    for doc in sorted(masters.documents, key=sort_key):
        by_locale[doc.locale].append(doc)
    formats = available_formats()
    claimed: dict[str, str] = {}
    clashes: set[tuple[str, str]] = set()
    for channel in channels.values():
        if channel.name in keys_only:
            for rule in channel.rules.outputs.values():
                if rule.per == "document":
                    for out in _expand(channel, rule, site, by_locale):
                        _index(plan, out)
            continue
        for rule in channel.rules.outputs.values():
            for out in _expand(channel, rule, site, by_locale):
                first = claimed.setdefault(out.key, _origin(out))
                if first != _origin(out):
                    if (first, _origin(out)) not in clashes:  # once per pair, not once per channel
                        clashes.add((first, _origin(out)))
                        problems.error(f"output {out.key!r} is also produced by {first}",
                                       out.doc.pos("slug") if out.doc else SourcePos(channel.rule_files[0]))
                    continue
                plan.outputs.append(out)
                _index(plan, out)
        if any(r.per == "document" for r in channel.rules.outputs.values()):
            for doc in masters.documents:
                _plan_images(plan, channel, doc, masters, formats, problems)
        if channel.rules.networks:
            _check_social_keys(channel, masters.documents, problems)
    _plan_site_images(plan, channels, keys_only, masters, formats, problems)
    return plan


def _plan_site_images(plan: Plan, channels: dict[str, Channel], keys_only: frozenset[str], masters: Masters,
                      formats: frozenset[str], problems: Problems) -> None:
    """The [site] share image and icon set (siteimages.py), planned like any image."""
    built = [c for name, c in channels.items() if name not in keys_only]
    for name, (master, slot, renditions) in plan_share_images(plan.site, built, masters, formats,
                                                              problems).items():
        plan.site_images[(name, slot.name)] = ImageSet(slot.name, master, master.alt or "", tuple(renditions),
                                                       slot.sizes)
        for r in renditions:
            plan.renditions.setdefault(r.name, r)
    plan.icons = plan_icons(plan.site, channels, masters, formats, problems)
    if plan.icons is not None:
        for r in plan.icons.renditions:
            plan.renditions.setdefault(r.name, r)
    plan.site_files = site_files(plan.site, plan.icons)


def _check_social_keys(channel: Channel, documents: tuple[Document, ...], problems: Problems) -> None:
    """Front matter social.<key> must name one of the channel's networks (or be 'text')."""
    known = {*channel.rules.networks, "text"}
    listed = ", ".join(sorted(known))
    for doc in documents:
        for key in doc.social_keys:
            if key not in known:
                problems.warning(f"social.{key}: no such network here (known: {listed})", doc.pos(f"social.{key}"))


def _origin(out: PlannedOutput) -> str:
    return str(out.doc.path) if out.doc else f"{out.channel.name} output '{out.rule.kind}'"


def _index(plan: Plan, out: PlannedOutput) -> None:
    name = out.channel.name
    if out.rule.per == "document" and out.doc:
        plan.doc_outputs.setdefault((name, out.doc.path), {})[out.rule.kind] = out.key
    if out.rule.per == "document" and out.doc and (name, out.doc.path) not in plan.doc_keys:
        if out.rule.kind == "page" or out.key.endswith(".html"):
            plan.doc_keys[(name, out.doc.path)] = out.key
    elif out.page == 1 and out.locale is not None:
        if out.rule.per == "tag" and out.tag is not None:
            plan.tag_keys.setdefault((name, out.locale, out.tag), out.key)
        elif out.rule.per == "locale":
            plan.locale_keys.setdefault((name, out.rule.kind, out.locale), out.key)


def _expand(channel: Channel, rule: OutputRule, site: Site,
            by_locale: dict[str, list[Document]]) -> Iterator[PlannedOutput]:
    prefix = channel.rules.publish_at
    if rule.per == "document":
        for locale in site.locales:
            for doc in by_locale.get(locale, ()):
                path = _path(rule.path, locale=locale, locale_dir=site.locale_dir(locale),
                             dir=doc.dir, slug=doc.slug)
                yield PlannedOutput(channel, rule, path, prefix + path, locale, doc=doc)
    elif rule.per == "locale":
        for locale in site.locales:
            yield from _pages(channel, rule, site, locale, None, by_locale.get(locale, []))
    elif rule.per == "tag":
        for locale in site.locales:
            tags: dict[str, list[Document]] = defaultdict(list)
            for doc in by_locale.get(locale, ()):
                for tag in doc.tags:
                    tags[tag].append(doc)
            for tag in sorted(tags, key=str.casefold):
                yield from _pages(channel, rule, site, locale, tag, tags[tag])
    else:
        items = tuple(d for loc in site.locales for d in by_locale.get(loc, ()))
        path = _path(rule.path)
        yield PlannedOutput(channel, rule, path, prefix + path, None, items=items)


def _pages(channel: Channel, rule: OutputRule, site: Site, locale: str, tag: str | None,
           docs: list[Document]) -> Iterator[PlannedOutput]:
    items = docs[:rule.limit] if rule.limit else docs
    size = rule.paginate or max(1, len(items))
    chunks = [items[i:i + size] for i in range(0, len(items), size)] or [[]]
    fields = {"locale": locale, "locale_dir": site.locale_dir(locale), "tag": tag_slug(tag) if tag else ""}
    paths = [_path(rule.path, page_dir=f"page/{n}/" if n > 1 else "", **fields)
             for n in range(1, len(chunks) + 1)]
    keys = tuple(channel.rules.publish_at + p for p in paths)
    for n, chunk in enumerate(chunks, 1):
        yield PlannedOutput(channel, rule, paths[n - 1], keys[n - 1], locale, items=tuple(chunk),
                            tag=tag, page=n, pages=len(chunks), page_keys=keys)


def _path(pattern: str, **fields: str) -> str:
    path = pattern.format(**fields)
    while "//" in path:
        path = path.replace("//", "/")
    return path.lstrip("/")


def _plan_images(plan: Plan, channel: Channel, doc: Document, masters: Masters,
                 formats: frozenset[str], problems: Problems) -> None:
    slots = channel.rules.images
    uses: list[tuple[str, Path, str | None, Focal | None, SourcePos]] = []
    if doc.hero is not None:
        uses.append(("hero", doc.hero.path, doc.hero.alt, doc.hero.focal, doc.pos("hero")))
    for ref in masters.parsed.facts(doc, channel.rules.markdown).refs:
        target = local_target(ref.target) if ref.kind == "image" else None
        if target is not None:
            line = doc.body_line + ref.line - 1
            uses.append((f"body:{ref.target}", resolve_ref(doc.path.parent, target), None, None,
                         SourcePos(doc.path, line)))
    for use, path, alt, focal, where in uses:
        master = masters.images.get(path)
        if master is None:
            continue
        if not (alt or master.alt):
            problems.warning(f"image {master.rel} has no alt text (add 'alt' to its sidecar)", where)
        for slot in _slots_for(slots, use):
            caption = doc.title if slot.title and use == "hero" else ""
            memo_key = (master.path, channel.name, slot.name, focal, caption)
            if memo_key not in plan.slot_memo:  # one master is the hero of many documents
                renditions_list, warning = plan_slot(master, slot, focal, formats, caption)
                plan.slot_memo[memo_key] = (tuple(renditions_list), warning)
            renditions, warning = plan.slot_memo[memo_key]
            if warning:
                problems.warning(warning, where)
            for r in renditions:
                plan.renditions.setdefault(r.name, r)
            image_set = ImageSet(slot.name, master, alt or master.alt or "", renditions, slot.sizes)
            plan.images[(channel.name, doc.path, f"{slot.name}:{use}")] = image_set
            plan._by_doc.setdefault((channel.name, doc.path), []).append(image_set)


def _slots_for(slots: Mapping[str, ImageSlot], use: str) -> list[ImageSlot]:
    """Body images take the 'inline' slot; the hero takes every other slot (hero, share, card...)."""
    if use.startswith("body:"):
        return [s for s in slots.values() if s.name == "inline"]
    return [s for s in slots.values() if s.name != "inline"]
