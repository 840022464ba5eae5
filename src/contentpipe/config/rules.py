"""channel.toml: a channel's rules (outputs, images, Markdown, cache, strings).

A pack that ``extends`` another is validated on its own (so problems name its
file), then deep-merged over its parent: tables merge key by key, any other
value replaces the parent's.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from email.utils import parseaddr
from pathlib import Path
from types import MappingProxyType
from typing import Any

from contentpipe.config.schema import Field, Table, in_range
from contentpipe.errors import Problems, SourcePos

PER = ("document", "locale", "tag", "site")
OUTPUT_FORMATS = ("text", "json", "email", "eml")
COUNTINGS = ("characters", "graphemes", "x-weighted")
LINK_PLACES = ("text", "field", "none")
TAG_SCOPES = ("site", "all", "none")
UTM_PLACEHOLDERS = frozenset({"channel", "network", "slug", "locale", "kind", "campaign"})
FORMATS = ("avif", "webp", "jpeg", "png")
FITS = ("scale", "fill", "pad")
METADATA = ("credit", "rights")
PLACEHOLDERS: dict[str, frozenset[str]] = {
    "document": frozenset({"locale", "locale_dir", "dir", "slug"}),
    "locale": frozenset({"locale", "locale_dir", "page_dir"}),
    "tag": frozenset({"locale", "locale_dir", "tag", "page_dir"}),
    "site": frozenset(),
}

def _colour(value: str) -> tuple[int, int, int] | None:
    """'#1a2b3c' -> (26, 43, 60); None when it is not a 6-digit hex colour."""
    if len(value) == 7 and value[0] == "#":
        try:
            return (int(value[1:3], 16), int(value[3:5], 16), int(value[5:7], 16))
        except ValueError:
            return None
    return None


def _ratio(value: str) -> float | None:
    """'16:9' -> 1.777...; None when it is not a ratio of two positive numbers."""
    w, sep, h = value.partition(":")
    try:
        ratio = float(w) / float(h) if sep else 0.0
    except (ValueError, ZeroDivisionError):
        return None
    return ratio if ratio > 0 else None


OUTPUT = Table({
    "per": Field("str", choices=PER, doc="one output per document, locale, tag (per locale) or site"),
    "template": Field("str"),
    "path": Field("str", doc="path inside the channel folder, with {placeholders}"),
    "content_type": Field("str", None),
    "cache": Field("str", None, doc="a policy name from [cache]"),
    "paginate": Field("int", 0, check=in_range(0, 10_000), doc="items per page; 0 = one page"),
    "limit": Field("int", 0, check=in_range(0, 100_000), doc="at most this many items; 0 = all"),
    "format": Field("str", "text", choices=OUTPUT_FORMATS,
                    doc="text: the template's output; json: checked and pretty-printed; email: CSS inlined "
                        "and linted for email clients; eml: a MIME message assembled from 'parts'"),
    "parts": Field("list[str]", [], doc="eml: the document outputs that become its text/plain and text/html parts"),
    "network": Field("str", None, doc="social: the [networks.*] entry whose post this output renders"),
})

NETWORK = Table({
    "name": Field("str", None, doc="display name"),
    "limit": Field("int", check=in_range(1, 100_000), doc="longest post text, as the network counts it"),
    "counting": Field("str", "characters", choices=COUNTINGS),
    "url_length": Field("int", None, check=in_range(1, 1000), doc="every URL counts this much (X, Mastodon: 23)"),
    "max_bytes": Field("int", None, check=in_range(1, 1_000_000), doc="a UTF-8 byte cap on top (Bluesky: 3000)"),
    "hashtags": Field("int", 3, check=in_range(0, 100), doc="at most this many hashtags from the tags"),
    "max_hashtags": Field("int", None, check=in_range(0, 1000),
                          doc="the network's own cap on hashtags in a post (Instagram: 5); more is an error"),
    "link": Field("str", "text", choices=LINK_PLACES,
                  doc="text: the link is part of the post text; field: sent beside it (a link card); none"),
    "image": Field("str", None, doc="the image slot of the share image"),
    "fold": Field("int", None, check=in_range(1, 100_000),
                  doc="how much of a post shows before the network's \"see more\", counted its way (LinkedIn: 140)"),
    "utm_source": Field("str", None, doc="campaign source; default: the network's key"),
    "utm_medium": Field("str", "social"),
})

IMAGE_SLOT = Table({
    "widths": Field("list[int]", None, check=in_range(16, 8192)),
    "size": Field("size", None, check=in_range(16, 8192)),
    "aspect": Field("str", None, check=lambda v: None if _ratio(v) else "must be 'W:H' like '16:9'",
                    doc="crop every width to this aspect ratio around the focal point"),
    "fit": Field("str", None, choices=FITS,
                 doc="scale: fit inside, keep the whole image; fill: crop around the focal point; pad: fit "
                     "inside and pad to the exact size with background"),
    "background": Field("str", "#ffffff", check=lambda v: None if _colour(v) is not None or v == "transparent"
                        else "must be '#rrggbb' or 'transparent'", doc="pad colour"),
    "metadata": Field("list[str]", [], choices=METADATA,
                      doc="what renditions keep: credit -> EXIF Artist, rights -> EXIF Copyright; nothing else"),
    "formats": Field("list[str]", ["jpeg"], choices=FORMATS),
    "quality": Table(each=Field("int", check=in_range(1, 100))),
    "sizes": Field("str", "100vw", doc="the HTML sizes attribute for srcset"),
    "upscale": Field("bool", False),
    "title": Field("bool", False, doc="a share card: the document's title set over the hero image"),
})

RULES_SCHEMA = Table({
    "channel": Table({
        "description": Field("str", ""),
        "extends": Field("str", None),
        "publish_at": Field("str", None, doc="published path prefix; '' = site root"),
        "urls": Field("str", "relative", choices=("relative", "absolute"),
                      doc="links between outputs: relative (works under any prefix) or absolute (email)"),
    }),
    "links": Table({
        "tag": Field("str", "none", choices=TAG_SCOPES,
                     doc="which links get campaign parameters: site (links to our own site), all, none"),
        "utm_source": Field("str", "{channel}"),
        "utm_medium": Field("str", "{channel}"),
        "utm_content": Field("str", "{slug}"),
        "documents": Field("str", "channel", choices=("channel", "canonical"),
                           doc="links between documents go to this channel's pages or the canonical channel's"),
    }),
    "text": Table({
        "summary_length": Field("int", 0, check=in_range(0, 100_000), doc="cut summaries to this; 0 = keep"),
        "preheader_length": Field("int", 110, check=in_range(0, 1000)),
        "ellipsis": Field("str", "…"),
        "plain_width": Field("int", 76, check=in_range(0, 1000), doc="wrap plain text; 0 = never"),
    }),
    "email": Table({
        "from": Field("str", None, check=lambda v: None if "@" in parseaddr(v)[1].strip("@")
                      else "must be an address like 'Name <news@example.com>'",
                      doc="the From header of .eml outputs: 'Name <address>'"),
        "reply_to": Field("str", None),
        "unsubscribe_url": Field("str", None, doc="List-Unsubscribe (one-click) target"),
        "max_html_bytes": Field("int", 102_000, check=in_range(1000, 10_000_000),
                                doc="Gmail clips a message whose HTML is larger (about 102 KB)"),
    }),
    "networks": Table(each=NETWORK),
    "outputs": Table(each=OUTPUT),
    "images": Table(each=IMAGE_SLOT),
    "markdown": Table({
        "html": Field("str", "sanitize", choices=("sanitize", "allow", "escape", "strip"),
                      doc="raw HTML in Markdown: cleaned with nh3, kept, shown as text, or reduced to its text"),
        "typographer": Field("bool", False),
        "heading_anchors": Field("bool", True),
        "tables": Field("bool", True),
        "strikethrough": Field("bool", True),
        "footnotes": Field("bool", True),
    }),
    "cache": Table(each=Field("str")),
    "strings": Table(each=Table(each=Field("str"))),
    "params": Table(each=Field("any")),
})

DEFAULT_QUALITY = MappingProxyType({"jpeg": 82, "webp": 78, "avif": 55, "png": 100})
DEFAULT_CACHE = MappingProxyType({
    "page": "public, max-age=300",
    "feed": "public, max-age=300",
    "asset": "public, max-age=86400",
    "rendition": "public, max-age=31536000, immutable",
})


@dataclass(frozen=True)
class OutputRule:
    kind: str
    per: str
    template: str
    path: str
    content_type: str | None
    cache: str
    paginate: int = 0
    limit: int = 0
    format: str = "text"
    parts: tuple[str, ...] = ()
    network: str | None = None


@dataclass(frozen=True)
class ImageSlot:
    name: str
    widths: tuple[int, ...]
    size: tuple[int, int] | None
    aspect: float | None
    fit: str
    formats: tuple[str, ...]
    quality: Mapping[str, int]
    sizes: str
    upscale: bool
    background: str = "#ffffff"  # "#rrggbb" or "transparent" (pad)
    metadata: tuple[str, ...] = ()  # sidecar fields written into the renditions' EXIF
    title: bool = False  # set the document's title over the image (a share card)


@dataclass(frozen=True)
class MarkdownRules:
    html: str = "sanitize"
    typographer: bool = False
    heading_anchors: bool = True
    tables: bool = True
    strikethrough: bool = True
    footnotes: bool = True


@dataclass(frozen=True)
class LinkRules:
    tag: str = "none"
    utm_source: str = "{channel}"
    utm_medium: str = "{channel}"
    utm_content: str = "{slug}"
    documents: str = "channel"


@dataclass(frozen=True)
class TextRules:
    summary_length: int = 0
    preheader_length: int = 110
    ellipsis: str = "…"
    plain_width: int = 76


@dataclass(frozen=True)
class EmailRules:
    sender: str | None = None
    reply_to: str | None = None
    unsubscribe_url: str | None = None
    max_html_bytes: int = 102_000


@dataclass(frozen=True)
class NetworkRules:
    key: str
    name: str
    limit: int
    counting: str = "characters"
    url_length: int | None = None
    max_bytes: int | None = None
    hashtags: int = 3
    max_hashtags: int | None = None
    link: str = "text"
    image: str | None = None
    fold: int | None = None
    utm_source: str = ""
    utm_medium: str = "social"


@dataclass(frozen=True)
class ChannelRules:
    name: str
    description: str
    publish_at: str
    outputs: Mapping[str, OutputRule]
    images: Mapping[str, ImageSlot]
    markdown: MarkdownRules
    cache: Mapping[str, str]
    strings: Mapping[str, Mapping[str, str]]
    params: Mapping[str, Any] = field(default_factory=dict)
    urls: str = "relative"
    links: LinkRules = LinkRules()
    text: TextRules = TextRules()
    email: EmailRules = EmailRules()
    networks: Mapping[str, NetworkRules] = field(default_factory=dict)

    def string(self, locale: str, key: str) -> str:
        """A UI string for a locale, falling back to its language, then English, then the key."""
        for loc in (locale, locale.split("-")[0], "en"):
            if key in self.strings.get(loc, {}):
                return self.strings[loc][key]
        return key


def deep_merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def build_rules(name: str, merged: Mapping[str, Any], origin: Mapping[str, SourcePos],
                problems: Problems) -> ChannelRules:
    """Turn merged, validated raw tables into ChannelRules; check what needs the merge."""
    channel = merged.get("channel", {})
    outputs: dict[str, OutputRule] = {}
    for kind, raw in merged.get("outputs", {}).items():
        where = origin.get(f"outputs.{kind}", SourcePos(Path(f"channels/{name}/channel.toml")))
        needed = ("per", "path") if raw.get("format") == "eml" else ("per", "template", "path")
        missing = [k for k in needed if not raw.get(k)]
        if missing:
            problems.error(f"output '{kind}' needs {', '.join(missing)}", where)
            continue
        if bad := _bad_placeholders(raw["path"], raw["per"]):
            allowed = ", ".join(sorted(PLACEHOLDERS[raw["per"]])) or "none"
            problems.error(f"path {raw['path']!r} uses {bad} (allowed for per = '{raw['per']}': {allowed})",
                           where)
            continue
        if raw["path"].startswith("/") or ".." in raw["path"].split("/"):
            problems.error(f"path {raw['path']!r} must stay inside the channel folder", where)
            continue
        cache = raw.get("cache") or ("feed" if raw["path"].endswith((".xml", ".json")) else "page")
        outputs[kind] = OutputRule(kind, raw["per"], raw.get("template", ""), raw["path"],
                                   raw.get("content_type"), cache,
                                   raw.get("paginate", 0), raw.get("limit", 0), raw.get("format", "text"),
                                   tuple(raw.get("parts", ())), raw.get("network"))
    images: dict[str, ImageSlot] = {}
    for slot, raw in merged.get("images", {}).items():
        where = origin.get(f"images.{slot}", SourcePos(Path(f"channels/{name}/channel.toml")))
        widths, size = tuple(raw.get("widths") or ()), raw.get("size")
        if not widths and not size:
            problems.error(f"image slot '{slot}' needs widths or size", where)
            continue
        if raw.get("fit") == "pad" and not (size or raw.get("aspect")):
            problems.error(f"image slot '{slot}': fit = 'pad' needs size or aspect", where)
            continue
        images[slot] = ImageSlot(
            name=slot, widths=tuple(sorted(set(widths))), size=tuple(size) if size else None,
            aspect=_ratio(raw["aspect"]) if raw.get("aspect") else None,
            fit=raw.get("fit") or ("fill" if size or raw.get("aspect") else "scale"),
            formats=tuple(raw.get("formats", ("jpeg",))),  # [] switches an inherited slot off
            quality=MappingProxyType({**DEFAULT_QUALITY, **raw.get("quality", {})}),
            sizes=raw.get("sizes", "100vw"), upscale=raw.get("upscale", False),
            background=raw.get("background", "#ffffff"), metadata=tuple(raw.get("metadata", ())),
            title=raw.get("title", False))
    networks = {
        key: NetworkRules(key=key, name=raw.get("name") or key, limit=raw["limit"],
                          **{k: v for k, v in raw.items() if k not in ("name", "limit", "utm_source")},
                          utm_source=raw.get("utm_source") or key)
        for key, raw in merged.get("networks", {}).items() if raw.get("limit")
    }
    for key in merged.get("networks", {}).keys() - networks.keys():
        problems.error(f"network '{key}' needs limit", origin.get(f"networks.{key}", SourcePos(Path(name))))
    for key, net in list(networks.items()):
        if net.fold is not None and net.fold > net.limit:
            problems.error(f"network '{key}': fold {net.fold} is past its limit {net.limit}",
                           origin.get(f"networks.{key}.fold", origin.get(f"networks.{key}", SourcePos(Path(name)))))
            networks[key] = replace(net, fold=None)
    for key, net in networks.items():
        if net.image is not None and net.image not in images:
            problems.error(f"network '{key}': image slot {net.image!r} is not defined (defined: "
                           f"{', '.join(images) or 'none'})",
                           origin.get(f"networks.{key}", SourcePos(Path(name))))
    _check_outputs(name, outputs, networks, origin, problems)
    links = merged.get("links", {})
    for dotted, pattern in [*((f"links.{k}", links[k]) for k in ("utm_source", "utm_medium", "utm_content")
                              if k in links),
                            *((f"networks.{n.key}.{k}", getattr(n, k)) for n in networks.values()
                              for k in ("utm_source", "utm_medium"))]:
        if bad := _bad_utm(pattern):
            allowed = ", ".join("{" + p + "}" for p in sorted(UTM_PLACEHOLDERS))
            problems.error(f"{pattern!r} uses {bad} (allowed: {allowed})",
                           origin.get(dotted, origin.get(dotted.rsplit(".", 1)[0], SourcePos(Path(name)))))
            # a pack with a rule error is left out (load_channels), so no default stands in for it
    cache = {**DEFAULT_CACHE, **merged.get("cache", {})}
    for kind, rule in outputs.items():
        if rule.cache not in cache:
            problems.error(f"cache policy {rule.cache!r} is not defined (defined: {', '.join(cache)})",
                           origin.get(f"outputs.{kind}", SourcePos(Path(name))))
    publish_at = channel.get("publish_at")
    if publish_at is None:
        publish_at = f"{name}/"
    publish_at = publish_at.strip("/") + "/" if publish_at.strip("/") else ""
    return ChannelRules(
        name=name,
        description=channel.get("description", ""),
        publish_at=publish_at,
        outputs=MappingProxyType(outputs),
        images=MappingProxyType(images),
        markdown=MarkdownRules(**merged.get("markdown", {})),
        cache=MappingProxyType(cache),
        strings=MappingProxyType({k: MappingProxyType(v) for k, v in merged.get("strings", {}).items()}),
        params=MappingProxyType(dict(merged.get("params", {}))),
        urls=channel.get("urls", "relative"),
        links=LinkRules(**links),
        text=TextRules(**merged.get("text", {})),
        email=EmailRules(**{("sender" if k == "from" else k): v for k, v in merged.get("email", {}).items()}),
        networks=MappingProxyType(networks),
    )


def _check_outputs(name: str, outputs: dict[str, OutputRule], networks: Mapping[str, NetworkRules],
                   origin: Mapping[str, SourcePos], problems: Problems) -> None:
    """What an output refers to must exist: eml parts, networks; a bad output is dropped."""
    for kind, rule in list(outputs.items()):
        where = origin.get(f"outputs.{kind}", SourcePos(Path(f"channels/{name}/channel.toml")))
        problem = None
        if rule.format == "eml":
            if rule.per != "document":
                problem = "format = 'eml' needs per = 'document'"
            elif not rule.parts:
                problem = "format = 'eml' needs parts (the document outputs for its text and HTML parts)"
            else:
                for part in rule.parts:
                    other = outputs.get(part)
                    if other is None or other.per != "document" or other.format in ("eml", "json"):
                        problem = f"part {part!r} is not a text or email output per document of this channel"
                        break
        if rule.network is not None and rule.network not in networks:
            problem = (f"network {rule.network!r} is not defined (defined: "
                       f"{', '.join(networks) or 'none'})")
        if problem:
            problems.error(f"output '{kind}': {problem}", where)
            del outputs[kind]


def _bad_utm(pattern: str) -> str | None:
    """A placeholder a campaign parameter cannot fill, or a malformed one; None when fine."""
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as err:
        return f"a malformed placeholder ({err})"
    bad = sorted(names - UTM_PLACEHOLDERS)
    return "{" + bad[0] + "}" if bad else None


def _bad_placeholders(pattern: str, per: str) -> str | None:
    try:
        names = {name for _, name, _, _ in string.Formatter().parse(pattern) if name is not None}
    except ValueError as err:
        return f"a malformed placeholder ({err})"
    bad = sorted(names - PLACEHOLDERS[per])
    return "{" + bad[0] + "}" if bad else None
