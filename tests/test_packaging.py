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


def test_declared_dependencies_are_exactly_the_third_party_imports() -> None:
    """Every package src/ imports is declared (botocore was not), and every declared one is used."""
    import ast
    import sys
    import tomllib
    from importlib.metadata import packages_distributions

    from packaging.requirements import Requirement

    declared = {Requirement(r).name.lower() for r in
                tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]}
    dists = packages_distributions()
    imported: set[str] = set()
    for path in (REPO / "src/contentpipe").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {a.name.split(".")[0] for a in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = {m for m in imported if m not in sys.stdlib_module_names and m != "contentpipe"}
    used = {dist.lower() for m in third_party for dist in dists.get(m, [m])}
    used -= {"markupsafe"}  # Jinja2's own dependency, whose Markup type the templates share
    assert used == declared
