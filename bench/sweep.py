"""Wall time of `lstmbench sweep --trials 50` (default study) from an empty folder.

Runs the real command in a fresh temporary folder, once with --jobs 1 and once with the default
(one worker per core), then reads the trials back from the SQLite file to split the wall time:

- start-up: wall minus the busiest worker's summed trial time (imports, study creation, spawn);
- compile: build + trace + XLA compile (``compile_s``; 0 when a worker reuses a program);
- training: the epochs' train time; evaluation: validation after each epoch;
- other: the rest of each trial (data, feeding, bookkeeping, storage writes);
- programs compiled / reused: trials that built a program / found one built by an earlier trial
  of their worker; cache hits: compiled programs whose XLA code came from the persistent cache
  (``lstmbench.engines.xla_cache_dir``; the bench uses the user's, as the command does);
- blind: search trials per arm drawn blind (``chosen_blind``), what the report compares;
- confirmation: the trials that re-run each arm's best on fresh seeds at the end; their summed
  trial seconds, and the wall seconds from the first one's start to the last one's end.

Usage: python bench/sweep.py [--trials 50] [--jobs 1,0] [--repeat 1] [--replicates K]
                            [--variants as-is,public-writes]
                            [--json bench/results/sweep.json]
(``--jobs 0``: the command's default, one worker per core; ``--replicates K``: the default study
with ``[train] replicates = K``, to choose the default; ``--variants``: simpler alternatives of
the code, see ``bench/_variant/sitecustomize.py``, run in turn within each repeat so that they
share the machine's load; a first unmeasured run warms XLA's cache.)
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

from _common import machine
from lstmbench.engines._xla_cache import ENTRY_SUFFIX, xla_cache_dir
from lstmbench.storage import quiet_optuna


def _study_with(folder: str, replicates: int) -> str:
    """The default study's file with ``[train] replicates`` set, written into ``folder``."""
    from lstmbench.spec import shipped_studies

    text = shipped_studies()["default"].read_text()
    text = re.sub(r"(?m)^replicates = .*$", "", text)
    text = text.replace("[train]\n", f"[train]\nreplicates = {replicates}\n", 1)
    path = Path(folder) / "spec" / "default.toml"
    path.parent.mkdir()
    path.write_text(text)
    return str(path)


VARIANT_PATH = Path(__file__).parent / "_variant"


