"""Two builds sharing one cache_dir at the same time: neither fails, neither corrupts it, both are right."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from conftest import copy_sample
from test_determinism import tree


def test_two_builds_share_one_empty_cache_at_once(tmp_path: Path) -> None:
    cache = tmp_path / "shared-cache"
    env = {**os.environ, "CONTENTPIPE_CACHE_DIR": str(cache)}
    roots = [copy_sample(tmp_path / name) for name in ("one", "two")]
    runs = [subprocess.Popen([sys.executable, "-m", "contentpipe", "build", str(root), "--json"], env=env,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for root in roots]
    for run in runs:
        _, err = run.communicate(timeout=300)
        assert run.returncode == 0, err
    assert list(cache.rglob(".tmp-*")) == []
    one, two = tree(roots[0] / "dist"), tree(roots[1] / "dist")
    assert one.keys() == two.keys() and [k for k in one if one[k] != two[k]] == []

    # the cache the two left behind serves a third build whole: nothing encoded, same bytes
    clean = copy_sample(tmp_path / "three")
    done = subprocess.run([sys.executable, "-m", "contentpipe", "build", str(clean), "--json"], env=env,
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout)["renditions"]["encoded"] == 0
    three = tree(clean / "dist")
    assert three.keys() == one.keys() and [k for k in one if one[k] != three[k]] == []
