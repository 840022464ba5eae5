"""The wheel ships the built-in channel packs, and an installed contentpipe finds them."""

from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

from conftest import REPO


def test_wheel_contains_the_channel_packs_and_uses_them(tmp_path: Path) -> None:
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "-w", str(tmp_path / "wheel"), str(REPO)], check=True)
    [wheel] = (tmp_path / "wheel").glob("contentpipe-*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        zf.extractall(tmp_path / "site")
    assert {"contentpipe/_channels/web/channel.toml", "contentpipe/_channels/web/templates/page.html",
            "contentpipe/cli.py"} <= names
    code = "from contentpipe.load.packs import builtin_packs_dir; print(builtin_packs_dir())"
    found = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           env={"PYTHONPATH": str(tmp_path / "site"), "PATH": "/usr/bin:/bin"}, cwd=tmp_path)
    assert Path(found.stdout.strip()) == tmp_path / "site/contentpipe/_channels"
