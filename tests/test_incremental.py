"""Incremental builds give exactly what clean builds give: after each kind of edit, after random
sequences of edits (one long-lived Project, or a new one each time), and after a build killed midway.

The long run of the same harness is bench/soak_incremental.py.
"""

from __future__ import annotations

import functools
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

import incremental as inc
from contentpipe import Project

MEMORY_SEEDS = range(101, 105)  # 4 sequences of 5-7 random steps, one Project kept between builds
FRESH_SEEDS = range(201, 204)   # 3 sequences, Project.load() before every build (the persisted state)


@pytest.fixture(scope="session")
def reference(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, float]:
    """The clean builds' own rendition store, filled once by a cold build of the base images; and that build's time."""
    store = tmp_path_factory.mktemp("reference-renditions")
    root = inc.make_project(tmp_path_factory.mktemp("warm") / "proj", 0)
    mp = pytest.MonkeyPatch()
    started = time.perf_counter()
    inc.clean_build(root, mp, store)
    mp.undo()
    return store, time.perf_counter() - started


@pytest.fixture
def work() -> Iterator[Path]:
    """A scratch folder in memory when possible: each test builds a few hundred small files several times."""
    with tempfile.TemporaryDirectory(prefix="contentpipe-inc-", dir=inc.fast_tmp()) as tmp:
        yield Path(tmp)


def steps_for(seed: int) -> int:
    return random.Random(seed).randrange(5, 8)


@pytest.mark.parametrize("kind", sorted(inc.STEPS))
def test_one_step_of_each_kind_matches_a_clean_build(kind: str, work: Path, monkeypatch: pytest.MonkeyPatch,
                                                    reference: tuple[Path, float]) -> None:
    """One long-lived Project: first build, one step of this kind, build again."""
    store, _ = reference
    done = inc.run_sequence(7, [inc.STEPS[kind]], "memory", workdir=work, env=monkeypatch, renditions=store,
                            seed_store=store, check_first=False)
    assert done[-1].startswith(kind)


@pytest.mark.parametrize(("step", "settings", "mode"), (
    (inc.change_site_config, inc.SITE_SETTINGS, "fresh"),
    (inc.change_site_config, inc.SITE_SETTINGS, "memory"),  # a kept Project reads contentpipe.toml again
    (inc.change_channel_rules, inc.CHANNEL_SETTINGS, "memory"),
))
def test_every_setting_matches_a_clean_build(step: inc.Step, settings: tuple[str, ...], mode: str, work: Path,
                                             monkeypatch: pytest.MonkeyPatch, reference: tuple[Path, float]) -> None:
    store, _ = reference
    steps = [functools.partial(step, which=which) for which in settings]
    done = inc.run_sequence(7, steps, mode, workdir=work, env=monkeypatch, renditions=store, seed_store=store,
                            check_first=False)
    assert [d.split()[1] for d in done[1:]] == list(settings)


@pytest.mark.parametrize("step", (
    inc.change_focal, inc.replace_image,
    functools.partial(inc.change_channel_rules, which="card_quality"),
), ids=("change_focal", "replace_image", "card_quality"))
def test_new_renditions_match_a_build_with_an_empty_cache(step: inc.Step, work: Path,
                                                          monkeypatch: pytest.MonkeyPatch,
                                                          reference: tuple[Path, float]) -> None:
    """Against a clean build that encodes every rendition itself: a shared reference store would hide this."""
    store, _ = reference
    inc.run_sequence(7, [step], "memory", workdir=work, env=monkeypatch, renditions=None, seed_store=store,
                     check_first=False)


@pytest.mark.parametrize("seed", MEMORY_SEEDS)
def test_random_sequence_with_one_project(seed: int, work: Path, monkeypatch: pytest.MonkeyPatch,
                                          reference: tuple[Path, float]) -> None:
    store, _ = reference
    done = inc.run_sequence(seed, steps_for(seed), "memory", workdir=work, env=monkeypatch, renditions=store,
                            seed_store=store)
    assert len(done) == steps_for(seed) + 1


@pytest.mark.parametrize("seed", FRESH_SEEDS)
def test_random_sequence_with_a_new_project_each_build(seed: int, work: Path, monkeypatch: pytest.MonkeyPatch,
                                                       reference: tuple[Path, float]) -> None:
    store, _ = reference
    done = inc.run_sequence(seed, steps_for(seed), "fresh", workdir=work, env=monkeypatch, renditions=store,
                            seed_store=store)
    assert len(done) == steps_for(seed) + 1


