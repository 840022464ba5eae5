"""Markdown masters: YAML front matter (safe loader) and body, validated with line numbers."""

from __future__ import annotations

import hashlib
import os
import re
import unicodedata
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time
from functools import lru_cache
from pathlib import Path, PurePosixPath
from types import MappingProxyType
from typing import Any

from contentpipe.config.project import Site
from contentpipe.errors import ContentpipeError, Problems, SourcePos
from contentpipe.load.images import Focal, parse_focal
from contentpipe.load.yamlsource import YamlSyntaxError, key_lines, load_yaml, repeated_keys

MARKDOWN_SUFFIXES = (".md", ".markdown")
SLUG_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._~-]*$")
_FENCE = re.compile(r"^(---|\.\.\.)[ \t]*$", re.MULTILINE)
EMAIL_KEYS = frozenset({"subject", "preheader"})  # front matter email.*


def slugify(text: str) -> str:
    """ASCII, lower case, words joined by '-': safe as one URL path segment."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    return slug or "item"


@dataclass(frozen=True)
class ImageUse:
    """A document's use of an image: the master file, with per-use overrides."""

    path: Path
    line: int
    alt: str | None = None
    focal: Focal | None = None


@dataclass(frozen=True)
class Document:
    path: Path
    rel: PurePosixPath  # relative to assets/
    doc_id: str  # the same for every locale version: 'articles/spring'
    locale: str
    slug: str
    dir: str  # folder inside assets/: 'articles'
    title: str
    date: datetime | None
    updated: datetime | None
    summary: str | None
    tags: tuple[str, ...]
    hero: ImageUse | None
    campaign: str | None
    draft: bool
    body: str
    body_line: int  # file line of the body's first line
    sha256: str
    meta: MappingProxyType[str, Any] = field(default_factory=lambda: MappingProxyType({}))
    lines: MappingProxyType[str, int] = field(default_factory=lambda: MappingProxyType({}))
    email_subject: str | None = None  # front matter email.subject, when it is text
    email_preheader: str | None = None
    social_texts: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # social.<key>: text
    social_keys: tuple[str, ...] = ()  # every key under social (the plan checks they name networks)
    social_errors: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))  # key: why unusable

    def pos(self, key: str | None = None, line: int | None = None) -> SourcePos:
        return SourcePos(self.path, line or (self.lines.get(key) if key else None), key)


@lru_cache(maxsize=65536)
def resolve_ref(base: Path, target: str) -> Path:
    """A reference relative to a document's folder, normalised without touching the disk.

    The walk has already refused symlinks that leave the project, so plain
    normalisation is safe and far cheaper than Path.resolve() on every link.
    """
    return Path(os.path.normpath(base / target))


def split_front_matter(text: str, path: Path) -> tuple[str, str, int]:
    """(front matter, body, body's first line); a document must start with '---'."""
    text = text.removeprefix("\ufeff")
    if not text.startswith("---"):
        raise ContentpipeError("no front matter: a document starts with '---', YAML, then '---'",
                               SourcePos(path, 1), hint="at least 'title: ...' is required")
    first_nl = text.find("\n")
    if first_nl < 0 or text[:first_nl].strip() != "---":
        raise ContentpipeError("the first line must be exactly '---'", SourcePos(path, 1))
    end = _FENCE.search(text, first_nl + 1)
    if not end:
        raise ContentpipeError("front matter is not closed by a '---' line", SourcePos(path, 1))
    fm = text[first_nl + 1:end.start()]
    body_start = text.find("\n", end.end())
    body = "" if body_start < 0 else text[body_start + 1:]
    body_line = text.count("\n", 0, body_start) + 2 if body_start >= 0 else 1
    return fm, body, body_line


def _as_datetime(value: object, where: SourcePos) -> datetime:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=UTC)
    if isinstance(value, date):
        return datetime.combine(value, time(0), UTC)
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)
    raise ContentpipeError(f"expected an ISO 8601 date like 2026-03-02 or 2026-03-02T09:00:00Z, got {value!r}",
                           where)


