"""The layers of docs/design.md as an import-linter contract (pyproject.toml), and what they buy."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
LINT = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")


def lint(root: Path) -> subprocess.CompletedProcess[str]:
    """Run import-linter on the package under ``root/src`` with the project's contracts."""
    env = {**os.environ, "PYTHONPATH": str(root / "src")}
    return subprocess.run([LINT, "--no-cache", str(ROOT / "pyproject.toml")], cwd=root, env=env,
                          capture_output=True, text=True, timeout=120)


def test_the_contract_holds() -> None:
    out = lint(ROOT)
    assert out.returncode == 0, out.stdout + out.stderr
    assert "4 kept, 0 broken" in out.stdout


@pytest.mark.parametrize(("module", "line", "broken"), [
    ("report/_format.py", "import lstmbench.study", "cli -> commands"),  # report reaching up
    ("storage/_url.py", "import lstmbench.trial", "cli -> commands"),  # siblings are independent
    ("tasks/_metrics.py", "import tensorflow", "never import TensorFlow"),
    ("engines/_weights.py", "import optuna", "do not know they are in a study"),
    ("commands/_show.py", "import lstmbench.study._sweep", "private modules"),
])
def test_a_deliberate_bad_import_breaks_it(tmp_path: Path, module: str, line: str,
                                           broken: str) -> None:
    shutil.copytree(ROOT / "src" / "lstmbench", tmp_path / "src" / "lstmbench",
                    ignore=shutil.ignore_patterns("__pycache__"))
    target = tmp_path / "src" / "lstmbench" / module
    target.write_text(target.read_text() + f"\n{line}  # deliberate\n")
    out = lint(tmp_path)
    assert out.returncode == 1, out.stdout
    broken_section = out.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section, broken_section


def test_the_report_command_loads_no_training_and_no_study(report_study) -> None:
    """A real ``lstmbench report``: TensorFlow, multiprocessing and lstmbench.study stay unloaded."""
    url, name, _ = report_study
    code = (
        "import sys\n"
        "from lstmbench.cli import main\n"
        f"rc = main(['report', '--storage', {url!r}, '--study', {name!r}])\n"
        "loaded = sorted(m for m in sys.modules if m.split('.')[0] in\n"
        "                ('tensorflow', 'keras', 'multiprocessing', 'sklearn')\n"
        "                or m.startswith('lstmbench.study'))\n"
        "print('LOADED', rc, loaded)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "Verdict" in out.stdout  # the report was really printed
    assert out.stdout.strip().splitlines()[-1] == "LOADED 0 []"
