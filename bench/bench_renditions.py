#!/usr/bin/env python3
"""Benchmark: the same image renditions made by Hugo, a bare Pillow process pool and contentpipe.

Every master of the shared corpus (all 100 are heroes) at 480/960/1600 px in WebP q75 and JPEG q80
(PNG for transparent PNGs, as contentpipe does; the inline 960 px WebP is a hero spec). Per round,
interleaved so machine noise hits all alike, each tool timed as a whole process:
- contentpipe cold: `contentpipe build WORKDIR/rend-project --channel web --json` (the corpus'
  contentpipe.toml + [build] jobs = --jobs, its assets/ symlinked, CHANNEL_TOML as channels/web),
  dist/ deleted, CONTENTPIPE_CACHE_DIR new and empty; renditions.total per second of
  timings.renditions (engine) and per wall second. Warm: the same right after (encodes nothing?).
- hugo: `hugo --quiet --source WORKDIR/corpus-hugo`, public/ and resources/ deleted; *_hu* images
  in public/ per wall second (Hugo uses every core; it upscales, contentpipe and the pool don't).
- bare pool: this script with --bare-pool-worker: ProcessPoolExecutor (fork, --jobs workers), per
  master: open, JPEG draft if the decode scale is <= 1/2, exif_transpose, RGB(A), then per width,
  largest first, one LANCZOS resize (reducing_gap=3.0) saved as WebP q75 method=4 and JPEG q80
  optimize+progressive into WORKDIR/rend-bare; renditions per second of the pool.
Peak memory: every 20 ms a thread sums VmRSS over the launched process and its descendants (/proc).
Bytes: mean file size per format; untimed, the pool also makes the JPEGs with Pillow's defaults.
Prints machine info, a Markdown table, ratios and targets; raw results: WORKDIR/rend-results.json.

Usage: python bench/bench_renditions.py [--workdir DIR] [--runs 3] [--jobs 2]
"""

from __future__ import annotations

import argparse
import io
import json
import math
import os
import shutil
import statistics
import sys
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from multiprocessing import get_context
from pathlib import Path
from typing import Any

from common import corpus_parser, ensure_corpus, executable, machine_info, timed_peak
from PIL import Image, ImageOps

WIDTHS = (480, 960, 1600)
FORMATS = {".jpg": "jpeg", ".jpeg": "jpeg", ".webp": "webp", ".png": "png"}
CHANNEL_TOML = """[channel]
extends = "web"
[images.hero]
widths = [480, 960, 1600]
formats = ["webp", "jpeg"]
quality = { webp = 75, jpeg = 80 }
[images.inline]
widths = [960]
formats = ["webp"]
quality = { webp = 75 }
[images.card]
formats = []
[images.share]
formats = []
"""


@dataclass
class Run:
    contender: str  # hugo | bare pool | contentpipe cold | contentpipe warm
    run: int
    wall: float
    peak_mb: float
    renditions: int
    engine_seconds: float | None = None  # contentpipe: timings.renditions; bare pool: the pool's seconds
    sizes: dict[str, list[int]] = field(default_factory=dict)  # bytes of each file, by format
    summary: dict[str, Any] | None = None  # contentpipe's --json summary (trimmed)


def masters(workdir: Path) -> list[Path]:
    return sorted(p for p in (workdir / "corpus" / "assets" / "images").iterdir() if p.suffix.lower() in FORMATS)


def plan(im: Image.Image) -> tuple[int, int, list[int]]:
    """Displayed (upright) width and height, and the widths to make, largest first, never upscaling."""
    w, h = im.size[::-1] if im.getexif().get(0x0112, 1) in (5, 6, 7, 8) else im.size
    return w, h, sorted((x for x in WIDTHS if x <= w), reverse=True) or [w]


