"""How the compiled engine's cost grows with sequence length and with the number of sequences.

    python bench/scaling.py [--json FILE] [--epochs N]

Every point runs in a fresh subprocess (TensorFlow's memory is only visible as the process's
peak RSS): build + compile, then ``--epochs`` epochs; it reports the median epoch time after the
first, the compile time, and the peak RSS, also as the growth over the RSS right after importing
TensorFlow. Two arms: stateful T=1 B=10 and stateless W=10 B=32, 8 units. The fitted log-log
slope of epoch time against the growing dimension is the number behind "linear" (1.0 = linear).
Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, print_table

ARMS = {
    "stateful": {"stateful": True, "timesteps": 1, "batch_size": 10, "units": 8},
    "stateless": {"stateful": False, "window": 10, "batch_size": 32, "units": 8},
}
SEQ_LENS = [20, 63, 200, 632, 2000]  # log-spaced, 100 sequences
N_SEQUENCES = [100, 1000, 10_000, 100_000]  # seq_len 20


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0  # Linux: KiB


def run_point(arm: str, n_sequences: int, seq_len: int, epochs: int) -> dict[str, Any]:
    """One point, in this process: what the parent reads back as JSON."""
    from lstmbench.engines import make_population
    from lstmbench.engines._tf import tensorflow
    from lstmbench.feeding import eval_set, train_batches
    from lstmbench.spec import ModelConfig, TaskSpec, TrialSpec
    from lstmbench.tasks import make_task

    tensorflow()
    import keras  # noqa: F401

    rss_import = _rss_mb()
    model = ModelConfig(**ARMS[arm])
    task = TaskSpec(n_sequences=n_sequences, seq_len=seq_len)
    spec = TrialSpec(model=model, task=task, seed=0)
    data = make_task(task, 0)

    def batches_of(epoch: int) -> Any:  # one model: the compiled population of one
        return train_batches(data.x_train, data.y_train, model, seed=0, epoch=epoch,
                             shuffle=True).with_member_axis()

    batches = batches_of(1)
    evalset = eval_set(data.x_val, data.y_val, model)
    t0 = time.perf_counter()
    engine = make_population(spec, batches, evalset)
    engine.warm_up(batches, evalset)
    compile_s = time.perf_counter() - t0
    epoch_ms = []
    for epoch in range(1, epochs + 1):
        b = batches if epoch == 1 else batches_of(epoch)
        t0 = time.perf_counter()
        engine.train_epoch(b)
        epoch_ms.append((time.perf_counter() - t0) * 1e3)
    t0 = time.perf_counter()
    engine.predict(evalset)
    eval_ms = (time.perf_counter() - t0) * 1e3
    return {
        "arm": arm, "n_sequences": n_sequences, "seq_len": seq_len,
        "updates_per_epoch": batches.n_updates,
        "epoch_ms": float(np.median(epoch_ms[1:] or epoch_ms)), "epoch_ms_all": epoch_ms,
        "eval_ms": eval_ms, "compile_s": compile_s,
        "peak_rss_mb": _rss_mb(), "rss_after_import_mb": rss_import,
        "peak_rss_growth_mb": _rss_mb() - rss_import,
    }


def _spawn(arm: str, n_sequences: int, seq_len: int, epochs: int) -> dict[str, Any]:
    cmd = [sys.executable, __file__, "--point", arm, str(n_sequences), str(seq_len),
           "--epochs", str(epochs)]
    t0 = time.perf_counter()
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    row = json.loads(out.stdout.strip().splitlines()[-1])
    row["process_s"] = time.perf_counter() - t0
    return row


def slope(xs: list[float], ys: list[float]) -> float:
    """Least-squares slope of log(y) on log(x)."""
    return float(np.polyfit(np.log(xs), np.log(ys), 1)[0])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write every point and the slopes here")
    parser.add_argument("--epochs", type=int, default=3, help="epochs per point (median of 2..)")
    parser.add_argument("--point", nargs=3, metavar=("ARM", "N", "L"), help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.point:
        arm, n, L = args.point
        print(json.dumps(run_point(arm, int(n), int(L), args.epochs)))
        return 0

    start = time.perf_counter()
    rows: list[dict[str, Any]] = []
    for axis, points in (("seq_len", SEQ_LENS), ("n_sequences", N_SEQUENCES)):
        for arm in ARMS:
            for p in points:
                n, L = (100, p) if axis == "seq_len" else (p, 20)
                row = _spawn(arm, n, L, args.epochs)
                row["axis"] = axis
                rows.append(row)
                print(f"  {axis} {arm} N={n} L={L}: {row['epoch_ms']:.1f} ms/epoch, "
                      f"{row['peak_rss_mb']:.0f} MB", file=sys.stderr)

    slopes: dict[str, Any] = {}
    for axis in ("seq_len", "n_sequences"):
        for arm in ARMS:
            pts = [r for r in rows if r["axis"] == axis and r["arm"] == arm]
            xs = [r[axis] for r in pts]
            slopes[f"{arm} epoch_ms vs {axis}"] = round(slope(xs, [r["epoch_ms"] for r in pts]), 3)
            slopes[f"{arm} peak_rss_growth vs {axis}"] = round(
                slope(xs, [max(r["peak_rss_growth_mb"], 1.0) for r in pts]), 3)
    result = {"benchmark": "scaling", "arms": ARMS, "epochs_per_point": args.epochs,
              "rows": rows, "slopes_loglog": slopes,
              "total_s": time.perf_counter() - start,
              "machine": {**machine(), "loadavg_after": os.getloadavg()}}
    table = [[r["axis"], r["arm"], str(r["n_sequences"]), str(r["seq_len"]),
              str(r["updates_per_epoch"]), f"{r['epoch_ms']:.1f}",
              f"{r['epoch_ms'] / r['updates_per_epoch'] * 1e3:.1f}", f"{r['compile_s']:.2f}",
              f"{r['peak_rss_mb']:.0f}", f"{r['peak_rss_growth_mb']:.0f}"] for r in rows]
    print_table("Compiled engine: cost as the task grows",
                ["axis", "arm", "N", "L", "updates", "epoch ms", "µs/update", "compile s",
                 "peak RSS MB", "RSS growth MB"], table)
    for k, v in slopes.items():
        print(f"log-log slope  {k}: {v}")
    if args.json:
        args.json.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
