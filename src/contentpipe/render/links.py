"""URL policy of one channel: relative or absolute URLs, where links to documents go, campaign tags.

Inside a channel every URL is relative to the output being rendered (see
urls.py); feeds, sitemaps, canonical links and social meta get absolute URLs.
Body links are resolved here too, as the output showing the body sees them.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from contentpipe import urls
from contentpipe.errors import SourcePos
from contentpipe.load.documents import Document, resolve_ref
from contentpipe.load.masters import document_target
from contentpipe.render.parts import Report, Scope
from contentpipe.text.links import absolute_link, is_site_url, tag_url


class Links:
    """URLs, document keys and campaign tagging for one channel."""

    def __init__(self, scope: Scope, report: Report) -> None:
        self.scope = scope
        self.report = report

    def url(self, from_key: str | None, key: str) -> str:
        """Relative from an output, or absolute when ``from_key`` is None (feeds, meta)."""
        return urls.absolute(self.scope.site.base_url, key) if from_key is None else urls.relative(from_key, key)

    def doc_key(self, doc: Document) -> str | None:
        return self.scope.plan.doc_keys.get((self.scope.name, doc.path))

    def canonical_key(self, doc: Document) -> str | None:
        """The key of the document's page in the canonical channel (the web page)."""
        return self.scope.plan.doc_keys.get((self.scope.site.canonical_channel, doc.path))

    def canonical_url(self, doc: Document) -> str:
        """The absolute URL of the document's canonical page (this channel's own page without one)."""
        key = self.canonical_key(doc) or self.doc_key(doc)
        return self.url(None, key) if key else ""

    def link_key(self, doc: Document) -> str | None:
        """Where a link to a document goes from this channel: its own page or the canonical one."""
        if self.scope.rules.links.documents == "canonical":
            return self.canonical_key(doc)
        return self.doc_key(doc)

    def campaign(self, doc: Document) -> str:
        return doc.campaign or self.scope.site.campaign

    def utm(self, doc: Document, kind: str, network: Any = None) -> dict[str, str]:
        """Campaign parameters for one document's links, from the channel's [links] rules."""
        fields = {"channel": self.scope.name, "network": network.key if network else "", "slug": doc.slug,
                  "locale": doc.locale, "kind": kind, "campaign": self.campaign(doc)}
        links = self.scope.rules.links
        source = network.utm_source if network else links.utm_source
        medium = network.utm_medium if network else links.utm_medium
        return {"utm_source": source.format(**fields), "utm_medium": medium.format(**fields),
                "utm_campaign": fields["campaign"], "utm_content": links.utm_content.format(**fields)}

    def tag(self, url: str, doc: Document, kind: str = "body", network: Any = None) -> str:
        """A link with the channel's campaign parameters, when its [links] rules tag this URL."""
        scope = self.scope.rules.links.tag
        if scope == "none" or not url or not self.campaign(doc):
            return url
        if scope == "site" and not is_site_url(url, self.scope.site.base_url):
            return url
        return tag_url(url, self.utm(doc, kind, network))

    # ----- body links -------------------------------------------------------------

    def body_link(self, doc: Document, from_key: str | None, href: str, line: int) -> str | None:
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
            self.report.warning("a link with an empty destination ([text]()) points at the page itself",
                                SourcePos(doc.path, line))
        if from_key is not None or href.startswith("#"):
            return href
        return self.tag(absolute_link(href, self.page_url(doc)), doc)

    def _document_link(self, doc: Document, from_key: str | None, href: str, target: str,
                       line: int) -> str | None:
        other = self.scope.doc_by_path.get(resolve_ref(doc.path.parent, target))
        key = self.link_key(other) if other else None
        if key is None:
            self.report.warning(f"link to {href!r}: that document is not built (a draft?)",
                                SourcePos(doc.path, line))
            return None  # the renderers keep the link's words and drop the link: no page points at a 404
        fragment = urlsplit(href).fragment
        if from_key is None:  # absolute: it leaves the channel, so it can carry the campaign
            url = self.tag(self.url(None, key), doc)
            return url + (f"#{fragment}" if fragment else "")
        return self.url(from_key, key) + (f"#{fragment}" if fragment else "")

    def page_url(self, doc: Document) -> str:
        """The absolute URL relative body links resolve against: the document's page as this channel links it."""
        key = self.link_key(doc) or self.canonical_key(doc) or self.doc_key(doc)
        return self.url(None, key) if key else self.scope.site.base_url
