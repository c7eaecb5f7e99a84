"""Per-epoch training time of four ways to train the notebook's stateful LSTM, in one process.

    python bench/engines.py [--json FILE] [--reps N] [--only METHOD ...] [--population-only]

- ``notebook``  the seed notebook's 写法1: batch 1, ``train_on_batch`` per single timestep with
  its ``np.expand_dims`` packing, the stateful layers reset after every sequence (B=1 only);
- ``keras``     lstmbench's reference engine (``train_on_batch`` per chunk);
- ``keras-fit`` ``model.fit`` with ``steps_per_execution`` = chunks per sequence, ``shuffle=False``,
  and a callback that resets the stateful layers where a batch of sequences starts;
- ``compiled``  lstmbench's default engine through ``run_trial`` (XLA on), in the shared program a
  sweep runs it in (B=1 padded to 2 samples, one-step chunks in a loop of 20), ``compiled-exact``
  in a program of the configuration's own shapes (``[train] programs = "exact"``), and
  ``compiled-nojit`` (the shared program without XLA) for the compile-time / epoch-time trade-off;
- ``train``     what ``lstmbench train --batch-size B --all-epochs`` runs (the spec its command line
  builds: today the compiled engine in a program of the configuration's own shapes), and
  ``train-k16`` the same with ``--replicates 16`` (B=1): the ``*_vs_train`` ratios and
  ``train_k16_vs_k1_b1`` are measured on these rows;

- ``population`` K = 1, 4, 16, 64 members of one configuration in one compiled program
  (``bench/_population.py``): epoch ms of the population and per member. ``--population-only``
  runs just these rows and writes them into an existing ``--json`` file, keeping its other rows.

Task: first-bit, 100 x 20 (90 training sequences), stateful, T=1, 8 units, B=1 and B=10. Each
repetition starts from the seeded weights (seed = repetition) and trains a fixed number of
epochs; repetitions run round-robin (repetition r of every method, then r + 1), so that a slow
spell of a shared machine does not land on one method only. The epoch times of epochs 2.. are
pooled (epoch 1 includes Keras' tracing); the time to converge is from building the model
(compile included) to the end of the evaluation of the first epoch with validation accuracy
>= 0.99. Not collected by pytest.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from _common import machine, print_table, summary
from _population import population_only, population_section, print_population

UNITS = 8
TARGET = 0.99
EPOCHS = {1: 4, 10: 25}  # epochs per repetition: enough to converge at each batch size
POPULATION_EPOCHS = 6  # per repetition and K: 5 timed epochs after the first


def _task(seed: int) -> Any:
    from lstmbench.spec import TaskSpec
    from lstmbench.tasks import make_task

    return make_task(TaskSpec(), seed)


def _model_config(batch_size: int) -> Any:
    from lstmbench.spec import ModelConfig

    return ModelConfig(stateful=True, timesteps=1, batch_size=batch_size, units=UNITS)


@dataclass
class Samples:
    """What one method measured, pooled over repetitions (seeds)."""

    epoch_s: list[float] = field(default_factory=list)
    converge_s: list[float | None] = field(default_factory=list)
    compile_s: list[float] = field(default_factory=list)
    conv_epochs: list[int | None] = field(default_factory=list)

    def extend(self, other: Samples) -> None:
        for name in ("epoch_s", "converge_s", "compile_s", "conv_epochs"):
            getattr(self, name).extend(getattr(other, name))

    def row(self, method: str, batch_size: int) -> dict[str, Any]:
        converged = [c for c in self.converge_s if c is not None]
        return {
            "method": method,
            "batch_size": batch_size,
            "epoch_ms": summary([e * 1e3 for e in self.epoch_s]),
            "epoch_ms_all": [round(e * 1e3, 4) for e in self.epoch_s],
            "time_to_converge_s": summary(converged) if converged else None,
            "time_to_converge_s_all": self.converge_s,
            "convergence_epochs": self.conv_epochs,
            "compile_s": summary(self.compile_s) if self.compile_s else None,
        }


# --------------------------------------------------------------------------- notebook (写法1)


def bench_notebook(seeds: Iterable[int]) -> Samples:
    """The notebook's own loop, as lstmbench runs it: the engine ``notebook:writing-1:as-written``
    (``engines/_notebook.py``), timed and validated by the trial runner like every engine."""
    return _trials("notebook:writing-1:as-written", 1, seeds, xla="auto", shuffle=False)


# --------------------------------------------------------------------------- lstmbench engines


def bench_lstmbench(engine: str, batch_size: int, seeds: Iterable[int], *, jit: bool = True,
                    programs: str = "shared") -> Samples:
    return _trials(engine, batch_size, seeds, xla="on" if jit else "off", programs=programs)


def _trials(engine: str, batch_size: int, seeds: Iterable[int], *, xla: str,
            shuffle: bool = True, programs: str = "shared") -> Samples:
    """One trial per seed of ``engine``, run for the whole epoch budget; epochs 2.. pooled."""
    from lstmbench.spec import TrainSpec, TrialSpec

    out = Samples()
    for rep in seeds:
        out.extend(_run(TrialSpec(model=_model_config(batch_size), seed=rep,
                                  train=TrainSpec(epochs=EPOCHS[batch_size], engine=engine,
                                                  stop_at_convergence=False, shuffle=shuffle,
                                                  xla=xla, programs=programs))))
    return out


def train_spec(batch_size: int, seed: int, replicates: int = 1) -> Any:
    """The spec ``lstmbench train`` runs for these flags, built as the command builds it (every
    other setting the command's default), for the whole epoch budget."""
    from lstmbench.cli import build_parser
    from lstmbench.commands.train import spec_from_args

    return spec_from_args(build_parser().parse_args([
        "train", "--batch-size", str(batch_size), "--epochs", str(EPOCHS[batch_size]),
        "--all-epochs", "--seed", str(seed), "--units", str(UNITS),
        "--replicates", str(replicates)]))


def bench_train(batch_size: int, seeds: Iterable[int], *, replicates: int = 1) -> Samples:
    """One ``lstmbench train`` run per seed; epochs 2.. pooled."""
    out = Samples()
    for rep in seeds:
        out.extend(_run(train_spec(batch_size, rep, replicates)))
    return out


def _run(spec: Any) -> Samples:
    """One trial of ``spec``, compile included (no program kept from an earlier repetition)."""
    from lstmbench.engines import _compiled
    from lstmbench.trial import run_trial

    _compiled._programs.clear()  # every repetition pays its compile: a fresh trial
    r = run_trial(spec)
    return Samples(epoch_s=[ms / 1e3 for ms in r.train_ms[1:]], converge_s=[r.time_to_converge_s],
                   compile_s=[r.compile_s], conv_epochs=[r.convergence_epoch])


# --------------------------------------------------------------------------- keras fit


def _fit_layout(batches: Any) -> tuple[np.ndarray, np.ndarray]:
    """Batches (n_batches, n_chunks, B, T, 1) as fit's flat arrays: every run of ``n_chunks``
    consecutive batches of ``B`` samples is chunk 0..n_chunks-1 of the same B sequences."""
    nb, nc, B, T, F = batches.xs.shape
    x = batches.xs.reshape(nb * nc * B, T, F)
    y = np.repeat(batches.ys[:, None, :], nc, axis=1).reshape(nb * nc * B)
    return x, y


def bench_keras_fit(batch_size: int, seeds: Iterable[int]) -> tuple[Samples, dict[str, Any]]:
    """``model.fit`` with steps_per_execution = chunks per sequence; returns (samples, checks)."""
    from lstmbench.engines._keras import KerasEngine, build_model, reset_states
    from lstmbench.engines._tf import tensorflow
    from lstmbench.engines._weights import initial_weights
    from lstmbench.feeding import eval_set, train_batches
    from lstmbench.tasks import score

    tensorflow()
    import keras

    model_cfg = _model_config(batch_size)

    class ResetAtSequenceStart(keras.callbacks.Callback):
        """Reset the stateful layers where a batch of sequences starts; log where it did."""

        def __init__(self, n_chunks: int) -> None:
            super().__init__()
            self.n_chunks = n_chunks
            self.resets: list[int] = []

        def on_train_batch_begin(self, batch: int, logs: Any = None) -> None:
            self.resets.append(batch)
            reset_states(self.model)

    class EpochClock(keras.callbacks.Callback):
        def __init__(self, on_end: Callable[[int, float], None]) -> None:
            super().__init__()
            self.on_end = on_end

        def on_epoch_begin(self, epoch: int, logs: Any = None) -> None:
            self.t0 = time.perf_counter()

        def on_epoch_end(self, epoch: int, logs: Any = None) -> None:
            self.on_end(epoch + 1, time.perf_counter() - self.t0)

    def make(batches: Any, seed: int) -> Any:
        n_chunks = batches.xs.shape[1]
        model = build_model(UNITS, 1, batch_size, stateful=True)
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy",
                      steps_per_execution=n_chunks)
        model.set_weights(initial_weights(UNITS, 1, seed))
        return model

    out = Samples()
    epoch_s, converge, conv_epochs = out.epoch_s, out.converge_s, out.conv_epochs
    checks: dict[str, Any] = {}
    for rep in seeds:
        data = _task(rep)
        batches = train_batches(data.x_train, data.y_train, model_cfg, seed=rep, epoch=1,
                                shuffle=False)
        evalset = eval_set(data.x_val, data.y_val, model_cfg)
        n_batches, n_chunks = batches.xs.shape[:2]
        x, y = _fit_layout(batches)
        start = time.perf_counter()
        model = make(batches, rep)
        eval_model = build_model(UNITS, 1, evalset.xv.shape[1], stateful=True)
        state: dict[str, Any] = {"at": None, "epoch": None}

        def on_end(epoch: int, seconds: float, model: Any = model, eval_model: Any = eval_model,
                   evalset: Any = evalset, start: float = start, state: dict = state) -> None:
            if epoch > 1:
                epoch_s.append(seconds)
            eval_model.set_weights(model.get_weights())
            reset_states(eval_model)
            probs = np.stack([np.asarray(eval_model.predict_on_batch(evalset.xv[k]))[:, 0]
                              for k in range(evalset.xv.shape[0])])
            if state["at"] is None and score(probs, evalset.yv, head=evalset.head, metric="per-sample",
                                               tolerance=None, sequences=len(evalset.yv))[1] >= TARGET:
                state["at"], state["epoch"] = time.perf_counter() - start, epoch

        resets = ResetAtSequenceStart(n_chunks)
        model.fit(x, y, batch_size=batch_size, epochs=EPOCHS[batch_size], shuffle=False,
                  verbose=0, callbacks=[resets, EpochClock(on_end)])
        converge.append(state["at"])
        conv_epochs.append(state["epoch"])
        if rep == 0:
            # The resets: once per batch of sequences per epoch, each at a chunk-0 batch index.
            expected = [b * n_chunks for b in range(n_batches)] * EPOCHS[batch_size]
            checks["resets_counted"] = len(resets.resets)
            checks["resets_expected"] = len(expected)
            checks["resets_at_sequence_starts_only"] = resets.resets == expected
            # One epoch of fit against one epoch of the keras engine, same order and weights.
            fit_model = make(batches, rep)
            fit_model.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0,
                          callbacks=[ResetAtSequenceStart(n_chunks)])
            engine = KerasEngine(units=UNITS, learning_rate=1e-3, seed=rep, stateful=True,
                                 batch_shape=batches.xs.shape, eval_shape=evalset.xv.shape)
            engine.train_epoch(batches)
            diff = max(float(np.max(np.abs(a - b)))
                       for a, b in zip(fit_model.get_weights(), engine.model.get_weights()))
            moved = max(float(np.max(np.abs(a - b)))
                        for a, b in zip(fit_model.get_weights(), initial_weights(UNITS, 1, rep)))
            checks["max_weight_diff_vs_keras_engine_after_one_epoch"] = diff
            checks["max_weight_change_in_that_epoch"] = moved
            # And without the resets the weights differ: the check can see a missing reset.
            no_reset = make(batches, rep)
            no_reset.fit(x, y, batch_size=batch_size, epochs=1, shuffle=False, verbose=0)
            checks["max_weight_diff_without_resets"] = max(
                float(np.max(np.abs(a - b)))
                for a, b in zip(no_reset.get_weights(), engine.model.get_weights()))
    return out, checks