def render(path: str, out: str, defaults: bool) -> list[int]:
    """One master's renditions, written to out; with defaults, only the sizes of default-params JPEGs."""
    sizes: list[int] = []
    with Image.open(path) as im:
        w, h, widths = plan(im)
        alpha_png = im.format == "PNG" and (im.mode in ("RGBA", "LA", "PA") or "transparency" in im.info)
        if im.format == "JPEG" and (scale := widths[0] / w) <= 0.5:
            im.draft(im.mode, (math.ceil(im.size[0] * scale), math.ceil(im.size[1] * scale)))
        img = ImageOps.exif_transpose(im) if im.getexif().get(0x0112, 1) != 1 else im
        img = img.convert("RGBA" if alpha_png else "RGB") if img.mode != ("RGBA" if alpha_png else "RGB") else img
        jobs = [("webp", "WEBP", {"quality": 75, "method": 4}),
                ("png", "PNG", {"compress_level": 6}) if alpha_png else
                ("jpg", "JPEG", {"quality": 80, "optimize": True, "progressive": True})]
        if defaults:
            jobs = [] if alpha_png else [("jpg", "JPEG", {"quality": 80})]
        for width in widths:
            small = img.resize((width, max(1, round(h * width / w))), Image.Resampling.LANCZOS, reducing_gap=3.0)
            for ext, fmt, params in jobs:
                buf = io.BytesIO()
                small.save(buf, fmt, **params)
                sizes.append(buf.tell())
                if not defaults:
                    Path(out, f"{Path(path).stem}-{width}.{ext}").write_bytes(buf.getvalue())
    return sizes


def bare_pool_worker(workdir: Path, jobs: int, defaults: bool) -> None:
    """Runs in its own process (so its tree is sampled like the tools'); prints JSON on stdout."""
    out = workdir / "rend-bare"
    if not defaults:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("fork")) as pool:
        futures = [pool.submit(render, str(p), str(out), defaults) for p in masters(workdir)]
        sizes = [size for fut in futures for size in fut.result()]
    print(json.dumps({"seconds": time.perf_counter() - start, "sizes": sizes}))


def file_sizes(folder: Path, pattern: str = "*") -> dict[str, list[int]]:
    """Bytes of each image file under folder whose name matches pattern, by format."""
    result: dict[str, list[int]] = {}
    for f in (f for f in folder.rglob(pattern) if f.suffix.lower() in FORMATS):
        result.setdefault(FORMATS[f.suffix.lower()], []).append(f.stat().st_size)
    return result


class Bench:
    def __init__(self, workdir: Path, jobs: int) -> None:
        self.workdir, self.jobs = workdir, jobs
        self.hugo_site, self.project = workdir / "corpus-hugo", workdir / "rend-project"
        self.contentpipe_exe, self.hugo_exe = executable("contentpipe"), executable("hugo")
        self.runs: list[Run] = []
        corpus = self.workdir / "corpus"  # the contentpipe project: the corpus with CHANNEL_TOML and jobs
        shutil.rmtree(self.project, ignore_errors=True)
        (self.project / "channels" / "web").mkdir(parents=True)
        (self.project / "assets").symlink_to(corpus / "assets", target_is_directory=True)
        toml = (corpus / "contentpipe.toml").read_text()
        (self.project / "contentpipe.toml").write_text(f"{toml.rstrip()}\n\n[build]\njobs = {self.jobs}\n")
        (self.project / "channels" / "web" / "channel.toml").write_text(CHANNEL_TOML)

    def contentpipe(self, mode: str, run: int, cache: Path) -> None:
        if mode == "cold":
            shutil.rmtree(self.project / "dist", ignore_errors=True)
        env = {**os.environ, "CONTENTPIPE_CACHE_DIR": str(cache)}
        wall, out, peak = timed_peak([self.contentpipe_exe, "build", str(self.project), "--channel", "web",
                                      "--json"], env)
        full = json.loads(out)
        summary = {k: full[k] for k in ("seconds", "timings", "renditions", "files", "errors", "warnings")}
        self._record(Run(f"contentpipe {mode}", run, wall, peak, summary["renditions"]["total"],
                         summary["timings"]["renditions"], file_sizes(self.project / "dist" / "media"), summary))

    def hugo(self, run: int) -> None:
        for name in ("public", "resources"):
            shutil.rmtree(self.hugo_site / name, ignore_errors=True)
        wall, _, peak = timed_peak([self.hugo_exe, "--quiet", "--source", str(self.hugo_site)])
        sizes = file_sizes(self.hugo_site / "public", "*_hu*")  # Hugo's processed images
        self._record(Run("hugo", run, wall, peak, sum(map(len, sizes.values())), sizes=sizes))

    def bare_pool(self, run: int, defaults: bool = False) -> dict[str, Any]:
        cmd = [sys.executable, __file__, "--bare-pool-worker", "--workdir", str(self.workdir),
               "--jobs", str(self.jobs)] + (["--defaults"] if defaults else [])
        wall, out, peak = timed_peak(cmd)
        result: dict[str, Any] = json.loads(out)
        if not defaults:
            sizes = file_sizes(self.workdir / "rend-bare")
            self._record(Run("bare pool", run, wall, peak, sum(map(len, sizes.values())), result["seconds"], sizes))
        return result

    def _record(self, r: Run) -> None:
        self.runs.append(r)
        engine = f", engine {r.engine_seconds:.2f} s" if r.engine_seconds is not None else ""
        note = f", encoded {r.summary['renditions']['encoded']}" if r.summary else ""
        print(f"  {r.contender:<16} #{r.run}: {r.wall:7.2f} s wall{engine}, {r.renditions} renditions{note}, "
              f"peak {r.peak_mb:.0f} MB", file=sys.stderr)

    def measure(self, runs: int) -> None:
        cache = self.workdir / "rend-cache"
        for i in range(1, runs + 1):
            print(f"round {i}/{runs}", file=sys.stderr)
            shutil.rmtree(cache, ignore_errors=True)
            cache.mkdir()  # fresh and empty for the cold run; the warm run right after reuses it
            self.contentpipe("cold", i, cache)
            self.contentpipe("warm", i, cache)
            self.hugo(i)
            self.bare_pool(i)