def test_a_stale_output_is_caught(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                  reference: tuple[Path, float]) -> None:
    """The harness itself: an output edited after the build, one removed and one added are all reported."""
    store, _ = reference
    root = inc.make_project(tmp_path / "proj", 5)
    shutil.copytree(store, tmp_path / "cache/renditions")
    with inc.cache_env(monkeypatch, tmp_path / "cache"):
        result = Project.load(root).build()
    assert [str(p) for p in result.problems] == []  # the generated project itself is sound
    assert inc.check_build(root, result, monkeypatch, store) == ""
    page = result.out_dir / "web/index.html"
    page.write_bytes(page.read_bytes().replace(b"</body>", b"<p>stale</p></body>"))
    (result.out_dir / "mobile/feed.json").unlink()
    (result.out_dir / "web/.tmp-left").write_bytes(b"")
    report = inc.check_build(root, result, monkeypatch, store)
    assert "1 differ, 1 missing, 1 extra" in report
    assert "missing: mobile/feed.json" in report and "extra: web/.tmp-left" in report
    assert "+<p>stale</p></body>" in report


# ----- a kept project patches text edits ----------------------------------------------------------

TEXT_EDITS = ("edit_body", "edit_summary", "edit_body", "change_tags", "edit_body", "edit_summary",
              "break_front_matter", "edit_body", "fix_problems", "edit_body", "edit_template", "edit_body")


@pytest.mark.parametrize("seed", [301, 303])
def test_text_edits_in_a_kept_project_are_patched_and_match_a_clean_build(
        seed: int, work: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple[Path, float]) -> None:
    """Body and summary edits take the in-memory patch; the rest, and whatever follows, the full path."""
    store, _ = reference
    root = inc.make_project(work / "proj", seed)
    shutil.copytree(store, work / "cache/renditions")
    rng = random.Random(seed)
    ways = []
    with inc.cache_env(monkeypatch, work / "cache"):
        project = Project.load(root)
        project.build()
        for name in TEXT_EDITS:
            done = inc.STEPS[name](root, rng)
            result = project.build()
            ways.append((name, result.way))
            assert inc.check_build(root, result, monkeypatch, store) == "", f"after {done}: {ways}"
    assert ("edit_body", "patch") in ways and ("edit_summary", "patch") in ways, ways
    assert ("change_tags", "patch") not in ways and ("edit_template", "patch") not in ways, ways


def _kept_after_one_build(root: Path, work: Path, store: Path, monkeypatch: pytest.MonkeyPatch) -> Project:
    shutil.copytree(store, work / "cache/renditions")
    monkeypatch.setenv(inc.CACHE_ENV, str(work / "cache"))
    project = Project.load(root)
    assert project.build().ok
    return project


def _plain_body_edit(doc: Path) -> None:
    """A sentence at the end: no line of the document moves, so the edit is one the patch can make."""
    doc.write_text(doc.read_text(encoding="utf-8").rstrip("\n") + " One sentence more.\n", encoding="utf-8")


def test_a_kept_project_sees_a_build_made_by_another(work: Path, monkeypatch: pytest.MonkeyPatch,
                                                     reference: tuple[Path, float]) -> None:
    store, _ = reference
    root = inc.make_project(work / "proj", 5)
    kept = _kept_after_one_build(root, work, store, monkeypatch)
    first, second = inc.english(root)[:2]
    _plain_body_edit(first)
    other = Project.load(root).build()  # another process would do the same: the state moves on without `kept`
    assert other.way == "full"  # a project loaded anew has no build in memory to patch
    _plain_body_edit(second)
    result = kept.build()
    assert result.way == "full"
    assert inc.check_build(root, result, monkeypatch, store) == ""


def test_a_kept_project_restores_an_output_changed_on_disk(work: Path, monkeypatch: pytest.MonkeyPatch,
                                                           reference: tuple[Path, float]) -> None:
    store, _ = reference
    root = inc.make_project(work / "proj", 5)
    kept = _kept_after_one_build(root, work, store, monkeypatch)
    _plain_body_edit(inc.english(root)[0])
    assert kept.build().way == "patch"
    page = kept.config.out_dir / "web/index.html"
    page.write_text("<p>edited by hand</p>", encoding="utf-8")
    _plain_body_edit(inc.english(root)[1])
    result = kept.build()
    assert result.way == "full"
    assert inc.check_build(root, result, monkeypatch, store) == ""
    assert "edited by hand" not in page.read_text(encoding="utf-8")


def test_an_input_written_just_before_a_build_still_lets_the_next_be_a_no_op(
        work: Path, monkeypatch: pytest.MonkeyPatch, reference: tuple[Path, float]) -> None:
    store, _ = reference
    root = inc.make_project(work / "proj", 5)
    _kept_after_one_build(root, work, store, monkeypatch)
    doc = inc.english(root)[0]
    _plain_body_edit(doc)  # its mtime is too recent to be trusted: the state marks it racy
    assert Project.load(root).build().way == "full"
    assert Project.load(root).build().way == "kept"  # the racy entry is hashed, not a reason to build
    doc.touch()  # touched, not changed
    assert Project.load(root).build().way == "kept"
    _plain_body_edit(doc)
    result = Project.load(root).build()
    assert result.way == "full" and result.rendered > 0


