"""The docs stand alone and stay true: figures from bench/results, links that resolve, a short README.

Fast and without TensorFlow: bench/docs.py is standard library only.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOCS_SCRIPT = ROOT / "bench" / "docs.py"
README_LIMIT = 250
TEST_COMMAND = 'pip install -e ".[test]" && python -m pytest -q'  # .ci/run runs it verbatim

LINK = re.compile(r"!?\[[^\]]*\]\(([^)\s]+)\)")


def documents() -> list[Path]:
    return [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]


def docs_script(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(DOCS_SCRIPT), *args], capture_output=True, text=True,
                          timeout=60)


def test_every_figure_in_the_docs_is_what_bench_results_say():
    out = docs_script("--check")
    assert out.returncode == 0, out.stderr


def test_readme_is_short_and_keeps_the_two_commands():
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    assert len(text.splitlines()) <= README_LIMIT
    assert TEST_COMMAND in text
    assert "pip install . && lstmbench sweep --trials 50" in text
    assert TEST_COMMAND in (ROOT / ".ci" / "run").read_text(encoding="utf-8").replace(" -q -e", " -e")


def slug(heading: str) -> str:
    """GitHub's anchor for a Markdown heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    return re.sub(r"[^\w\- ]", "", text).replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return {slug(m.group(1)) for m in re.finditer(r"(?m)^#{1,6} (.+)$", text)}


def test_every_relative_link_points_to_a_file_and_heading_that_exist():
    broken = []
    for doc in documents():
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
        for target in LINK.findall(text):
            if re.match(r"[a-z]+:", target):  # http:, https:, mailto:
                continue
            file, _, anchor = target.partition("#")
            path = (doc.parent / file).resolve() if file else doc
            if not path.exists():
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such file)")
            elif anchor and path.suffix == ".md" and anchor not in anchors(path):
                broken.append(f"{doc.relative_to(ROOT)}: {target} (no such heading)")
    assert not broken, "\n".join(broken)


def test_the_docs_cite_nothing_outside_the_project():
    cites = re.compile(r"DESIGN\.md|\bshared/|\bissues? #?\d+|(?<![\w&])#\d+\b")
    found = []
    for doc in documents():
        # commands' outputs name trials as #N
        text = re.sub(r"```.*?```", "", doc.read_text(encoding="utf-8"), flags=re.S)
        text = re.sub(r"<!-- (bench|example):.*?<!-- /\1 -->", "", text, flags=re.S)
        found += [f"{doc.relative_to(ROOT)}: {m.group(0)}" for m in cites.finditer(text)]
    assert not found, found


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A copy of the docs and the results, for the script to rewrite."""
    shutil.copy(ROOT / "README.md", tmp_path / "README.md")
    shutil.copytree(ROOT / "docs", tmp_path / "docs")
    shutil.copytree(ROOT / "bench" / "results", tmp_path / "bench" / "results")
    return tmp_path


def test_check_fails_and_names_the_region_when_a_figure_drifts(project: Path):
    results = project / "bench" / "results" / "sweep.json"
    data = json.loads(results.read_text())
    data["rows"][0]["wall_s"] = 1234.5
    results.write_text(json.dumps(data))
    out = docs_script("--check", "--root", str(project))
    assert out.returncode == 1
    assert "bench:sweep differs" in out.stderr
    assert docs_script("--root", str(project)).returncode == 0  # rendering puts it right
    assert "1,234" in (project / "docs" / "performance.md").read_text()
    assert docs_script("--check", "--root", str(project)).returncode == 0


def test_a_missing_results_file_renders_nothing_and_fails_nothing(project: Path):
    shutil.rmtree(project / "bench" / "results")
    (project / "bench" / "results").mkdir()
    out = docs_script("--root", str(project))
    assert out.returncode == 0, out.stderr
    text = (project / "docs" / "performance.md").read_text()
    assert "<!-- bench:sweep -->\n<!-- /bench -->" in text
    assert "```\n$ lstmbench" not in (project / "README.md").read_text()
    assert docs_script("--check", "--root", str(project)).returncode == 0


def test_an_unknown_region_is_an_error(project: Path):
    (project / "docs" / "extra.md").write_text("<!-- bench:no-such-table -->\n<!-- /bench -->\n")
    out = docs_script("--check", "--root", str(project))
    assert out.returncode == 1
    assert "unknown region bench:no-such-table" in out.stderr


def test_results_of_another_shape_leave_their_region_empty_without_failing(project: Path):
    results = project / "bench" / "results"
    (results / "storage.json").write_text(json.dumps({"rows": [{"renamed": 1}]}))
    (results / "scaling.json").write_text(json.dumps({"rows": [{"updates_per_epoch": 10}]}))
    (results / "calibration.json").write_text(json.dumps({"coverage": [1, 2]}))
    out = docs_script("--root", str(project))
    assert out.returncode == 0, out.stderr
    assert "bench:storage left empty" in out.stderr
    assert "<!-- bench:storage -->\n<!-- /bench -->" in (project / "docs" / "scaling-out.md").read_text()
