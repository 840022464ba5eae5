"""What templates see of strings, dates, images, tags, translations and documents: plain dicts.

A document view's costly values (body, plain text, blocks, JSON-LD) are made on
first use (:class:`LazyView`); item views of list outputs can note which keys a
template reads (:class:`RecordingView`), so the engine knows which document
changes can change the list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from contentpipe import urls
from contentpipe.load.documents import Document
from contentpipe.plan import ImageSet, PlannedOutput, tag_slug
from contentpipe.render.links import Links
from contentpipe.render.parts import Memo, Report, Scope
from contentpipe.siteimages import SHARE_SLOT, WEB_MANIFEST
from contentpipe.text.truncate import truncate

if TYPE_CHECKING:
    from contentpipe.render.bodies import Bodies
    from contentpipe.render.payloads import Payloads

FALLBACK_FORMATS = ("jpeg", "png")
DISPLAY_WIDTH = 1200  # the fallback <img src> is the largest rendition up to this width


class LazyView(dict):  # type: ignore[type-arg]
    """A view whose costly values (body, plain text, blocks) are made on first use.

    Jinja looks ``doc.text`` up as ``doc["text"]``; ``__missing__`` computes it
    then. ``tojson`` sees only the values made so far.
    """

    def __init__(self, base: dict[str, Any], lazy: dict[str, Any]) -> None:
        super().__init__(base)
        self._lazy = lazy

    def __missing__(self, key: str) -> Any:
        make = self._lazy.pop(key, None)
        if make is None:
            raise KeyError(key)
        value = self[key] = make()
        return value


class RecordingView(LazyView):
    """A LazyView that adds each key read to ``reads``, and ``"*"`` when the whole view is read.

    ``json.dumps`` (so ``tojson``) reads a dict subclass through ``items()``.
    """

    def __init__(self, base: dict[str, Any], lazy: dict[str, Any], reads: set[str]) -> None:
        super().__init__(base, lazy)
        self._reads = reads

    def __getitem__(self, key: str) -> Any:
        self._reads.add(str(key))
        return super().__getitem__(key)

    def get(self, key: str, default: Any = None) -> Any:
        self._reads.add(str(key))
        return super().get(key, default)

    def __contains__(self, key: object) -> bool:
        self._reads.add(str(key))
        return super().__contains__(key)

    def keys(self) -> Any:
        self._reads.add("*")
        return super().keys()

    def items(self) -> Any:
        self._reads.add("*")
        return super().items()

    def values(self) -> Any:
        self._reads.add("*")
        return super().values()

    def __iter__(self) -> Iterator[str]:
        self._reads.add("*")
        return super().__iter__()

    def __len__(self) -> int:
        self._reads.add("*")
        return super().__len__()

    def __repr__(self) -> str:
        self._reads.add("*")
        return super().__repr__()


def iso(when: datetime | None) -> str:
    """RFC 3339 with 'Z' for UTC, as Atom, sitemaps and JSON-LD want it."""
    return when.isoformat().replace("+00:00", "Z") if when else ""


class Views:
    """Strings, dates, images, tags, translations and the site, as one channel's templates see them."""

    def __init__(self, scope: Scope, report: Report, links: Links) -> None:
        self.scope, self.links = scope, links
        self._strings: Memo[str, dict[str, str]] = Memo(report)
        self._images: Memo[tuple[int, str, str | None], dict[str, Any]] = Memo(report)

    def strings(self, locale: str) -> dict[str, str]:
        """UI strings for a locale: English, then the language, then the locale itself win."""
        def merge() -> dict[str, str]:
            merged: dict[str, str] = {}
            for loc in ("en", locale.split("-")[0], locale):
                merged.update(self.scope.rules.strings.get(loc, {}))
            return merged

        return dict(self._strings.get(locale, merge))

    def date_text(self, when: datetime | None, locale: str) -> str:
        if when is None:
            return ""
        t = self.strings(locale)
        months = t.get("months", "January,February,March,April,May,June,July,August,September,"
                                 "October,November,December").split(",")
        return t.get("date_format", "{day} {month} {year}").format(
            day=when.day, month=months[when.month - 1].strip(), year=when.year)

    def image(self, image_set: ImageSet | None, from_key: str | None) -> dict[str, Any] | None:
        """What a template needs to draw one image: sources per format, fallback img, sizes."""
        if image_set is None or not image_set.renditions:
            return None
        # the renditions tuple is shared by every use of one master in one slot (see plan.slot_memo)
        memo_key = (id(image_set.renditions), image_set.alt, None if from_key is None else from_key.rpartition("/")[0])
        return dict(self._images.get(memo_key, lambda: self._image_view(image_set, from_key)))  # a copy: alt may change

    def _image_view(self, image_set: ImageSet, from_key: str | None) -> dict[str, Any]:
        by_format: dict[str, list[Any]] = {}
        for r in image_set.renditions:
            by_format.setdefault(r.spec.format, []).append(r)
        fallback_fmt = next((f for f in FALLBACK_FORMATS if f in by_format), next(iter(by_format)))
        fallback = by_format[fallback_fmt]
        src = max((r for r in fallback if r.width <= DISPLAY_WIDTH), key=lambda r: r.width,
                  default=min(fallback, key=lambda r: r.width))
        url = self.links.url

        def srcset(rs: list[Any]) -> str:
            return ", ".join(f"{url(from_key, urls.media_key(r.name))} {r.width}w" for r in rs)

        return {
            "alt": image_set.alt,
            "src": url(from_key, urls.media_key(src.name)),
            "absolute_src": url(None, urls.media_key(src.name)),
            "width": src.width,
            "height": src.height,
            "type": src.mime,
            "srcset": srcset(fallback),
            "sizes": image_set.sizes,
            "sources": [{"type": rs[0].mime, "srcset": srcset(rs)}
                        for fmt, rs in by_format.items() if fmt != fallback_fmt],
            "renditions": [{"url": url(from_key, urls.media_key(r.name)),
                            "absolute_url": url(None, urls.media_key(r.name)),
                            "width": r.width, "height": r.height, "type": r.mime, "format": r.spec.format}
                           for r in image_set.renditions],
            "credit": image_set.master.credit,
            "rights": image_set.master.rights,
        }

    def doc_image(self, doc: Document, use: str, from_key: str | None) -> dict[str, Any] | None:
        """The view of one of a document's images in this channel ('hero:hero', 'inline:body:x.jpg')."""
        return self.image(self.scope.plan.image(self.scope.name, doc, use), from_key)

    def summary(self, doc: Document) -> str:
        """The front matter summary, or the first paragraph; cut to the channel's summary_length."""
        text = doc.summary or self.scope.masters.parsed.facts(doc, self.scope.rules.markdown).first_paragraph
        rules = self.scope.rules.text
        return truncate(text, rules.summary_length, ellipsis=rules.ellipsis) if rules.summary_length else text

    def subject(self, doc: Document) -> str:
        """An email's subject: front matter email.subject, else the title."""
        return doc.email_subject or doc.title

    def preheader(self, doc: Document, summary: str) -> str:
        """An email's preheader: front matter email.preheader, else the summary cut to preheader_length."""
        text = self.scope.rules.text
        return doc.email_preheader or truncate(summary, text.preheader_length, ellipsis=text.ellipsis)

    def tag_views(self, tags: tuple[str, ...], locale: str, from_key: str | None) -> list[dict[str, str]]:
        out = []
        for tag in tags:
            key = self.scope.plan.tag_keys.get((self.scope.name, locale, tag))
            out.append({"name": tag, "slug": tag_slug(tag), "url": self.links.url(from_key, key) if key else ""})
        return out

    def translations(self, doc: Document, from_key: str | None) -> list[dict[str, str]]:
        out = []
        for locale in self.scope.site.locales:
            other = self.scope.plan.translations.get(doc.doc_id, {}).get(locale)
            key = self.links.doc_key(other) if other else None
            if other is not None and key is not None:
                out.append({"locale": locale, "title": other.title, "url": self.links.url(from_key, key),
                            "absolute_url": self.links.url(None, key), "current": other is doc})
        return out

    def locale_links(self, locale: str, from_key: str | None) -> dict[str, str]:
        """URLs of the locale's list outputs by kind (index, feed...)."""
        links = {}
        for (channel, kind, loc), key in self.scope.plan.locale_keys.items():
            if channel == self.scope.name and loc == locale:
                links[kind] = self.links.url(from_key, key)
                links[f"{kind}_absolute"] = self.links.url(None, key)
        return links

    def alternates(self, out: PlannedOutput, from_key: str | None) -> list[dict[str, str]]:
        """The same output in every locale: hreflang links."""
        if out.doc is not None:
            return [{"locale": t["locale"], "url": t["url"], "absolute_url": t["absolute_url"]}
                    for t in self.translations(out.doc, from_key)]
        if out.rule.per == "locale" and out.page == 1:
            found = []
            for loc in self.scope.site.locales:
                key = self.scope.plan.locale_keys.get((self.scope.name, out.rule.kind, loc))
                if key:
                    found.append({"locale": loc, "url": self.links.url(from_key, key),
                                  "absolute_url": self.links.url(None, key)})
            return found
        return []

    def site_view(self, from_key: str | None) -> dict[str, Any]:
        """The site as templates see it, with its icon links and default share image (None without)."""
        site = self.scope.site
        return {"name": site.name, "base_url": site.base_url, "description": site.description,
                "author": site.author, "locales": list(site.locales), "default_locale": site.default_locale,
                "theme_color": site.theme_color, "icon": self.icon_links(from_key),
                "share": self.image(self.scope.plan.site_images.get((self.scope.name, SHARE_SLOT)), None)}

    def icon_links(self, from_key: str | None) -> dict[str, str] | None:
        """URLs of the [site] icon set: the 32 px icon, the apple-touch-icon, the web manifest ('' without)."""
        plan = self.scope.plan
        if plan.icons is None:
            return None
        icon, touch = plan.icons.pngs["icon"], plan.icons.pngs["apple_touch"]
        manifest = next((f.key for f in plan.site_files if f.key == WEB_MANIFEST), None)
        url = self.links.url
        return {"url": url(from_key, urls.media_key(icon.name)), "type": icon.mime,
                "sizes": f"{icon.width}x{icon.height}",
                "apple_touch_url": url(from_key, urls.media_key(touch.name)),
                "apple_touch_sizes": f"{touch.width}x{touch.height}",
                "manifest_url": url(from_key, manifest) if manifest else ""}


