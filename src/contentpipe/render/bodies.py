"""A document's body as one output shows it: HTML, plain text or app blocks, kept between builds.

Each rendering records its link and image lookups with their answers; a body
from the cache is reused only while asking again gives the same answers (see
bodycache.py), which also raises their warnings again.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from markupsafe import Markup

from contentpipe.errors import SourcePos
from contentpipe.load.documents import Document
from contentpipe.load.parsed import rules_key
from contentpipe.render import blocks, markdown, plaintext
from contentpipe.render.bodycache import BodyCache
from contentpipe.render.links import Links
from contentpipe.render.parts import Memo, Report, Scope
from contentpipe.render.templates import Templates
from contentpipe.render.views import Views

_UNSET = object()


class Bodies:
    """Rendered bodies of one channel; HTML memoised per (document, page) for the whole build."""

    def __init__(self, scope: Scope, report: Report, links: Links, views: Views, templates: Templates,
                 cache: BodyCache) -> None:
        self.scope, self.report, self.links, self.views = scope, report, links, views
        self.templates, self.cache = templates, cache
        self._html: Memo[tuple[str, str | None], Markup] = Memo(report)
        self._macros_module: Any = _UNSET

    def html(self, doc: Document, from_key: str | None) -> Markup:
        """The rendered body as seen from ``from_key`` (None: absolute URLs), cached between builds."""
        def produce(link: Any, image: Any) -> str:
            env = markdown.BodyEnv(link=link, image=lambda *a: image("image", *a), line_offset=doc.body_line)
            rules = self.scope.rules.markdown
            return markdown.render(rules, self.scope.masters.parsed.tokens(doc, rules), env)

        return self._html.get((str(doc.path), from_key),
                              lambda: Markup(self._cached(doc, "html", from_key, produce)))

    def text(self, doc: Document) -> str:
        """The body as text/plain: links as 'text (url)', tables and images degraded (see plaintext)."""
        strings = self.views.strings(doc.locale)
        width = self.scope.rules.text.plain_width
        notes, label = strings.get("notes", "Notes"), strings.get("image", "Image")
        first = doc.body_line - 1  # the renderers count body lines; problems name file lines

        def produce(link: Any, image: Any) -> str:
            return plaintext.to_text(self.scope.masters.parsed.tokens(doc, self.scope.rules.markdown),
                                     lambda href, line: link(href, first + line), width=width,
                                     notes_label=notes, image_label=label)

        return str(self._cached(doc, f"text:{width}:{notes}:{label}", None, produce))

    def blocks(self, doc: Document, from_key: str | None) -> list[dict[str, Any]]:
        """The body as structured blocks for native apps (see blocks)."""
        first = doc.body_line - 1

        def produce(link: Any, image: Any) -> list[dict[str, Any]]:
            return blocks.to_blocks(self.scope.masters.parsed.tokens(doc, self.scope.rules.markdown),
                                    lambda href, line: link(href, first + line),
                                    lambda src, alt, title, line: image("image_view", src, alt))

        return list(self._cached(doc, "blocks", from_key, produce))

    def _cached(self, doc: Document, what: str, from_key: str | None, produce: Callable[..., Any]) -> Any:
        """A body rendering kept between builds, reused while replaying its lookups gives the same answers.

        ``produce(link, image)`` renders from the tokens; ``link(href, line)`` and
        ``image(kind, *args)`` answer (and record) each lookup the rendering makes.
        """
        cache_key = self.cache.key(doc.sha256, f"{self.scope.name}|{what}", rules_key(self.scope.rules.markdown),
                                   from_key)
        entry = self.cache.get(cache_key)
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
        self.cache.put(cache_key, {"value": value, "calls": calls})
        return value

    def _lookup(self, doc: Document, from_key: str | None, call: list[Any]) -> Any:
        """Answer one link or image lookup of a body (also used to check a cached body)."""
        if call[0] == "link":
            return self.links.body_link(doc, from_key, call[1], call[2])
        if call[0] == "image_view":
            src, alt = call[1], call[2]
            view = self.views.doc_image(doc, f"inline:body:{src}", from_key)
            if view is not None and alt:
                view["alt"] = alt
            return view
        return self._image(doc, from_key, *call[1:])

    def _image(self, doc: Document, from_key: str | None, src: str, alt: str, title: str, line: int,
               alone: bool) -> str:
        view = self.views.doc_image(doc, f"inline:body:{src}", from_key)
        if view is None:
            self.report.warning(f"image {src!r} has no renditions here; shown as it is", SourcePos(doc.path, line))
            return str(Markup('<img src="{}" alt="{}" loading="lazy">').format(src, alt))
        if alt:
            view["alt"] = alt
        if self._macros is not None:
            return str(self._macros.body_image(view, caption=title, figure=alone)).strip()  # no stray space in a link
        return str(Markup('<img src="{}" alt="{}" width="{}" height="{}" loading="lazy">').format(
            view["src"], view["alt"], view["width"], view["height"]))

    @property
    def _macros(self) -> Any:
        """The pack's ``_macros.html`` module (its ``body_image`` draws body images), None without one."""
        if self._macros_module is _UNSET:
            has = any((d / "_macros.html").is_file() for d in self.templates.dirs)
            self._macros_module = self.templates.get("_macros.html").module if has else None
        return self._macros_module
