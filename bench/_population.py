"""Population rows of ``bench/engines.py``: K members of one configuration in one program.

For K = 1, 4, 16, 64 at B = 1 and B = 10 (stateful, T=1, 8 units, XLA on): the epoch time of
the whole population and per member. Each K's program is compiled once (its compile time is
recorded); repetitions then run round-robin over K (repetition r of every K, then r + 1), each
from fresh weights (the member seeds of trial seed r) and trained ``epochs`` epochs in a row,
as a trial trains them, of which epochs 2.. are timed. Wall time is what a user waits; the
process CPU time is reported beside it because this machine is shared: another process taking
a core inflates the wall time of an epoch but not its CPU time.
"""

from __future__ import annotations

import json
import os
import statistics
import time
from pathlib import Path
from typing import Any

from _common import machine, print_table, summary

MEMBERS = (1, 4, 16, 64)
# The program of the configuration's own shapes: what K members cost in one program, the question
# of the population rows. A sweep's shared program (B=1 padded to 2, a loop of 20 around the one
# step) measured K=16 at 6.8x K=1 at B=1 (157 vs 23 ms an epoch), bench/results/engines.json.
PROGRAMS = "exact"


def _spec(batch_size: int, members: int, seed: int, epochs: int, units: int) -> Any:
    from lstmbench.spec import ModelConfig, TrainSpec, TrialSpec

    model = ModelConfig(stateful=True, timesteps=1, batch_size=batch_size, units=units)
    return TrialSpec(model=model, seed=seed,
                     train=TrainSpec(epochs=epochs, replicates=members, stop_at_convergence=False,
                                     xla="on", programs=PROGRAMS))


def _population(spec: Any) -> tuple[Any, Any, Any]:
    """The compiled population of ``spec`` (XLA on), warmed up; its data and first batches."""
    from lstmbench.engines import make_population
    from lstmbench.feeding import eval_set, population_batches
    from lstmbench.tasks import make_task

    data = make_task(spec.task, spec.data_seed)
    evalset = eval_set(data.x_val, data.y_val, spec.model)
    batches = population_batches(data.x_train, data.y_train, spec.model,
                                 seeds=spec.member_seeds, epoch=1, shuffle=True)
    population = make_population(spec, batches, evalset)  # the spec says XLA on
    population.warm_up(batches, evalset)
    return population, data, evalset


def _epoch(population: Any, data: Any, spec: Any, epoch: int) -> tuple[float, float]:
    """Train one epoch of ``spec``'s population: (wall ms, CPU ms)."""
    from lstmbench.feeding import population_batches

    batches = population_batches(data.x_train, data.y_train, spec.model,
                                 seeds=spec.member_seeds, epoch=epoch, shuffle=True)
    t0, c0 = time.perf_counter(), time.process_time()
    population.train_epoch(batches)
    return (time.perf_counter() - t0) * 1e3, (time.process_time() - c0) * 1e3


def bench_population(reps: int, *, epochs: int, units: int,
                     members: tuple[int, ...] = MEMBERS) -> list[dict[str, Any]]:
    """Return one row per (B, K): epoch ms (wall and CPU) of the population and per member.

    Repetition r of every K runs before r + 1 of any. Not epoch by epoch: alternating K every
    epoch evicts each program's data from the caches (measured: K=1 at B=10 1.3 -> 2.4 ms).
    """
    from lstmbench.engines import _compiled

    rows = []
    for B in (1, 10):
        _compiled._programs.clear()
        compile_s = {}
        for K in members:  # compile every K's program once, timed
            t0 = time.perf_counter()
            _population(_spec(B, K, 0, epochs, units))
            compile_s[K] = time.perf_counter() - t0
        wall: dict[int, list[float]] = {K: [] for K in members}
        cpu: dict[int, list[float]] = {K: [] for K in members}
        for rep in range(reps):
            for K in members:
                spec = _spec(B, K, rep, epochs, units)
                population, data, _ = _population(spec)  # fresh weights: the seeds of rep
                for epoch in range(1, epochs + 1):
                    w, c = _epoch(population, data, spec, epoch)
                    if epoch > 1:
                        wall[K].append(w)
                        cpu[K].append(c)
        for K in members:
            rows.append({
                "method": "population", "batch_size": B, "members": K,
                "epoch_ms": summary(wall[K]), "epoch_cpu_ms": summary(cpu[K]),
                "member_ms": statistics.median(wall[K]) / K,
                "member_cpu_ms": statistics.median(cpu[K]) / K,
                "epoch_ms_all": [round(x, 4) for x in wall[K]],
                "compile_s": compile_s[K],
            })
    return rows


def population_ratios(rows: list[dict[str, Any]]) -> dict[str, float | None]:
    """K=16 over K=1 epoch time (wall and CPU medians) at each batch size: the target
    is at most 4 at B=1."""
    def median(B: int, K: int, key: str) -> float | None:
        found = [r[key]["median"] for r in rows if r["batch_size"] == B and r["members"] == K]
        return found[0] if found else None

    out: dict[str, float | None] = {}
    for B in (1, 10):
        for key, name in (("epoch_ms", "wall"), ("epoch_cpu_ms", "cpu")):
            a, b = median(B, 16, key), median(B, 1, key)
            out[f"k16_vs_k1_b{B}_{name}"] = round(a / b, 2) if a and b else None
    return out


def population_table(rows: list[dict[str, Any]]) -> list[list[str]]:
    return [[
        str(r["batch_size"]), str(r["members"]),
        f"{r['epoch_ms']['median']:.2f}", f"{r['epoch_ms']['min']:.2f}–{r['epoch_ms']['max']:.2f}",
        f"{r['epoch_cpu_ms']['median']:.2f}", f"{r['member_ms']:.3f}", f"{r['member_cpu_ms']:.3f}",
        str(r["epoch_ms"]["n"]), f"{r['compile_s']:.2f}",
    ] for r in rows]


POPULATION_HEADER = ["B", "K", "epoch ms (median)", "min–max", "epoch CPU ms", "per member ms",
                     "per member CPU ms", "n", "compile s"]


def population_section(reps: int, *, epochs: int, units: int) -> dict[str, Any]:
    """The ``population`` section of ``engines.json``: rows, ratios, load before and after."""
    load_before = os.getloadavg()
    rows = bench_population(reps, epochs=epochs, units=units)
    return {"rows": rows, "ratios": population_ratios(rows), "epochs_per_rep": epochs,
            "reps": reps, "loadavg_before": load_before, "loadavg_after": os.getloadavg()}


def print_population(section: dict[str, Any]) -> None:
    print_table("Population: K members in one program, stateful T=1, 8 units, XLA on",
                POPULATION_HEADER, population_table(section["rows"]))
    print("population ratios:", json.dumps(section["ratios"]))


def population_only(reps: int, path: Path | None, *, epochs: int, units: int) -> int:
    """Run the population rows; write them into ``path`` beside the rows already there."""
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from lstmbench.engines._tf import tensorflow

    tensorflow()
    section = population_section(reps, epochs=epochs, units=units)
    print_population(section)
    if path is not None:
        result = (json.loads(path.read_text()) if path.exists()
                  else {"benchmark": "engines", "machine": machine()})
        result["population"] = section
        path.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0
