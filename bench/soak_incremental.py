"""Soak the incremental build: many seeded random edit sequences, each build compared with a clean build.

    PYTHONPATH=src python bench/soak_incremental.py --sequences 200 --seed 1 --mode both

Each sequence makes the seeded tiny project of tests/incremental.py, builds it, then applies
5-20 random steps (edits, renames, deletions, image and template changes, broken files and
their fixes), building after each one and comparing the output folder byte for byte with a
build from nothing. ``--mode memory`` keeps one Project between builds, ``fresh`` loads it
anew each time, ``both`` alternates. Clean builds share a rendition store of their own (not
the incremental one) unless ``--fresh-reference``, which encodes every rendition of every
clean build (slow, and the only way to catch rendition bytes that depend on cache history).
Exit 1 on any failure; each failure names its seed and mode, so
``run_sequence(seed, steps, mode)`` from tests/incremental.py replays it.
"""

from __future__ import annotations

import argparse
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

import incremental as inc


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequences", type=int, default=200)
    parser.add_argument("--seed", type=int, default=1, help="first seed; sequence i uses seed + i")
    parser.add_argument("--mode", choices=("memory", "fresh", "both"), default="both")
    parser.add_argument("--min-steps", type=int, default=5)
    parser.add_argument("--max-steps", type=int, default=20)
    parser.add_argument("--exclude", nargs="*", default=[], metavar="STEP",
                        help=f"steps random sequences never draw (known gaps); one of {', '.join(inc.STEPS)}")
    parser.add_argument("--fresh-reference", action="store_true",
                        help="clean builds encode every rendition themselves (no shared reference store)")
    parser.add_argument("--keep", action="store_true", help="keep the projects of failed sequences")
    args = parser.parse_args()
    unknown = set(args.exclude) - set(inc.STEPS)
    if unknown:
        parser.error(f"unknown steps: {', '.join(sorted(unknown))}")

    failures: list[str] = []
    steps_total = 0
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="contentpipe-soak-", dir=inc.fast_tmp()) as tmp:
        store = Path(tmp) / "reference-renditions"
        for i in range(args.sequences):
            seed = args.seed + i
            mode = args.mode if args.mode != "both" else ("memory", "fresh")[i % 2]
            count = random.Random(f"length-{seed}").randint(args.min_steps, args.max_steps)
            work = Path(tempfile.mkdtemp(prefix=f"seq-{seed}-", dir=tmp if not args.keep else None))
            t0 = time.perf_counter()
            try:
                done = inc.run_sequence(seed, count, mode, workdir=work, env=None,
                                        renditions=None if args.fresh_reference else store, seed_store=store,
                                        exclude=tuple(args.exclude))
            except inc.SequenceFailure as err:
                failures.append(f"seed {seed} ({mode})")
                print(f"[{i + 1}/{args.sequences}] FAIL {err}", flush=True)
                steps_total += count
                continue
            steps_total += len(done) - 1
            kinds = sorted({d.split()[0].rstrip(":") for d in done[1:]})
            print(f"[{i + 1}/{args.sequences}] seed {seed} {mode}: {len(done) - 1} steps ok in "
                  f"{time.perf_counter() - t0:.1f}s ({', '.join(kinds)})", flush=True)
            if not args.keep:
                shutil.rmtree(work, ignore_errors=True)
    minutes = (time.perf_counter() - started) / 60
    print(f"\n{args.sequences} sequences, {steps_total} steps, {len(failures)} failed, {minutes:.1f} min")
    if failures:
        print("failed: " + ", ".join(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
