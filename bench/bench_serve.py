#!/usr/bin/env python3
"""Benchmark: save to reload with `contentpipe serve`, as a browser's push-channel client sees it.

Corpus: common.ensure_corpus with make_corpus.py --clean (WORKDIR/corpus, twin WORKDIR/corpus-hugo), the
same WORKDIR as bench_incremental.py (its edited files are restored the same way, through its Corpus).
`contentpipe serve CORPUS --port 0` runs as its own process (all four channels); this script connects to
/_contentpipe/events like a browser's EventSource (a thread stamps every event with perf_counter on arrival)
and edits the corpus the way an editor's save does: the new text written to a temp file beside the master
and renamed over it. Latency = from just before the write to the arrival of the first `build` event that
names the edited file in `paths` (and, for the error scenario, lists or clears its error).

Scenarios (--edits N each, a different article each time):
  body-edit     a sentence appended to a body paragraph (never the first);   target p50 ≤ 100 ms, p95 ≤ 200 ms
  tag-change    a tag added or removed;                                       target p95 ≤ 400 ms
  new-article   a copy of an article under a new name (removed at the end);   target p95 ≤ 400 ms
  error         front matter broken (event lists the error), then fixed (event clears it); target p95 ≤ 400 ms
  saves         build events within 2 s of one save: vim style (rename over) and JetBrains style
                (name___jb_tmp___ written, master renamed to name___jb_old___, temp renamed in, old removed);
                and of a 500-file "checkout" written by another process (until 3 s pass without one).
                Target: exactly 1 each.
  memory        VmRSS of the serve process before and after --rss-edits body edits, each waiting for its
                event;                                                        target growth ≤ 20 MB
  idle          utime+stime of the serve process over 10 s with nothing changing / wall time; target < 1%
  hugo          `hugo server` on the twin (its defaults: pages rendered to memory, fast render mode), a
                LiveReload websocket client (/livereload): write -> {"command": "reload"} for the same body
                edits on the twin's same articles; its idle CPU and RSS the same way.

Medians, p50 and p95 (nearest rank) of each; targets shown beside them, never asserted. Markdown on stdout,
progress on stderr, raw results to --json-out (default WORKDIR/serve-results.json).

Usage: python bench/bench_serve.py [--workdir DIR] [--articles 1000] [--images 100] [--edits 30]
       [--rss-edits 1000] [--only SCENARIO ...] [--no-hugo]
Quick check of the harness: --articles 150 --images 20 --edits 5 --rss-edits 20 (its own --workdir).
"""

from __future__ import annotations

import base64
import http.client
import json
import os
import queue
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from bench_incremental import Corpus, append_to_paragraph, change_tag, hugo_binary, p95, split_front
from common import corpus_parser, ensure_corpus, executable, machine_info

SCENARIOS = ("body-edit", "tag-change", "new-article", "error", "saves", "memory", "idle", "hugo")
TARGETS = {"body-edit": (100.0, 200.0), "tag-change": (None, 400.0), "new-article": (None, 400.0),
           "error": (None, 400.0), "fix": (None, 400.0), "hugo body-edit": (None, None)}
TIMEOUT = 60.0
CHECKOUT = """
import pathlib, sys
root = pathlib.Path(sys.argv[1])
for name in sys.argv[2:]:
    p = root / name
    p.write_text(p.read_text(encoding="utf-8") + "\\nCheckout line.\\n", encoding="utf-8")
"""


# ----- the serve process and its push channel -----------------------------------------------------------


