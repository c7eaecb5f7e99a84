"""Calibration of the report's statistics, measured by simulation (no training).

Simulated studies are made of trial rows as ``lstmbench.report.trial_rows`` gives them, drawn
from spaces whose every configuration has a known probability of converging, and go through
the report's own ``summarize``. Measured:

- ``false_alarm_rate``: A-vs-A studies of the default design (both arms the same space; 20
  configurations per arm drawn blind, 5 more per arm chosen adaptively, 4 seeds a trial: 50
  trials): the share of studies where the verdict says a difference is unlikely to be chance,
  and where any test of the fixed sequence rejects.
- ``coverage``: scenario -> interval -> the share of studies whose 95 % interval holds the
  truth (each arm's P(converge), their difference, the stateless regions, the pooled time to
  solution). Scenarios: heterogeneous arms, the first-bit-like rare converging corner (only
  W = L, 1 window length in 20), every configuration converging, none, and every
  configuration alike.
- ``power``: the share of studies where the primary test rejects at 5 %, by the two arms'
  P(converge) and the blind configurations per arm; each configuration's probability is drawn
  from a Beta distribution with that mean and an intra-class correlation of 0.5 (as
  heterogeneous as the default space: most configurations converge nearly always or nearly
  never).
- ``time_to_solution_bias``: the per-trial time to solution (the sweep's objective) at K seeds,
  against the configuration's true value.

Usage: python bench/calibration.py [--studies 1000] [--json bench/results/calibration.json]
                                  [--docs docs/statistics.md] [--from-json FILE]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from lstmbench.report import summarize
from lstmbench.report._exact import rank_test
from lstmbench.report._stats import difference
from lstmbench.report._summary import _arm, _regions

SEQ_LEN = 20
EPOCHS = 20
K = 4
N_TRAIN = 90  # sequences in the training split: epoch time grows with the updates per epoch
SPEC = {"train": {"target": 0.99}, "space": {"arms": ["stateful", "stateless"]}}
DESIGN = {"blind_per_arm": 20, "adaptive_per_arm": 5, "members": K}


@dataclass(frozen=True)
class Config:
    """One configuration of a simulated space: its parameters and its true P(converge)."""

    arm: str
    window: int | None
    timesteps: int | None
    batch_size: int
    units: int
    p: float


def space(arm: str, kind: str, rng: np.random.Generator) -> list[Config]:
    """The configurations of an arm's default space, each with a probability by ``kind``:
    ``heterogeneous`` (a third never converge, the rest Beta(5, 1.5)), ``rare`` (stateless:
    only W = L converges, with Beta(9, 1); other arms as heterogeneous), ``all`` (1), ``none``
    (0), ``alike`` (0.5 everywhere)."""
    if arm == "stateless":
        grid = [(w, None, b, u) for w in range(1, SEQ_LEN + 1) for b in (11, 30, 90)
                for u in (4, 8, 16)]
    else:
        grid = [(None, t, b, u) for t in (1, 2, 4, 5, 10, 20) for b in (1, 2, 5, 10, 30)
                for u in (4, 8, 16)]
    out = []
    for w, t, b, u in grid:
        if kind == "all":
            p = 1.0
        elif kind == "none":
            p = 0.0
        elif kind == "alike":
            p = 0.5
        elif kind == "rare" and arm == "stateless":
            p = float(rng.beta(9, 1)) if w == SEQ_LEN else 0.0
        else:
            p = 0.0 if rng.random() < 1 / 3 else float(rng.beta(5, 1.5))
        out.append(Config(arm, w, t, b, u, p))
    return out


def trial_row(number: int, c: Config, blind: bool, rng: np.random.Generator,
              members: int = K) -> dict[str, Any]:
    """A completed trial of ``c`` as ``trial_rows`` gives it, its seeds drawn with ``c.p``."""
    ms = epoch_ms(c) * float(rng.lognormal(0, 0.1))
    converged = rng.random(members) < c.p
    epochs = [int(1 + rng.poisson(3)) if ok else None for ok in converged]
    epochs = [min(e, EPOCHS) if e is not None else None for e in epochs]
    ran = max((e for e in epochs if e is not None), default=0) if all(converged) else EPOCHS
    train_ms = [ms] * ran
    seconds = [None if e is None else e * ms / 1e3 / members for e in epochs]
    budget = sum(train_ms) / 1e3 / members
    done = [s for s in seconds if s is not None]
    tts = (sum(budget if s is None else s for s in seconds) / members) / (len(done) / members) \
        if done else None
    config = (f"stateless W={c.window} B={c.batch_size} U={c.units}" if c.arm == "stateless"
              else f"stateful T={c.timesteps} B={c.batch_size} U={c.units}")
    return {
        "number": number, "state": "COMPLETE", "value": tts, "arm": c.arm, "config": config,
        "converged": bool(done), "convergence_epoch": min((e for e in epochs if e), default=None),
        "best_val_accuracy": 1.0 if done else 0.6, "ceiling": None, "epoch_ms": ms,
        "time_to_converge_s": None if not done else 1.0 + min(done), "window": c.window,
        "timesteps": c.timesteps, "batch_size": c.batch_size, "seq_len": SEQ_LEN,
        "val_accuracy": [], "train_ms": train_ms, "replicates": members,
        "converged_share": len(done) / members, "member_epochs": epochs,
        "member_train_s": seconds, "time_to_solution_s": tts, "chosen_blind": blind,
        "engine": "compiled", "jit": True, "versions": {},
    }


def study(spaces: dict[str, list[Config]], rng: np.random.Generator,
          blind: int = DESIGN["blind_per_arm"],
          adaptive: int = DESIGN["adaptive_per_arm"]) -> list[dict[str, Any]]:
    """Rows of one simulated study: per arm, ``blind`` configurations drawn at random, then
    ``adaptive`` trials re-running the blind configurations that did best (as a sampler that
    has seen the results would)."""
    rows: list[dict[str, Any]] = []
    for configs in spaces.values():
        drawn = [configs[i] for i in rng.integers(0, len(configs), blind)]
        mine = [trial_row(len(rows) + i, c, True, rng) for i, c in enumerate(drawn)]
        rows += mine
        ranked = sorted(zip(mine, drawn), key=lambda rc: -rc[0]["converged_share"])
        for i in range(adaptive):
            rows.append(trial_row(len(rows), ranked[i % len(ranked)][1], False, rng))
    return rows


def truth(configs: list[Config]) -> float:
    return float(np.mean([c.p for c in configs]))


def pooled_truth(configs: list[Config]) -> float:
    """The pooled time to solution of an arm's space: the expected training seconds of a trial
    of a random configuration over its expected converged seeds (as ``trial_row`` draws them: a
    converged seed runs its epochs, a failed one all ``EPOCHS``, each a K-th of the epoch)."""
    poisson = np.exp(-3.0) * np.cumprod([1.0] + [3.0 / i for i in range(1, 80)])
    epochs = float(np.sum(poisson * np.minimum(1 + np.arange(80), EPOCHS)))
    lognormal_mean = math.exp(0.1**2 / 2)
    seconds = conv = 0.0
    for c in configs:
        ms = epoch_ms(c) * lognormal_mean
        seconds += (c.p * epochs + (1 - c.p) * EPOCHS) * ms / 1e3
        conv += K * c.p
    return seconds / conv if conv else math.inf


def epoch_ms(c: Config) -> float:
    """The simulated epoch time of ``c`` before its noise: more updates, longer epochs."""
    return 2.0 + 0.2 * math.ceil(N_TRAIN / c.batch_size) * (c.timesteps or c.window or 1) ** 0.5


def false_alarms(n_studies: int, rng: np.random.Generator) -> dict[str, Any]:
    """A-vs-A studies of the default design, half from the heterogeneous space, half from the
    rare-corner one (both arms the same space: arm "stateless" relabelled)."""
    primary = family = 0
    for i in range(n_studies):
        kind = "heterogeneous" if i % 2 == 0 else "rare"
        configs = space("stateless", kind, rng)
        twin = [Config("stateful", c.window, c.timesteps, c.batch_size, c.units, c.p)
                for c in configs]
        s = summarize(study({"stateful": twin, "stateless": configs}, rng), study="a-vs-a",
                      spec=SPEC)
        primary += s.tests[0].p_value < 0.05
        family += any(t.p_adjusted is not None and t.p_adjusted < 0.05 for t in s.tests)
    rate = primary / n_studies
    return {"false_alarm_rate": rate,
            "false_alarm_rate_se": math.sqrt(max(rate * (1 - rate), 1e-12) / n_studies),
            "family_false_alarm_rate": family / n_studies}


SCENARIOS = {
    "heterogeneous arms": ("heterogeneous", "heterogeneous"),
    "rare converging corner (only W = L)": ("heterogeneous", "rare"),
    "every configuration converging": ("all", "all"),
    "no configuration converging": ("none", "none"),
    "every configuration alike (0.5)": ("alike", "alike"),
}


def coverage(n_studies: int, rng: np.random.Generator) -> dict[str, dict[str, float]]:
    """Scenario -> interval -> share of studies whose interval holds the truth."""
    out = {}
    for name, (kind_a, kind_b) in SCENARIOS.items():
        spaces = {"stateful": space("stateful", kind_a, rng),
                  "stateless": space("stateless", kind_b, rng)}
        true = {arm: truth(c) for arm, c in spaces.items()}
        regions = {covers: truth([c for c in spaces["stateless"] if (c.window >= SEQ_LEN) is covers])
                   for covers in (True, False)}
        pooled = {arm: pooled_truth(c) for arm, c in spaces.items()}
        hits: dict[str, list[bool]] = {}
        for _ in range(n_studies):
            # What ``summarize`` computes for the intervals, without its tests and tables.
            rows = study(spaces, rng)
            arms = [_arm(arm, rows) for arm in spaces]
            for a in arms:
                e = a.converged_share
                hits.setdefault(f"P(converge) {a.arm}", []).append(e.low <= true[a.arm] <= e.high)
                e = a.pooled_time_to_solution_s
                if math.isfinite(pooled[a.arm]) and e.low is not None:
                    hits.setdefault(f"time to solution, pooled, {a.arm}", []).append(
                        e.low <= pooled[a.arm] <= e.high)
            d = difference(arms[0].converged_share, arms[1].converged_share)
            hits.setdefault("difference", []).append(
                d.low <= true["stateful"] - true["stateless"] <= d.high)
            for r in _regions(rows):
                if r.converged_share.n:
                    e = r.converged_share
                    hits.setdefault(f"P(converge) stateless, window "
                                    f"{'covers' if r.covers_lag else 'shorter than'} the lag",
                                    []).append(e.low <= regions[r.covers_lag] <= e.high)
        out[name] = {k: round(sum(v) / len(v), 4) for k, v in hits.items()}
    return out


def power(n_studies: int, rng: np.random.Generator, sizes: tuple[int, ...] = (5, 10, 20, 30, 40),
          pairs: tuple[tuple[float, float], ...] = ((0.9, 0.5), (0.8, 0.5), (0.7, 0.5),
                                                    (0.5, 0.05))) -> list[dict[str, Any]]:
    """The primary test's power: per pair of P(converge) and blind configurations per arm."""
    rows = []
    rho = 0.5
    for mu_a, mu_b in pairs:
        for n in sizes:
            hits = 0
            for _ in range(n_studies):
                shares = []
                for mu in (mu_a, mu_b):
                    p = rng.beta(mu * (1 / rho - 1), (1 - mu) * (1 / rho - 1), n)
                    shares.append(list(rng.binomial(K, p) / K))
                hits += rank_test(shares[0], shares[1], "share").p_value < 0.05
            rows.append({"p_a": mu_a, "p_b": mu_b, "blind_per_arm": n, "members": K,
                         "power": round(hits / n_studies, 3)})
    return rows


