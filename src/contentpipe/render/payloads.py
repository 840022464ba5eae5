"""What other machines read: social posts, JSON-LD, sitemap entries; absolute URLs throughout."""

from __future__ import annotations

import json
from typing import Any

from markupsafe import Markup

from contentpipe.config.rules import NetworkRules
from contentpipe.errors import ContentpipeError
from contentpipe.load.documents import Document
from contentpipe.render import social
from contentpipe.render.links import Links
from contentpipe.render.parts import Scope
from contentpipe.render.views import Views, iso
from contentpipe.text.truncate import fold_index


class Payloads:
    """One channel's social payloads, JSON-LD and sitemap entries."""

    def __init__(self, scope: Scope, links: Links, views: Views) -> None:
        self.scope, self.links, self.views = scope, links, views

    def own_post_text(self, doc: Document, network: str) -> str | None:
        """The editor's text for a network: front matter social.<network>, else social.text.

        A text the loader found unusable fails the posts that would use it, each with its key.
        """
        if "social" in doc.social_errors:
            raise ContentpipeError(doc.social_errors["social"], doc.pos("social"))
        for name in (network, "text"):
            if f"social.{name}" in doc.social_errors:
                raise ContentpipeError(doc.social_errors[f"social.{name}"], doc.pos(f"social.{name}"))
            if name in doc.social_texts:
                return doc.social_texts[name]
        return None

    def post_view(self, doc: Document, net: NetworkRules, view: dict[str, Any]) -> dict[str, Any]:
        """The payload a scheduler posts: text within the network's limits, link, hashtags, image."""
        canonical = self.links.canonical_url(doc)
        link = self.links.tag(canonical, doc, "post", net)
        own = self.own_post_text(doc, net.key)
        try:
            post = social.compose(net, title=doc.title, summary=view["summary"], link=link, tags=doc.tags,
                                  own_text=own, ellipsis=self.scope.rules.text.ellipsis, canonical=canonical)
        except social.PostError as err:
            key = f"social.{net.key}" if f"social.{net.key}" in doc.lines else "social.text"
            raise ContentpipeError(str(err), doc.pos(key)) from err
        image = self.views.doc_image(doc, f"{net.image}:hero", None) if net.image else None
        fold = fold_index(post.text, net.counting, net.fold, net.url_length) if net.fold else None
        return {
            "network": net.key,
            "name": net.name,
            "text": post.text,
            "length": post.length,
            "limit": net.limit,
            "counting": net.counting,
            "fold": fold,
            "fold_utf16": None if fold is None else len(post.text[:fold].encode("utf-16-le")) // 2,
            "generated": post.generated,
            "hashtags": list(post.hashtags),
            "link": link,
            "link_in_text": net.link == "text",
            "image": None if image is None else {
                "url": image["absolute_src"], "width": image["width"], "height": image["height"],
                "type": image["type"], "alt": image["alt"], "credit": image["credit"]},
        }

    def jsonld(self, doc: Document, view: dict[str, Any]) -> Markup:
        """schema.org Article for the document's page, safe inside a <script> element."""
        site = self.scope.site
        data: dict[str, Any] = {
            "@context": "https://schema.org",
            "@type": "Article",
            "headline": doc.title[:110],
            "description": view["summary"],
            "inLanguage": doc.locale,
            "mainEntityOfPage": view["canonical_url"],
            "url": view["canonical_url"],
            "publisher": {"@type": "Organization", "name": site.name},
        }
        if view["date"]:
            data["datePublished"] = view["date"]
            data["dateModified"] = view["updated"]
        if site.author:
            data["author"] = {"@type": "Person", "name": site.author}
        else:
            data["author"] = {"@type": "Organization", "name": site.name}
        images = [i["absolute_src"] for i in (view["share"], view["hero"]) if i]
        if images:
            data["image"] = images
        if doc.tags:
            data["keywords"] = ", ".join(doc.tags)
        text = json.dumps(data, ensure_ascii=False, sort_keys=True, indent=2)
        return Markup(text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026"))

    def sitemap_entries(self) -> list[dict[str, Any]]:
        """Every HTML page of the channel with its hreflang alternates (and x-default)."""
        entries = []
        for out in self.scope.plan.outputs:
            if out.channel.name != self.scope.name or not out.key.endswith(".html"):
                continue
            alternates = self.views.alternates(out, None)
            if len(alternates) > 1:
                default = next((a for a in alternates if a["locale"] == self.scope.site.default_locale), None)
                if default:
                    alternates = [*alternates, {"locale": "x-default", "url": default["url"],
                                                "absolute_url": default["absolute_url"]}]
            else:
                alternates = []
            lastmod = iso(out.doc.updated or out.doc.date) if out.doc is not None else ""
            entries.append({"loc": self.links.url(None, out.key), "lastmod": lastmod, "alternates": alternates})
        return entries