class DocViews:
    """Documents as templates see them: cheap fields at once, costly ones (bodies, JSON-LD) on first use."""

    def __init__(self, scope: Scope, report: Report, links: Links, views: Views, bodies: Bodies,
                 payloads: Payloads) -> None:
        self.scope, self.links, self.views, self.bodies, self.payloads = scope, links, views, bodies, payloads
        self._bases: Memo[Path, dict[str, Any]] = Memo(report)

    def base(self, doc: Document) -> dict[str, Any]:
        """The parts of a document's view that do not depend on the page showing it (memoised)."""
        def make() -> dict[str, Any]:
            updated = doc.updated or doc.date
            return {
                "id": doc.doc_id,
                "title": doc.title,
                "slug": doc.slug,
                "locale": doc.locale,
                "date": iso(doc.date),
                "date_text": self.views.date_text(doc.date, doc.locale),
                "updated": iso(updated),
                "summary": self.views.summary(doc),
                "campaign": self.links.campaign(doc),
                "params": dict(doc.meta),
            }

        return self._bases.get(doc.path, make)

    def view(self, doc: Document, from_key: str | None, reads: set[str] | None = None) -> LazyView:
        """A document as a template sees it; with ``reads``, a view noting each key read into it."""
        links, views, bodies = self.links, self.views, self.bodies
        key = links.doc_key(doc)
        base = dict(self.base(doc))
        base["url"] = links.url(from_key, key) if key else ""
        base["absolute_url"] = links.url(None, key) if key else ""
        base["tags"] = views.tag_views(doc.tags, doc.locale, from_key)
        base["hero"] = views.doc_image(doc, "hero:hero", from_key)
        base["card"] = views.doc_image(doc, "card:hero", from_key)
        lazy: dict[str, Callable[[], Any]] = {
            "canonical_url": lambda: links.canonical_url(doc),
            "link": lambda: links.tag(links.canonical_url(doc), doc, "cta"),
            "outputs": lambda: {kind: links.url(None, k) for kind, k in
                                self.scope.plan.doc_outputs.get((self.scope.name, doc.path), {}).items()},
            "body": lambda: bodies.html(doc, from_key),
            "text": lambda: bodies.text(doc),
            "blocks": lambda: bodies.blocks(doc, from_key),
            "subject": lambda: views.subject(doc),
            "preheader": lambda: views.preheader(doc, self.base(doc)["summary"]),
            "share": lambda: views.doc_image(doc, "share:hero", None),
            "translations": lambda: views.translations(doc, from_key),
        }
        view = LazyView(base, lazy) if reads is None else RecordingView(base, lazy, reads)
        lazy["jsonld"] = lambda: self.payloads.jsonld(doc, view)
        return view