def tts_bias(n: int, rng: np.random.Generator) -> list[dict[str, Any]]:
    """The per-trial time to solution (mean seed run / converged share, seeds converging at
    epoch 1 + Poisson(3), a failed seed running all 20 epochs) against the configuration's true
    value, at K seeds: its mean and median relative error where some seed converged, and how
    often none did (no finite value)."""
    out = []
    for p in (0.25, 0.5, 0.75, 0.9, 1.0):
        run_c = 1 + 3  # expected epochs of a converging seed
        true = (p * run_c + (1 - p) * EPOCHS) / p
        for k in (2, 4, 8, 16):
            ok = rng.random((n, k)) < p
            epochs = np.where(ok, 1 + rng.poisson(3, (n, k)), EPOCHS)
            conv = ok.sum(axis=1)
            finite = conv > 0
            est = epochs[finite].mean(axis=1) / (conv[finite] / k)
            out.append({"p": p, "members": k, "true": true,
                        "mean_relative_error": round(float(est.mean() / true - 1), 4),
                        "median_relative_error": round(float(np.median(est) / true - 1), 4),
                        "never_share": round(float(1 - finite.mean()), 4)})
    return out


def calibrate(n_studies: int, n_power: int, seed: int = 0) -> dict[str, Any]:
    rng = np.random.default_rng(seed)
    started, cpu = time.perf_counter(), time.process_time()
    out: dict[str, Any] = {"n_studies": n_studies, "design": DESIGN}
    out.update(false_alarms(n_studies, rng))
    out["coverage"] = coverage(n_studies, rng)
    out["power_studies"] = n_power
    out["power"] = power(n_power, rng)
    out["time_to_solution_bias"] = tts_bias(20_000, rng)
    out["seconds"] = round(time.perf_counter() - started, 1)
    out["cpu_seconds"] = round(time.process_time() - cpu, 1)
    return out


