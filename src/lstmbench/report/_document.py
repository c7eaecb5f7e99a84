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
from lstmbench.report._verdict import ALPHA

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
        epoch = a.epochs_to_converge.value
        rows.append((
            a.arm, str(a.complete), f"{a.converged}/{a.members}", _probability(a),
            f.DASH if epoch is None else f"{epoch:g}", _median_solution(a),
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
    if any(r.converged_share.n for r in s.regions):
        blocks += [Heading("P(converge) by region"), _regions(s)]
    if s.confirmations:
        blocks += [Heading("Confirmation on fresh seeds"), _confirmations(s)]
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
    return _share(a.converged_share)


def _share(e: Estimate) -> str:
    if e.value is None:
        return f.DASH
    interval = "" if e.low is None else f" [{f.pct_range(e.low, e.high)}]"
    return f"{f.pct(e.value)}{interval}, n={e.n}"


def _ms(e: Estimate) -> Estimate:
    return Estimate(*(None if v is None else v * 1e3 for v in (e.value, e.low, e.high)), e.n)


def _median_solution(a: ArmSummary) -> str:
    """``6.5 ms (2/25 never)``: the median per trial, "never" counted as the longest time."""
    e = a.time_to_solution_s
    if e.value is None:
        return f.DASH
    value = "never" if e.value == float("inf") else f.num(e.value * 1e3, "ms")
    return f"{value} ({a.never}/{e.n} never)"


def _pooled_solution(a: ArmSummary) -> str:
    e = a.pooled_time_to_solution_s
    if e.n == 0:
        return f.DASH
    if e.value is None:
        return f"never, n={e.n}"
    return f"{f.estimate(_ms(e), 'ms')}, n={e.n}"


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

    def median_solution(a: ArmSummary) -> str:
        e = a.time_to_solution_s
        if e.value is None:
            return f.DASH
        value = "never" if e.value == float("inf") else f.num(e.value * 1e3, "ms")
        return " ".join(filter(None, (value, _interval_ms(e), f"({a.never}/{e.n} never)")))

    rows = [
        ("completed trials", *(trials(a) for a in s.arms)),
        ("seeds converged", *(f"{a.converged}/{a.members}" if a.members else f.DASH
                              for a in s.arms)),
        ("P(converge)", *(_probability(a) for a in s.arms)),
        ("epochs to converge", *(_n(a.epochs_to_converge, "") for a in s.arms)),
        ("time to solution, pooled", *(_pooled_solution(a) for a in s.arms)),
        ("time to solution, median", *(median_solution(a) for a in s.arms)),
        ("time to converge + compile", *(_n(a.wall_s_to_converge, "s") for a in s.arms)),
        ("epoch time", *(_n(a.epoch_ms, "ms") for a in s.arms)),
        ("best trial", *(best(a) for a in s.arms)),
    ]
    gap = s.difference
    difference = ("" if gap.low is None else
                  f" Difference in P(converge), {s.arms[0].arm} minus {s.arms[1].arm}: "
                  f"{f.points(gap.value)} points [{f.points_range(gap.low, gap.high)}] "
                  "(Newcombe's interval from the two).")
    return Table("", ("", *(a.arm for a in s.arms)), tuple(rows),
                 note="Estimates over this study's space with 95 % CIs. P(converge): the chance "
                      "that a configuration drawn at random from the arm, trained from a random "
                      "seed, converges: the mean share of converged seeds over the configurations "
                      "drawn before any result was seen (n); the interval counts configurations, "
                      "not seeds (continuity-corrected Wilson on the effective number of "
                      f"configurations).{difference} Time to solution: expected training time to "
                      "one converged model, failed seeds restarted; pooled: all training seconds "
                      "of the blind configurations' seeds over their converged seeds (the wider "
                      "of Fieller's interval and a studentized bootstrap over configurations; "
                      "∞: cannot be told from never); median: per completed trial, never where "
                      "no seed converged. Medians [order-statistic interval, from 6 values]: epochs over "
                      "converged seeds, time to converge over trials where a seed converged, "
                      "epoch time over trials.")


def _interval_ms(e: Estimate) -> str:
    """`` [2–16 ms]`` around a median of seconds, ``never`` for an unbounded end; none when the
    ends meet."""
    if e.low is None or e.high is None:
        return ""
    low, high = (("never" if v == float("inf") else f.num(v * 1e3)) for v in (e.low, e.high))
    return "" if low == high else f"[{low}–{high}]"


def _tests(s: Summary) -> Table:
    a, b = s.arms[0].arm, s.arms[1].arm
    rows = tuple((t.measure, f.p_value(t.p_value), f.p_value(t.p_adjusted), f"{t.n_a}, {t.n_b}",
                  f.DASH if t.min_attainable_p is None else f.p_plain(t.min_attainable_p),
                  t.effect) for t in s.tests)
    monte = "; ".join(f"{t.measure}: {t.method}" for t in s.tests
                      if t.method and t.method != "exact")
    name = s.tests[0].name if s.tests else ""
    return Table(f"{a.capitalize()} vs {b}", ("measure", "p", "p (in sequence)",
                                              f"n ({a}, {b})", "smallest p", "effect"), rows,
                 note=f"Two-sided tests ({name}: a permutation test of ranks, exact and "
                      "conditional on ties"
                      f"{'; ' + monte if monte else ''}). Each assumes that {ASSUMES}. p (in "
                      f"sequence): the tests are read in this order, each at {ALPHA:g} only where "
                      f"every earlier one is below it (the largest p so far); the verdict reads "
                      f"the first, {PRIMARY}. Smallest p: the least p these numbers of "
                      "configurations can give.")


def _regions(s: Summary) -> Table:
    rows = []
    for r in s.regions:
        span = (f" (W {r.windows[0]}–{r.windows[-1]})" if len(r.windows) > 1
                else f" (W {r.windows[0]})" if r.windows else "")
        where = "covers the lag" if r.covers_lag else "shorter than the lag"
        rows.append((r.arm, where + span, f"{r.converged}/{r.members}" if r.members else f.DASH,
                     _share(r.converged_share)))
    return Table("", ("arm", "window", "seeds converged", "P(converge) [95 % CI]"), tuple(rows),
                 note="Over the configurations drawn before any result was seen, as the arms' "
                      "P(converge). The lag: the steps before a sequence's end its target depends "
                      "on (the first bit: the whole sequence), so only a window that covers it "
                      "shows every window the target.", left=2)


def _confirmations(s: Summary) -> Table:
    def solution(seconds: float | None) -> str:
        return "never" if seconds is None else f.num(seconds * 1e3, "ms")

    rows = tuple((
        c.arm, c.config.removeprefix(f"{c.arm} "),
        f.DASH if c.search_members is None else
        f"#{c.confirms}: {solution(c.search_time_to_solution_s)}, "
        f"{c.search_converged}/{c.search_members} seeds",
        f"#{c.number}: {solution(c.time_to_solution_s)}, "
        f"{f.share(c.converged_share, c.converged, c.members)}",
    ) for c in s.confirmations)
    return Table("", ("arm", "configuration", "search: time to solution",
                      "confirmed on fresh seeds"), rows,
                 note="The search's best configuration of each arm re-run as its own trial on "
                      "seeds it had not used; left out of every other number. The search's value "
                      "is the least of many noisy ones, so it tends to be optimistic; quote the "
                      "confirmed one.", left=2)


def _configurations(s: Summary) -> Table:
    def epochs(c: ConfigRow) -> str:
        if c.median_epoch is None:
            return f.DASH
        spread = "" if c.min_epoch == c.max_epoch else f" ({c.min_epoch}–{c.max_epoch})"
        return f"{c.median_epoch:g}{spread}"

    # The label repeats the arm ("stateful T=1 ..."): said once, in the arm column.
    rows = tuple((c.arm, c.config.removeprefix(f"{c.arm} "), str(c.trials),
                  f.share(c.share, c.converged, c.members), epochs(c),
                  f.num(c.time_to_solution_s * 1e3, "ms") if math.isfinite(c.time_to_solution_s)
                  else f.DASH) for c in s.configurations)
    return Table("", ("arm", "configuration", "trials", "seeds converged [95 % CI]",
                      "epoch: median (range)", "time to solution"), rows,
                 note="Every seed of a configuration over its trials. A trial's seeds share one "
                      "data set, so the interval counts trials where they differ (continuity-"
                      "corrected Wilson on the effective number of trials); with one trial, or "
                      "where every trial agrees, it counts seeds.", left=2)


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
                  f.num(e.min_ms, "ms") if f.num(e.min_ms) == f.num(e.max_ms)
                  else f"{f.num(e.min_ms)}–{f.num(e.max_ms)} ms") for e in s.epoch_times)
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