def avg(values: list[int]) -> str:
    return f"{statistics.mean(values):,.0f}" if values else "-"


def cell(value: float) -> str:
    return "-" if math.isnan(value) else f"{value:.1f}"


ROWS = (("Hugo (whole run)", "hugo", False), ("bare Pillow pool (pool)", "bare pool", True),  # label, runs, engine?
        ("contentpipe cold (whole CLI)", "contentpipe cold", False),
        ("contentpipe cold (engine)", "contentpipe cold", True), ("contentpipe warm", "contentpipe warm", False))


def report(bench: Bench, info: dict[str, str], args: argparse.Namespace, defaults: list[int]) -> dict[str, Any]:
    print("## Renditions: contentpipe vs Hugo vs a bare Pillow pool\n")
    print("\n".join(f"- {k}: {v}" for k, v in info.items()))
    print(f"- masters: {len(masters(bench.workdir))} in {bench.workdir / 'corpus'}; --jobs {bench.jobs}\n")
    print("| contender | runs | median renditions/s | min | max | median wall s | peak MB | avg JPEG bytes "
          "| avg WebP bytes |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |")
    rows: dict[str, dict[str, Any]] = {}  # by label
    for label, name, engine in ROWS:
        if sel := [r for r in bench.runs if r.contender == name]:
            rates = [r.renditions / (r.engine_seconds if engine else r.wall) for r in sel if "warm" not in name]
            last = sel[-1].sizes
            row = rows[label] = {"runs": len(sel), "renditions": sel[-1].renditions,
                                 "rate": statistics.median(rates) if rates else math.nan,
                                 "min": min(rates, default=math.nan), "max": max(rates, default=math.nan),
                                 "wall": statistics.median(r.wall for r in sel), "peak_mb": max(r.peak_mb for r in sel),
                                 "avg_bytes": {fmt: statistics.mean(v) for fmt, v in last.items() if v}}
            print(f"| {label} | {len(sel)} | {cell(row['rate'])} | {cell(row['min'])} | {cell(row['max'])} "
                  f"| {row['wall']:.2f} | {row['peak_mb']:.0f} | {avg(last.get('jpeg', []))} "
                  f"| {avg(last.get('webp', []))} |")
    hugo, bare, cli, engine = (rows.get(label, {}).get("rate", math.nan) for label, _, _ in ROWS[:4])
    ratios = {"contentpipe_cli_per_hugo": cli / hugo, "contentpipe_engine_per_hugo": engine / hugo,
              "contentpipe_engine_per_bare_pool": engine / bare}
    warm = [r for r in bench.runs if r.contender == "contentpipe warm"]
    encoded = [r.summary["renditions"]["encoded"] for r in warm if r.summary]
    bare_jpeg = [r.sizes.get("jpeg", []) for r in bench.runs if r.contender == "bare pool"][-1:] or [[]]
    print("\nrenditions/s per wall second (whole run / CLI), per second of timings.renditions (engine), per pool "
          "second (bare pool). Bytes: last run. peak MB: max summed VmRSS of the process tree (MB = 2**20 B).\n")
    print(f"contentpipe / Hugo renditions per second: {ratios['contentpipe_cli_per_hugo']:.2f}x (whole CLI), "
          f"{ratios['contentpipe_engine_per_hugo']:.2f}x (engine)")
    print(f"contentpipe engine / bare pool renditions per second: {ratios['contentpipe_engine_per_bare_pool']:.2f}x")
    if warm:
        print(f"contentpipe warm: median {statistics.median(r.wall for r in warm):.2f} s wall; renditions.encoded "
              f"per run: {encoded}")
    if defaults and bare_jpeg[0]:
        print(f"bare pool JPEG q80 with Pillow defaults (no optimize, no progressive): avg {avg(defaults)} bytes vs "
              f"{avg(bare_jpeg[0])} optimize+progressive "
              f"({1 - statistics.mean(bare_jpeg[0]) / statistics.mean(defaults):.1%} smaller)")
    cp_peak = max((r.peak_mb for r in bench.runs if r.contender.startswith("contentpipe")), default=math.nan)
    targets = {"contentpipe renditions/s (whole CLI) >= 4x Hugo's": ratios["contentpipe_cli_per_hugo"] >= 4,
               "contentpipe engine renditions/s within 10% of the bare pool's": engine / bare >= 0.9,
               f"contentpipe peak memory < 500 MB ({cp_peak:.0f} MB)": cp_peak < 500,
               "warm build encodes nothing": bool(encoded) and not any(encoded)}
    print("\ntargets:\n" + "\n".join(f"- {'met' if ok else 'NOT MET'}: {what}" for what, ok in targets.items()))
    explain_count(bench)
    return {"machine": info, "args": {**vars(args), "workdir": str(args.workdir)}, "rows": rows, "ratios": ratios,
            "targets": targets, "default_jpeg_sizes": defaults, "runs": [asdict(r) for r in bench.runs]}


