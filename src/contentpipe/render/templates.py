"""Jinja2 for channel packs: sandboxed, autoescaped, strict, with errors that name file and line.

Packs may come from agencies, so templates run in Jinja2's immutable sandbox
and get plain data (dicts, lists, strings), never live objects. Templates are
read only from inside their pack (``Channel.refusal``): a link leading out, or
a name with ``..`` or a root, is an error naming the link or the template. ``parent:name``
loads the template of the pack being extended, so an override can
``{% extends "parent:page.html" %}`` and replace single blocks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from functools import partial
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    PrefixLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contentpipe.errors import ContentpipeError, SourcePos
from contentpipe.load.packs import Channel, template_name_refusal

log = logging.getLogger(__name__)


def _register_plugin_filters(filters: dict[str, Callable[..., Any]]) -> None:
    for ep in sorted(metadata.entry_points(group="contentpipe.filters"), key=lambda e: e.name):
        try:
            ep.load()(filters)
        except Exception as err:  # a broken plugin must not stop the build
            log.warning("filter plugin %s cannot be loaded: %s", ep.name, err)


class RefusedTemplate(Exception):
    """A template that may not be loaded; not a TemplateNotFound, so no other loader is asked.

    ``link`` is the refused symlink; without one the name itself was refused,
    and the template that asked for it is where the problem is.
    """

    def __init__(self, message: str, link: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.link = link


class PackLoader(BaseLoader):
    """Jinja2's file search over a pack's template folders, with every symlink and name checked."""

    def __init__(self, channel: Channel, folders: list[Path]) -> None:
        self.channel = channel
        self.folders = folders

    def get_source(self, environment: Environment, template: str) -> tuple[str, str, Callable[[], bool]]:
        if (refusal := template_name_refusal(template)) is not None:
            raise RefusedTemplate(refusal)
        for folder in self.folders:
            path = folder.joinpath(*template.split("/"))
            if path.is_symlink() and not path.exists():
                raise RefusedTemplate("broken symlink; refused", path)
            if not path.is_file():
                continue
            if (problem := self.channel.refusal(path)) is not None:
                raise RefusedTemplate(problem.message, problem.where.path)
            real = path.resolve()
            source, mtime = real.read_text(encoding="utf-8"), real.stat().st_mtime_ns
            return source, str(path), partial(_unchanged, real, mtime)
        raise TemplateNotFound(template)


def _unchanged(path: Path, mtime: int) -> bool:
    try:
        return path.stat().st_mtime_ns == mtime
    except OSError:
        return False


class _RecordingEnvironment(ImmutableSandboxedEnvironment):
    """The sandbox, noting every template name loaded (cache hits, includes, failed candidates too).

    The build's dependency graph needs what each output's render loaded; with
    templates cached in the environment, only this hook sees every load.
    """

    loaded: set[str] | None = None

    def _load_template(self, name: Any, globals: Any) -> Template:
        if self.loaded is not None and isinstance(name, str):
            self.loaded.add(name)
        return super()._load_template(name, globals)  # type: ignore[misc]


class Templates:
    """One channel's template environment."""

    def __init__(self, channel: Channel, filters: dict[str, Callable[..., Any]] | None = None) -> None:
        self.channel = channel
        self.dirs = channel.template_dirs
        parent_dirs = [d / "templates" for d in channel.parent_dirs if (d / "templates").is_dir()]
        loader = ChoiceLoader([
            PackLoader(channel, self.dirs),
            PrefixLoader({"parent": PackLoader(channel, parent_dirs)}, delimiter=":"),
        ])
        self.env = _RecordingEnvironment(
            loader=loader,
            autoescape=select_autoescape(["html", "htm", "xml", "xhtml", "svg"]),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
        )
        self.env.filters.update(filters or {})
        _register_plugin_filters(self.env.filters)
        self._cache: dict[str, Template] = {}

    def get(self, name: str) -> Template:
        if name not in self._cache:
            try:
                self._cache[name] = self.env.get_template(name)
            except RefusedTemplate as err:
                raise ContentpipeError(err.message, SourcePos(err.link or self.channel.rule_files[0])) from None
            except TemplateSyntaxError as err:
                raise ContentpipeError(f"template syntax error: {err.message}",
                                       SourcePos(self._file(err.filename, err.name), err.lineno)) from err
            except TemplateNotFound as err:
                raise ContentpipeError(f"template {err.name!r} not found",
                                       SourcePos(self.channel.rule_files[0])) from err
            except Exception as err:  # the compiler itself gave up (a RecursionError on deep nesting)
                raise ContentpipeError(f"template error: {_describe(err)}{self._pack}",
                                       SourcePos(self._locate(name))) from None
        return self._cache[name]

    def render(self, name: str, context: dict[str, Any]) -> str:
        """The rendered template; any failure of a pack's template is one ContentpipeError with file and line."""
        template = self.get(name)
        try:
            return template.render(context)
        except ContentpipeError:  # a content problem found while rendering: already says where
            raise
        except RefusedTemplate as err:  # an include, import or extends
            raise ContentpipeError(err.message, SourcePos(err.link) if err.link else self._where(template)) from None
        except TemplateSyntaxError as err:  # an included template that fails to compile
            raise ContentpipeError(f"template syntax error: {err.message}",
                                   SourcePos(self._file(err.filename, err.name), err.lineno)) from err
        except Exception as err:  # packs are third-party code: OverflowError, RecursionError, MemoryError...
            where = self._where(template)
            raise ContentpipeError(f"template error: {_describe(err)}{self._pack}", where) from None

    @property
    def _pack(self) -> str:
        return f" (in the {self.channel.name!r} pack)"

    def _locate(self, name: str) -> Path:
        base = name.removeprefix("parent:")
        return next((d / base for d in self.dirs if (d / base).is_file()), self._file(None, name))

    def _file(self, filename: str | None, name: str | None) -> Path:
        if filename:
            return Path(filename)
        return self.dirs[0] / (name or "?") if self.dirs else Path(name or "?")

    def _where(self, template: Template) -> SourcePos:
        """The innermost template frame of the exception being handled (Jinja maps lines back)."""
        tb = sys.exc_info()[2]
        where = SourcePos(Path(template.filename or template.name or "?"))
        template_files = {str(p) for p in (Path(template.filename or ""),)}
        while tb is not None:
            filename = tb.tb_frame.f_code.co_filename
            if filename in template_files or any(filename.startswith(str(d)) for d in self.dirs):
                where = SourcePos(Path(filename), tb.tb_lineno)
            tb = tb.tb_next
        return where


def _describe(err: Exception) -> str:
    if isinstance(err, RecursionError):
        return f"nested too deeply, or a macro or include calls itself without end ({err})"
    return str(err) or type(err).__name__