# ----- a build killed midway -------------------------------------------------------------------------


def cli_env(cache: Path) -> dict[str, str]:
    return {**os.environ, inc.CACHE_ENV: str(cache)}


def cli_build(root: Path, cache: Path) -> float:
    started = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "contentpipe", "build", str(root), "--json"], env=cli_env(cache),
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode in (0, 1), proc.stderr[-3000:]
    return time.perf_counter() - started


def killed_build(root: Path, cache: Path, delay: float) -> int | None:
    """Start the CLI build, SIGKILL it (with its image workers) after ``delay`` s; its exit code if it ended."""
    proc = subprocess.Popen([sys.executable, "-m", "contentpipe", "build", str(root), "--json"], env=cli_env(cache),
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        return proc.wait(timeout=delay)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        return None


def assert_like_clean(root: Path, monkeypatch: pytest.MonkeyPatch, store: Path, what: str) -> None:
    """Every file compared, temporary ones too: the build after a kill removes what the kill left."""
    report = inc.compare_with_clean(root, root / "dist", monkeypatch, store)
    assert report == "", f"{what}:\n{report}"


DIE_IN_FIFTH_WRITE = """
import os, signal, sys
import contentpipe.write as w
real, count, dist = w.atomic_write, [0], w.Path(sys.argv[1])
def dying(target, fill):
    count[0] += dist in target.parents
    if count[0] != 5 or dist not in target.parents:
        return real(target, fill)
    def half(fh):
        fh.write(b"half a file")
        fh.flush()
        os.kill(os.getpid(), signal.SIGKILL)
    return real(target, half)
w.atomic_write = dying
from contentpipe.cli import main
sys.argv = ["contentpipe", "build", str(dist.parent)]
main()
"""


def test_kill_inside_a_write_leaves_no_temporary_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                      reference: tuple[Path, float]) -> None:
    """SIGKILL while the fifth output file is half written, then build again: the output is a clean build's."""
    store, _ = reference
    root, cache = inc.make_project(tmp_path / "proj", 1), tmp_path / "cache"
    shutil.copytree(store, cache / "renditions")
    died = subprocess.run([sys.executable, "-c", DIE_IN_FIFTH_WRITE, str(root / "dist")], env=cli_env(cache),
                          capture_output=True, timeout=300)
    assert died.returncode == -signal.SIGKILL, died.stderr[-2000:]
    cli_build(root, cache)
    report = inc.compare_with_clean(root, root / "dist", monkeypatch, store)
    assert report == "", report


@pytest.mark.parametrize("seed", (1, 2, 3))
def test_build_killed_after_an_edit_then_built_again(seed: int, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                     reference: tuple[Path, float]) -> None:
    store, _ = reference
    rng = random.Random(f"crash-{seed}")
    root, cache = inc.make_project(tmp_path / "proj", seed), tmp_path / "cache"
    shutil.copytree(store, cache / "renditions")
    cli_build(root, cache)
    done = [inc.STEPS[k](root, rng) for k in ("edit_body", "change_title")]
    duration = cli_build(root, cache)  # a build after an edit, as the one killed below
    done += [inc.STEPS[k](root, rng) for k in rng.sample(sorted(set(inc.STEPS) - set(inc.BREAKS)), 3)]
    delay = rng.uniform(0, duration)
    code = killed_build(root, cache, delay)
    cli_build(root, cache)
    assert_like_clean(root, monkeypatch, store, f"seed {seed}, killed after {delay:.2f}s of {duration:.2f}s "
                                                f"(exit {code}), then built again; steps: {done}")


@pytest.mark.parametrize(("seed", "cold"), ((4, False), (5, False), (6, True)))
def test_first_build_killed_then_built_again(seed: int, cold: bool, tmp_path: Path,
                                             monkeypatch: pytest.MonkeyPatch, reference: tuple[Path, float]) -> None:
    """Killed in its first build: renditions cached (killed rendering or writing), or cold (killed encoding)."""
    store, cold_seconds = reference
    rng = random.Random(f"first-crash-{seed}")
    cache = tmp_path / "cache"
    if cold:
        duration = cold_seconds
    else:
        shutil.copytree(store, cache / "renditions")
        probe = inc.make_project(tmp_path / "probe", seed)
        shutil.copytree(store, tmp_path / "probe-cache/renditions")
        duration = cli_build(probe, tmp_path / "probe-cache")  # the same project's first build, run to the end
    root = inc.make_project(tmp_path / "proj", seed)
    delay = rng.uniform(0, duration)
    code = killed_build(root, cache, delay)
    cli_build(root, cache)
    assert_like_clean(root, monkeypatch, store, f"seed {seed}, first build killed after {delay:.2f}s of "
                                                f"{duration:.2f}s (exit {code}), then built again")
