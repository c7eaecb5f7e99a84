"""Terminal rendering of one trial result: a summary table and the learning curve."""

from __future__ import annotations

from rich.bar import Bar
from rich.console import Console
from rich.table import Table

from lstmbench.spec import describe_config
from lstmbench.trial import TrialResult


def print_result(result: TrialResult, console: Console | None = None) -> None:
    console = console or Console()
    summary = Table(title=describe_config(result.spec), show_header=False, title_justify="left")
    summary.add_column(style="bold")
    summary.add_column()
    conv = (
        f"yes, epoch {result.convergence_epoch}"
        + (" (median member)" if result.replicates > 1 else "") if result.converged
        else f"no (target {result.spec['train']['target']} not reached in {result.epochs_run} epochs)"
    )
    rows = [
        ("converged", conv),
        ("best / final val accuracy", f"{result.best_val_accuracy:.3f} / {result.final_val_accuracy:.3f}"),
        ("ceiling of this layout", "unknown" if result.ceiling is None else f"{result.ceiling:.3f}"),
        ("scored", result.metric + ("" if result.tolerance is None
                                    else f", right when |error| < {result.tolerance:g}")),
        ("epoch time (median)", f"{result.epoch_ms:.1f} ms for {result.n_updates} updates"),
        ("build + compile", f"{result.compile_s:.2f} s" + (" (reused)" if result.reused_program else "")),
        ("time to converge", "—" if not result.converged else f"{result.time_to_converge_s:.2f} s"),
        ("total", f"{result.total_s:.2f} s"),
        ("engine", f"{result.engine} (XLA {'on' if result.jit else 'off'})"),
        ("parameters", str(result.n_params)),
        ("seed", str(result.seed)),
    ]
    if result.replicates > 1:
        tts = result.time_to_solution_s
        epochs = " ".join("-" if e is None else str(e) for e in result.member_epochs)
        rows[1:1] = [
            ("members converged", f"{round(result.converged_share * result.replicates)} of "
                                  f"{result.replicates}; epochs {epochs}"),
            ("time to solution", "—" if tts == float("inf") else f"{tts:.2f} s of training"),
        ]
    for key, value in rows:
        summary.add_row(key, value)
    console.print(summary)

    curve = Table(title="learning curve (validation accuracy)", title_justify="left")
    curve.add_column("epoch", justify="right")
    curve.add_column("loss", justify="right")
    curve.add_column("val acc", justify="right")
    curve.add_column("0 ─────────────── 1", min_width=30)
    for i, (loss, acc) in enumerate(zip(result.train_loss, result.val_accuracy), start=1):
        style = "green" if acc >= result.spec["train"]["target"] else "yellow"
        curve.add_row(str(i), f"{loss:.4f}", f"{acc:.3f}", Bar(1.0, 0.0, acc, color=style))
    console.print(curve)