# --------------------------------------------------------------------------- main


def _median(rows: list[dict[str, Any]], method: str, batch_size: int) -> float | None:
    for r in rows:
        if r["method"] == method and r["batch_size"] == batch_size:
            return r["epoch_ms"]["median"]
    return None


def _fit_and_check(batch_size: int, seeds: range, checks: dict[str, Any]) -> Samples:
    samples, found = bench_keras_fit(batch_size, seeds)
    if found:  # measured with the first seed only
        checks[f"keras-fit B={batch_size}"] = found
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--json", type=Path, help="write every row and the ratios here")
    parser.add_argument("--reps", type=int, default=4, help="repetitions (seeds) per row")
    parser.add_argument("--only", nargs="*", help="methods to run (default: all)")
    parser.add_argument("--population-only", action="store_true",
                        help="only the population rows; with --json, update them in that file")
    args = parser.parse_args(argv)
    if args.population_only:
        return population_only(args.reps, args.json, epochs=POPULATION_EPOCHS, units=UNITS)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    from lstmbench.engines._tf import tensorflow

    tensorflow()
    load_before = os.getloadavg()
    want = set(args.only or ["notebook", "keras", "keras-fit", "compiled", "compiled-exact",
                             "compiled-nojit", "train", "train-k16", "population"])
    rows: list[dict[str, Any]] = []
    checks: dict[str, Any] = {}
    for B in (1, 10):
        # Round-robin: repetition r of every method before repetition r + 1 of any, so that a
        # slow spell of the machine falls on all methods alike instead of on one of them.
        runs: dict[str, Callable[[range], Samples]] = {
            "compiled": lambda seeds, B=B: bench_lstmbench("compiled", B, seeds),
            "compiled-exact": lambda seeds, B=B: bench_lstmbench("compiled", B, seeds,
                                                                 programs="exact"),
            "compiled-nojit": lambda seeds, B=B: bench_lstmbench("compiled", B, seeds, jit=False),
            "keras-fit": lambda seeds, B=B: _fit_and_check(B, seeds, checks),
            "keras": lambda seeds, B=B: bench_lstmbench("keras", B, seeds),
            "train": lambda seeds, B=B: bench_train(B, seeds),
            "train-k16": lambda seeds, B=B: bench_train(B, seeds, replicates=16),
            "notebook": bench_notebook,
        }
        b1_only = ("notebook", "train-k16")
        methods = [m for m in runs if m in want and (m not in b1_only or B == 1)]
        pooled = {m: Samples() for m in methods}
        for rep in range(args.reps):
            for m in methods:
                pooled[m].extend(runs[m](range(rep, rep + 1)))
        rows += [pooled[m].row(m, B) for m in methods]
        print(f"B={B} done", file=sys.stderr)
    population = (population_section(args.reps, epochs=POPULATION_EPOCHS, units=UNITS)
                  if "population" in want else None)
    load_after = os.getloadavg()

    def ratio(a: float | None, b: float | None, digits: int = 1) -> float | None:
        return round(a / b, digits) if a and b else None

    result = {
        "benchmark": "engines",
        "task": {"n_sequences": 100, "seq_len": 20, "train_sequences": 90, "stateful": True,
                 "timesteps": 1, "units": UNITS, "target": TARGET},
        "epochs_per_rep": EPOCHS,
        "rows": rows,
        "ratios": {
            "notebook_vs_compiled": ratio(_median(rows, "notebook", 1), _median(rows, "compiled", 1)),
            "keras_fit_vs_compiled": ratio(_median(rows, "keras-fit", 10),
                                           _median(rows, "compiled", 10)),
            "notebook_vs_compiled_exact": ratio(_median(rows, "notebook", 1),
                                                _median(rows, "compiled-exact", 1)),
            "keras_fit_vs_compiled_exact": ratio(_median(rows, "keras-fit", 10),
                                                 _median(rows, "compiled-exact", 10)),
            "keras_vs_compiled_b1": ratio(_median(rows, "keras", 1), _median(rows, "compiled", 1)),
            "keras_vs_compiled_b10": ratio(_median(rows, "keras", 10),
                                           _median(rows, "compiled", 10)),
            "nojit_vs_jit_b1": ratio(_median(rows, "compiled-nojit", 1),
                                     _median(rows, "compiled", 1)),
            "nojit_vs_jit_b10": ratio(_median(rows, "compiled-nojit", 10),
                                      _median(rows, "compiled", 10)),
            # What `lstmbench train` runs by default, against the notebook's loop at B=1 and
            # Keras fit at B=10; and 16 members against one (epoch of the population).
            "notebook_vs_train": ratio(_median(rows, "notebook", 1), _median(rows, "train", 1)),
            "keras_fit_vs_train": ratio(_median(rows, "keras-fit", 10),
                                        _median(rows, "train", 10)),
            "train_k16_vs_k1_b1": ratio(_median(rows, "train-k16", 1), _median(rows, "train", 1),
                                        digits=2),
        },
        "train_defaults": {k: getattr(train_spec(1, 0).train, k)
                           for k in ("engine", "programs", "xla")},
        "checks": checks,
        "machine": {**machine(), "loadavg_before": load_before, "loadavg_after": load_after},
    }
    if population is not None:
        result["population"] = population
    table = []
    for r in rows:
        e, c, k = r["epoch_ms"], r["time_to_converge_s"], r["compile_s"]
        table.append([
            r["method"], str(r["batch_size"]),
            f"{e['median']:.2f}", f"{e['min']:.2f}–{e['max']:.2f}", str(e["n"]),
            f"{c['median']:.2f} ({c['min']:.2f}–{c['max']:.2f})" if c else "—",
            " ".join("-" if x is None else str(x) for x in r["convergence_epochs"]),
            f"{k['median']:.2f}" if k else "—",
        ])
    print_table("Per-epoch training time, stateful T=1, 8 units, 100x20 task",
                ["method", "B", "epoch ms (median)", "min–max", "n", "converge s (median, range)",
                 "conv. epochs", "compile s"], table)
    if population is not None:
        print_population(population)
    print("ratios:", json.dumps(result["ratios"]))
    print("checks:", json.dumps(checks))
    if args.json:
        args.json.write_text(json.dumps(result, indent=2, default=float) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