def _text(value: object, where: SourcePos) -> str:
    if isinstance(value, str):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return str(value)
    raise ContentpipeError(f"expected text, got {type(value).__name__} {value!r}", where)


def locale_from_name(path: Path, site: Site) -> tuple[str, str | None]:
    """('spring', 'nl') for spring.nl.md; ('spring', None) when no locale suffix."""
    stem = path.name.rsplit(".", 1)[0]
    base, dot, suffix = stem.rpartition(".")
    if dot and (suffix in site.locales or re.fullmatch(r"[a-z]{2,3}(-[A-Za-z0-9]{2,8})?", suffix)):
        return base, suffix
    return stem, None


def parse_document(path: Path, assets: Path, site: Site, problems: Problems) -> Document:
    """Parse one Markdown master. Raises on a fatal problem; adds the others to ``problems``."""
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as err:
        line = raw[:err.start].count(b"\n") + 1
        raise ContentpipeError("not valid UTF-8 text", SourcePos(path, line)) from err
    fm_text, body, body_line = split_front_matter(text, path)
    try:
        fm = load_yaml(fm_text)
    except YamlSyntaxError as err:
        line = err.line + 1 if err.line else None  # the front matter starts on the file's second line
        raise ContentpipeError(f"malformed front matter: {err.message}", SourcePos(path, line)) from err
    if fm is None:
        fm = {}
    if not isinstance(fm, dict):
        raise ContentpipeError("front matter must be a YAML mapping of keys to values", SourcePos(path, 2))
    lines = key_lines(fm_text, first_line=2)
    for key, first, again in repeated_keys(fm_text, first_line=2):
        problems.warning(f"'{key}' is given twice (lines {first} and {again}); the second one is used",
                         SourcePos(path, again, key))

    def pos(key: str) -> SourcePos:
        return SourcePos(path, lines.get(key), key)

    errors: list[ContentpipeError] = []

    def field_value(key: str, convert: Any, default: Any = None) -> Any:
        if key not in fm or fm[key] is None:
            return default
        try:
            return convert(fm[key], pos(key))
        except ContentpipeError as err:
            errors.append(err)
            return default

    title = field_value("title", _text)
    if not title or not title.strip():
        errors.append(ContentpipeError("missing required key 'title'", pos("title") if "title" in fm
                                       else SourcePos(path, 1)))
    rel = PurePosixPath(path.relative_to(assets).as_posix())
    base, suffix_locale = locale_from_name(path, site)
    locale = field_value("locale", _text) or suffix_locale or site.default_locale
    if locale not in site.locales:
        where = pos("locale") if "locale" in fm else SourcePos(path)
        errors.append(ContentpipeError(f"locale {locale!r} is not in site.locales ({', '.join(site.locales)})",
                                       where))
    slug = field_value("slug", _text) or slugify(base)
    if not SLUG_RE.match(slug) or slug in {".", ".."}:
        errors.append(ContentpipeError(
            f"slug {slug!r} is not one safe path segment (letters, digits, '-', '_', '.', '~')",
            pos("slug"), hint="it could escape the output folder"))
    tags = field_value("tags", _tags, ())
    draft = fm.get("draft", False)
    if not isinstance(draft, bool):
        errors.append(ContentpipeError(f"draft must be true or false, got {draft!r}", pos("draft")))
        draft = False
    hero = field_value("hero", lambda v, w: _image_use(v, w, path, fm))
    when, updated = field_value("date", _as_datetime), field_value("updated", _as_datetime)
    summary, campaign = field_value("summary", _text), field_value("campaign", _text)
    if errors:
        for err in errors[1:]:
            problems.add(err.problem)
        raise errors[0]
    directory = rel.parent.as_posix()
    subject, preheader = _email_fields(fm, pos, problems)
    social_texts, social_keys, social_errors = _social_fields(fm)
    return Document(
        path=path, rel=rel, doc_id=f"{directory}/{base}" if directory != "." else base,
        locale=locale, slug=slug, dir="" if directory == "." else directory,
        title=title.strip(), date=when, updated=updated, summary=summary,
        tags=tags, hero=hero, campaign=campaign, draft=draft,
        body=body, body_line=body_line, sha256=hashlib.sha256(raw).hexdigest(),
        meta=MappingProxyType(fm), lines=MappingProxyType(lines),
        email_subject=subject, email_preheader=preheader, social_texts=social_texts, social_keys=social_keys,
        social_errors=social_errors,
    )


