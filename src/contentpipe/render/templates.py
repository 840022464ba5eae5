"""Jinja2 for channel packs: sandboxed, autoescaped, strict, with errors that name file and line.

Packs may come from agencies, so templates run in Jinja2's immutable sandbox
and get plain data (dicts, lists, strings), never live objects. ``parent:name``
loads the template of the pack being extended, so an override can
``{% extends "parent:page.html" %}`` and replace single blocks.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from importlib import metadata
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    FileSystemLoader,
    PrefixLoader,
    StrictUndefined,
    Template,
    TemplateNotFound,
    TemplateSyntaxError,
    select_autoescape,
)
from jinja2.sandbox import ImmutableSandboxedEnvironment

from contentpipe.errors import ContentpipeError, SourcePos
from contentpipe.load.packs import Channel

log = logging.getLogger(__name__)


def _register_plugin_filters(filters: dict[str, Callable[..., Any]]) -> None:
    for ep in sorted(metadata.entry_points(group="contentpipe.filters"), key=lambda e: e.name):
        try:
            ep.load()(filters)
        except Exception as err:  # a broken plugin must not stop the build
            log.warning("filter plugin %s cannot be loaded: %s", ep.name, err)


class Templates:
    """One channel's template environment."""

    def __init__(self, channel: Channel, filters: dict[str, Callable[..., Any]] | None = None) -> None:
        self.channel = channel
        self.dirs = channel.template_dirs
        parent_dirs = [d / "templates" for d in channel.parent_dirs if (d / "templates").is_dir()]
        loader = ChoiceLoader([
            FileSystemLoader([str(d) for d in self.dirs]),
            PrefixLoader({"parent": FileSystemLoader([str(d) for d in parent_dirs])}, delimiter=":"),
        ])
        self.env = ImmutableSandboxedEnvironment(
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
