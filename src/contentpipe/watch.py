"""Watch a project and build again after each burst of changes, with one kept engine.

The watcher collects the paths watchdog reports, ignoring the output and cache folders, dot
folders and editor temp and backup files, and builds once the project has been quiet for
``quiet`` seconds: an editor's atomic save (a temp file renamed over the master) and a
``git checkout`` of 500 files are each one build. Events that arrive during a build make the
next one. The build is the kept ``Project``'s, so most edits take the engine's patch path.
Nothing a build meets ends the watcher: bad input is in the result's problems, and an
unexpected exception is reported as the build's failure and the next change builds again.
"""

from __future__ import annotations

import errno
import fnmatch
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from contentpipe.api import BuildResult, Project

if TYPE_CHECKING:
    from watchdog.events import FileSystemEventHandler
    from watchdog.observers.api import BaseObserver

QUIET_SECONDS = 0.05

# Editor scratch files: vim (swap, backup, its "4913" write test), Emacs (lock, autosave, backup),
# JetBrains safe-write temps, VS Code / Chromium swap files, and generic temp names.
IGNORED_NAMES = ("*.swp", "*.swx", "*.swo", "*~", "4913", ".#*", "#*#", "*___jb_tmp___", "*___jb_old___",
                 "*.crswap", "*.tmp", "*.bak", ".DS_Store", "Thumbs.db")


@dataclass(frozen=True)
class Rebuild:
    """One build the watcher ran: what set it off and how it went."""

    changed: tuple[str, ...]  # project-relative paths, sorted
    result: BuildResult | None  # None when the build raised
    seconds: float
    failure: str = ""  # the exception's text when it raised


