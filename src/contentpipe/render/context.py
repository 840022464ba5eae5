"""Template contexts: plain data for one planned output, with URLs as the output sees them.

Inside a channel every URL is relative to the output being rendered (see
urls.py); feeds, sitemaps, canonical links and social meta get absolute URLs.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from markupsafe import Markup

from contentpipe import urls
from contentpipe.config.rules import NetworkRules
from contentpipe.errors import ContentpipeError, Problems, SourcePos
from contentpipe.load.documents import Document, resolve_ref
from contentpipe.load.masters import Masters, document_target
from contentpipe.load.packs import Channel
from contentpipe.load.parsed import rules_key
from contentpipe.plan import ImageSet, Plan, PlannedOutput, tag_slug
from contentpipe.render import blocks, markdown, plaintext, social
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.templates import Templates
from contentpipe.siteimages import SHARE_SLOT, WEB_MANIFEST
from contentpipe.text.links import absolute_link, is_site_url, tag_url
from contentpipe.text.truncate import truncate

FALLBACK_FORMATS = ("jpeg", "png")
EMAIL_KEYS = frozenset({"subject", "preheader"})  # front matter email.*


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

DISPLAY_WIDTH = 1200  # the fallback <img src> is the largest rendition up to this width


class ContextBuilder:
    """Builds the template context of each output of one channel."""

    def __init__(self, plan: Plan, channel: Channel, templates: Templates, masters: Masters,
                 problems: Problems, body_cache: BodyCache | None = None) -> None:
        self.plan, self.channel, self.templates = plan, channel, templates
        self.masters, self.problems = masters, problems
        self.rules = channel.rules
        self.site = plan.site
        self._bodies: dict[tuple[str, str | None], Markup] = {}
        self._images: dict[tuple[int, str, str | None], dict[str, Any]] = {}
        self._doc_bases: dict[Path, dict[str, Any]] = {}
        self._strings: dict[str, dict[str, str]] = {}
        self._doc_by_path = masters.by_path()
        self._social_checked: set[Path] = set()
        self.body_cache = body_cache or BodyCache(None)

    # ----- URLs -----------------------------------------------------------------

    def url(self, from_key: str | None, key: str) -> str:
        """Relative from an output, or absolute when ``from_key`` is None (feeds, meta)."""
        return urls.absolute(self.site.base_url, key) if from_key is None else urls.relative(from_key, key)

    def doc_key(self, doc: Document) -> str | None:
        return self.plan.doc_keys.get((self.channel.name, doc.path))

    def canonical_key(self, doc: Document) -> str | None:
        """The key of the document's page in the canonical channel (the web page)."""
        return self.plan.doc_keys.get((self.site.canonical_channel, doc.path))

    def canonical_url(self, doc: Document) -> str:
        """The absolute URL of the document's canonical page (this channel's own page without one)."""
        key = self.canonical_key(doc) or self.doc_key(doc)
        return self.url(None, key) if key else ""

    def link_key(self, doc: Document) -> str | None:
        """Where a link to a document goes from this channel: its own page or the canonical one."""
        if self.rules.links.documents == "canonical":
            return self.canonical_key(doc)
        return self.doc_key(doc)

    def campaign(self, doc: Document) -> str:
        return doc.campaign or self.site.campaign

    def utm(self, doc: Document, kind: str, network: Any = None) -> dict[str, str]:
        """Campaign parameters for one document's links, from the channel's [links] rules."""
        fields = {"channel": self.channel.name, "network": network.key if network else "", "slug": doc.slug,
                  "locale": doc.locale, "kind": kind, "campaign": self.campaign(doc)}
        links = self.rules.links
        source = network.utm_source if network else links.utm_source
        medium = network.utm_medium if network else links.utm_medium
        return {"utm_source": source.format(**fields), "utm_medium": medium.format(**fields),
                "utm_campaign": fields["campaign"], "utm_content": links.utm_content.format(**fields)}

    def tag(self, url: str, doc: Document, kind: str = "body", network: Any = None) -> str:
        """A link with the channel's campaign parameters, when its [links] rules tag this URL."""
        scope = self.rules.links.tag
        if scope == "none" or not url or not self.campaign(doc):
            return url
        if scope == "site" and not is_site_url(url, self.site.base_url):
            return url
        return tag_url(url, self.utm(doc, kind, network))

    # ----- values ---------------------------------------------------------------

    def strings(self, locale: str) -> dict[str, str]:
        """UI strings for a locale: English, then the language, then the locale itself win."""
        if locale not in self._strings:
            merged: dict[str, str] = {}
            for loc in ("en", locale.split("-")[0], locale):
                merged.update(self.rules.strings.get(loc, {}))
            self._strings[locale] = merged
        return dict(self._strings[locale])

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
        if memo_key not in self._images:
            self._images[memo_key] = self._image_view(image_set, from_key)
        return dict(self._images[memo_key])  # a copy: the caller may change alt

    def _image_view(self, image_set: ImageSet, from_key: str | None) -> dict[str, Any]:
        by_format: dict[str, list[Any]] = {}
        for r in image_set.renditions:
            by_format.setdefault(r.spec.format, []).append(r)
        fallback_fmt = next((f for f in FALLBACK_FORMATS if f in by_format), next(iter(by_format)))
        fallback = by_format[fallback_fmt]
        src = max((r for r in fallback if r.width <= DISPLAY_WIDTH), key=lambda r: r.width,
                  default=min(fallback, key=lambda r: r.width))

        def srcset(rs: list[Any]) -> str:
            return ", ".join(f"{self.url(from_key, urls.media_key(r.name))} {r.width}w" for r in rs)

        return {
            "alt": image_set.alt,
            "src": self.url(from_key, urls.media_key(src.name)),
            "absolute_src": self.url(None, urls.media_key(src.name)),
            "width": src.width,
            "height": src.height,
            "type": src.mime,
            "srcset": srcset(fallback),
            "sizes": image_set.sizes,
            "sources": [{"type": rs[0].mime, "srcset": srcset(rs)}
                        for fmt, rs in by_format.items() if fmt != fallback_fmt],
            "renditions": [{"url": self.url(from_key, urls.media_key(r.name)),
                            "absolute_url": self.url(None, urls.media_key(r.name)),
                            "width": r.width, "height": r.height, "type": r.mime, "format": r.spec.format}
                           for r in image_set.renditions],
            "credit": image_set.master.credit,
            "rights": image_set.master.rights,
        }

    # ----- bodies ---------------------------------------------------------------

    def body_html(self, doc: Document, from_key: str | None) -> Markup:
        """The rendered body as seen from ``from_key`` (None: absolute URLs), cached between builds."""
        memo_key = (str(doc.path), from_key)
        if memo_key not in self._bodies:
            def produce(link: Any, image: Any) -> str:
                env = markdown.BodyEnv(link=link, image=lambda *a: image("image", *a), line_offset=doc.body_line)
                return markdown.render(self.rules.markdown, self.masters.parsed.tokens(doc, self.rules.markdown), env)

            self._bodies[memo_key] = Markup(self._cached(doc, "html", from_key, produce))
        return self._bodies[memo_key]

    def _cached(self, doc: Document, what: str, from_key: str | None, produce: Callable[..., Any]) -> Any:
        """A body rendering kept between builds, reused while replaying its lookups gives the same answers.

        ``produce(link, image)`` renders from the tokens; ``link(href, line)`` and
        ``image(kind, *args)`` answer (and record) each lookup the rendering makes.
        """
        cache_key = self.body_cache.key(doc.sha256, f"{self.channel.name}|{what}", rules_key(self.rules.markdown),
                                        from_key)
        entry = self.body_cache.get(cache_key)
        if entry is not None and all(self._lookup(doc, from_key, call[:-1]) == call[-1] for call in entry["calls"]):
            return entry["value"]
        calls: list[list[Any]] = []

        def link(href: str, line: int) -> str:
            out = self._lookup(doc, from_key, ["link", href, line])
            calls.append(["link", href, line, out])
            return out

        def image(kind: str, *args: Any) -> Any:
            out = self._lookup(doc, from_key, [kind, *args])
            calls.append([kind, *args, out])
            return out

        value = produce(link, image)
        self.body_cache.put(cache_key, {"value": value, "calls": calls})
        return value

    def _lookup(self, doc: Document, from_key: str | None, call: list[Any]) -> Any:
        """Answer one link or image lookup of a body (also used to check a cached body)."""
        if call[0] == "link":
            return self._link(doc, from_key, call[1], call[2])
        if call[0] == "image_view":
            src, alt = call[1], call[2]
            view = self.image(self.plan.image(self.channel.name, doc, f"inline:body:{src}"), from_key)
            if view is not None and alt:
                view["alt"] = alt
            return view
        return self._image(doc, from_key, *call[1:])

    def _link(self, doc: Document, from_key: str | None, href: str, line: int) -> str | None:
        """Where a body link goes from this output; None drops the link and keeps its words.

        A link to another document goes to that document's page (None when it is
        not built). Any other link is kept as written inside a relative channel,
        where the browser resolves it against the page, and made absolute (then
        campaign-tagged) where there is no page: as the browser would on the
        page this channel links the document to. ``#anchors`` stay in-page.
        """
        target = document_target(href)
        if target is not None:
            return self._document_link(doc, from_key, href, target, line)
        if not href:
            self.problems.warning("a link with an empty destination ([text]()) points at the page itself",
                                  SourcePos(doc.path, line))
        if from_key is not None or href.startswith("#"):
            return href
        return self.tag(absolute_link(href, self._page_url(doc)), doc)

    def _document_link(self, doc: Document, from_key: str | None, href: str, target: str,
                       line: int) -> str | None:
        other = self._doc_by_path.get(resolve_ref(doc.path.parent, target))
        key = self.link_key(other) if other else None
        if key is None:
            self.problems.warning(f"link to {href!r}: that document is not built (a draft?)",
                                  SourcePos(doc.path, line))
            return None  # the renderers keep the link's words and drop the link: no page points at a 404
        fragment = urlsplit(href).fragment
        if from_key is None:  # absolute: it leaves the channel, so it can carry the campaign
            url = self.tag(self.url(None, key), doc)
            return url + (f"#{fragment}" if fragment else "")
        return self.url(from_key, key) + (f"#{fragment}" if fragment else "")

    def _page_url(self, doc: Document) -> str:
        """The absolute URL relative body links resolve against: the document's page as this channel links it."""
        key = self.link_key(doc) or self.canonical_key(doc) or self.doc_key(doc)
        return self.url(None, key) if key else self.site.base_url

    def _image(self, doc: Document, from_key: str | None, src: str, alt: str, title: str, line: int,
               alone: bool) -> str:
        image_set = self.plan.image(self.channel.name, doc, f"inline:body:{src}")
        view = self.image(image_set, from_key)
        if view is None:
            self.problems.warning(f"image {src!r} has no renditions here; shown as it is",
                                  SourcePos(doc.path, line))
            return str(Markup('<img src="{}" alt="{}" loading="lazy">').format(src, alt))
        if alt:
            view["alt"] = alt
        if self._macros is not None:
            return str(self._macros.body_image(view, caption=title, figure=alone)).strip()  # no stray space in a link
        return str(Markup('<img src="{}" alt="{}" width="{}" height="{}" loading="lazy">').format(
            view["src"], view["alt"], view["width"], view["height"]))

    @property
    def _macros(self) -> Any:
        if not hasattr(self, "_macros_module"):
            has = any((d / "_macros.html").is_file() for d in self.templates.dirs)
            self._macros_module = self.templates.get("_macros.html").module if has else None
        return self._macros_module

    # ----- documents ------------------------------------------------------------

    def summary(self, doc: Document) -> str:
        """The front matter summary, or the first paragraph; cut to the channel's summary_length."""
        text = doc.summary or self.masters.parsed.facts(doc, self.rules.markdown).first_paragraph
        rules = self.rules.text
        return truncate(text, rules.summary_length, ellipsis=rules.ellipsis) if rules.summary_length else text

    def email_field(self, doc: Document, key: str) -> str | None:
        """front matter ``email.<key>`` as text; a wrong type or an unknown key is reported and ignored."""
        section = doc.meta.get("email")
        if section is not None and not isinstance(section, dict):
            self.problems.warning("email must be a table (subject, preheader); ignored", doc.pos("email"))
            return None
        for other in sorted(set(section or {}) - EMAIL_KEYS, key=str):  # Problems reports each once
            self.problems.warning(f"email.{other}: unknown key (known: {', '.join(sorted(EMAIL_KEYS))})",
                                  doc.pos(f"email.{other}"))
        value = section.get(key) if section else None
        if value is not None and not isinstance(value, str):
            self.problems.warning(f"email.{key} must be text, got {value!r}; ignored",
                                  doc.pos(f"email.{key}"))
            return None
        return value.strip() if value else None

    def subject(self, doc: Document) -> str:
        """An email's subject: front matter email.subject, else the title."""
        return self.email_field(doc, "subject") or doc.title

    def plain_text(self, doc: Document) -> str:
        """The body as text/plain: links as 'text (url)', tables and images degraded (see plaintext)."""
        strings = self.strings(doc.locale)
        width, notes, label = self.rules.text.plain_width, strings.get("notes", "Notes"), strings.get("image", "Image")
        first = doc.body_line - 1  # the renderers count body lines; problems name file lines

        def produce(link: Any, image: Any) -> str:
            return plaintext.to_text(self.masters.parsed.tokens(doc, self.rules.markdown),
                                     lambda href, line: link(href, first + line), width=width,
                                     notes_label=notes, image_label=label)

        return str(self._cached(doc, f"text:{width}:{notes}:{label}", None, produce))

    def body_blocks(self, doc: Document, from_key: str | None) -> list[dict[str, Any]]:
        """The body as structured blocks for native apps (see blocks)."""
        first = doc.body_line - 1

        def produce(link: Any, image: Any) -> list[dict[str, Any]]:
            return blocks.to_blocks(self.masters.parsed.tokens(doc, self.rules.markdown),
                                    lambda href, line: link(href, first + line),
                                    lambda src, alt, title, line: image("image_view", src, alt))

        return list(self._cached(doc, "blocks", from_key, produce))

    def tag_views(self, tags: tuple[str, ...], locale: str, from_key: str | None) -> list[dict[str, str]]:
        out = []
        for tag in tags:
            key = self.plan.tag_keys.get((self.channel.name, locale, tag))
            out.append({"name": tag, "slug": tag_slug(tag), "url": self.url(from_key, key) if key else ""})
        return out

    def _doc_base(self, doc: Document) -> dict[str, Any]:
        """The parts of a document's view that do not depend on the page showing it (memoised)."""
        base = self._doc_bases.get(doc.path)
        if base is None:
            updated = doc.updated or doc.date
            base = self._doc_bases[doc.path] = {
                "id": doc.doc_id,
                "title": doc.title,
                "slug": doc.slug,
                "locale": doc.locale,
                "date": _iso(doc.date),
                "date_text": self.date_text(doc.date, doc.locale),
                "updated": _iso(updated),
                "summary": self.summary(doc),
                "campaign": self.campaign(doc),
                "params": dict(doc.meta),
            }
        return base

    def doc_view(self, doc: Document, from_key: str | None) -> dict[str, Any]:
        """A document as a template sees it; what costs (bodies, JSON-LD, links) is made on first use."""
        key = self.doc_key(doc)
        base = dict(self._doc_base(doc))
        base["url"] = self.url(from_key, key) if key else ""
        base["absolute_url"] = self.url(None, key) if key else ""
        base["tags"] = self.tag_views(doc.tags, doc.locale, from_key)
        base["hero"] = self.image(self.plan.image(self.channel.name, doc, "hero:hero"), from_key)
        base["card"] = self.image(self.plan.image(self.channel.name, doc, "card:hero"), from_key)
        lazy: dict[str, Callable[[], Any]] = {
            "canonical_url": lambda: self.canonical_url(doc),
            "link": lambda: self.tag(self.canonical_url(doc), doc, "cta"),
            "outputs": lambda: {kind: self.url(None, k) for kind, k in
                                self.plan.doc_outputs.get((self.channel.name, doc.path), {}).items()},
            "body": lambda: self.body_html(doc, from_key),
            "text": lambda: self.plain_text(doc),
            "blocks": lambda: self.body_blocks(doc, from_key),
            "subject": lambda: self.subject(doc),
            "preheader": lambda: self.email_field(doc, "preheader") or truncate(
                self._doc_base(doc)["summary"], self.rules.text.preheader_length, ellipsis=self.rules.text.ellipsis),
            "share": lambda: self.image(self.plan.image(self.channel.name, doc, "share:hero"), None),
            "translations": lambda: self.translations(doc, from_key),
        }
        view = LazyView(base, lazy)
        lazy["jsonld"] = lambda: self.jsonld(doc, view)
        return view

    def translations(self, doc: Document, from_key: str | None) -> list[dict[str, str]]:
        out = []
        for locale in self.site.locales:
            other = self.plan.translations.get(doc.doc_id, {}).get(locale)
            key = self.doc_key(other) if other else None
            if other is not None and key is not None:
                out.append({"locale": locale, "title": other.title, "url": self.url(from_key, key),
                            "absolute_url": self.url(None, key), "current": other is doc})
        return out

    def jsonld(self, doc: Document, view: dict[str, Any]) -> Markup:
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": doc.title[:110],
            "description": view["summary"],
            "inLanguage": doc.locale,
            "mainEntityOfPage": view["canonical_url"],
            "url": view["canonical_url"],
            "publisher": {"@type": "Organization", "name": self.site.name},
        }
        if view["date"]:
            data["datePublished"] = view["date"]
            data["dateModified"] = view["updated"]
        if self.site.author:
            data["author"] = {"@type": "Person", "name": self.site.author}
        else:
            data["author"] = {"@type": "Organization", "name": self.site.name}
        images = [i["absolute_src"] for i in (view["share"], view["hero"]) if i]
        if images:
            data["image"] = images
        if doc.tags:
            data["keywords"] = ", ".join(doc.tags)
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
        return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))

    # ----- social -----------------------------------------------------------------

    def own_post_text(self, doc: Document, network: str) -> str | None:
        """The editor's text for a network: front matter social.<network>, else social.text."""
        section = doc.meta.get("social")
        if section is None:
            return None
        if not isinstance(section, dict):
            raise ContentpipeError("social must be a table of network: text", doc.pos("social"))
        if doc.path not in self._social_checked:
            self._social_checked.add(doc.path)
            known = {*self.rules.networks, "text"}
            for key in sorted(set(section) - known, key=str):
                self.problems.warning(f"social.{key}: no such network here (known: {', '.join(sorted(known))})",
                                      doc.pos(f"social.{key}"))
        for key in (network, "text"):
            value = section.get(key)
            if value is not None:
                if not isinstance(value, str):
                    raise ContentpipeError(f"social.{key} must be text, got {value!r}", doc.pos(f"social.{key}"))
                return value.strip()
        return None

    def post_view(self, doc: Document, net: NetworkRules, view: dict[str, Any]) -> dict[str, Any]:
        """The payload a scheduler posts: text within the network's limits, link, hashtags, image."""
        link = self.tag(self.canonical_url(doc), doc, "post", net)
        own = self.own_post_text(doc, net.key)
        try:
            post = social.compose(net, title=doc.title, summary=view["summary"], link=link, tags=doc.tags,
                                  own_text=own, ellipsis=self.rules.text.ellipsis, canonical=self.canonical_url(doc))
        except social.PostError as err:
            key = f"social.{net.key}" if f"social.{net.key}" in doc.lines else "social.text"
            raise ContentpipeError(str(err), doc.pos(key)) from err
        image = self.image(self.plan.image(self.channel.name, doc, f"{net.image}:hero"), None) if net.image else None
        return {
            "network": net.key,
            "name": net.name,
            "text": post.text,
            "length": post.length,
            "limit": net.limit,
            "counting": net.counting,
            "generated": post.generated,
            "hashtags": list(post.hashtags),
            "link": link,
            "link_in_text": net.link == "text",
            "image": None if image is None else {
                "url": image["absolute_src"], "width": image["width"], "height": image["height"],
                "type": image["type"], "alt": image["alt"], "credit": image["credit"]},
        }

    # ----- the context ----------------------------------------------------------

    def for_output(self, out: PlannedOutput) -> dict[str, Any]:
        key = out.key
        from_key: str | None = key
        absolute_only = self.rules.urls == "absolute" or not key.endswith((".html", ".htm"))
        if absolute_only:
            from_key = None  # feeds, sitemaps, JSON: absolute URLs only
        locale = out.locale or self.site.default_locale
        ctx: dict[str, Any] = {
            "site": self.site_view(from_key),
            "channel": {"name": self.channel.name, "params": dict(self.rules.params),
                        "email": {"from": self.rules.email.sender or "",
                                  "unsubscribe_url": self.rules.email.unsubscribe_url or ""}},
            "locale": locale,
            "t": self.strings(locale),
            "output": {"kind": out.rule.kind, "key": key, "url": self.url(from_key, key),
                       "absolute_url": self.url(None, key), "page": out.page, "pages": out.pages},
            "links": self.locale_links(locale, from_key),
            "alternates": self.alternates(out, from_key),
        }
        if out.pages > 1:
            idx = out.page - 1
            ctx["output"]["prev_url"] = self.url(from_key, out.page_keys[idx - 1]) if idx > 0 else ""
            ctx["output"]["next_url"] = (self.url(from_key, out.page_keys[idx + 1])
                                         if idx + 1 < out.pages else "")
        if out.doc is not None:
            ctx["doc"] = self.doc_view(out.doc, from_key)
            if out.rule.network is not None:
                ctx["post"] = self.post_view(out.doc, self.rules.networks[out.rule.network], ctx["doc"])
        if out.rule.per in ("locale", "tag"):
            ctx["items"] = [self.doc_view(d, from_key) for d in out.items]
            ctx["tag"] = ({"name": out.tag, "slug": tag_slug(out.tag)} if out.tag else None)
            ctx["updated"] = max((i["updated"] for i in ctx["items"] if i["updated"]), default="1970-01-01T00:00:00Z")
        if out.rule.per == "site":
            ctx["entries"] = self.sitemap_entries()
        return ctx

    def site_view(self, from_key: str | None) -> dict[str, Any]:
        """The site as templates see it, with its icon links and default share image (None without)."""
        site = self.site
        return {"name": site.name, "base_url": site.base_url, "description": site.description,
                "author": site.author, "locales": list(site.locales), "default_locale": site.default_locale,
                "theme_color": site.theme_color, "icon": self.icon_links(from_key),
                "share": self.image(self.plan.site_images.get((self.channel.name, SHARE_SLOT)), None)}

    def icon_links(self, from_key: str | None) -> dict[str, str] | None:
        """URLs of the [site] icon set: the 32 px icon, the apple-touch-icon, the web manifest ('' without)."""
        icons = self.plan.icons
        if icons is None:
            return None
        icon, touch = icons.pngs["icon"], icons.pngs["apple_touch"]
        manifest = next((f.key for f in self.plan.site_files if f.key == WEB_MANIFEST), None)
        return {"url": self.url(from_key, urls.media_key(icon.name)), "type": icon.mime,
                "sizes": f"{icon.width}x{icon.height}",
                "apple_touch_url": self.url(from_key, urls.media_key(touch.name)),
                "apple_touch_sizes": f"{touch.width}x{touch.height}",
                "manifest_url": self.url(from_key, manifest) if manifest else ""}

    def locale_links(self, locale: str, from_key: str | None) -> dict[str, str]:
        """URLs of the locale's list outputs by kind (index, feed...)."""
        links = {}
        for (channel, kind, loc), key in self.plan.locale_keys.items():
            if channel == self.channel.name and loc == locale:
                links[kind] = self.url(from_key, key)
                links[f"{kind}_absolute"] = self.url(None, key)
        return links

    def alternates(self, out: PlannedOutput, from_key: str | None) -> list[dict[str, str]]:
        """The same output in every locale: hreflang links."""
        if out.doc is not None:
            return [{"locale": t["locale"], "url": t["url"], "absolute_url": t["absolute_url"]}
                    for t in self.translations(out.doc, from_key)]
        if out.rule.per == "locale" and out.page == 1:
            found = []
            for loc in self.site.locales:
                key = self.plan.locale_keys.get((self.channel.name, out.rule.kind, loc))
                if key:
                    found.append({"locale": loc, "url": self.url(from_key, key),
                                  "absolute_url": self.url(None, key)})
            return found
        return []

    def sitemap_entries(self) -> list[dict[str, Any]]:
        """Every HTML page of the channel with its hreflang alternates (and x-default)."""
        entries = []
        for out in self.plan.outputs:
            if out.channel.name != self.channel.name or not out.key.endswith(".html"):
                continue
            alternates = self.alternates(out, None)
            if len(alternates) > 1:
                default = next((a for a in alternates if a["locale"] == self.site.default_locale), None)
                if default:
                    alternates = [*alternates, {"locale": "x-default", "url": default["url"],
                                                "absolute_url": default["absolute_url"]}]
            else:
                alternates = []
            lastmod = _iso(out.doc.updated or out.doc.date) if out.doc is not None else ""
            entries.append({"loc": self.url(None, out.key), "lastmod": lastmod, "alternates": alternates})
        return entries


def _iso(when: datetime | None) -> str:
    """RFC 3339 with 'Z' for UTC, as Atom, sitemaps and JSON-LD want it."""
    return when.isoformat().replace("+00:00", "Z") if when else ""
