"""The command line: parse options, call the API, show the result, set the exit code.

Exit codes: 0 built without errors; 1 the build found problems (valid documents
were still written unless --all-or-nothing); 2 the project cannot be used (no or
invalid contentpipe.toml, bad options).
"""

from __future__ import annotations

import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from contentpipe import __version__
from contentpipe.api import BuildResult, Project
from contentpipe.errors import Problem, Problems, ProjectError

if TYPE_CHECKING:
    from rich.console import Console

EXIT_OK, EXIT_PROBLEMS, EXIT_UNUSABLE = 0, 1, 2


@cache
def err_console() -> Console:
    """rich on stderr, imported when first needed: a build with nothing to do and nothing to say skips it."""
    from rich.console import Console

    return Console(stderr=True, highlight=False, soft_wrap=True)


def _rel(path: Path) -> str:
    try:
        return os.path.relpath(path)
    except ValueError:
        return str(path)


def format_problem(p: Problem) -> str:
    where = _rel(p.where.path) + (f":{p.where.line}" if p.where.line else "")
    key = f" {p.where.key}:" if p.where.key else ""
    hint = f" ({p.hint})" if p.hint else ""
    return f"{where}:{key} {p.severity}: {p.message}{hint}"


def show_problems(problems: list[Problem]) -> None:
    for p in problems:
        style = "red" if p.severity == "error" else "yellow"
        err_console().print(format_problem(p), style=style, markup=False, highlight=False)


def _load(project: str, out: str | None, as_json: bool = False) -> Project:
    try:
        return Project.load(project, out_dir=out)
    except ProjectError as err:
        problems = [*err.problems, err.problem]
        if as_json:  # CI parses stdout: a JSON object on every exit, this one included
            root = Path(project).resolve()
            listed = list(err.problems) or [err.problem]  # not the "has N problems" headline
            click.echo(json.dumps({
                "ok": False, "exit_code": EXIT_UNUSABLE, "project": str(root),
                "errors": sum(p.severity == "error" for p in listed),
                "warnings": sum(p.severity == "warning" for p in listed),
                "problems": [p.to_json(root) for p in listed]}, indent=2, ensure_ascii=False))
        show_problems(problems)
        raise SystemExit(EXIT_UNUSABLE) from err


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="contentpipe")
@click.option("-v", "--verbose", is_flag=True, help="Log what each stage does.")
def cli(verbose: bool) -> None:
    """contentpipe: write once in Markdown, publish a native variant on every channel."""
    if verbose:
        from rich.logging import RichHandler

        logging.basicConfig(level=logging.INFO, format="%(message)s",
                            handlers=[RichHandler(console=err_console(), show_time=False, show_path=False)])
    else:
        logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")


@cli.command()
@click.argument("project", default=".", type=click.Path(file_okay=False))
@click.option("--channel", "channels", multiple=True, metavar="NAME",
              help="Build only this channel (repeatable). Default: [channels] enabled, or every pack.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: [output] dir, 'dist').")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--drafts/--no-drafts", default=None, help="Include documents marked draft: true.")
@click.option("--strict", is_flag=True, help="Exit non-zero on warnings too.")
@click.option("--all-or-nothing", is_flag=True, help="If any error is found, write nothing at all.")
@click.option("--full", is_flag=True, help="Render every output again, whatever changed (caches still serve).")
@click.option("--verify", is_flag=True, help="Build incrementally, then build clean into a temporary folder and "
              "report every file on which they differ (exit 1 if any).")
def build(project: str, channels: tuple[str, ...], out: str | None, as_json: bool, drafts: bool | None,
          strict: bool, all_or_nothing: bool, full: bool, verify: bool) -> None:
    """Build every channel variant of PROJECT (default: the current folder) into its output folder."""
    proj = _load(project, out, as_json)
    if verify:
        _verify(proj, channels, drafts, as_json)
    if not as_json and sys.stderr.isatty():
        with _progress_bar() as progress:
            result = proj.build(channels or None, drafts=drafts, all_or_nothing=all_or_nothing, full=full,
                                progress=progress)
    else:
        result = proj.build(channels or None, drafts=drafts, all_or_nothing=all_or_nothing, full=full)
    if as_json:
        click.echo(dump_summary(result.summary()))
    else:
        show_problems(result.problems)
        _show_summary(result)
    failed = result.errors or (strict and result.warnings)
    raise SystemExit(EXIT_PROBLEMS if failed else EXIT_OK)


