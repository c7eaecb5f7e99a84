"""CPU time of one training update of ``lstmbench train``'s own program at the notebook's
configuration (first-bit, stateful, T=1, B=1, 8 units, K=1, XLA on), one process per sample.

    python bench/update_cost.py [--epochs N] [--members K]

Prints one JSON line: CPU µs an update (process CPU time over ``--epochs`` epochs after two
warm-up epochs, the batches built beforehand), wall µs beside it, and the load. The process
CPU time, not the wall time, is the measure on a shared machine: another process taking a core
inflates the wall time of an epoch but not its CPU time. To compare two versions of the code,
run this alternately with ``PYTHONPATH`` pointing at each and compare the medians.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--epochs", type=int, default=200)
    parser.add_argument("--members", type=int, default=1)
    args = parser.parse_args()

    from lstmbench.task import make_task

    from lstmbench.engines import make_population
    from lstmbench.feeding import eval_set, population_batches
    from lstmbench.spec import ModelConfig, TrainSpec, TrialSpec

    spec = TrialSpec(model=ModelConfig(stateful=True, timesteps=1, batch_size=1, units=8),
                     seed=0, train=TrainSpec(replicates=args.members, xla="on",
                                             programs="exact"))
    data = make_task(spec.task, spec.data_seed)
    evalset = eval_set(data.x_val, data.y_val, spec.model)
    epochs = [population_batches(data.x_train, data.y_train, spec.model,
                                 seeds=spec.member_seeds, epoch=e, shuffle=True)
              for e in range(1, 9)]
    population = make_population(spec, epochs[0], evalset)
    population.warm_up(epochs[0], evalset)
    for batches in epochs[:2]:
        population.train_epoch(batches)
    n_updates = epochs[0].xs.shape[0] * epochs[0].xs.shape[1]
    t0, c0 = time.perf_counter(), time.process_time()
    for e in range(args.epochs):
        population.train_epoch(epochs[e % len(epochs)])
    cpu, wall = time.process_time() - c0, time.perf_counter() - t0
    total = args.epochs * n_updates
    print(json.dumps({"cpu_us_per_update": round(cpu / total * 1e6, 4),
                      "wall_us_per_update": round(wall / total * 1e6, 4),
                      "cpu_ms_per_epoch": round(cpu / args.epochs * 1e3, 4),
                      "epochs": args.epochs, "members": args.members,
                      "updates_per_epoch": n_updates, "loadavg": os.getloadavg(),
                      "xla_flags": os.environ.get("XLA_FLAGS", "")}))


if __name__ == "__main__":
    main()
