"""Site-level images named in contentpipe.toml: the default share image and the icon set.

Pure planning, like plan.py: renditions through the same slots and names as any
image, so they are made, cached and published like the rest. Icons are padded
to a square, never cropped (a logo keeps all of itself), on transparency, except
the apple-touch-icon, which iOS would fill with black: it is padded on white.
``favicon.ico`` (16, 32 and 48 px) and ``site.webmanifest`` are published at the
root of the channel published at the site root (the web channel), where browsers
and crawlers look for them; ``write_site_files`` places them through the Writer.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING

from contentpipe import urls
from contentpipe.config.project import Site, SiteImage
from contentpipe.config.rules import ImageSlot
from contentpipe.errors import ContentpipeError, Problems
from contentpipe.load.images import ImageMaster
from contentpipe.load.masters import ASSETS_DIR, Masters
from contentpipe.load.packs import Channel
from contentpipe.manifest import OutputRecord
from contentpipe.mediatypes import content_type
from contentpipe.renditions import ICO_SIZES, Rendition, plan_slot

if TYPE_CHECKING:
    from contentpipe.render.images import Made
    from contentpipe.write import Writer

SHARE_SLOT = "share"  # the channel slot that sizes a page's share image (Open Graph, X card)
ICON_PNGS = MappingProxyType({"icon": (32, "transparent"), "apple_touch": (180, "#ffffff"),
                              "manifest_192": (192, "transparent"), "manifest_512": (512, "transparent")})
FAVICON, WEB_MANIFEST = "favicon.ico", "site.webmanifest"


@dataclass(frozen=True)
class IconSet:
    """The icon renditions of one master, and the channel whose root holds favicon.ico (or '')."""

    master: ImageMaster
    pngs: Mapping[str, Rendition]  # by ICON_PNGS name
    ico: Rendition
    channel: str

    @property
    def renditions(self) -> tuple[Rendition, ...]:
        return (*self.pngs.values(), self.ico)


@dataclass(frozen=True)
class SiteFile:
    """A file published at a fixed key outside media/: a copy of a rendition, or bytes made here."""

    channel: str
    path: str  # inside dist/<channel>/
    key: str
    source: str  # the master, relative to the project
    rendition: Rendition | None = None
    data: bytes = b""


def _slot(name: str, size: int, background: str, fmt: str) -> ImageSlot:
    return ImageSlot(name=name, widths=(), size=(size, size), aspect=None, fit="pad", formats=(fmt,),
                     quality=MappingProxyType({}), sizes="", upscale=False, background=background)


def site_master(image: SiteImage, key: str, masters: Masters, problems: Problems) -> ImageMaster | None:
    """The master a [site] key names, or None with an error at that key's line."""
    root = image.where.path.parent  # the folder of contentpipe.toml
    path = Path(os.path.normpath(root / ASSETS_DIR / image.rel))
    master = masters.images.get(path)
    if master is None:
        if path.exists():
            problems.error(f"{key} {image.rel!r}: {ASSETS_DIR}/{image.rel} cannot be used (see its own error)",
                           image.where)
        else:
            problems.error(f"{key} {image.rel!r}: no such image ({ASSETS_DIR}/{image.rel})", image.where)
    return master


def root_channel(site: Site, channels: Mapping[str, Channel]) -> str:
    """The channel published at the site root (the canonical one first), or '' when none is."""
    names = sorted(channels, key=lambda n: n != site.canonical_channel)
    return next((n for n in names if channels[n].rules.publish_at == ""), "")


