"""The README's and docs' examples, from one real run of the commands as a user types them.

Run from the project folder (after ``pip install .``, or with ``PYTHONPATH=src``):

    python bench/examples.py            # ~2-4 min on 2 cores: trains real models
    python bench/examples.py --only train,train-bad   # re-run some examples, keep the others

In a fresh temporary folder, with an empty XLA cache (a new user's first hour), it runs
``lstmbench sweep --trials 50``, ``lstmbench report``, ``lstmbench train`` and the rest of
``EXAMPLES`` below, each as a subprocess with ``COLUMNS=100`` and its output piped (so progress
comes as plain lines), and writes what each printed, its exit code and its wall time to
``bench/results/examples.json`` with the machine and its load. Then it runs ``bench/docs.py``,
which rewrites every ``<!-- example:NAME -->`` block of README.md and docs/*.md from that file
(``python bench/docs.py --check`` fails, and with it tests/test_docs.py, when they disagree).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "bench" / "results" / "examples.json"
PLOTS = {"window_accuracy.png": "docs/img/report-window-accuracy.png"}  # report --out -> docs
WIDTH = "100"  # COLUMNS for every command: what the docs' code blocks fit


@dataclass(frozen=True)
class Example:
    """One command as a user types it; ``stop`` (optional) decides when to send SIGTERM."""

    name: str
    command: str  # shown after "$ " in the docs; split on spaces to run unless ``argv``
    stop: Callable[[str], bool] | None = None
    argv: tuple[str, ...] = ()
    note: str = ""  # what the docs say beside the command (e.g. how it was stopped)


def _after_trials(n: int) -> Callable[[str], bool]:
    """True once the sweep's progress shows trial ``n`` done (plain lines: ``[n/50] trial ...``)."""
    return lambda out: f"[{n}/" in out


# Every number of a trial is in SQLite, readable without lstmbench.
_QUERY = ("SELECT t.number, a.value_json AS arm, c.value_json AS converged_share, "
          "s.value_json AS time_to_solution_s FROM trials t "
          "JOIN trial_user_attributes a ON a.trial_id = t.trial_id AND a.key = 'arm' "
          "JOIN trial_user_attributes c ON c.trial_id = t.trial_id AND c.key = 'converged_share' "
          "JOIN trial_user_attributes s ON s.trial_id = t.trial_id AND s.key = 'time_to_solution_s' "
          "ORDER BY t.number LIMIT 4")

EXAMPLES = (
    *(Example(f"help-{c}", f"lstmbench {c} --help") for c in ("sweep", "train")),
    Example("sweep", "lstmbench sweep --trials 50"),
    Example("report", "lstmbench report"),
    Example("report-json", "lstmbench report --json"),
    Example("report-out", "lstmbench report --out report"),  # its window plot goes to docs/img
    Example("sql", f'sqlite3 -header lstmbench.db "{_QUERY}"',
            argv=("sqlite3", "-header", "lstmbench.db", _QUERY)),
    Example("train", "lstmbench train"),
    Example("train-bad", "lstmbench train --timesteps 3"),
    Example("train-memory", "lstmbench train --sequences 100000000"),
    # {best} is the number of the stateful arm's best trial in the report above
    Example("replay", "lstmbench train --study default --trial {best}"),
    Example("sigterm", "lstmbench sweep --trials 50 --study stopped", stop=_after_trials(2),
            note="SIGTERM (kill PID) once two trials are done"),
    Example("timeout", "lstmbench sweep --trials 100000 --timeout 45 --study big"),
)


def _argv(example: Example) -> list[str]:
    argv = list(example.argv) or example.command.split()
    if argv[0] == "lstmbench" and shutil.which("lstmbench") is None:
        argv = [sys.executable, "-m", "lstmbench", *argv[1:]]
    return argv


def _context(examples: dict[str, dict]) -> dict[str, str]:
    """Values a command may name, from the examples run before it."""
    try:
        report = json.loads(examples["report-json"]["output"])
        return {"best": str(report["arms"][0]["best"]["number"])}
    except (KeyError, IndexError, TypeError, ValueError):
        return {"best": "0"}


def run(example: Example, folder: Path, env: dict[str, str], context: dict[str, str]) -> dict:
    """Run one example in ``folder``; return its output (stdout and stderr as printed), exit code,
    wall seconds and the load before it."""
    load = os.getloadavg()
    start = time.perf_counter()
    example = replace(example, command=example.command.format(**context))
    proc = subprocess.Popen(_argv(example), cwd=folder, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    out = []
    signalled = False
    assert proc.stdout is not None
    for line in proc.stdout:  # line by line: a stop condition sees the progress as it comes
        out.append(line)
        if example.stop is not None and not signalled and example.stop("".join(out)):
            proc.send_signal(signal.SIGTERM)  # what `kill PID`, Slurm or Kubernetes send
            signalled = True
    code = proc.wait()
    return {"command": example.command, "note": example.note, "output": "".join(out).rstrip("\n"),
            "exit_code": code, "wall_s": round(time.perf_counter() - start, 1), "loadavg_before": list(load)}


def _machine() -> dict:
    from importlib.metadata import version

    with open("/proc/cpuinfo", encoding="utf-8") as f:
        cpu = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")),
                   platform.processor())
    out = {"cpu": cpu, "cpus": os.cpu_count(), "python": platform.python_version()}
    for package in ("lstmbench", "tensorflow", "keras", "optuna"):
        with contextlib.suppress(Exception):  # not installed under that name: left out
            out[package] = version(package)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--only", default=None,
                        help="comma-separated example names to re-run (the others are kept); "
                             "the sweep is re-run whenever an example needs its database")
    parser.add_argument("--no-render", action="store_true", help="write the JSON only")
    args = parser.parse_args()
    names = [e.name for e in EXAMPLES]
    only = set(names if args.only is None else args.only.split(","))
    if only - set(names):
        parser.error(f"unknown example(s) {sorted(only - set(names))}: choose from {names}")
    needs_sweep = {"report", "report-json", "report-out", "sql", "replay"}
    if only & needs_sweep:
        only.add("sweep")

    old = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    examples = dict(old.get("examples", {}))
    with tempfile.TemporaryDirectory(prefix="lstmbench-examples-") as tmp:
        folder = Path(tmp) / "work"
        folder.mkdir()
        env = {**os.environ, "COLUMNS": WIDTH, "XDG_CACHE_HOME": str(Path(tmp) / "cache")}
        env.pop("LSTMBENCH_STORAGE", None)  # the default storage: ./lstmbench.db
        for example in EXAMPLES:
            if example.name not in only:
                continue
            print(f"$ {example.command}", file=sys.stderr, flush=True)
            examples[example.name] = result = run(example, folder, env, _context(examples))
            print(f"  exit {result['exit_code']} in {result['wall_s']} s", file=sys.stderr)
            if example.name == "report-out":
                for plot, image in PLOTS.items():
                    if (folder / "report" / "plots" / plot).exists():
                        shutil.copyfile(folder / "report" / "plots" / plot, ROOT / image)
    RESULTS.write_text(json.dumps({"benchmark": "examples", "machine": _machine(),
                                   "loadavg_after": list(os.getloadavg()),
                                   "date": time.strftime("%Y-%m-%d"),
                                   "examples": examples}, indent=1, ensure_ascii=False) + "\n")
    print(f"wrote {RESULTS.relative_to(ROOT)}", file=sys.stderr)
    if args.no_render:
        return 0
    return subprocess.call([sys.executable, str(ROOT / "bench" / "docs.py")])


if __name__ == "__main__":
    raise SystemExit(main())