def dump_summary(summary: dict[str, Any]) -> str:
    """The summary indented for people, each problem on one line: json's indenting encoder is pure Python,
    and a corpus can carry ten thousand warnings."""
    problems = summary.get("problems")
    if not problems:
        return json.dumps(summary, indent=2, ensure_ascii=False)
    marker = "\u0000problems\u0000"
    text = json.dumps({**summary, "problems": marker}, indent=2, ensure_ascii=False)
    encode = json.JSONEncoder(ensure_ascii=False).encode
    rows = ",\n".join("    " + encode(p) for p in problems)
    return text.replace(json.dumps(marker), "[\n" + rows + "\n  ]", 1)


def _verify(proj: Project, channels: tuple[str, ...], drafts: bool | None, as_json: bool) -> None:
    result, differences = proj.verify(channels or None, drafts=drafts)
    if as_json:
        summary = result.summary()
        summary["verify"] = {"ok": not differences, "differences": [vars(d) for d in differences]}
        click.echo(dump_summary(summary))
    else:
        show_problems(result.problems)
        _show_summary(result)
        for d in differences:
            click.echo(f"{d.what}: {d.path}")
        verdict = (click.style("verified", fg="green") + ": the incremental build equals a clean build"
                   if not differences else click.style("differs", fg="red") +
                   f": {len(differences)} files differ from a clean build")
        click.echo(verdict, err=True)
    raise SystemExit(EXIT_PROBLEMS if differences or result.errors else EXIT_OK)


@cli.command()
@click.argument("output")
@click.option("--project", "project", default=".", type=click.Path(file_okay=False), show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: [output] dir, 'dist').")
def explain(output: str, project: str, out: str | None) -> None:
    """What OUTPUT (a file in the output folder, or a published key) depends on, and why it was rebuilt."""
    from contentpipe.engine.explain import explain as explain_output

    proj = _load(project, out)
    found, lines = explain_output(proj.engine, output)
    for line in lines:
        click.echo(line)
    raise SystemExit(EXIT_OK if found else EXIT_PROBLEMS)