BEGIN, END = "<!-- calibration:begin -->", "<!-- calibration:end -->"


def markdown(result: dict[str, Any]) -> str:
    """The calibration's numbers as the Markdown docs/statistics.md carries between its markers."""
    se = result["false_alarm_rate_se"]
    load = result.get("load_before", [float("nan")])[0]
    lines = [
        f"Measured by `bench/calibration.py` ({result['n_studies']:,} simulated studies per "
        f"line; {result.get('cpu_seconds', '?')} s of CPU, {result.get('seconds', '?')} s wall "
        f"at load {load:.1f}; "
        "bench/results/calibration.json).",
        "",
        f"- False alarms, A-vs-A studies of the default design: "
        f"**{100 * result['false_alarm_rate']:.1f} %** ± {100 * se:.1f} (Monte-Carlo standard "
        f"error); any test of the sequence: {100 * result['family_false_alarm_rate']:.1f} %.",
        "",
        "| scenario | interval | coverage |",
        "|---|---|--:|",
    ]
    for scenario, cover in result["coverage"].items():
        for name, share in cover.items():
            lines.append(f"| {scenario} | {name} | {100 * share:.1f} % |")
    sizes = sorted({r["blind_per_arm"] for r in result["power"]})
    lines += ["", "Power of the primary test at 5 % (" + f"{result['power_studies']:,}"
              + " simulated studies a cell; blind configurations per arm across):", "",
              "| P(converge) | " + " | ".join(str(n) for n in sizes) + " |",
              "|---|" + "--:|" * len(sizes)]
    pairs = list(dict.fromkeys((r["p_a"], r["p_b"]) for r in result["power"]))
    for a, b in pairs:
        cells = {r["blind_per_arm"]: r["power"] for r in result["power"]
                 if (r["p_a"], r["p_b"]) == (a, b)}
        lines.append(f"| {a:g} vs {b:g} | " + " | ".join(f"{100 * cells[n]:.0f} %" for n in sizes)
                     + " |")
    ks = sorted({r["members"] for r in result["time_to_solution_bias"]})
    lines += ["", "Per-trial time to solution against the truth (mean relative error where a "
              "seed converged; never: trials where none did), K seeds across:", "",
              "| P(seed converges) | " + " | ".join(f"K = {k}" for k in ks) + " |",
              "|---|" + "--:|" * len(ks)]
    for p in dict.fromkeys(r["p"] for r in result["time_to_solution_bias"]):
        cells = {r["members"]: r for r in result["time_to_solution_bias"] if r["p"] == p}
        lines.append(f"| {p:g} | " + " | ".join(
            f"{_signed(cells[k]['mean_relative_error'])} % (never {100 * cells[k]['never_share']:.0f} %)"
            for k in ks) + " |")
    return "\n".join(lines) + "\n"