class Serve:
    def __init__(self, corpus: Path, env: dict[str, str]) -> None:
        self.proc = subprocess.Popen([executable("contentpipe"), "serve", str(corpus), "--port", "0"],
                                     stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env,
                                     start_new_session=True)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line.startswith("serving http://"):
            raise SystemExit(f"serve did not start: {line!r}")
        self.url = line.split()[1]
        host, port = self.url.split("//", 1)[1].rstrip("/").split(":")
        self.events: queue.Queue[tuple[float, str, dict[str, Any]]] = queue.Queue()
        self.conn = http.client.HTTPConnection(host, int(port), timeout=3600)
        self.conn.request("GET", "/_contentpipe/events")
        self.resp = self.conn.getresponse()
        threading.Thread(target=self._read, daemon=True).start()
        self.next("hello")

    def _read(self) -> None:
        name = ""
        try:
            for raw in self.resp:
                line = raw.decode().rstrip("\n")
                if line.startswith("event: "):
                    name = line[7:]
                elif line.startswith("data: ") and name:
                    self.events.put((time.perf_counter(), name, json.loads(line[6:])))
                    name = ""
        except (OSError, ValueError):
            pass

    def next(self, name: str = "build", timeout: float = TIMEOUT) -> tuple[float, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while True:
            at, got, data = self.events.get(timeout=max(0.01, deadline - time.monotonic()))
            if got == name:
                return at, data

    def wait_for(self, test: Any, timeout: float = TIMEOUT) -> tuple[float, dict[str, Any]] | None:
        """The first build event for which test(event) holds; None on timeout."""
        deadline = time.monotonic() + timeout
        try:
            while True:
                at, data = self.next("build", max(0.01, deadline - time.monotonic()))
                if test(data):
                    return at, data
        except queue.Empty:
            return None

    def drain(self, quiet: float) -> list[dict[str, Any]]:
        """Every build event until none has come for ``quiet`` seconds."""
        found = []
        while True:
            try:
                found.append(self.next("build", quiet)[1])
            except queue.Empty:
                return found

    def stop(self) -> None:
        self.conn.close()
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def settle(pid: int, limit: float = 300.0) -> None:
    """Wait until the process has used under 2% of a CPU for two seconds in a row (its builds are over)."""
    deadline, calm = time.monotonic() + limit, 0
    while time.monotonic() < deadline and calm < 2:
        start = cpu_seconds(pid)
        time.sleep(1.0)
        calm = calm + 1 if cpu_seconds(pid) - start < 0.02 else 0


def idle_cpu(pid: int, seconds: float = 10.0) -> float:
    start, wall = cpu_seconds(pid), time.perf_counter()
    time.sleep(seconds)
    return (cpu_seconds(pid) - start) / (time.perf_counter() - wall) * 100


# ----- edits --------------------------------------------------------------------------------------------


def atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.bench-tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


class Editor:
    """Edits of the corpus through bench_incremental's Corpus (kept files are restored at the end)."""

    def __init__(self, corpus: Corpus) -> None:
        self.corpus = corpus
        self.serial = 0

    def body(self, root: Path | None = None) -> tuple[Path, str]:
        """(file, new text) of a body edit of the next article; with ``root``, the same file under it."""
        self.serial += 1
        for _ in self.corpus.articles():
            path = self.corpus.next_article()
            front, body = split_front(path.read_text(encoding="utf-8"))
            try:
                body = append_to_paragraph(body, f"Serve benchmark edit {self.serial} adds this sentence.")
            except ValueError:
                continue
            rel = path.relative_to(self.corpus.root)
            self.corpus.keep(rel)
            return path, f"---\n{front}---\n{body}"
        raise SystemExit("no article has a body paragraph after the first")

    def tag(self, run: int) -> tuple[Path, str]:
        path = self.corpus.next_article()
        self.corpus.keep(path.relative_to(self.corpus.root))
        front, body = split_front(path.read_text(encoding="utf-8"))
        return path, f"---\n{change_tag(front, self.corpus.vocabulary(), add=run % 2 == 0)}---\n{body}"

    def new(self, run: int) -> tuple[Path, str]:
        source = self.corpus.next_article()
        path = source.with_name(f"serve-bench-new-{run}.md")
        self.corpus.keep(path.relative_to(self.corpus.root))
        front, body = split_front(source.read_text(encoding="utf-8"))
        front = re.sub(r'^title: .*$', f'title: "Serve benchmark new article {run}"', front, count=1, flags=re.M)
        front = re.sub(r"^slug: .*\n", "", front, flags=re.M)
        return path, f"---\n{front}---\n{body}"


def percentiles(values: list[float]) -> dict[str, float | int]:
    if not values:
        return {"n": 0}
    return {"n": len(values), "p50": round(statistics.median(values), 1), "p95": round(p95(values), 1),
            "min": round(min(values), 1), "max": round(max(values), 1)}


# ----- Hugo's LiveReload --------------------------------------------------------------------------------


class LiveReload:
    """A minimal websocket client of `hugo server`'s /livereload (text frames only)."""

    def __init__(self, port: int) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=3600)
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /livereload HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                           f"Origin: http://127.0.0.1:{port}\r\n\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            head += self.sock.recv(1)
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise SystemExit(f"hugo livereload refused the websocket: {head[:80]!r}")
        self.messages: queue.Queue[tuple[float, dict[str, Any]]] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.send({"command": "hello", "protocols": ["http://livereload.com/protocols/official-7"]})

    def send(self, value: dict[str, Any]) -> None:
        payload, mask = json.dumps(value).encode(), os.urandom(4)
        header = bytes([0x81, 0x80 | len(payload)]) if len(payload) < 126 else (
            bytes([0x81, 0x80 | 126]) + len(payload).to_bytes(2, "big"))
        self.sock.sendall(header + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload)))

    def _exact(self, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = self.sock.recv(n - len(data))
            if not chunk:
                raise OSError("closed")
            data += chunk
        return data

    def _read(self) -> None:
        try:
            while True:
                b0, b1 = self._exact(2)
                length = b1 & 0x7F
                if length == 126:
                    length = int.from_bytes(self._exact(2), "big")
                elif length == 127:
                    length = int.from_bytes(self._exact(8), "big")
                payload = self._exact(length)
                if b0 & 0x0F == 1:
                    self.messages.put((time.perf_counter(), json.loads(payload)))
        except (OSError, ValueError):
            pass

    def reload(self, timeout: float = TIMEOUT) -> float | None:
        deadline = time.monotonic() + timeout
        try:
            while True:
                at, msg = self.messages.get(timeout=max(0.01, deadline - time.monotonic()))
                if msg.get("command") == "reload":
                    return at
        except queue.Empty:
            return None


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# ----- the benchmark ------------------------------------------------------------------------------------


class Bench:
    def __init__(self, args: Any) -> None:
        self.args = args
        self.workdir: Path = args.workdir
        self.corpus = Corpus(self.workdir / "corpus", self.workdir / "pristine")
        self.editor = Editor(self.corpus)
        self.env = {**os.environ, "CONTENTPIPE_CACHE_DIR": str(self.workdir / "cache")}
        self.results: dict[str, Any] = {}
        self.notes: list[str] = []

    def note(self, text: str) -> None:
        self.notes.append(text)
        print(f"  note: {text}", file=sys.stderr)

    def save(self, serve: Serve, path: Path, text: str, test: Any) -> float | None:
        """Write like an editor, then ms to the first build event that names the file and passes test."""
        rel = path.relative_to(self.corpus.root).as_posix()
        started = time.perf_counter()
        atomic_write(path, text)
        got = serve.wait_for(lambda e: rel in e["paths"] and test(e))
        if got is None:
            self.note(f"no build event for {rel} within {TIMEOUT:.0f} s")
            return None
        extra = serve.drain(0.15)
        if extra:
            self.note(f"{len(extra)} more build events after saving {rel}")
        return (got[0] - started) * 1000

    def latencies(self, serve: Serve, kind: str) -> None:
        found: dict[str, list[float]] = {kind: []} if kind != "error" else {"error": [], "fix": []}
        for run in range(self.args.edits):
            if kind == "body-edit":
                path, text = self.editor.body()
                ms = self.save(serve, path, text, lambda e: not e["errors"])
            elif kind == "tag-change":
                path, text = self.editor.tag(run)
                ms = self.save(serve, path, text, lambda e: not e["errors"])
            elif kind == "new-article":
                path, text = self.editor.new(run)
                ms = self.save(serve, path, text, lambda e: not e["errors"])
            else:
                path = self.corpus.next_article()
                rel = path.relative_to(self.corpus.root).as_posix()
                self.corpus.keep(Path(rel))
                good = path.read_text(encoding="utf-8")
                broken = good.replace("title:", 'title: "unclosed', 1)
                ms = self.save(serve, path, broken, lambda e, r=rel: any(x["file"] == r for x in e["errors"]))
                fixed = self.save(serve, path, good, lambda e, r=rel: all(x["file"] != r for x in e["errors"]))
                if fixed is not None:
                    found["fix"].append(fixed)
            if ms is not None:
                found["error" if kind == "error" else kind].append(ms)
            print(f"  {kind} #{run + 1}: {ms and round(ms)} ms", file=sys.stderr)
        for name, values in found.items():
            self.results[name] = percentiles(values)

    def saves(self, serve: Serve) -> None:
        counts: dict[str, int] = {}
        path, text = self.editor.body()
        atomic_write(path, text)
        counts["vim-style save"] = self.builds(serve, 2.0)
        path, text = self.editor.body()
        tmp, old = path.with_name(path.name + "___jb_tmp___"), path.with_name(path.name + "___jb_old___")
        tmp.write_text(text, encoding="utf-8")
        path.rename(old)
        tmp.rename(path)
        old.unlink()
        counts["JetBrains-style save"] = self.builds(serve, 2.0)
        names = [p.relative_to(self.corpus.root).as_posix() for p in self.corpus.articles()[:500]]
        for name in names:
            self.corpus.keep(Path(name))
        subprocess.run([sys.executable, "-c", CHECKOUT, str(self.corpus.root), *names], check=True)
        counts["500-file checkout"] = self.builds(serve, 3.0)
        for name in names:  # back as they were: one more burst
            (self.corpus.root / name).write_bytes((self.corpus.pristine / name).read_bytes())
        self.builds(serve, 3.0)
        self.results["saves"] = counts

    @staticmethod
    def builds(serve: Serve, quiet: float) -> int:
        """Build events set off by one change: the first (however long the build takes), and every other
        one until ``quiet`` seconds pass without one."""
        try:
            serve.next("build", TIMEOUT)
        except queue.Empty:
            return 0
        return 1 + len(serve.drain(quiet))

    def memory(self, serve: Serve) -> None:
        pid = serve.proc.pid
        before = rss_mb(pid)
        for run in range(self.args.rss_edits):
            path, text = self.editor.body()
            self.save(serve, path, text, lambda e: True)
            if (run + 1) % 100 == 0:
                print(f"  memory: {run + 1} edits, VmRSS {rss_mb(pid):.0f} MB", file=sys.stderr)
        after = rss_mb(pid)
        self.results["memory"] = {"edits": self.args.rss_edits, "rss_before_mb": round(before, 1),
                                  "rss_after_mb": round(after, 1), "growth_mb": round(after - before, 1)}

    def hugo(self) -> None:
        exe = hugo_binary(None)
        port = free_port()
        site = self.workdir / "corpus-hugo"
        proc = subprocess.Popen([exe, "server", "--source", str(site), "--port", str(port), "--bind", "127.0.0.1"],
                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True)
        try:
            assert proc.stdout is not None
            for line in proc.stdout:
                if "Web Server is available" in line:
                    break
            threading.Thread(target=lambda: [None for _ in proc.stdout], daemon=True).start()  # type: ignore
            client = LiveReload(port)
            time.sleep(1)
            values = []
            twin = Corpus(site, self.workdir / "pristine-hugo")
            for run in range(self.args.edits):
                path = site / "content" / self.corpus.articles()[run % len(self.corpus.articles())].relative_to(
                    self.corpus.root / "assets")
                twin.keep(path.relative_to(site))
                front, body = split_front(path.read_text(encoding="utf-8"))
                text = f"---\n{front}---\n{append_to_paragraph(body, f'Hugo edit {run} adds this sentence.')}"
                started = time.perf_counter()
                atomic_write(path, text)
                at = client.reload()
                if at is not None:
                    values.append((at - started) * 1000)
                while not client.messages.empty():
                    client.messages.get()
                time.sleep(0.3)
                print(f"  hugo body-edit #{run + 1}: {at and round((at - started) * 1000)} ms", file=sys.stderr)
            self.results["hugo body-edit"] = percentiles(values)
            settle(proc.pid)
            self.results["hugo idle"] = {"cpu_percent": round(idle_cpu(proc.pid), 2), "rss_mb": round(
                rss_mb(proc.pid), 1)}
            twin.restore()
        finally:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=30)

    def run(self) -> None:
        selected = self.args.only or list(SCENARIOS)
        if (count := self.corpus.restore()):
            print(f"restored {count} files left edited by an interrupted run", file=sys.stderr)
        ensure_corpus(self.workdir, self.args.articles, self.args.images, clean=True)
        print("starting contentpipe serve (its first build is untimed)", file=sys.stderr)
        serve = Serve(self.corpus.root, self.env)
        try:
            serve.drain(1.0)
            for kind in ("body-edit", "tag-change", "new-article", "error"):
                if kind in selected:
                    self.latencies(serve, kind)
            if "saves" in selected:
                self.saves(serve)
            if "idle" in selected:
                serve.drain(3.0)
                settle(serve.proc.pid)  # every build set off before has ended
                self.results["idle"] = {"cpu_percent": round(idle_cpu(serve.proc.pid), 2),
                                        "rss_mb": round(rss_mb(serve.proc.pid), 1)}
            if "memory" in selected:
                self.memory(serve)
        finally:
            serve.stop()
            restored = self.corpus.restore()
            print(f"restored {restored} edited files", file=sys.stderr)
        if "hugo" in selected and not self.args.no_hugo:
            self.hugo()

    def report(self) -> str:
        rows = ["| scenario | n | p50 ms | p95 ms | max ms | target |", "|---|---|---|---|---|---|"]
        for name in ("body-edit", "tag-change", "new-article", "error", "fix", "hugo body-edit"):
            r = self.results.get(name)
            if not r or not r.get("n"):
                continue
            t50, t95 = TARGETS[name]
            target = " and ".join(x for x in (t50 and f"p50 ≤ {t50:.0f}", t95 and f"p95 ≤ {t95:.0f}") if x) or "—"
            ok = (t50 is None or r["p50"] <= t50) and (t95 is None or r["p95"] <= t95)
            verdict = "" if target == "—" else (" pass" if ok else " **miss**")
            rows.append(f"| {name} | {r['n']} | {r['p50']} | {r['p95']} | {r['max']} | {target}{verdict} |")
        lines = ["\n".join(rows)]
        if "saves" in self.results:
            lines.append("\n".join(["| save | build events | target |", "|---|---|---|"] + [
                f"| {k} | {v} | 1 {'pass' if v == 1 else '**miss**'} |" for k, v in self.results["saves"].items()]))
        if "memory" in self.results:
            m = self.results["memory"]
            lines.append(f"Memory: VmRSS {m['rss_before_mb']} MB before, {m['rss_after_mb']} MB after {m['edits']} "
                         f"body edits: growth {m['growth_mb']} MB (target ≤ 20 MB).")
        for name in ("idle", "hugo idle"):
            if name in self.results:
                i = self.results[name]
                lines.append(f"{name}: {i['cpu_percent']}% CPU over 10 s, VmRSS {i['rss_mb']} MB"
                             + (" (target < 1%)" if name == "idle" else ""))
        return "\n\n".join(lines)


def main() -> None:
    parser = corpus_parser(__doc__ or "")
    parser.set_defaults(workdir=Path(os.environ.get("TMPDIR", "/tmp")) / "contentpipe-bench-incremental")
    parser.add_argument("--edits", type=int, default=30)
    parser.add_argument("--rss-edits", type=int, default=1000)
    parser.add_argument("--only", action="append", choices=SCENARIOS)
    parser.add_argument("--no-hugo", action="store_true")
    parser.add_argument("--json-out", type=Path)
    args = parser.parse_args()
    bench = Bench(args)
    info = machine_info(executable("contentpipe"), None if args.no_hugo else hugo_binary(None))
    bench.run()
    out = args.json_out or args.workdir / "serve-results.json"
    out.write_text(json.dumps({"machine": info, "results": bench.results, "notes": bench.notes}, indent=2))
    print("## serve: save to reload\n")
    print("\n".join(f"- {k}: {v}" for k, v in info.items()) + "\n")
    print(bench.report())
    if bench.notes:
        print("\nNotes:\n" + "\n".join(f"- {n}" for n in bench.notes))
    shutil.rmtree(args.workdir / "pristine-hugo", ignore_errors=True)


if __name__ == "__main__":
    main()
