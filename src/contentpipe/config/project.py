"""contentpipe.toml: the project's site, locales, output, channels and publish targets."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any
from urllib.parse import urlsplit

from contentpipe.config.schema import Field, Table, in_range, validate
from contentpipe.config.tomlsource import TomlSource, read_toml
from contentpipe.errors import ContentpipeError, Problems, ProjectError, SourcePos

CONFIG_NAME = "contentpipe.toml"
CACHE_ENV = "CONTENTPIPE_CACHE_DIR"  # overrides [build] cache_dir, e.g. a CI cache shared by checkouts
LOCALE_RE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$")


def _check_base_url(value: str) -> str | None:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return "must be an absolute http(s) URL such as 'https://example.com/'"
    if parts.query or parts.fragment:
        return "must not have a query or fragment"
    return None


def _check_locales(value: list[str]) -> str | None:
    bad = [x for x in value if not LOCALE_RE.match(x)]
    if bad:
        return f"{bad[0]!r} is not a locale tag (like 'en', 'nl' or 'pt-BR')"
    if not value:
        return "must name at least one locale"
    if len(set(value)) != len(value):
        return "must not repeat a locale"
    return None


def _check_locale(value: str) -> str | None:
    return None if LOCALE_RE.match(value) else "is not a locale tag (like 'en', 'nl' or 'pt-BR')"


def _check_asset_path(value: str) -> str | None:
    parts = value.replace("\\", "/").split("/")
    if not value or value.startswith("/") or ".." in parts or ":" in parts[0]:
        return "must be a path under assets/ such as 'images/logo.png'"
    return None


def _check_colour(value: str) -> str | None:
    return None if re.fullmatch(r"#[0-9a-fA-F]{6}", value) else "must be a colour like '#0b5c57'"


def _check_target_url(value: str) -> str | None:
    scheme = urlsplit(value).scheme
    if scheme == "s3" and urlsplit(value).netloc:
        return None
    if scheme == "file" and urlsplit(value).path:
        return None
    return "must be 's3://bucket/prefix' or 'file:///absolute/folder'"


TARGET = Table({
    "url": Field("str", check=_check_target_url, doc="s3://bucket/prefix or file:///folder"),
    "endpoint_url": Field("str", None, doc="S3-compatible endpoint (R2, MinIO, Ceph, Wasabi)"),
    "region": Field("str", None),
    "profile": Field("str", None, doc="AWS shared-config profile"),
    "acl": Field("str", "private", choices=("private", "public-read", "bucket-owner-full-control")),
    "path_style": Field("bool", False, doc="path-style addressing, needed by some S3 servers"),
    "cache": Table(each=Field("str"), doc="glob on the published key -> Cache-Control (first match wins)"),
    "compress": Field("str", "", choices=("", "gzip"), doc="pre-compress text objects (Content-Encoding)"),
})

SMTP = Table({
    "host": Field("str", None, doc="the SMTP server `send-test` sends through"),
    "port": Field("int", None, check=in_range(1, 65535), doc="default: 587 (starttls), 465 (ssl), 25 (none)"),
    "user": Field("str", None, doc="login name; the password comes from CONTENTPIPE_SMTP_PASSWORD only"),
    "security": Field("str", "starttls", choices=("starttls", "ssl", "none")),
    "sender": Field("str", None, doc="envelope sender (MAIL FROM); default: the message's From address"),
    "password": Field("str", None, check=lambda _: "does not go in contentpipe.toml (it would be committed): set "
                                                   "CONTENTPIPE_SMTP_PASSWORD in the environment", secret=True),
})

PROJECT_SCHEMA = Table({
    "site": Table({
        "name": Field("str"),
        "base_url": Field("str", check=_check_base_url),
        "default_locale": Field("str", "en", check=_check_locale),
        "locales": Field("list[str]", None, check=_check_locales),
        "default_locale_in_subdir": Field("bool", False),
        "description": Field("str", ""),
        "author": Field("str", ""),
        "campaign": Field("str", "", doc="utm_campaign for documents whose front matter names none"),
        "canonical_channel": Field("str", "web", doc="the channel whose page is every variant's canonical link"),
        "short_name": Field("str", "", doc="the web manifest's short_name (home screens); default: name"),
        "icon": Field("str", None, check=_check_asset_path,
                      doc="master of the icon set (favicon.ico, PNG icons, site.webmanifest), under assets/"),
        "share_image": Field("str", None, check=_check_asset_path,
                             doc="share image of pages without their own (home, tag pages), under assets/"),
        "theme_color": Field("str", "#ffffff", check=_check_colour, doc="the web manifest's theme colour"),
    }, required=True),
    "output": Table({"dir": Field("str", "dist")}),
    "channels": Table({"enabled": Field("list[str]", None)}),
    "build": Table({
        "drafts": Field("bool", False, doc="build documents marked draft: true"),
        "cache_dir": Field("str", ".contentpipe-cache"),
        "jobs": Field("int", 0, check=in_range(0, 256), doc="image worker processes; 0 = one per core"),
        "ignore": Field("list[str]", ["README.md", "LICENSE*"], doc="globs of files in assets/ that are not masters"),
        "trust_packs": Field("bool", True, doc="false: packs' templates and rules only, no Python from plugins"),
        "limits": Table({
            "render_seconds": Field("number", 2.0, check=in_range(0.01, 3600),
                                    doc="wall time of one output's template render"),
            "output_size": Field("int", 10_000_000, check=in_range(1_000, 2_000_000_000),
                                 doc="bytes (UTF-8) one output's template may produce"),
            "string_size": Field("int", 10_000_000, check=in_range(1_000, 2_000_000_000),
                                 doc="characters of one string (items of one list) a template operation may make"),
            "total_size": Field("int", 100_000_000, check=in_range(1_000, 20_000_000_000),
                                doc="characters and items all template operations of one render may make together"),
            "range_size": Field("int", 10_000, check=in_range(1, 10_000_000),
                                doc="items of one range(); also the most batch() and slice() may ask for"),
            "loop_depth": Field("int", 6, check=in_range(1, 100), doc="for loops nested in one template"),
            "macro_depth": Field("int", 50, check=in_range(1, 200), doc="macro (and caller, loop) calls nested"),
        }, doc="what one output's render of a pack's templates may use (render/limits.py)"),
    }),
    "targets": Table(each=TARGET),
    "smtp": SMTP,
})


@dataclass(frozen=True)
class SiteImage:
    """An image master named in contentpipe.toml: its path under assets/ and where it is named."""

    rel: str
    where: SourcePos


@dataclass(frozen=True)
class Site:
    name: str
    base_url: str  # always ends with "/"
    default_locale: str
    locales: tuple[str, ...]
    default_locale_in_subdir: bool = False
    description: str = ""
    author: str = ""
    campaign: str = ""
    canonical_channel: str = "web"
    short_name: str = ""
    icon: SiteImage | None = None
    share_image: SiteImage | None = None
    theme_color: str = "#ffffff"

    def locale_dir(self, locale: str) -> str:
        """The folder a locale's pages live under: '' for the default locale, else 'nl/'."""
        if locale == self.default_locale and not self.default_locale_in_subdir:
            return ""
        return f"{locale}/"