@dataclass
class Watcher:
    """Build ``project`` whenever its inputs change; ``run`` blocks until ``stop`` is set."""

    project: Project
    on_rebuild: Callable[[Rebuild], None]
    quiet: float = QUIET_SECONDS
    poll: bool = False  # watchdog's polling observer instead of the OS's notifications
    drafts: bool | None = None
    on_notice: Callable[[str], None] = print
    _pending: set[str] = field(default_factory=set)
    _wake: threading.Condition = field(default_factory=threading.Condition)

    def ignored(self, path: str) -> bool:
        """Only what a build reads sets one off: contentpipe.toml, assets/ and channels/, less scratch files.

        The output and cache folders, dot folders and files, and editor temp and backup files are ignored
        wherever they are.
        """
        p = Path(path)
        cfg = self.project.config
        for folder in (cfg.out_dir, cfg.cache_dir):
            if p == folder or p.is_relative_to(folder):
                return True
        try:
            rel = p.relative_to(self.project.root)
        except ValueError:
            return True
        if rel.parts[:1] not in (("assets",), ("channels",)) and rel != Path(cfg.file.name):
            return True
        if any(part.startswith(".") for part in rel.parts):
            return True
        return any(fnmatch.fnmatchcase(rel.name, pattern) for pattern in IGNORED_NAMES)

    def notify(self, paths: Iterable[str]) -> None:
        """Paths reported changed (by watchdog, or by a test); the build waits for quiet."""
        wanted = [p for p in paths if p and not self.ignored(p)]
        if wanted:
            with self._wake:
                self._pending.update(wanted)
                self._wake.notify_all()

    def __post_init__(self) -> None:
        self.project.engine.check_outputs_after = True  # see after()

    def run(self, stop: threading.Event, ready: Callable[[], None] | None = None) -> None:
        """Build after each burst of changes until ``stop`` is set; ``ready`` is called once watching."""
        observer, handler, watched = self._observe()
        if ready is not None:
            ready()
        try:
            while not stop.is_set():
                changed = self._next_burst(stop)
                if changed:
                    watched = self._schedule(observer, handler, watched)  # assets/ or channels/ made since
                    self.after(self.rebuild(changed))
        finally:
            observer.stop()
            observer.join(timeout=5)

    def rebuild(self, changed: Iterable[str]) -> Rebuild:
        root = self.project.root
        rel = tuple(sorted({_relative(Path(p), root) for p in changed}))
        started = time.perf_counter()
        try:
            result = self.project.build(drafts=self.drafts)
        except Exception as err:  # a watcher outlives whatever one build meets
            return Rebuild(rel, None, time.perf_counter() - started, f"{type(err).__name__}: {err}")
        return Rebuild(rel, result, time.perf_counter() - started)

    def after(self, rebuild: Rebuild) -> None:
        """Report a build; then, if it patched the last one, check the output folder it did not stat first.

        A patch trusts the files of the build it patches, so the save reaches the browser sooner; an output
        changed or removed by someone else since is found here, and the full path builds it again at once.
        """
        self.on_rebuild(rebuild)
        result = rebuild.result
        if result is not None and result.way == "patch" and not self.project.engine.outputs_intact():
            out = _relative(self.project.config.out_dir, self.project.root)
            self.on_rebuild(self.rebuild([f"{out}/ (changed outside contentpipe)"]))

    def _next_burst(self, stop: threading.Event) -> set[str]:
        """Wait for a change, then until nothing more has come for ``quiet`` seconds."""
        with self._wake:
            while not self._pending and not stop.is_set():
                self._wake.wait(timeout=0.5)
            while not stop.is_set():
                seen = len(self._pending)
                self._wake.wait(timeout=self.quiet)
                if len(self._pending) == seen:
                    break
            changed, self._pending = self._pending, set()
        return changed

    def _observe(self) -> tuple[BaseObserver, FileSystemEventHandler, set[str]]:
        """Watch what a build reads: the project folder itself (contentpipe.toml), assets/ and channels/.

        Not the whole project: a build writes thousands of files into the output and cache folders, and
        their events would overflow the kernel's inotify queue (16,384 events by default), after which
        watchdog drops its watches. A folder of the two made later is watched from the next burst on.
        """
        from watchdog.events import FileSystemEvent, FileSystemEventHandler
        from watchdog.observers import Observer
        from watchdog.observers.polling import PollingObserver

        watcher = self

        class Handler(FileSystemEventHandler):
            def on_any_event(self, event: FileSystemEvent) -> None:
                if event.event_type in ("opened", "closed_no_write") or (
                        event.is_directory and event.event_type == "modified"):  # a folder's entries changed
                    return
                watcher.notify([_text(event.src_path), _text(getattr(event, "dest_path", "") or "")])

        handler = Handler()
        if not self.poll:
            observer = Observer()
            try:
                watched = self._schedule(observer, handler, set())
                observer.start()
                return observer, handler, watched
            except OSError as err:
                if err.errno not in (errno.ENOSPC, errno.EMFILE, errno.ENFILE):
                    raise
                observer.stop()
                self.on_notice(f"the system's file-watch limit was reached ({err.strerror}): polling instead "
                               "(raise fs.inotify.max_user_watches to watch without polling)")
        observer = PollingObserver(timeout=0.5)
        watched = self._schedule(observer, handler, set())
        observer.start()
        return observer, handler, watched

    def _schedule(self, observer: BaseObserver, handler: FileSystemEventHandler, watched: set[str]) -> set[str]:
        """Schedule the folders not yet watched; returns the names watched now."""
        root = self.project.root
        if not watched:
            observer.schedule(handler, str(root), recursive=False)
            watched = {""}
        for name in ("assets", "channels"):
            if name not in watched and (root / name).is_dir():
                observer.schedule(handler, str(root / name), recursive=True)
                watched = watched | {name}
        return watched


def _text(path: str | bytes) -> str:
    return path.decode(errors="surrogateescape") if isinstance(path, bytes) else path


def _relative(path: Path, root: Path) -> str:
    try:
        return path.relative_to(root).as_posix()
    except ValueError:
        return str(path)


def describe(rebuild: Rebuild) -> str:
    """The watcher's one line per build: what changed, what was rebuilt, how long it took."""
    changed = ", ".join(rebuild.changed[:3]) + (f" and {len(rebuild.changed) - 3} more"
                                                 if len(rebuild.changed) > 3 else "") or "first build"
    ms = f"{rebuild.seconds * 1000:.0f} ms"
    r = rebuild.result
    if r is None:
        return f"{changed}: build failed: {rebuild.failure} ({ms}); the next change builds again"
    outcome = "ok" if r.ok else f"{len(r.errors)} errors"
    warnings = f", {len(r.warnings)} warnings" if r.warnings else ""
    return (f"{changed}: {r.rendered} outputs rendered, {r.written} files written, {r.removed} removed "
            f"({r.way}) in {ms}; {outcome}{warnings}")
