"""Peak memory of real trials against ``lstmbench.memory``'s estimate: where its margin comes from.

Each configuration trains one epoch in a process of its own, which reports its peak resident
set (``VmHWM`` of /proc/self/status, what the kernel counted) and its resident set once
TensorFlow was imported. The smallest configuration (the default ``train``) is the process's
start-up: TensorFlow, Keras, XLA's compile of one program; of it, ``rss_anon`` is the process's
own memory, ``rss_file`` the shared libraries' pages (shared by every process that maps them,
and given back by the kernel under pressure). For every larger one:

- ``growth``: its peak minus the smallest one's peak, the memory its sizes cost;
- ``ratio``: growth / the estimate (``memory.estimate(...).total``): below 1, the estimate
  covers it; the largest ratio is what the refusal's margin must cover;
- ``needed``: what the refusal compares with the memory available (estimate x ``MARGIN`` +
  ``BASELINE``), against the peak less the shared libraries' pages: never below it.

Usage: python bench/memory.py [--json bench/results/memory.json] [--only NAME ...]
                              [--reuse FILE ...]  (rows of interrupted runs: their stderr)
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from _common import machine, print_table

# name -> the flags of `lstmbench train` (one epoch each); sizes that allocate 0.1-2 GB and
# train an epoch in seconds: many short sequences, long windows, many members, many units.
CONFIGS: dict[str, list[str]] = {
    "default (start-up)": [],
    "2M sequences, one chunk": ["--sequences", "2000000", "--timesteps", "20", "--batch-size", "1000"],
    "500k sequences, K=8": ["--sequences", "500000", "--timesteps", "20", "--batch-size", "1000",
                            "--replicates", "8"],
    "200k sequences, K=32": ["--sequences", "200000", "--timesteps", "20", "--batch-size", "1000",
                             "--replicates", "32"],
    "stateless W=200 of 400": ["--stateless", "--sequences", "1000", "--seq-len", "400",
                               "--window", "200", "--batch-size", "900"],
    "stateless W=100 of 200, K=8": ["--stateless", "--sequences", "500", "--seq-len", "200",
                                    "--window", "100", "--batch-size", "900", "--replicates", "8"],
    "units 1000, K=4": ["--units", "1000", "--replicates", "4", "--timesteps", "20"],
    "units 2000": ["--units", "2000", "--timesteps", "20"],
    "seq-len 200k, 20 sequences": ["--sequences", "20", "--seq-len", "200000", "--timesteps",
                                 "200000", "--batch-size", "16"],
}


def child(flags: list[str]) -> None:
    """In the measured process: train one epoch of ``flags``; print the estimate and the peaks."""
    from lstmbench.cli import build_parser
    from lstmbench.commands.train import spec_from_args
    from lstmbench.memory import estimate
    from lstmbench.trial import import_tensorflow, run_trial

    args = build_parser().parse_args(["train", "--epochs", "1", *flags])
    spec = spec_from_args(args)
    import_tensorflow()
    after_import = _status("VmRSS")
    start = time.perf_counter()
    run_trial(spec)
    fp = estimate(spec)
    print(json.dumps({"estimate": fp.total, "parts": {"data": fp.data, "windows": fp.windows,
                                                      "model": fp.model, "members": fp.members},
                      "needed": fp.needed, "rss_after_import": after_import,
                      "peak": _status("VmHWM"), "rss_anon": _status("RssAnon"),
                      "rss_file": _status("RssFile"), "run_s": time.perf_counter() - start}))


def _status(key: str) -> int:
    """Bytes of ``key`` (VmRSS, VmHWM) in /proc/self/status."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(f"{key}:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no {key} in /proc/self/status")


def measure(name: str, flags: list[str]) -> dict[str, Any]:
    proc = subprocess.run([sys.executable, __file__, "--child", json.dumps(flags)],
                          capture_output=True, text=True, timeout=1800)
    if proc.returncode:
        raise SystemExit(f"{name} failed:\n{proc.stderr[-3000:]}")
    row = json.loads(proc.stdout.strip().splitlines()[-1])
    return {"name": name, "flags": flags, **row, "loadavg": os.getloadavg()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", default="bench/results/memory.json")
    parser.add_argument("--only", nargs="*", default=None, help="names of CONFIGS to run")
    parser.add_argument("--reuse", nargs="*", default=[],
                        help="files of rows measured before (a run's stderr, a JSON object a "
                             "line): those configurations are not run again")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        child(json.loads(args.child))
        return
    from lstmbench.memory import BASELINE, MARGIN

    names = [n for n in CONFIGS if args.only is None or n in args.only or n == "default (start-up)"]
    measured = {}
    for path in args.reuse:
        for line in Path(path).read_text().splitlines():
            if line.startswith("{"):
                row = json.loads(line)
                measured[row["name"]] = row
    rows = []
    for name in names:
        rows.append(measured.get(name) or measure(name, CONFIGS[name]))
        print(json.dumps(rows[-1]), file=sys.stderr)
    base = rows[0]["peak"]
    for row in rows:
        row["growth"] = row["peak"] - base
        row["ratio"] = row["growth"] / row["estimate"] if row is not rows[0] else None
        row["needed_over_peak"] = row["needed"] / (row["peak"] - rows[0]["rss_file"])
    mib = 2**20
    print_table(f"Peak RSS of one epoch against the estimate (MiB; margin x{MARGIN}, start-up "
                f"{BASELINE / mib:.0f} MiB; measured start-up {rows[0]['rss_anon'] / mib:.0f} MiB "
                f"own + {rows[0]['rss_file'] / mib:.0f} MiB shared libraries)",
                ["configuration", "estimate", "peak", "growth", "growth / estimate",
                 "needed", "needed / (peak - libraries)", "s"],
                [[r["name"], f"{r['estimate'] / mib:,.0f}", f"{r['peak'] / mib:,.0f}",
                  f"{r['growth'] / mib:,.0f}", "-" if r["ratio"] is None else f"{r['ratio']:.2f}",
                  f"{r['needed'] / mib:,.0f}", f"{r['needed_over_peak']:.2f}", f"{r['run_s']:.0f}"]
                 for r in rows])
    Path(args.json).parent.mkdir(parents=True, exist_ok=True)
    Path(args.json).write_text(json.dumps({
        "machine": {**machine(), "loadavg_after": os.getloadavg()},
        "margin": MARGIN, "baseline_bytes": BASELINE,
        "max_ratio": max(r["ratio"] for r in rows[1:]) if len(rows) > 1 else None,
        "rows": rows}, indent=2))


if __name__ == "__main__":
    main()