def run_once(trials: int, jobs: int | None, replicates: int | None = None,
             variant: str = "as-is") -> dict:
    import optuna

    quiet_optuna()
    with tempfile.TemporaryDirectory(prefix="lstmbench-bench-") as folder:
        cmd = [sys.executable, "-m", "lstmbench", "sweep", "--trials", str(trials), "--quiet"]
        if jobs is not None:
            cmd += ["--jobs", str(jobs)]
        if replicates is not None:
            cmd += ["--spec", _study_with(folder, replicates), "--study", "default"]
        load, cpu0 = os.getloadavg()[0], os.times()
        cache = xla_cache_dir()
        cached = len(list(cache.glob("*" + ENTRY_SUFFIX))) if cache is not None else 0
        env = dict(os.environ)
        if variant != "as-is":
            env["LSTMBENCH_BENCH_VARIANT"] = variant
            env["PYTHONPATH"] = os.pathsep.join(p for p in (str(VARIANT_PATH),
                                                            env.get("PYTHONPATH")) if p)
        start = time.perf_counter()
        proc = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, env=env)
        wall = time.perf_counter() - start
        cpu1 = os.times()
        if proc.returncode != 0:
            raise SystemExit(f"sweep failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
        study = optuna.load_study(study_name="default", storage=f"sqlite:///{folder}/lstmbench.db")
        every = [t for t in study.trials if t.state.name == "COMPLETE"]
    confirmations = [t for t in every if t.user_attrs.get("confirmation")]
    trials_ = [t for t in every if not t.user_attrs.get("confirmation")]
    busy: dict[str, float] = defaultdict(float)
    for t in confirmations:
        busy[t.user_attrs.get("worker", "?")] += t.user_attrs["total_s"]
    compile_s = train_s = eval_s = total_s = 0.0
    for t in trials_:
        a = t.user_attrs
        busy[a.get("worker", "?")] += a["total_s"]
        compile_s += a["compile_s"]
        train_s += sum(a["train_ms"]) / 1e3
        eval_s += a["eval_ms"] * a["epochs_run"] / 1e3
        total_s += a["total_s"]
    workers = len(busy)
    return {
        "variant": variant,
        "load_after": os.getloadavg()[0],
        "jobs": jobs or os.cpu_count(),
        "replicates": trials_[0].user_attrs.get("replicates", 1),
        "load_before": load,
        "cache_entries_before": cached,  # XLA programs in the persistent cache (0: a cold run)
        "run": "empty folder, cold XLA cache" if not cached else "new folder, warm XLA cache",
        "cpu_s": (cpu1.children_user + cpu1.children_system
                  - cpu0.children_user - cpu0.children_system),
        "workers_seen": workers,
        "trials": len(trials_),
        "wall_s": wall,
        "startup_s": wall - max(busy.values()),
        "compile_s": compile_s,
        "train_s": train_s,
        "eval_s": eval_s,
        "other_s": total_s - compile_s - train_s - eval_s,
        "trial_s_sum": total_s,
        "median_compile_s": statistics.median(t.user_attrs["compile_s"] for t in trials_),
        "median_train_s": statistics.median(sum(t.user_attrs["train_ms"]) / 1e3 for t in trials_),
        "programs_compiled": sum(not t.user_attrs.get("reused_program") for t in trials_),
        "programs_reused": sum(bool(t.user_attrs.get("reused_program")) for t in trials_),
        "cache_hits": sum(t.user_attrs.get("xla_cache") == "hit" for t in trials_),
        "cache_misses": sum(t.user_attrs.get("xla_cache") == "miss" for t in trials_),
        "converged": {arm: sum(1 for t in trials_ if t.user_attrs["arm"] == arm and t.user_attrs["converged"])
                      for arm in ("stateful", "stateless")},
        "blind": {arm: sum(1 for t in trials_ if t.user_attrs["arm"] == arm
                           and t.user_attrs.get("chosen_blind")) for arm in ("stateful", "stateless")},
        "confirmation_trials": len(confirmations),
        "confirmation_s": sum(t.user_attrs["total_s"] for t in confirmations),
        "confirmation_wall_s": (max(t.datetime_complete for t in confirmations)
                                - min(t.datetime_start for t in confirmations)).total_seconds()
                               if confirmations else 0.0,
    }


HEAD = ("jobs", "replicates", "trials", "wall_s", "cpu_s", "load_before", "load_after",
        "cache_entries_before", "startup_s",
        "compile_s", "train_s", "eval_s", "other_s", "median_compile_s", "median_train_s",
        "programs_compiled", "programs_reused", "cache_hits", "blind", "confirmation_s",
        "confirmation_wall_s")


def _line(row: dict) -> str:
    return " | ".join(f"{row[k]:.2f}" if isinstance(row[k], float) else str(row[k]) for k in HEAD)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=50)
    parser.add_argument("--jobs", default="1,0",
                        help="comma-separated worker counts; 0: the command's default")
    parser.add_argument("--repeat", type=int, default=1, help="runs of each row (median wall)")
    parser.add_argument("--replicates", type=int, default=None,
                        help="run the default study with this many replicates")
    parser.add_argument("--variants", default=None,
                        help="comma-separated: as-is, public-writes")
    parser.add_argument("--json", default=None, help="write the rows here")
    args = parser.parse_args()
    rows = []
    if args.variants:
        variants = args.variants.split(",")
        for jobs in (int(j) for j in args.jobs.split(",")):
            run_once(args.trials, jobs or None, args.replicates)  # XLA's cache warm for all
            for _ in range(args.repeat):
                for variant in variants:
                    rows.append(run_once(args.trials, jobs or None, args.replicates, variant))
                    print(variant, _line(rows[-1]), flush=True)
        _compare(rows, variants)
    for jobs in (int(j) for j in args.jobs.split(",")) if not args.variants else ():
        for _ in range(args.repeat):
            rows.append(run_once(args.trials, jobs or None, args.replicates))
            print(_line(rows[-1]), flush=True)
    print(" | ".join(HEAD))
    print(" | ".join("---" for _ in HEAD))
    for r in rows:
        print(_line(r))
    print("(compile/train/eval/other are sums over trials, in seconds of one core)")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        result = {"machine": machine(), "rows": rows}
        if args.variants:
            result["variants"] = _compare(rows, args.variants.split(","), quiet=True)
        Path(args.json).write_text(json.dumps(result, indent=2))


def _compare(rows: list[dict], variants: list[str], quiet: bool = False) -> dict:
    """Each variant's median wall time, and its cost against ``as-is`` (the same repeats)."""
    wall = {v: statistics.median(r["wall_s"] for r in rows if r["variant"] == v) for v in variants}
    out = {v: {"median_wall_s": wall[v], "walls_s": [r["wall_s"] for r in rows if r["variant"] == v],
               "loads": [r["load_before"] for r in rows if r["variant"] == v],
               "vs_as_is": wall[v] / wall["as-is"] - 1 if "as-is" in wall else None}
           for v in variants}
    if not quiet:
        for v, o in out.items():
            cost = "" if o["vs_as_is"] is None else f" ({100 * o['vs_as_is']:+.1f} % against as-is)"
            print(f"{v}: median wall {o['median_wall_s']:.2f} s{cost}, loads {o['loads']}")
    return out


if __name__ == "__main__":
    main()
