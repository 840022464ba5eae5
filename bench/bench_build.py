#!/usr/bin/env python3
"""Benchmark: contentpipe vs Hugo building the same corpus, cold and warm.

Measures wall-clock seconds of whole CLI invocations (time.perf_counter around
subprocess.run, so interpreter start-up and exit count, as they do for a user):

  contentpipe cold  `contentpipe build CORPUS --json`, CORPUS/dist deleted and
                    CONTENTPIPE_CACHE_DIR set to a new, empty folder.
  contentpipe warm  the same right after a build, same cache, nothing changed
                    (expected: renditions.encoded == 0 and files.written == 0).
  hugo cold         `hugo --quiet --source CORPUS-HUGO`, public/ and resources/
                    (Hugo's image cache) deleted.
  hugo warm         the same with resources/ and public/ kept: contentpipe's warm
                    build keeps dist/, so both start from their previous output and
                    cache, as a user re-running a build does. (Hugo rewrites every
                    page anyway; deleting public/ too made it ~15% slower by hand.)

Runs are interleaved round by round (contentpipe cold, hugo cold, contentpipe warm,
hugo warm) so machine noise hits both tools alike. With --skip-cold each tool is
built once untimed to prime its cache, then only warm runs are timed. Pages are the
.html files under CORPUS/dist/web and CORPUS-HUGO/public; the two site layouts
differ, so the counts differ. The tools are taken from the running interpreter's
folder (its venv), else from PATH.

The corpus comes from `<repo>/../shared/bench/make_corpus.py WORKDIR/corpus
--articles N --images M --hugo WORKDIR/corpus-hugo`, reused when
WORKDIR/corpus.stamp.json shows the same arguments and generator script.

Prints machine info, a Markdown table (median/min/max s, pages, pages/s), the
contentpipe/hugo ratio of median seconds and contentpipe's per-stage timings (from
--json) on stdout, progress on stderr; raw results go to WORKDIR/results.json.

Usage: python bench/bench_build.py [--workdir DIR] [--articles 1000] [--images 100] [--runs 3] [--skip-cold]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from common import corpus_parser, ensure_corpus, executable, machine_info, timed

SUMMARY_KEYS = ("seconds", "timings", "renditions", "files", "errors", "warnings")


@dataclass
class Run:
    tool: str
    mode: str
    run: int
    seconds: float
    pages: int
    summary: dict[str, Any] | None = None  # contentpipe's --json summary (trimmed)


def count_html(folder: Path) -> int:
    return sum(1 for _ in folder.rglob("*.html"))


class Bench:
    def __init__(self, workdir: Path, channels: str = "web") -> None:
        self.workdir = workdir
        # the web channel alone is the same site as the Hugo twin; "all" builds every channel
        self.channel_args = [] if channels == "all" else [a for c in channels.split(",") for a in ("--channel", c)]
        self.corpus, self.hugo_site = workdir / "corpus", workdir / "corpus-hugo"
        self.contentpipe_exe, self.hugo_exe = executable("contentpipe"), executable("hugo")
        self.runs: list[Run] = []

    def contentpipe(self, mode: str, run: int, cache: Path) -> Run:
        if mode == "cold":
            shutil.rmtree(self.corpus / "dist", ignore_errors=True)
        env = {**os.environ, "CONTENTPIPE_CACHE_DIR": str(cache)}
        # exit 1 = content errors (the corpus's deliberately over-long X texts, with every channel): still built
        seconds, out = timed([self.contentpipe_exe, "build", str(self.corpus), *self.channel_args, "--json"], env,
                             ok=(0, 1))
        full = json.loads(out)
        summary = {key: full[key] for key in SUMMARY_KEYS}
        summary["web_outputs"] = full["channels"]["web"]["outputs"]
        if mode == "warm" and run and (summary["renditions"]["encoded"] or summary["files"]["written"]):
            print(f"  note: warm contentpipe run {run} encoded {summary['renditions']['encoded']} "
                  f"renditions and wrote {summary['files']['written']} files (expected 0)", file=sys.stderr)
        return self._record(Run("contentpipe", mode, run, seconds, count_html(self.corpus / "dist" / "web"), summary))

    def hugo(self, mode: str, run: int) -> Run:
        if mode == "cold":
            for name in ("public", "resources"):
                shutil.rmtree(self.hugo_site / name, ignore_errors=True)
        seconds, _ = timed([self.hugo_exe, "--quiet", "--source", str(self.hugo_site)])
        return self._record(Run("hugo", mode, run, seconds, count_html(self.hugo_site / "public")))

    def _record(self, result: Run) -> Run:
        if result.run > 0:  # run 0 primes a cache and is not reported
            self.runs.append(result)
        print(f"  {result.tool:<11} {result.mode} #{result.run}: {result.seconds:7.2f} s, "
              f"{result.pages} pages", file=sys.stderr)
        return result

    def measure(self, runs: int, skip_cold: bool) -> None:
        warm_cache = self.workdir / "cache-warm"
        if skip_cold:
            print("priming caches (untimed)", file=sys.stderr)
            warm_cache.mkdir(exist_ok=True)
            self.contentpipe("warm", 0, warm_cache)
            self.hugo("warm", 0)
        for i in range(1, runs + 1):
            print(f"round {i}/{runs}", file=sys.stderr)
            if not skip_cold:
                shutil.rmtree(warm_cache, ignore_errors=True)
                warm_cache.mkdir()  # fresh and empty: this cold run fills it for the warm run below
                self.contentpipe("cold", i, warm_cache)
                self.hugo("cold", i)
            self.contentpipe("warm", i, warm_cache)
            self.hugo("warm", i)


def report(bench: Bench, info: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    print("## contentpipe vs Hugo: build benchmark\n")
    for key, value in info.items():
        print(f"- {key}: {value}")
    print(f"- corpus: {args.articles} articles, {args.images} images ({bench.workdir})\n")
    print("| tool | mode | runs | median s | min s | max s | pages | pages/s |")
    print("| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |")
    medians: dict[tuple[str, str], float] = {}
    rows: list[dict[str, Any]] = []
    for mode, tool in ((m, t) for m in ("cold", "warm") for t in ("contentpipe", "hugo")):
        if sel := [r for r in bench.runs if r.tool == tool and r.mode == mode]:
            secs = [r.seconds for r in sel]
            med, pages = statistics.median(secs), sel[-1].pages
            medians[tool, mode] = med
            rows.append({"tool": tool, "mode": mode, "runs": len(sel), "median": med, "min": min(secs),
                         "max": max(secs), "pages": pages, "pages_per_second": pages / med})
            print(f"| {tool} | {mode} | {len(sel)} | {med:.2f} | {min(secs):.2f} | {max(secs):.2f} "
                  f"| {pages} | {pages / med:.1f} |")
    ratios = {mode: medians["contentpipe", mode] / medians["hugo", mode] for mode in ("cold", "warm")
              if ("contentpipe", mode) in medians and ("hugo", mode) in medians}
    print("".join(f"\ncontentpipe/hugo median seconds, {mode}: {ratio:.2f}x" for mode, ratio in ratios.items()))
    stages = stage_medians(bench.runs)
    if stages:
        modes = list(stages)
        print("\ncontentpipe stages (median s of each row, from build --json; 'outside build' = wall - "
              "summary seconds: interpreter start-up, imports, config, exit):\n")
        print("| stage | " + " | ".join(modes) + " |\n| --- |" + " ---: |" * len(modes))
        for stage in stages[modes[-1]]:
            print(f"| {stage} | " + " | ".join(f"{stages[m].get(stage, float('nan')):.3f}" for m in modes) + " |")
    return {"machine": info, "args": {**vars(args), "workdir": str(args.workdir)}, "rows": rows, "ratios": ratios,
            "contentpipe_stage_medians": stages, "runs": [asdict(r) for r in bench.runs],
            "hugo_warm_keeps": "public/ and resources/"}


def stage_medians(runs: list[Run]) -> dict[str, dict[str, float]]:
    """Per mode: median seconds of each --json stage, the summary total, the rest of the wall time."""
    result: dict[str, dict[str, float]] = {}
    for mode in ("cold", "warm"):
        pairs = [(r.seconds, r.summary) for r in runs if r.tool == "contentpipe" and r.mode == mode and r.summary]
        if pairs:
            rows = [{**s["timings"], "total (summary seconds)": s["seconds"], "outside build": wall - s["seconds"],
                     "wall": wall} for wall, s in pairs]
            result[mode] = {key: statistics.median(row[key] for row in rows) for key in rows[0]}
    return result


def main() -> None:
    parser = corpus_parser(__doc__ or "")
    parser.add_argument("--skip-cold", action="store_true", help="time warm builds only")
    parser.add_argument("--channels", default="web",
                        help="channels to build: 'web' (the Hugo twin's site; default), a comma list, or 'all'")
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    ensure_corpus(args.workdir, args.articles, args.images)
    bench = Bench(args.workdir, args.channels)
    bench.measure(args.runs, args.skip_cold)
    results = report(bench, machine_info(bench.contentpipe_exe, bench.hugo_exe), args)
    (args.workdir / "results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nraw results: {args.workdir / 'results.json'}")


if __name__ == "__main__":
    main()