def explain_count(bench: Bench) -> None:
    """Why contentpipe's renditions.total is not 2 formats x 3 widths x masters, when it is not."""
    expected = 2 * len(WIDTHS) * len(masters(bench.workdir))
    if (totals := {r.summary["renditions"]["total"] for r in bench.runs if r.summary}) != {expected}:
        narrow = [p.name for p in masters(bench.workdir) if not any(
            (bench.workdir / "rend-bare").glob(f"{p.stem}-{max(WIDTHS)}.*"))]  # the pool's plan is contentpipe's
        count = {who: sorted({r.renditions for r in bench.runs if r.contender == who}) for who in ("hugo", "bare pool")}
        print(f"\nnote: contentpipe renditions.total = {sorted(totals)}, not {expected}: contentpipe never upscales "
              f"(upscale = false) and {len(narrow)} masters are narrower than {max(WIDTHS)} px once upright "
              f"({', '.join(narrow)}). The bare pool, which does the same, made {count['bare pool']}; "
              f"Hugo, which upscales, {count['hugo']}.")


def main() -> None:
    parser = corpus_parser(__doc__ or "")
    parser.add_argument("--jobs", type=int, default=2, help="worker processes of contentpipe and the bare pool")
    parser.add_argument("--bare-pool-worker", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--defaults", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    args.workdir = args.workdir.resolve()
    if args.bare_pool_worker:
        bare_pool_worker(args.workdir, args.jobs, args.defaults)
        return
    args.workdir.mkdir(parents=True, exist_ok=True)
    ensure_corpus(args.workdir, args.articles, args.images)
    bench = Bench(args.workdir, args.jobs)
    bench.measure(args.runs)
    print("bare pool: Pillow-default JPEGs (untimed)", file=sys.stderr)
    defaults = bench.bare_pool(0, defaults=True)["sizes"]
    results = report(bench, machine_info(bench.contentpipe_exe, bench.hugo_exe), args, defaults)
    (args.workdir / "rend-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nraw results: {args.workdir / 'rend-results.json'}")


if __name__ == "__main__":
    main()