@contextmanager
def _progress_bar() -> Iterator[Callable[[str, int, int], None]]:
    """A progress callback drawing one bar per stage on stderr (only on a terminal)."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TaskID, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description:>10}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=err_console(), transient=True) as bar:
        tasks: dict[str, TaskID] = {}

        def progress(stage: str, done: int, total: int) -> None:
            if stage not in tasks:
                tasks[stage] = bar.add_task(stage, total=total)
            bar.update(tasks[stage], completed=done, total=total)

        yield progress


def _show_summary(result: BuildResult) -> None:
    per_channel = ", ".join(f"{name} {s.outputs}" for name, s in sorted(result.channels.items()))
    cached = result.renditions - result.renditions_encoded
    verdict = click.style("built", fg="green") if result.ok else click.style("built with errors", fg="red")
    if not result.wrote_outputs:
        verdict = click.style("nothing written (--all-or-nothing)", fg="red")
    click.echo(
        f"{verdict}: {result.documents} documents -> {_rel(result.out_dir)}/ ({per_channel or 'no outputs'}); "
        f"{result.rendered} outputs rendered, {result.kept} kept; "
        f"{result.renditions} renditions ({result.renditions_encoded} encoded, {cached} cached); "
        f"{result.written} files written, {result.unchanged} unchanged, {result.removed} removed; "
        f"{len(result.errors)} errors, {len(result.warnings)} warnings in {result.seconds:.2f}s", err=True)


@cli.command("channels")
@click.argument("project", default=".", type=click.Path(file_okay=False))
def channels_cmd(project: str) -> None:
    """List the channel packs PROJECT can use, where each comes from and what it extends."""
    from contentpipe.load.packs import discover, load_channels

    proj = _load(project, None)
    problems = Problems()
    found = discover(proj.root)
    resolved = load_channels(proj.root, problems, tuple(sorted(found)))
    for name, sources in sorted(found.items()):
        chain = " <- ".join(f"{s.origin} ({_rel(s.dir)})" for s in reversed(sources))
        state = "ok" if name in resolved else "invalid"
        click.echo(f"{name:12} {state:8} {chain}")
        if name in resolved:
            for kind, rule in resolved[name].rules.outputs.items():
                click.echo(f"{'':12}   {kind:10} per {rule.per:9} {rule.path}")
    show_problems(list(problems))
    sys.exit(EXIT_PROBLEMS if problems.errors else EXIT_OK)


@cli.command()
@click.argument("project", default=".", type=click.Path(file_okay=False))
@click.option("--target", "target_name", metavar="NAME", help="A [targets.NAME] table of contentpipe.toml.")
@click.option("--to", "target_url", metavar="URL", help="s3://bucket/prefix[?endpoint=...&path_style=true] or "
              "file:///folder. Default: the folder published/ in the project.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder of the build to publish.")
@click.option("--dry-run", is_flag=True, help="Print the plan (uploads with reasons, deletes) and change nothing.")
@click.option("--json", "as_json", is_flag=True, help="Print a machine-readable summary on stdout.")
@click.option("--max-deletes", default=256, show_default=True, type=click.IntRange(min=0),
              help="Refuse the whole publish if it would delete more objects than this.")
@click.option("--no-delete", is_flag=True, help="Never delete stale objects.")
@click.option("--concurrency", default=8, show_default=True, type=click.IntRange(1, 64), help="Parallel uploads.")
@click.option("--trust-state", is_flag=True,
              help="Compare with the state file the last publish left at the target instead of listing the "
                   "target: one GET instead of a LIST of every object. Changes made to the target by others "
                   "go unnoticed until a publish without this flag.")
def publish(project: str, target_name: str | None, target_url: str | None, out: str | None, dry_run: bool,
            as_json: bool, max_deletes: int, no_delete: bool, concurrency: int, trust_state: bool) -> None:
    """Publish the last build of PROJECT: upload only what changed, renditions before pages, deletes last."""
    from contentpipe.publish.run import PublishOptions
    from contentpipe.publish.run import publish as run_publish
    from contentpipe.publish.store import PublishError
    from contentpipe.publish.target import resolve_target

    proj = _load(project, out, as_json)
    options = PublishOptions(dry_run=dry_run, delete=not no_delete, max_deletes=max_deletes,
                             concurrency=concurrency, trust_state=trust_state)
    try:
        store, options = resolve_target(proj.config, target_name, target_url, options)
    except PublishError as err:
        err_console().print(f"error: {err}", style="red", markup=False)
        raise SystemExit(EXIT_UNUSABLE) from err
    try:
        if not as_json and sys.stderr.isatty() and not dry_run:
            with _progress_bar() as progress:
                result = run_publish(proj.config.out_dir, store, options, progress=progress)
        else:
            result = run_publish(proj.config.out_dir, store, options)
    except PublishError as err:
        if as_json:
            click.echo(json.dumps({"ok": False, "target": store.url, "error": str(err)}, indent=2))
        err_console().print(f"error: {err}", style="red", markup=False)
        raise SystemExit(EXIT_PROBLEMS) from err
    if as_json:
        click.echo(dump_summary(result.summary()))
    else:
        _show_publish(result)
    raise SystemExit(EXIT_OK if result.ok else EXIT_PROBLEMS)


def _show_publish(result: Any) -> None:
    plan = result.plan
    if result.dry_run:
        for up in plan.uploads:
            click.echo(f"upload  {up.key}  ({up.reason})")
        for key in plan.deletes:
            click.echo(f"delete  {key}")
        err_console().print(f"dry run for {result.target}: {len(plan.uploads)} to upload ({result.bytes:,} bytes), "
                          f"{len(plan.deletes)} to delete, {plan.unchanged} unchanged; nothing was changed")
        return
    for key, error in result.failures:
        err_console().print(f"failed: {key}: {error}", style="red", markup=False)
    verdict = "[green]published[/]" if result.ok else "[red]publish incomplete[/]"
    err_console().print(f"{verdict} to {result.target}: {len(result.uploaded)} uploaded ({result.bytes:,} bytes), "
                      f"{len(result.deleted)} deleted, {plan.unchanged} unchanged, {len(result.failures)} failed "
                      f"in {result.seconds:.2f}s")


def _watch_options(fn: Callable[..., Any]) -> Callable[..., Any]:
    fn = click.option("--poll", is_flag=True, help="Poll for changes instead of the system's file notifications.")(fn)
    fn = click.option("--drafts/--no-drafts", default=None, help="Include documents marked draft: true.")(fn)
    fn = click.option("--out", type=click.Path(file_okay=False),
                      help="Output folder (default: [output] dir, 'dist').")(fn)
    return click.argument("project", default=".", type=click.Path(file_okay=False))(fn)


def _keep_watching(proj: Project, poll: bool, drafts: bool | None, then: Callable[[Any], None] | None = None,
                   ready: Callable[[], None] | None = None) -> None:
    """Build, then build again after every burst of changes until Ctrl-C; one report per build.

    ``then`` takes each ``Rebuild`` before it is reported (serve pushes it to the browser); ``ready`` runs
    once the first build is done and the watcher is watching.
    """
    import threading

    from contentpipe.watch import Rebuild, Watcher, describe

    console = err_console()

    def report(rebuild: Rebuild) -> None:
        if then is not None:
            then(rebuild)
        style = "red" if rebuild.result is None or not rebuild.result.ok else "green"
        console.print(describe(rebuild), style=style, markup=False, highlight=False)
        if rebuild.result is not None:
            changed = {proj.root / c for c in rebuild.changed}
            shown = [p for p in rebuild.result.problems if p.severity == "error" or p.where.path in changed]
            show_problems(shown[:50])
            if len(shown) > 50:
                console.print(f"... and {len(shown) - 50} more (contentpipe build lists them all)", markup=False)

    watcher = Watcher(proj, report, poll=poll, drafts=drafts,
                      on_notice=lambda m: console.print(m, style="yellow", markup=False))
    report(watcher.rebuild(()))
    stop = threading.Event()

    def watching() -> None:
        console.print(f"watching {_rel(proj.root)}/ for changes (Ctrl-C stops)", markup=False, highlight=False)
        if ready is not None:
            ready()

    try:
        watcher.run(stop, watching)
    except KeyboardInterrupt:
        stop.set()
    console.print("stopped watching", markup=False)


@cli.command()
@_watch_options
def watch(project: str, out: str | None, drafts: bool | None, poll: bool) -> None:
    """Build PROJECT, then build again after every change to its masters, packs or config (Ctrl-C stops).

    One line per build says what changed, what was rebuilt and how long it took; the problems of the
    files that changed, and every error, follow it. Bad input never stops the watcher.
    """
    _keep_watching(_load(project, out), poll, drafts)


@cli.command()
@_watch_options
@click.option("--host", default="127.0.0.1", show_default=True,
              help="Address to bind; anything but loopback lets other machines read the build.")
@click.option("--port", default=8000, show_default=True, type=int, help="Port (0: any free one).")
@click.option("--open", "open_browser", is_flag=True, help="Open the preview in a browser once it is ready.")
def serve(project: str, out: str | None, drafts: bool | None, poll: bool, host: str, port: int,
          open_browser: bool) -> None:
    """Watch PROJECT and serve every build as it will be published, with a live preview of every channel.

    /_contentpipe/ lists every document; each document's preview shows web, mobile, email and social
    side by side. Pages reload by themselves when their bytes change, and build errors show in an
    overlay until they are fixed. Requests made during a build get the last complete build.
    """
    from contentpipe.live import Live, Site
    from contentpipe.preview import is_loopback, serve_in_thread

    proj = _load(project, out)
    out_dir = proj.config.out_dir
    live = Live(Site.from_manifest(out_dir, proj.root))
    proj.engine.write_gate = live.gate.writing
    def send_test(source: str, to: list[str]) -> str:
        from contentpipe.sendtest import find_message, send_message, smtp_settings

        return send_message(find_message(out_dir, source), to, smtp_settings(proj.config)).describe()

    try:
        server = serve_in_thread(out_dir, host, port, live, send_test, proj.root)  # the last build, until the next
    except OSError as err:
        err_console().print(f"cannot serve on {host}:{port}: {err.strerror or err}"
                            + (" (pick another with --port)" if err.errno == errno.EADDRINUSE else ""), style="red")
        raise SystemExit(EXIT_UNUSABLE) from err
    if not is_loopback(host):
        err_console().print(f"warning: serving on {host}, not loopback: anyone who can reach this machine can "
                            "read the build and its drafts", style="yellow", markup=False)
    import threading

    url = f"http://{host if ':' not in host else f'[{host}]'}:{server.server_port}/"

    def settle(rebuild: Any) -> None:
        live.settle(rebuild.result, rebuild.changed, rebuild.failure, rebuild.seconds, proj.config.site.base_url)

    def ready() -> None:
        click.echo(f"serving http://{url.split('://', 1)[1]} (every document: {url}_contentpipe/)")
        if open_browser:
            import webbrowser

            threading.Thread(target=webbrowser.open, args=(url + "_contentpipe/",), daemon=True).start()

    try:
        _keep_watching(proj, poll, drafts, settle, ready)
    finally:
        server.shutdown()
        server.server_close()


@cli.command("send-test")
@click.argument("document")
@click.option("--to", "to", multiple=True, required=True, help="Recipient (repeatable, or comma-separated).")
@click.option("--smtp", help="HOST:PORT of the SMTP server (else [smtp] or CONTENTPIPE_SMTP_HOST).")
@click.option("--project", default=".", type=click.Path(file_okay=False), show_default=True)
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default: [output] dir, 'dist').")
@click.option("--locale", help="Which locale's version, when DOCUMENT names several.")
@click.option("--no-build", is_flag=True, help="Send what is built without building first.")
def send_test(document: str, to: tuple[str, ...], smtp: str | None, project: str, out: str | None,
              locale: str | None, no_build: bool) -> None:
    """Send DOCUMENT's email (its built .eml, unchanged) to an inbox, to check it in a real mail client.

    DOCUMENT is its path (assets/articles/x.md), id (articles/x) or slug (x). The project is built first
    (incrementally), and a document with errors is not sent. The password comes from
    CONTENTPIPE_SMTP_PASSWORD only and is never printed.
    """
    from contentpipe.errors import ContentpipeError
    from contentpipe.sendtest import find_message, recipients, send_message, smtp_settings

    proj = _load(project, out)
    try:
        settings = smtp_settings(proj.config, smtp)
        addresses = recipients(to)
    except ContentpipeError as err:
        show_problems([err.problem])
        raise SystemExit(EXIT_UNUSABLE) from None
    try:
        if not no_build:
            result = proj.build()
            found = find_message(proj.config.out_dir, document, locale)
            own = [p for p in result.errors if p.where.path == proj.root / found.source]
            if own:
                show_problems(own)
                err_console().print(f"not sent: {found.source} has errors", style="red", markup=False)
                raise SystemExit(EXIT_PROBLEMS)
        else:
            found = find_message(proj.config.out_dir, document, locale)
        sent = send_message(found, addresses, settings)
    except ContentpipeError as err:
        if not no_build and "no document" in err.problem.message:
            left_out = [p for p in result.errors if document in p.where.path.as_posix()]
            show_problems(left_out)
        show_problems([err.problem])
        raise SystemExit(EXIT_PROBLEMS) from None
    click.echo(sent.describe())


@cli.command()
@click.argument("project", default=".", type=click.Path(file_okay=False))
@click.option("--out", type=click.Path(file_okay=False), help="Output folder of the build to serve.")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
def preview(project: str, out: str | None, host: str, port: int) -> None:
    """Serve the last build of PROJECT as it will be published (web at /, renditions at /media/)."""
    from contentpipe.preview import make_server

    proj = _load(project, out)
    if not (proj.config.out_dir / "manifest.json").is_file():
        err_console().print(f"no build in {_rel(proj.config.out_dir)}/: run 'contentpipe build' first", style="red")
        raise SystemExit(EXIT_PROBLEMS)
    server = make_server(proj.config.out_dir, host, port)
    err_console().print(f"serving {_rel(proj.config.out_dir)}/ at http://{host}:{server.server_port}/ (Ctrl-C stops)")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


def main() -> None:
    try:
        code = cli.main(prog_name="contentpipe", standalone_mode=False)
    except click.ClickException as err:  # bad options: exit 2, and with --json a JSON object on stdout too
        if "--json" in sys.argv[1:]:
            click.echo(json.dumps({"ok": False, "exit_code": err.exit_code, "error": err.format_message()}))
        err.show()
        sys.exit(err.exit_code)
    except click.Abort:
        err_console().print("aborted")
        sys.exit(EXIT_PROBLEMS)
    sys.exit(code if isinstance(code, int) else EXIT_OK)