def _email_fields(fm: dict[str, Any], pos: Callable[[str], SourcePos],
                  problems: Problems) -> tuple[str | None, str | None]:
    """front matter email.subject and email.preheader as text; a wrong type or an unknown key is reported, ignored."""
    section = fm.get("email")
    if section is None:
        return None, None
    if not isinstance(section, dict):
        problems.warning("email must be a table (subject, preheader); ignored", pos("email"))
        return None, None
    for other in sorted(set(section) - EMAIL_KEYS, key=str):
        problems.warning(f"email.{other}: unknown key (known: {', '.join(sorted(EMAIL_KEYS))})", pos(f"email.{other}"))
    found: list[str | None] = []
    for key in ("subject", "preheader"):
        value = section.get(key)
        if value is not None and not isinstance(value, str):
            problems.warning(f"email.{key} must be text, got {value!r}; ignored", pos(f"email.{key}"))
            value = None
        found.append((value.strip() or None) if value else None)
    return found[0], found[1]


def _social_fields(fm: dict[str, Any]) -> tuple[Mapping[str, str], tuple[str, ...], Mapping[str, str]]:
    """front matter social: the editor's texts by key, every key given, and why any text cannot be used.

    A bad text is not a problem of the document but of the posts that would use
    it: the social payloads raise it (only those, so the rest still builds).
    """
    section = fm.get("social")
    if section is None:
        return MappingProxyType({}), (), MappingProxyType({})
    if not isinstance(section, dict):
        return MappingProxyType({}), (), MappingProxyType({"social": "social must be a table of network: text"})
    texts: dict[str, str] = {}
    errors: dict[str, str] = {}
    for key, value in section.items():
        if not isinstance(key, str) or value is None:
            continue  # a key that is not text names no network (the plan says so)
        if isinstance(value, str):
            texts[key] = value.strip()
        else:
            errors[f"social.{key}"] = f"social.{key} must be text, got {value!r}"
    keys = tuple(sorted((str(k) for k in section), key=str))
    return MappingProxyType(texts), keys, MappingProxyType(errors)


def _tags(value: object, where: SourcePos) -> tuple[str, ...]:
    items = [t.strip() for t in value.split(",")] if isinstance(value, str) else value
    if not isinstance(items, list) or not all(isinstance(t, str | int) for t in items):
        raise ContentpipeError("tags must be a list of words, like [spring, cycling]", where)
    return tuple(dict.fromkeys(str(t).strip() for t in items if str(t).strip()))


def _image_use(value: object, where: SourcePos, doc_path: Path, fm: dict[str, Any]) -> ImageUse:
    alt, focal = fm.get("hero_alt"), fm.get("hero_focal_point")
    if isinstance(value, dict):
        src = value.get("src")
        alt = value.get("alt", alt)
        focal = value.get("focal_point", focal)
    else:
        src = value
    if not isinstance(src, str) or not src:
        raise ContentpipeError("hero must be a path (or a table with src, alt, focal_point)", where)
    if alt is not None and not isinstance(alt, str):
        raise ContentpipeError(f"hero alt must be text, got {alt!r}", where)
    target = resolve_ref(doc_path.parent, src)
    return ImageUse(path=target, line=where.line or 1, alt=alt,
                    focal=parse_focal(focal, where) if focal is not None else None)
