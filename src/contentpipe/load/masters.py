"""Load every master in assets/: documents and images, with their references checked.

A document with an error is left out (and reported); the others still build.
Body links to other documents (``other.md``) and images (``../images/x.jpg``)
are resolved relative to the document and must exist inside the project.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path, PurePosixPath
from urllib.parse import unquote, urlsplit

from contentpipe.config.project import ProjectConfig
from contentpipe.config.rules import MarkdownRules
from contentpipe.errors import ContentpipeError, Problem, Problems, SourcePos
from contentpipe.load.documents import MARKDOWN_SUFFIXES, Document, parse_document, resolve_ref
from contentpipe.load.images import IMAGE_SUFFIXES, UNSUPPORTED_SUFFIXES, HashCache, ImageMaster, load_image
from contentpipe.load.parsed import ParsedBodies
from contentpipe.load.walk import walk_files

ASSETS_DIR = "assets"
SIDECAR_SUFFIXES = (".yml", ".yaml")


@dataclass(frozen=True)
class Masters:
    documents: tuple[Document, ...]
    images: dict[Path, ImageMaster]  # by normalised path, as documents refer to them
    parsed: ParsedBodies
    drafts_skipped: int = 0

    def by_path(self) -> dict[Path, Document]:
        return {d.path: d for d in self.documents}

    def without_images(self, failed: set[Path], root: Path, problems: Problems) -> Masters:
        """These masters minus images that failed to decode, and minus the documents using them."""
        images = {p: m for p, m in self.images.items() if p not in failed}
        known = {d.path for d in self.documents}
        documents = tuple(d for d in self.documents
                          if _check_references(d, self.parsed, root, images, known, problems))
        return replace(self, documents=documents, images=images)


@dataclass
class LoadMemo:
    """What an engine kept between builds keeps of loading: documents parsed before, by content, and the caches.

    ``files`` is the engine's sha256 of every input by path, this build's.
    """

    files: Mapping[str, str] = field(default_factory=dict)
    hashes: HashCache | None = None
    parsed: ParsedBodies | None = None
    documents: dict[tuple[str, str, str], tuple[Document | None, tuple[Problem, ...]]] = field(default_factory=dict)


def load_masters(config: ProjectConfig, problems: Problems, drafts: bool | None = None,
                 memo: LoadMemo | None = None) -> Masters:
    root = config.root
    assets = root / ASSETS_DIR
    if not assets.is_dir():
        problems.error("no assets/ folder: masters (Markdown and images) live there", SourcePos(assets))
    cache = memo.hashes if memo is not None and memo.hashes is not None else HashCache(
        config.cache_dir / "masters.json")
    if memo is not None:
        memo.hashes = cache
    doc_paths: list[Path] = []
    images: dict[Path, ImageMaster] = {}
    image_files: set[Path] = set()
    sidecars: list[Path] = []
    for path in walk_files(assets, root, problems):
        rel = PurePosixPath(path.relative_to(assets).as_posix())
        if any(rel.match(pattern) for pattern in config.ignore):
            continue
        suffix = path.suffix.lower()
        if suffix in MARKDOWN_SUFFIXES:
            doc_paths.append(path)
        elif suffix in IMAGE_SUFFIXES:
            image_files.add(path)
            if (image := load_image(path, root, cache, problems)) is not None:
                images[path] = image
        elif suffix in SIDECAR_SUFFIXES:
            sidecars.append(path)
        elif suffix in UNSUPPORTED_SUFFIXES:
            image_files.add(path)
            problems.error(f"{suffix[1:].upper()} is not a supported master image format",
                           SourcePos(path), hint="convert it to JPEG, PNG, WebP or AVIF")
    for sidecar in sidecars:
        if sidecar.with_suffix("") not in image_files:
            problems.warning(f"sidecar without an image (no {sidecar.with_suffix('').name})",
                             SourcePos(sidecar))
    cache.save()

    include_drafts = config.drafts if drafts is None else drafts
    documents: list[Document] = []
    skipped = 0
    site_key = repr(config.site)
    for path in doc_paths:
        sha = memo.files.get(str(path), "") if memo is not None else ""
        known = memo.documents.get((str(path), sha, site_key)) if memo is not None and sha else None
        if known is None:
            found = Problems()
            parsed_doc: Document | None = None
            try:
                parsed_doc = parse_document(path, assets, config.site, found)
            except ContentpipeError as err:
                found.add(err.problem)
            except OSError as err:
                found.error(f"cannot read: {err.strerror}", SourcePos(path))
            known = (parsed_doc, tuple(found))
            if memo is not None and sha:
                memo.documents[(str(path), sha, site_key)] = known
        doc, found_problems = known
        problems.extend(list(found_problems))
        if doc is None:
            continue
        if doc.draft and not include_drafts:
            skipped += 1
            continue
        documents.append(doc)

    if memo is not None:
        if memo.parsed is None:
            memo.parsed = ParsedBodies(config.cache_dir / "facts.json")
        live = {(str(p), memo.files.get(str(p), ""), site_key) for p in doc_paths}
        for key in memo.documents.keys() - live:  # edited or gone: the old parse is for nothing now
            del memo.documents[key]
    parsed = memo.parsed if memo is not None and memo.parsed is not None else ParsedBodies(
        config.cache_dir / "facts.json")
    known_docs = set(doc_paths)
    checked = [d for d in documents if _check_references(d, parsed, root, images, known_docs, problems)]
    return Masters(tuple(checked), images, parsed, skipped)


def _check_references(doc: Document, parsed: ParsedBodies, root: Path, images: dict[Path, ImageMaster],
                      known_docs: set[Path], problems: Problems) -> bool:
    ok = True
    if doc.hero is not None:
        ok &= _check_image(doc.hero.path, doc, doc.pos("hero"), root, images, problems)
    for ref in parsed.facts(doc, MarkdownRules()).refs:
        line = doc.body_line + ref.line - 1
        where = SourcePos(doc.path, line)
        target = local_target(ref.target) if ref.kind == "image" else document_target(ref.target)
        if target is None:
            continue
        resolved = resolve_ref(doc.path.parent, target)
        if ref.kind == "image":
            ok &= _check_image(resolved, doc, where, root, images, problems)
        else:
            if not resolved.is_relative_to(root):
                problems.error(f"link to {ref.target!r} leads outside the project", where)
                ok = False
            elif resolved not in known_docs:
                problems.error(f"link to {ref.target!r}: no such document", where)
                ok = False
    return ok


@lru_cache(maxsize=65536)  # pure, and asked for every link of every body by load, plan and the engine
def local_target(href: str) -> str | None:
    """The file path of a relative link or image, or None for URLs, anchors and mailto:."""
    parts = urlsplit(href)
    if parts.scheme or parts.netloc or not parts.path or href.startswith("/"):
        return None
    return unquote(parts.path)


@lru_cache(maxsize=65536)
def document_target(href: str) -> str | None:
    """The file path of a link to another document (a relative Markdown file), else None.

    The one rule for "this link is a document": the loader checks these targets
    exist and the renderers turn them into the document's page; every other
    link is a URL and stays one.
    """
    target = local_target(href)
    return target if target is not None and PurePosixPath(target).suffix.lower() in MARKDOWN_SUFFIXES else None


def _check_image(path: Path, doc: Document, where: SourcePos, root: Path,
                 images: dict[Path, ImageMaster], problems: Problems) -> bool:
    if not path.is_relative_to(root):
        problems.error(f"image {path} is outside the project; refused", where)
        return False
    if path in images:
        return True
    if path.exists():
        problems.error(f"image {path.relative_to(root)} cannot be used (see its own error)", where)
    else:
        problems.error(f"image not found: {path.relative_to(root)}", where)
    return False