@dataclass(frozen=True)
class Target:
    name: str
    url: str
    endpoint_url: str | None = None
    region: str | None = None
    profile: str | None = None
    acl: str = "private"
    path_style: bool = False
    cache: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    compress: str = ""


@dataclass(frozen=True)
class Limits:
    """[build.limits]: what one output's render of a pack's templates may use; packs are third-party code."""

    render_seconds: float = 2.0
    output_size: int = 10_000_000
    string_size: int = 10_000_000
    total_size: int = 100_000_000
    range_size: int = 10_000
    loop_depth: int = 6
    macro_depth: int = 50


@dataclass(frozen=True)
class ProjectConfig:
    root: Path
    file: Path
    site: Site
    out_dir: Path
    cache_dir: Path
    enabled_channels: tuple[str, ...] | None
    drafts: bool
    jobs: int
    ignore: tuple[str, ...]
    targets: MappingProxyType[str, Target]
    source: TomlSource
    smtp: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))  # [smtp], for send-test
    limits: Limits = Limits()
    trust_packs: bool = True  # false: no Python from packs (no plugin filters, plugin packs found without import)


def load_config(root: Path, problems: Problems) -> ProjectConfig:
    """Read and validate ``root/contentpipe.toml``; every bad value goes to ``problems``.

    Raises ProjectError only when there is no usable config at all.
    """
    path = root / CONFIG_NAME
    if not path.is_file():
        raise ProjectError(f"no {CONFIG_NAME} here: not a contentpipe project", SourcePos(path),
                           hint="a project is a folder with contentpipe.toml and assets/")
    try:
        src = read_toml(path)
    except ContentpipeError as err:
        raise ProjectError(err.problem.message, err.problem.where) from err
    before = len(problems.errors)
    data = validate(src, PROJECT_SCHEMA, problems)
    site_data: dict[str, Any] = data["site"]
    default = site_data["default_locale"] or "en"
    locales = site_data["locales"] or [default]
    if default not in locales:
        problems.error(f"default_locale {default!r} is not one of site.locales {locales}",
                       src.pos("site.default_locale"))
        locales = [default, *locales]
    base_url = site_data["base_url"] or "https://example.invalid/"
    site = Site(
        name=site_data["name"] or root.name,
        base_url=base_url if base_url.endswith("/") else base_url + "/",
        default_locale=default,
        locales=tuple(locales),
        default_locale_in_subdir=site_data["default_locale_in_subdir"],
        description=site_data["description"],
        author=site_data["author"],
        campaign=site_data["campaign"],
        canonical_channel=site_data["canonical_channel"],
        short_name=site_data["short_name"] or site_data["name"] or root.name,
        icon=_site_image(site_data["icon"], src, "site.icon"),
        share_image=_site_image(site_data["share_image"], src, "site.share_image"),
        theme_color=site_data["theme_color"],
    )
    out_dir = _output_dir(root, data["output"]["dir"], src, problems)
    targets = {
        name: Target(name=name, **{k: (MappingProxyType(v) if k == "cache" else v) for k, v in t.items()})
        for name, t in data["targets"].items()
        if t.get("url")
    }
    if len(problems.errors) > before:
        raise ProjectError(f"{CONFIG_NAME} has {len(problems.errors) - before} problem(s)", SourcePos(path),
                           problems=problems.errors[before:])
    return ProjectConfig(
        root=root,
        file=path,
        site=site,
        out_dir=out_dir,
        cache_dir=Path(os.environ.get(CACHE_ENV) or root / data["build"]["cache_dir"]).resolve(),
        enabled_channels=tuple(data["channels"]["enabled"]) if data["channels"]["enabled"] else None,
        drafts=data["build"]["drafts"],
        jobs=data["build"]["jobs"] or (os.cpu_count() or 1),
        ignore=tuple(data["build"]["ignore"]),
        targets=MappingProxyType(targets),
        source=src,
        smtp=MappingProxyType({k: v for k, v in data["smtp"].items() if k != "password"}),
        limits=_limits(data["build"]["limits"]),
        trust_packs=data["build"]["trust_packs"],
    )


def _limits(data: dict[str, Any]) -> Limits:
    return Limits(**{**data, "render_seconds": float(data["render_seconds"])})


def _site_image(value: str | None, src: TomlSource, key: str) -> SiteImage | None:
    return SiteImage(value.replace("\\", "/"), src.pos(key)) if value else None


def _output_dir(root: Path, value: str, src: TomlSource, problems: Problems) -> Path:
    out = (root / value).resolve()
    problem = check_output_dir(root, out)
    if problem:
        problems.error(problem, src.pos("output.dir"))
        return (root / "dist").resolve()
    return out


def check_output_dir(root: Path, out: Path) -> str | None:
    """Refuse output folders whose stale-file cleanup could reach the project's own files."""
    root = root.resolve()
    if out == root or root.is_relative_to(out):
        return f"output folder {out} would contain the project itself"
    for protected in ("assets", "channels", CONFIG_NAME):
        p = root / protected
        if out.is_relative_to(p):
            return f"output folder {out} would overwrite the project's {protected}"
    return None
