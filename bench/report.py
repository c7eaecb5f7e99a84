"""Time of `lstmbench report` on studies of 1,000, 10,000 and 100,000 trials.

The studies are made of real trial records: a short sweep of the default study (or the trials
of ``--source DB``) gives them. A first block of ``BLOCK`` clones is written with Optuna's own
API (``create_trial`` + ``Study.add_trials``: every user attribute, per-epoch curve and
intermediate value as Optuna writes them). ``add_trials`` costs ~0.15 s a trial here (a
transaction per attribute), so the rest is made by doubling that block inside the database:
``INSERT ... SELECT`` of the study's rows in Optuna's tables with new trial ids and numbers —
byte for byte what Optuna wrote, except that each copy's epoch time and time to solution are
moved by a few parts per million: the report's rank tests cost more on distinct values (a real
study's) than on the source's 8 repeated ones. Building stops at ``--build-cap`` seconds (say so
in the row).

Measured per size, each the median of ``--repeat`` runs: ``lstmbench report`` as a command
(wall, imports included, and its CPU seconds, which the machine's load changes far less; once,
the CPU seconds of reading the rows and of summarising them); up
to ``--compare-max`` trials, Optuna's own ``get_trials`` on the same file (what the report used
to read through) and, with ``--dashboard``, optuna-dashboard's ``/api/studies/<id>`` (its first
call: what the study page waits for).

Usage: python bench/report.py [--sizes 1000 10000 100000] [--repeat 3] [--source DB]
                              [--dashboard] [--json bench/results/report.json]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from _common import machine, print_table, summary

BLOCK = 50  # trials written with Optuna's API; the rest are copies of them
STUDY = "default"
# Optuna's per-trial tables, with the columns a copy carries over (ids are new).
CHILDREN = {
    "trial_params": "param_name, param_value, distribution_json",
    "trial_values": "objective, value, value_type",
    "trial_user_attributes": "key, value_json",
    "trial_system_attributes": "key, value_json",
    "trial_intermediate_values": "step, intermediate_value, intermediate_value_type",
}


def source_trials(source: str | None, folder: Path) -> tuple[list, dict]:
    """Real trial records and the study's user attributes (a sweep of 8 trials if no source)."""
    import optuna

    if source is None:
        source = str(folder / "source.db")
        # --no-confirm: a study of 10,000 clones of a confirmation would be nothing a sweep makes;
        # --jobs 1: the same 8 configurations every run (two workers share them out by timing)
        cmd = [sys.executable, "-m", "lstmbench", "sweep", "--trials", "8", "--quiet", "--no-confirm",
               "--jobs", "1", "--storage", f"sqlite:///{source}"]
        subprocess.run(cmd, cwd=folder, check=True, capture_output=True)
    url = f"sqlite:///{source}"
    study = optuna.load_study(study_name=optuna.get_all_study_names(url)[0], storage=url)
    done = [t for t in study.get_trials() if t.state.name == "COMPLETE"]
    return done, study.user_attrs


def build(path: Path, n: int, records: list, attrs: dict, cap_s: float) -> dict:
    """Write a study of ``n`` trials into ``path``; return its size and build time."""
    import optuna

    start = time.perf_counter()
    study = optuna.create_study(study_name=STUDY, storage=f"sqlite:///{path}", direction="minimize")
    for key, value in attrs.items():
        study.set_user_attr(key, value)
    clones = [optuna.trial.create_trial(
        state=t.state, value=t.value, params=t.params, distributions=t.distributions,
        user_attrs=t.user_attrs, intermediate_values=t.intermediate_values)
        for t in (records[i % len(records)] for i in range(min(n, BLOCK)))]
    study.add_trials(clones)
    import sqlite3

    with sqlite3.connect(path) as db:
        while (have := db.execute("SELECT count(*) FROM trials").fetchone()[0]) < n:
            if time.perf_counter() - start > cap_s:
                break
            _double(db, min(have, n - have))
    with sqlite3.connect(path) as db:
        _distinct(db)
    have = sqlite3.connect(path).execute("SELECT count(*) FROM trials").fetchone()[0]
    return {"trials": have, "build_s": time.perf_counter() - start, "capped": have < n,
            "file_mb": path.stat().st_size / 2**20}


def _double(db, k: int) -> None:
    """Copy the study's first ``k`` trials (every row of them) as trials ``count .. count+k-1``."""
    first, count, top = db.execute("SELECT min(trial_id), count(*), max(trial_id) FROM trials").fetchone()
    shift = top + 1 - first
    db.execute("INSERT INTO trials (trial_id, number, study_id, state, datetime_start, datetime_complete) "
               "SELECT trial_id + ?, number + ?, study_id, state, datetime_start, datetime_complete "
               "FROM trials WHERE number < ?", (shift, count, k))
    for table, columns in CHILDREN.items():
        db.execute(f"INSERT INTO {table} (trial_id, {columns}) SELECT c.trial_id + ?, {columns} "
                   f"FROM {table} c JOIN trials t ON t.trial_id = c.trial_id WHERE t.number < ?",
                   (shift, k))
    db.commit()


def _distinct(db) -> None:
    """Make every trial's epoch time and time to solution distinct, as a real study's are
    (times by 1 + trial_id parts per ten million: the order of the originals is kept)."""
    db.execute("UPDATE trial_user_attributes SET value_json = "
               "CAST(CAST(value_json AS REAL) * (1 + trial_id * 1e-7) AS TEXT) "
               "WHERE key IN ('epoch_ms', 'time_to_solution_s') AND value_json != 'null'")
    db.commit()


