"""Jinja2 for channel packs: sandboxed, bounded, autoescaped, strict, with errors that name file and line.

Packs may come from agencies, so templates run in Jinja2's immutable sandbox
(render/sandbox.py), within ``[build.limits]`` (render/limits.py: time, output
size, what operations may make, ranges, loop and macro depth), and get plain
data (dicts, lists, strings), never live objects. Templates are
read only from inside their pack (``Channel.refusal``): a link leading out, or
a name with ``..`` or a root, is an error naming the link or the template. ``parent:name``
loads the template of the pack being extended, so an override can
``{% extends "parent:page.html" %}`` and replace single blocks.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from functools import partial
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

from contentpipe.config.project import Limits
from contentpipe.errors import ContentpipeError, SourcePos
from contentpipe.load.packs import Channel, template_name_refusal
from contentpipe.render import filters as pack_filters
from contentpipe.render.limits import LimitExceeded, TimeLimit
from contentpipe.render.sandbox import LoopsTooDeep, Sandbox

# autoescaped by extension; .txt, .json, .css and the rest are not HTML, and escaping would break them
AUTOESCAPE = ("html", "htm", "xml", "xhtml", "svg")


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


class _RecordingEnvironment(Sandbox):
    """The bounded sandbox, noting every template name loaded (cache hits, includes, failed candidates too).

    The build's dependency graph needs what each output's render loaded; with
    templates cached in the environment, only this hook sees every load.
    """

    loaded: set[str] | None = None

    def _load_template(self, name: Any, globals: Any) -> Template:
        if self.loaded is not None and isinstance(name, str):
            self.loaded.add(name)
        return super()._load_template(name, globals)  # type: ignore[misc]


class Templates:
    """One channel's template environment.

    ``trust_packs`` false (``[build] trust_packs``) leaves out the filters of
    installed packages: no Python of theirs is imported. ``filters`` are guarded
    like those (plain data only).
    """

    def __init__(self, channel: Channel, filters: dict[str, Callable[..., Any]] | None = None,
                 limits: Limits | None = None, trust_packs: bool = True) -> None:
        self.channel = channel
        self.limits = limits or Limits()
        self.dirs = channel.template_dirs
        parent_dirs = [d / "templates" for d in channel.parent_dirs if (d / "templates").is_dir()]
        loader = ChoiceLoader([
            PackLoader(channel, self.dirs),
            PrefixLoader({"parent": PackLoader(channel, parent_dirs)}, delimiter=":"),
        ])
        self.env = _RecordingEnvironment(
            loader=loader,
            autoescape=select_autoescape(AUTOESCAPE),
            undefined=StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
            auto_reload=False,
            limits=self.limits,
        )
        plugins = pack_filters.plugin_filters() if trust_packs else {}
        pack_filters.install(self.env, {**plugins, **(filters or {})})
        self._cache: dict[str, Template] = {}
        self._timed_out: dict[str, ContentpipeError] = {}  # template name -> its error, for this environment

    def get(self, name: str) -> Template:
        if name not in self._cache:
            try:
                self._cache[name] = self.env.get_template(name)
            except RefusedTemplate as err:
                raise ContentpipeError(err.message, SourcePos(err.link or self.channel.rule_files[0])) from None
            except TemplateSyntaxError as err:
                raise _syntax_error(err, self._file(err.filename, err.name), self._pack) from err
            except TemplateNotFound as err:
                raise ContentpipeError(f"template {err.name!r} not found",
                                       SourcePos(self.channel.rule_files[0])) from err
            except Exception as err:  # the compiler itself gave up (a RecursionError on deep nesting)
                raise ContentpipeError(f"template error: {_describe(err)}{self._pack}",
                                       SourcePos(self._locate(name))) from None
        return self._cache[name]

    def render(self, name: str, context: dict[str, Any]) -> str:
        """The rendered template; any failure of a pack's template is one ContentpipeError with file and line.

        A template that once ran past ``render_seconds`` is not run again by this
        environment: its other outputs get the same error at once, so a slow
        per-document template costs one wall time per build, not one per document.
        """
        if name in self._timed_out:
            raise self._timed_out[name]
        template = self.get(name)
        _, outer = self.env.begin()
        try:
            return self._stream(template, context)
        except ContentpipeError:  # a content problem found while rendering: already says where
            raise
        except RefusedTemplate as err:  # an include, import or extends
            raise ContentpipeError(err.message, SourcePos(err.link) if err.link else self._where(template)) from None
        except TemplateSyntaxError as err:  # an included template that fails to compile
            raise _syntax_error(err, self._file(err.filename, err.name), self._pack) from err
        except Exception as err:  # packs are third-party code: OverflowError, RecursionError, MemoryError...
            where = self._where(template)
            error = ContentpipeError(f"template error: {_describe(err)}{self._pack}", where)
            if isinstance(err, TimeLimit):
                self._timed_out[name] = error
            raise error from None
        finally:
            self.env.end(outer)

    def _stream(self, template: Template, context: dict[str, Any]) -> str:
        """The template's text, produced piece by piece and stopped once it passes ``output_size`` bytes."""
        limit = self.limits.output_size
        tick = self.env.budget().tick
        parts: list[str] = []
        size = 0
        stream = template.generate(context)
        for part in stream:
            size += len(part) if part.isascii() else len(part.encode("utf-8", "surrogatepass"))
            if size > limit:  # raised where the template is, so the error names its line
                stream.throw(LimitExceeded(f"the output passed {limit:,} bytes ([build.limits] output_size)"))
            tick()
            parts.append(part)
        return "".join(parts)

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


def _syntax_error(err: TemplateSyntaxError, path: Path, pack: str) -> ContentpipeError:
    if isinstance(err, LoopsTooDeep):
        return ContentpipeError(f"template error: {err.message}{pack}", SourcePos(path, err.lineno))
    return ContentpipeError(f"template syntax error: {err.message}", SourcePos(path, err.lineno))


def _describe(err: Exception) -> str:
    if isinstance(err, RecursionError):
        return f"nested too deeply, or a macro or include calls itself without end ({err})"
    return str(err) or type(err).__name__
