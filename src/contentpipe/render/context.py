"""Template contexts: plain data for one planned output, composed from the render parts.

The parts: links.py (URL policy, campaign tags, body links), views.py (strings,
dates, images, documents), bodies.py (HTML, plain text, blocks, the body
cache), payloads.py (social posts, JSON-LD, sitemap entries).
"""

from __future__ import annotations

from types import MappingProxyType
from typing import Any

from contentpipe.errors import Problems
from contentpipe.load.documents import Document
from contentpipe.load.masters import Masters
from contentpipe.load.packs import Channel
from contentpipe.plan import Plan, PlannedOutput, tag_slug
from contentpipe.render.bodies import Bodies
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.links import Links
from contentpipe.render.parts import Report, Scope
from contentpipe.render.payloads import Payloads
from contentpipe.render.templates import Templates
from contentpipe.render.views import DocViews, Views


class ContextBuilder:
    """Builds the template context of each output of one channel.

    ``problems`` may be replaced between outputs (one ``Problems`` per output):
    every part reports to the one set at the time. With ``reads`` set to a set,
    the item views of list outputs add to it each key a template reads
    (``"*"`` for the whole view); ``"updated"`` is always among them, as the
    list's own ``updated`` is the newest of its items'.
    """

    def __init__(self, plan: Plan, channel: Channel, templates: Templates, masters: Masters,
                 problems: Problems, body_cache: BodyCache | None = None) -> None:
        self.plan, self.channel, self.templates, self.masters = plan, channel, templates, masters
        self.problems = problems
        self.reads: set[str] | None = None
        self.body_cache = body_cache or BodyCache(None)
        self.rules, self.site = channel.rules, plan.site
        scope = Scope(plan, channel, masters, MappingProxyType(masters.by_path()))
        report = Report(lambda: self.problems)
        self.links = Links(scope, report)
        self.views = Views(scope, report, self.links)
        self.bodies = Bodies(scope, report, self.links, self.views, templates, self.body_cache)
        self.payloads = Payloads(scope, self.links, self.views)
        self.docs = DocViews(scope, report, self.links, self.views, self.bodies, self.payloads)

    def subject(self, doc: Document) -> str:
        """An email's subject (the .eml's Subject header)."""
        return self.views.subject(doc)

    def for_output(self, out: PlannedOutput) -> dict[str, Any]:
        key = out.key
        from_key: str | None = key
        if self.rules.urls == "absolute" or not key.endswith((".html", ".htm")):
            from_key = None  # feeds, sitemaps, JSON: absolute URLs only
        locale = out.locale or self.site.default_locale
        url, views = self.links.url, self.views
        ctx: dict[str, Any] = {
            "site": views.site_view(from_key),
            "channel": {"name": self.channel.name, "params": dict(self.rules.params),
                        "email": {"from": self.rules.email.sender or "",
                                  "unsubscribe_url": self.rules.email.unsubscribe_url or ""}},
            "locale": locale,
            "t": views.strings(locale),
            "output": {"kind": out.rule.kind, "key": key, "url": url(from_key, key),
                       "absolute_url": url(None, key), "page": out.page, "pages": out.pages},
            "links": views.locale_links(locale, from_key),
            "alternates": views.alternates(out, from_key),
        }
        if out.pages > 1:
            idx = out.page - 1
            ctx["output"]["prev_url"] = url(from_key, out.page_keys[idx - 1]) if idx > 0 else ""
            ctx["output"]["next_url"] = url(from_key, out.page_keys[idx + 1]) if idx + 1 < out.pages else ""
        if out.doc is not None:
            ctx["doc"] = self.docs.view(out.doc, from_key)
            if out.rule.network is not None:
                ctx["post"] = self.payloads.post_view(out.doc, self.rules.networks[out.rule.network], ctx["doc"])
        if out.rule.per in ("locale", "tag"):
            ctx["items"] = [self.docs.view(d, from_key, self.reads) for d in out.items]
            ctx["tag"] = ({"name": out.tag, "slug": tag_slug(out.tag)} if out.tag else None)
            ctx["updated"] = max((i["updated"] for i in ctx["items"] if i["updated"]), default="1970-01-01T00:00:00Z")
        if out.rule.per == "site":
            ctx["entries"] = self.payloads.sitemap_entries()
        return ctx