def plan_icons(site: Site, channels: Mapping[str, Channel], masters: Masters,
               formats: frozenset[str], problems: Problems) -> IconSet | None:
    if site.icon is None or (master := site_master(site.icon, "icon", masters, problems)) is None:
        return None
    pngs: dict[str, Rendition] = {}
    short: list[str] = []
    for name, (size, background) in ICON_PNGS.items():
        [rendition], warning = plan_slot(master, _slot(f"icon-{size}", size, background, "png"), None, formats)
        pngs[name] = rendition
        if warning:
            short.append(f"{size}x{size}")
    [ico], _ = plan_slot(master, _slot("favicon", max(ICO_SIZES), "transparent", "ico"), None, formats | {"ico"})
    if short:
        problems.warning(f"icon {master.rel} is {master.width}x{master.height}, too small for the "
                         f"{', '.join(short)} icons; made at its own size instead of upscaling "
                         f"(a square master of 512x512 or more fits every icon)", site.icon.where)
    return IconSet(master, MappingProxyType(pngs), ico, root_channel(site, channels))


def plan_share_images(site: Site, channels: list[Channel], masters: Masters, formats: frozenset[str],
                      problems: Problems) -> dict[str, tuple[ImageMaster, ImageSlot, list[Rendition]]]:
    """The default share image in each channel with a share slot: for pages without their own."""
    slotted = [c for c in channels if SHARE_SLOT in c.rules.images]
    if site.share_image is None or not slotted:
        return {}
    master = site_master(site.share_image, "share_image", masters, problems)
    if master is None:
        return {}
    if not master.alt:
        problems.warning(f"share_image {master.rel} has no alt text (add 'alt' to its sidecar)",
                         site.share_image.where)
    out = {}
    for channel in slotted:
        slot = channel.rules.images[SHARE_SLOT]
        renditions, warning = plan_slot(master, slot, None, formats)
        if warning:
            problems.warning(f"share_image: {warning}", site.share_image.where)
        out[channel.name] = (master, slot, renditions)
    return out


def site_files(site: Site, icons: IconSet | None) -> list[SiteFile]:
    """favicon.ico and site.webmanifest at the root channel's root, when there is an icon and a root."""
    if icons is None or not icons.channel:
        return []
    source = icons.master.rel.as_posix()
    manifest_icons = []
    for name in ("manifest_192", "manifest_512"):
        r = icons.pngs[name]
        entry = {"src": urls.relative(WEB_MANIFEST, urls.media_key(r.name)), "sizes": f"{r.width}x{r.height}",
                 "type": r.mime, "purpose": "any"}
        if entry not in manifest_icons:  # a small master gives one size for both
            manifest_icons.append(entry)
    manifest = {"name": site.name, "short_name": site.short_name, "description": site.description,
                "start_url": "./", "scope": "./", "display": "browser", "lang": site.default_locale,
                "theme_color": site.theme_color, "background_color": "#ffffff", "icons": manifest_icons}
    data = (json.dumps(manifest, ensure_ascii=False, indent=2) + "\n").encode()
    return [SiteFile(icons.channel, FAVICON, FAVICON, source, rendition=icons.ico),
            SiteFile(icons.channel, WEB_MANIFEST, WEB_MANIFEST, source, data=data)]


def write_site_files(files: list[SiteFile], channels: Mapping[str, Channel], made: Mapping[str, Made],
                     writer: Writer, problems: Problems) -> list[OutputRecord]:
    """Write the site files of the channels being built; their manifest records."""
    records = []
    for f in files:
        channel = channels.get(f.channel)
        if channel is None:
            continue  # its channel is not built this time (planned for its keys only)
        path = f"{f.channel}/{f.path}"
        try:
            if f.rendition is not None:
                m = made.get(f.rendition.name)
                if m is None:
                    continue  # the master failed to decode: already reported
                writer.copy(path, m.path, m.sha256, m.size, f.source)
                sha, size = m.sha256, m.size
            else:
                writer.write(path, f.data, f.source)
                sha, size = hashlib.sha256(f.data).hexdigest(), len(f.data)
        except ContentpipeError as err:
            problems.add(err.problem)
            continue
        records.append(OutputRecord(
            path=path, key=f.key, channel=f.channel, kind="icon" if f.rendition else "webmanifest",
            sha256=sha, size=size, content_type=content_type(f.key), cache_policy="asset",
            cache_control=channel.rules.cache["asset"], sources=(f.source,)))
    return records
