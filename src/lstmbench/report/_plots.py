"""The report's plots as PNG bytes, drawn from the summary alone (matplotlib, Agg backend)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

from lstmbench.report._summary import Summary

COLORS = {"stateful": "#1f77b4", "stateless": "#d62728"}
DPI = 100


def make_plots(s: Summary) -> dict[str, bytes]:
    """Return ``{name: PNG bytes}`` for every plot the summary has data for."""
    import matplotlib

    matplotlib.use("Agg")
    plots: dict[str, Callable[[Any, Summary], None]] = {}
    if s.windows:
        plots["window_accuracy"] = _window_accuracy
    if s.stateful_cells:
        plots["stateful_convergence"] = _stateful_convergence
    if s.epoch_points:
        plots["epoch_time"] = _epoch_time
    if any(a.best is not None and a.best.val_accuracy for a in s.arms):
        plots["learning_curves"] = _learning_curves
    return {name: _png(draw, s) for name, draw in plots.items()}


def _png(draw: Callable[[Any, Summary], None], s: Summary) -> bytes:
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=DPI)
    try:
        draw(ax, s)
        fig.tight_layout()
        buf = io.BytesIO()
        fig.savefig(buf, format="png", metadata={"Software": None})
        return buf.getvalue()
    finally:
        plt.close(fig)


def _window_accuracy(ax: Any, s: Summary) -> None:
    for L in sorted({w.seq_len for w in s.windows}):
        rows = [w for w in s.windows if w.seq_len == L]
        label = "" if len({w.seq_len for w in s.windows}) == 1 else f" (L={L})"
        ax.plot([w.window for w in rows], [w.best_accuracy for w in rows], "o",
                color=COLORS["stateless"], label=f"best measured{label}")
        with_ceiling = [w for w in rows if w.ceiling is not None]
        ax.plot([w.window for w in with_ceiling], [w.ceiling for w in with_ceiling], "-",
                color="gray", label=f"analytic ceiling{label}")
    _accuracy_axes(ax, s, xlabel="window W (steps)", title="Stateless: best accuracy by window",
                   legend="upper left")


def _stateful_convergence(ax: Any, s: Summary) -> None:
    cells: dict[tuple[int, int], list[int]] = {}
    for c in s.stateful_cells:  # several seq_lens are pooled per (timesteps, batch size)
        got = cells.setdefault((c.timesteps, c.batch_size), [0, 0])
        got[0] += c.converged
        got[1] += c.members
    ts = sorted({t for t, _ in cells})
    bs = sorted({b for _, b in cells})
    import numpy as np

    grid = np.full((len(ts), len(bs)), np.nan)
    for (t, b), (conv, n) in cells.items():
        grid[ts.index(t), bs.index(b)] = conv / n
    im = ax.imshow(grid, cmap="RdYlGn", vmin=0, vmax=1, aspect="auto", origin="lower")
    for (t, b), (conv, n) in cells.items():
        ax.text(bs.index(b), ts.index(t), f"{conv}/{n}", ha="center", va="center", fontsize=9)
    ax.set_xticks(range(len(bs)), [str(b) for b in bs])
    ax.set_yticks(range(len(ts)), [str(t) for t in ts])
    ax.set(xlabel="batch size (sequences side by side)", ylabel="timesteps per chunk",
           title="Stateful: converged seeds / seeds")
    ax.figure.colorbar(im, ax=ax, label="converged share of seeds")


def _epoch_time(ax: Any, s: Summary) -> None:
    for arm in sorted({p[0] for p in s.epoch_points}):
        pts = [(b, ms) for a, b, ms in s.epoch_points if a == arm]
        ax.scatter([b for b, _ in pts], [ms for _, ms in pts], color=COLORS.get(arm, "gray"),
                   label=f"{arm} (n = {len(pts)})", alpha=0.7)
    ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="epoch train time (ms)",
           title="Epoch time vs batch size")
    ax.legend(fontsize=8)


def _learning_curves(ax: Any, s: Summary) -> None:
    for a in s.arms:
        b = a.best
        if b is None or not b.val_accuracy:
            continue
        epochs = range(1, len(b.val_accuracy) + 1)
        ax.plot(epochs, b.val_accuracy, "o-", color=COLORS.get(a.arm, "gray"),
                label=f"{a.arm}: trial {b.number}, {b.config}")
        if b.ceiling is not None and b.ceiling < 1:
            ax.axhline(b.ceiling, color=COLORS.get(a.arm, "gray"), ls="--", lw=1,
                       label=f"ceiling {b.ceiling:.3f}")
    _accuracy_axes(ax, s, xlabel="epoch", title="Learning curves of the best trials", legend="best")


def _accuracy_axes(ax: Any, s: Summary, *, xlabel: str, title: str, legend: str) -> None:
    """Validation accuracy against an integer x: the target line, labels, limits, legend."""
    if s.target is not None:
        ax.axhline(s.target, color="green", ls=":", lw=1, label=f"target {s.target:g}")
    ax.set(xlabel=xlabel, ylabel="validation accuracy", ylim=(0.4, 1.02), title=title)
    _integer_x(ax)
    ax.legend(loc=legend, fontsize=8)


def _integer_x(ax: Any) -> None:
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
