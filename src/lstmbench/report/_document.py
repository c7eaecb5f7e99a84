"""The report as a list of blocks (headings, paragraphs, tables, figures) built from a summary.

Every renderer walks the same blocks, so the terminal, Markdown and HTML say the same things in
the same order; a renderer only decides how a block looks.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from lstmbench.report import _format as f
from lstmbench.report._compare import ASSUMES, PRIMARY
from lstmbench.report._groups import ConfigRow
from lstmbench.report._stats import Estimate
from lstmbench.report._summary import ArmSummary, Summary, Table
from lstmbench.report._task import window_note

OBJECTIVE = ("time to solution: expected training seconds to one converged model, failed seeds "
             "restarted (compile excluded); a penalty when no seed converged")


@dataclass(frozen=True)
class Heading:
    text: str
    level: int = 2


@dataclass(frozen=True)
class Paragraph:
    text: str


@dataclass(frozen=True)
class Figure:
    name: str  # the plot's file stem (``plots/<name>.png``)
    caption: str


Block = Heading | Paragraph | Table | Figure


def verdict_document(s: Summary) -> list[Block]:
    """Return the few blocks a sweep ends with: each arm in one row, and the verdict."""
    rows = []
    for a in s.arms:
        epoch, solution = a.epochs_to_converge.value, a.time_to_solution_s.value
        rows.append((
            a.arm, str(a.complete), f"{a.converged}/{a.members}", _probability(a),
            f.DASH if epoch is None else f"{epoch:g}",
            f.DASH if solution is None else f.num(solution * 1e3, "ms"),
            a.best.config if a.best is not None and a.best.converged else f.DASH,
        ))
    return [Table("verdict", ("arm", "trials", "seeds converged", "P(converge) [95 % CI]",
                              "median epoch", "median time to solution", "best config"),
                  tuple(rows)),
            Paragraph(s.verdict)]


def document(s: Summary) -> list[Block]:
    """Return the blocks of the report of ``s``, in reading order."""
    blocks: list[Block] = [Heading(f"lstmbench report: {s.study}", 1), Paragraph(_header(s))]
    blocks += [Heading("Verdict"), Paragraph(s.verdict)]
    if s.arms:
        blocks += [Heading("Arms"), _arms(s)]
    if s.tests:
        blocks += [_tests(s)]
    if s.configurations:
        blocks += [Heading("Configurations"), _configurations(s)]
    if s.windows:
        blocks += [Heading("Stateless: best accuracy by window"), _windows(s),
                   Figure("window_accuracy", "Stateless: best validation accuracy by window "
                          "length, and the analytic ceiling")]
    if s.stateful_cells:
        blocks += [Heading("Stateful: convergence by timesteps and batch size"), _cells(s),
                   Figure("stateful_convergence", "Stateful: converged trials by timesteps and "
                          "batch size")]
    if s.epoch_times:
        blocks += [Heading("Epoch time by batch size"), _epoch_times(s),
                   Figure("epoch_time", "Median epoch train time against batch size, per trial")]
    curves = [a for a in s.arms if a.best is not None and a.best.val_accuracy]
    if curves:
        blocks += [Heading("Learning curves of the best trials"), _curves(s, curves),
                   Figure("learning_curves", "Validation accuracy per epoch of the best trial "
                          "of each arm")]
    if s.importances_skipped:
        blocks += [Heading("Parameter importances"),
                   Paragraph("Not computed: add --importances, or --out DIR (Optuna's fANOVA loads "
                             "scikit-learn, a few seconds).")]
    elif s.importances:
        blocks += [Heading("Parameter importances"),
                   Paragraph(f"Optuna's fANOVA importances (seeded) for the objective, {OBJECTIVE}; "
                             "each arm on its own trials, because the arms have different "
                             "parameters."),
                   *_importances(s)]
    for table in s.extra:
        blocks += [Heading(table.title), table]
    if s.environment:
        blocks += [Heading("Environment"),
                   Table("", ("", ""), tuple((k, v) for k, v in s.environment))]
    return blocks


def _header(s: Summary) -> str:
    states = s.states
    parts = [f"{s.trials} trials"]
    if states:
        parts.append(", ".join(f"{n} {_state(st)}" for st, n in states.items()))
    text = f"{s.description + '. ' if s.description else ''}Storage {s.storage or '?'}: " + ": ".join(parts)
    left_out = s.trials - states.get("COMPLETE", 0)
    if left_out:
        text += f" ({left_out} not completed, left out of every number below)"
    text += "."
    if s.task:
        text += f" {s.task}"
    if s.target is not None:
        text += f" Converged means validation accuracy ≥ {s.target:g}."
    return text


def _state(state: str) -> str:
    return {"FAIL": "failed"}.get(state, state.lower())


def _n(e: Estimate, unit: str) -> str:
    return f.DASH if e.value is None else f"{f.estimate(e, unit)}, n={e.n}"


def _probability(a: ArmSummary) -> str:
    e = a.converged_share
    if e.value is None:
        return f.DASH
    interval = "" if e.low is None else f" [{100 * e.low:.0f}–{100 * e.high:.0f} %]"
    return f"{f.pct(e.value)}{interval}, n={e.n}"


def _arms(s: Summary) -> Table:
    def trials(a: ArmSummary) -> str:
        other = ", ".join(f"{n} {_state(st)}" for st, n in a.states.items() if st != "COMPLETE")
        return f"{a.complete}" + (f" (+ {other})" if other else "")

    def best(a: ArmSummary) -> str:
        b = a.best
        if b is None:
            return f.DASH
        how = (f"{b.converged_members}/{b.replicates} seeds, epoch {b.convergence_epoch}, "
               f"{f.num(b.time_to_solution_s * 1e3, 'ms')}" if b.converged
               else f"not converged, best {f.accuracy(b.best_val_accuracy)}")
        return f"#{b.number} {b.config}: {how}"

    def solution(e: Estimate) -> str:
        scaled = Estimate(*(None if v is None else v * 1e3 for v in (e.value, e.low, e.high)), e.n)
        return _n(scaled, "ms")

    rows = [
        ("completed trials", *(trials(a) for a in s.arms)),
        ("seeds converged", *(f"{a.converged}/{a.members}" if a.members else f.DASH
                              for a in s.arms)),
        ("P(converge)", *(_probability(a) for a in s.arms)),
        ("epochs to converge", *(_n(a.epochs_to_converge, "") for a in s.arms)),
        ("time to solution", *(solution(a.time_to_solution_s) for a in s.arms)),
        ("time to converge + compile", *(_n(a.wall_s_to_converge, "s") for a in s.arms)),
        ("epoch time", *(_n(a.epoch_ms, "ms") for a in s.arms)),
        ("best trial", *(best(a) for a in s.arms)),
    ]
    return Table("", ("", *(a.arm for a in s.arms)), tuple(rows),
                 note="P(converge): the chance that a configuration drawn at random from the arm, "
                      "trained from a random seed, converges: the mean share of converged seeds "
                      "over the configurations chosen before any result was seen (n), percentile "
                      "bootstrap 95 % CI. Medians [95 % CI, bootstrap]: epochs over converged "
                      "seeds; time to solution (expected training time to one converged model, "
                      "failed seeds restarted), time to converge and epoch time over trials.")


def _tests(s: Summary) -> Table:
    a, b = s.arms[0].arm, s.arms[1].arm
    rows = tuple((t.measure, t.name, f.p_value(t.p_value), f.p_value(t.p_adjusted),
                  f"{t.n_a}, {t.n_b}", t.effect) for t in s.tests)
    return Table(f"{a.capitalize()} vs {b}", ("measure", "test", "p", "p (Holm)",
                                              f"n ({a}, {b})", "effect"), rows,
                 note=f"Two-sided tests. Each assumes that {ASSUMES}. p (Holm): adjusted for the "
                      f"{len(s.tests)} tests; the verdict reads it for the primary test, {PRIMARY}.",
                 left=2)


def _configurations(s: Summary) -> Table:
    def epochs(c: ConfigRow) -> str:
        if c.median_epoch is None:
            return f.DASH
        spread = "" if c.min_epoch == c.max_epoch else f" ({c.min_epoch}–{c.max_epoch})"
        return f"{c.median_epoch:g}{spread}"

    # The label repeats the arm ("stateful T=1 ..."): said once, in the arm column.
    rows = tuple((c.arm, c.config.removeprefix(f"{c.arm} "), str(c.trials),
                  f.share(c.share, c.converged), epochs(c),
                  f.num(c.time_to_solution_s * 1e3, "ms") if math.isfinite(c.time_to_solution_s)
                  else f.DASH) for c in s.configurations)
    return Table("", ("arm", "configuration", "trials", "seeds converged [95 % CI]",
                      "epoch: median (range)", "time to solution"), rows,
                 note="Every seed of a configuration over its trials; Wilson interval (seeds of one "
                      "configuration are independent runs).", left=2)


def _windows(s: Summary) -> Table:
    many = len({w.seq_len for w in s.windows}) > 1
    lag = any(w.lag is not None for w in s.windows)  # trials that know their task's lag
    cols = (("seq_len",) if many else ()) + ("window", "trials", "seeds converged",
                                             "best accuracy", "ceiling") + (
        ("covers the lag",) if lag else ())
    rows = tuple(((str(w.seq_len),) if many else ())
                 + (str(w.window), str(w.trials), f"{w.converged}/{w.members}",
                    f.accuracy(w.best_accuracy), f.accuracy(w.ceiling))
                 + (("yes" if w.covers_lag else "no",) if lag else ()) for w in s.windows)
    return Table("", cols, rows, note=window_note(s.windows))


def _cells(s: Summary) -> Table:
    many = len({c.seq_len for c in s.stateful_cells}) > 1
    cols = (("seq_len",) if many else ()) + ("timesteps", "batch size", "trials",
                                             "seeds converged", "median epoch")
    rows = tuple(((str(c.seq_len),) if many else ())
                 + (str(c.timesteps), str(c.batch_size), str(c.trials),
                    f"{c.converged}/{c.members}", f.num(c.median_epoch))
                 for c in s.stateful_cells)
    return Table("", cols, rows)


def _epoch_times(s: Summary) -> Table:
    rows = tuple((e.arm, str(e.batch_size), str(e.trials), f.num(e.median_ms, "ms"),
                  f"{f.num(e.min_ms)}–{f.num(e.max_ms)} ms") for e in s.epoch_times)
    return Table("", ("arm", "batch size", "trials", "median epoch time", "range"), rows,
                 note="Batch size: sequences side by side (stateful), windows per update "
                      "(stateless).")


def _curves(s: Summary, arms: list[ArmSummary]) -> Table:
    curves = [a.best.val_accuracy for a in arms]
    epochs = max(len(c) for c in curves)

    def at(c: tuple[float, ...], i: int) -> str:
        return f.accuracy(c[i]) if i < len(c) else ""

    # Only epochs where a curve changes (and the last): a plateau of 25 equal rows says nothing.
    shown = [i for i in range(epochs)
             if i in (0, epochs - 1) or any(at(c, i) != at(c, i - 1) for c in curves)]
    cols = ("epoch", *(f"{a.arm} #{a.best.number}" for a in arms))
    rows = tuple((str(i + 1), *(at(c, i) for c in curves)) for i in shown)
    configs = "; ".join(f"#{a.best.number} {a.best.config}" for a in arms)
    skipped = " Epochs where no curve changed are left out." if len(shown) < epochs else ""
    return Table("", cols, rows, note=f"Validation accuracy after each epoch ({configs}).{skipped}")


def _importances(s: Summary) -> list[Block]:
    out: list[Block] = []
    for imp in s.importances:
        title = f"{imp.arm} ({imp.trials} completed trials)"
        if imp.note:
            out.append(Paragraph(f"{title}: {imp.note}."))
        else:
            out.append(Table(title, ("parameter", "importance"),
                             tuple((k, f"{v:.2f}") for k, v in imp.values)))
    return out
