"""The layering of ``unlearn_gui.core`` is a contract (pyproject.toml, [tool.importlinter]) that
``lint-imports`` checks; these tests prove the check passes on the tree and can fail."""
from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
LINT = Path(sys.executable).with_name("lint-imports")

pytestmark = pytest.mark.skipif(not LINT.exists(), reason="import-linter is not installed (pip install -e .[test])")


def _lint(tree: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(tree)}
    return subprocess.run([str(LINT), "--no-cache"], cwd=tree, env=env, capture_output=True, text=True, timeout=300)


def _copy(tmp_path: Path) -> Path:
    tree = tmp_path / "tree"
    shutil.copytree(ROOT / "unlearn_gui", tree / "unlearn_gui", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tree / "pyproject.toml")
    return tree


def test_contracts_hold_on_the_tree(tmp_path):
    res = _lint(_copy(tmp_path))
    assert res.returncode == 0, res.stdout + res.stderr
    assert "3 kept, 0 broken" in res.stdout


@pytest.mark.parametrize("where, line, broken", [
    ("core/common/cancel.py", "from ..train import engine", "unlearn_gui.core.common is not allowed to import unlearn_gui.core.train"),
    ("core/data/readers.py", "from ..evaluate import metrics", "unlearn_gui.core.data is not allowed to import unlearn_gui.core.evaluate"),
    ("core/evaluate/metrics.py", "import PySide6", "the core never imports Qt"),
])
def test_a_planted_violation_breaks_the_build(tmp_path, where, line, broken):
    tree = _copy(tmp_path)
    f = tree / "unlearn_gui" / where
    f.write_text(f.read_text(encoding="utf-8") + f"\n{line}  # planted by the test\n", encoding="utf-8")
    res = _lint(tree)
    assert res.returncode != 0
    assert broken in res.stdout