def _signed(x: float) -> str:
    """``+24``, ``−26``; ``0`` for anything that rounds to nothing."""
    text = f"{100 * x:+.0f}"
    return "0" if text in ("+0", "-0") else text.replace("-", "−")


def write_docs(result: dict[str, Any], path: Path) -> None:
    """Replace the text between the calibration markers of ``path`` with :func:`markdown`."""
    text = path.read_text()
    head, rest = text.split(BEGIN, 1)
    _, tail = rest.split(END, 1)
    path.write_text(f"{head}{BEGIN}\n{markdown(result)}{END}{tail}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--studies", type=int, default=1000)
    parser.add_argument("--power-studies", type=int, default=1000)
    parser.add_argument("--json", type=Path)
    parser.add_argument("--docs", type=Path, help="rewrite its calibration block (docs/statistics.md)")
    parser.add_argument("--from-json", type=Path, help="no simulation: the numbers of this file")
    args = parser.parse_args()
    if args.from_json:
        write_docs(json.loads(args.from_json.read_text()), args.docs)
        return
    load = os.getloadavg()
    result = calibrate(args.studies, args.power_studies)
    result["load_before"] = load
    result["load_after"] = os.getloadavg()
    from _common import print_table

    print(f"false alarms: {result['false_alarm_rate']:.3f} ± {result['false_alarm_rate_se']:.3f} "
          f"(family {result['family_false_alarm_rate']:.3f}), {args.studies} A-vs-A studies")
    print_table("coverage of 95 % intervals", ["scenario", "interval", "coverage"],
                [[s, k, f"{v:.3f}"] for s, cov in result["coverage"].items() for k, v in cov.items()])
    print_table("power of the primary test", ["P(converge) a", "b", "blind per arm", "power"],
                [[str(r["p_a"]), str(r["p_b"]), str(r["blind_per_arm"]), f"{r['power']:.3f}"]
                 for r in result["power"]])
    print(f"{result['seconds']} s wall, {result['cpu_seconds']} s CPU; load {load[0]:.1f} -> "
          f"{result['load_after'][0]:.1f}")
    if args.json:
        try:
            from _common import machine

            result["machine"] = machine()
        except Exception as exc:  # the numbers stand without it
            result["machine"] = {"error": str(exc)}
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(result, indent=1) + "\n")
    if args.docs:
        write_docs(result, args.docs)


if __name__ == "__main__":
    main()