def time_report(path: Path, repeat: int) -> tuple[list[float], list[float]]:
    """Wall seconds and CPU seconds (user + system, the process's own) of each run."""
    times, cpu = [], []
    for _ in range(repeat):
        before = resource.getrusage(resource.RUSAGE_CHILDREN)
        start = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "lstmbench", "report", "--storage",
                               f"sqlite:///{path}"], capture_output=True, text=True,
                              env={**os.environ, "COLUMNS": "120"})
        times.append(time.perf_counter() - start)
        after = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu.append(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime)
        if proc.returncode:
            raise SystemExit(f"report failed:\n{proc.stdout}\n{proc.stderr}")
    return times, cpu


# In a process of its own: CPU seconds of reading the rows (storage) and of the summary made of
# them (statistics), the two halves of the report's own work.
PARTS = """\
import json, sys, time
from lstmbench.report._load import study_summary
from lstmbench.report._records import trial_rows
from lstmbench.storage import find_studies
import optuna
rdb, names = find_studies(sys.argv[1], None)
study = optuna.load_study(study_name=names[0], storage=rdb)
start = time.process_time()
trial_rows(study)
read = time.process_time() - start
start = time.process_time()
study_summary(study, with_importances=False)
print(json.dumps({"read_cpu_s": read, "summary_cpu_s": time.process_time() - start - read}))
"""


def time_parts(path: Path) -> dict[str, float]:
    """CPU seconds of the rows' read and of the summary (which reads them again: subtracted)."""
    proc = subprocess.run([sys.executable, "-c", PARTS, f"sqlite:///{path}"], capture_output=True,
                          text=True, check=True)
    return json.loads(proc.stdout)


def time_get_trials(path: Path) -> float:
    import optuna

    study = optuna.load_study(study_name=STUDY, storage=f"sqlite:///{path}")
    start = time.perf_counter()
    study.get_trials(deepcopy=False)
    return time.perf_counter() - start


def time_dashboard(path: Path) -> float:
    """Seconds of optuna-dashboard's first ``/api/studies/<id>`` (what its study page loads)."""
    from _postgres import free_port

    port = free_port()
    code = ("import sys; from optuna_dashboard import run_server; "
            "run_server(sys.argv[1], host='127.0.0.1', port=int(sys.argv[2]))")
    server = subprocess.Popen([sys.executable, "-c", code, f"sqlite:///{path}", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        base = f"http://127.0.0.1:{port}"
        for _ in range(600):
            try:
                urllib.request.urlopen(f"{base}/api/studies", timeout=5).read()
                break
            except OSError:
                time.sleep(0.1)
        start = time.perf_counter()
        urllib.request.urlopen(f"{base}/api/studies/1?after=0", timeout=600).read()
        return time.perf_counter() - start
    finally:
        server.terminate()
        server.wait(30)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000, 100000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--source", default=None, help="an lstmbench SQLite file to clone trials of")
    parser.add_argument("--build-cap", type=float, default=600, help="seconds to build one study")
    parser.add_argument("--dashboard", action="store_true", help="also time optuna-dashboard's API")
    parser.add_argument("--compare-max", type=int, default=10000,
                        help="time get_trials and the dashboard only up to this size (they take "
                             "minutes beyond)")
    parser.add_argument("--json", default="bench/results/report.json")
    args = parser.parse_args()
    import optuna

    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rows = []
    with tempfile.TemporaryDirectory(prefix="lstmbench-bench-report-") as tmp:
        folder = Path(tmp)
        records, attrs = source_trials(args.source, folder)
        for n in args.sizes:
            path = folder / f"study-{n}.db"
            row = {"size": n, **build(path, n, records, attrs, args.build_cap)}
            wall, cpu = time_report(path, args.repeat)
            # Wall time under a shared machine's load; CPU time is what load barely changes.
            row["report_s"], row["report_cpu_s"] = summary(wall), summary(cpu)
            row.update(time_parts(path))
            row["loadavg"] = os.getloadavg()
            if n <= args.compare_max:
                row["get_trials_s"] = time_get_trials(path)
                if args.dashboard:
                    row["dashboard_api_s"] = time_dashboard(path)
            rows.append(row)
            path.unlink()
            print(json.dumps(row), file=sys.stderr)
    print_table("lstmbench report on studies of N cloned trials (SQLite, seconds)",
                ["trials", "build s", "file MB", "report (median)", "min-max", "CPU s (median)",
                 "read CPU s", "summary CPU s", "load", "Optuna get_trials",
                 "dashboard /api/studies/<id>"],
                [[f"{r['trials']:,}" + (" (capped)" if r["capped"] else ""), f"{r['build_s']:.0f}",
                  f"{r['file_mb']:.0f}", f"{r['report_s']['median']:.2f}",
                  f"{r['report_s']['min']:.2f}-{r['report_s']['max']:.2f}",
                  f"{r['report_cpu_s']['median']:.2f}", f"{r['read_cpu_s']:.2f}",
                  f"{r['summary_cpu_s']:.2f}", f"{r['loadavg'][0]:.1f}",
                  f"{r['get_trials_s']:.1f}" if "get_trials_s" in r else "-",
                  f"{r['dashboard_api_s']:.1f}" if "dashboard_api_s" in r else "-"] for r in rows])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({"machine": machine(), "source_trials": len(records),
                                           "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
