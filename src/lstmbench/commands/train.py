"""``lstmbench train``: one configuration, a table and the learning curve (or ``--json``)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from lstmbench.commands import add_storage_flag
from lstmbench.spec import (
    ENGINES,
    KINDS,
    MEMBER_SEED_STRIDE,
    METRICS,
    PROGRAMS,
    REGRESSION_TOLERANCE,
    XLA,
    ModelConfig,
    TaskSpec,
    TrainSpec,
    TrialSpec,
    n_windows,
)

BUILT_IN = tuple(kind for kind in KINDS if kind != "npz")


def register(sub: Any) -> None:
    p = sub.add_parser(
        "train",
        help="train one configuration and print its convergence and timings",
        description="Train one configuration on a task (default: the notebook's first-bit) or on "
                    "your own sequences (--data FILE.npz) and report convergence and timings.",
    )
    data = p.add_mutually_exclusive_group()
    data.add_argument("--task", choices=BUILT_IN, default="first-bit",
                      help="built-in task (default: first-bit; docs/tasks.md describes each)")
    data.add_argument("--data", default=None, metavar="FILE.npz",
                      help="your own sequences: x (N, L) or (N, L, F), y (N,) classes or floats, "
                           "optionally x_val, y_val, lag")
    p.add_argument("--metric", choices=METRICS, default=None,
                   help="validation score: per-sample (every window/chunk) or final (each "
                        "sequence's last prediction); default: the task's")
    p.add_argument("--tolerance", type=float, default=None,
                   help=f"regression: |error| that counts as right (default: {REGRESSION_TOLERANCE})")
    arm = p.add_mutually_exclusive_group()
    arm.add_argument("--stateful", dest="stateful", action="store_true", default=True,
                     help="carry the LSTM state across chunks of a sequence (default)")
    arm.add_argument("--stateless", dest="stateful", action="store_false",
                     help="train on every window of --window steps, each from a zero state")
    p.add_argument("--window", type=int, default=None,
                   help="stateless: steps per window (default: 10, at most the sequence's length)")
    p.add_argument("--timesteps", type=int, default=None,
                   help="stateful: steps per chunk, must divide --seq-len (default: 1)")
    p.add_argument("--batch-size", type=int, default=None,
                   help="sequences (stateful, default 1) or windows (stateless, default 11) per update")
    p.add_argument("--units", type=int, default=8, help="LSTM units (default: 8)")
    p.add_argument("--epochs", type=int, default=TrainSpec.epochs,
                   help=f"most epochs to train (default: {TrainSpec.epochs})")
    p.add_argument("--seq-len", type=int, default=None,
                   help="steps per sequence of a built-in task (default: the task's; first-bit 20)")
    p.add_argument("--sequences", type=int, default=None,
                   help="sequences of a built-in task (default: the task's; first-bit 100)")
    p.add_argument("--val-fraction", type=float, default=TaskSpec.val_fraction,
                   help=f"share of sequences held out (default: {TaskSpec.val_fraction})")
    p.add_argument("--noise", type=float, default=0.0,
                   help="first-bit: chance of a random 1 at steps > 0 (default: 0)")
    p.add_argument("--seed", type=int, default=0, help="seed of data, order and weights (default: 0)")
    p.add_argument("--replicates", type=int, default=TrainSpec.replicates, metavar="K",
                   help="members trained side by side, member i with its own weights and order "
                        f"(seed + i * {MEMBER_SEED_STRIDE:_}) on the same data (default: 1)")
    p.add_argument("--target", type=float, default=TrainSpec.target,
                   help=f"validation accuracy that counts as converged (default: {TrainSpec.target})")
    p.add_argument("--lr", type=float, default=TrainSpec.learning_rate,
                   help=f"Adam learning rate (default: {TrainSpec.learning_rate})")
    p.add_argument("--engine", choices=ENGINES, default="compiled",
                   help="compiled: one tf.function per epoch (default); keras: train_on_batch per chunk")
    p.add_argument("--xla", choices=XLA, default=None,
                   help="XLA for the compiled engine: auto (default: on; Keras' own default for "
                        "the keras engine), on, off; a replay uses the stored choice")
    p.add_argument("--programs", choices=PROGRAMS, default=None,
                   help="compiled engine: exact (default: a program of this configuration's own "
                        "shapes, fastest for one run), shared (the padded program a sweep shares "
                        "between configurations); a replay uses the stored choice")
    p.add_argument("--all-epochs", dest="stop", action="store_false",
                   help="keep training after convergence")
    p.add_argument("--json", action="store_true", help="print the result as one JSON object, nothing else")
    p.add_argument("--study", default=None, help="replay: the study of the trial to re-run")
    p.add_argument("--trial", type=int, default=None, help="replay: the trial number to re-run")
    p.add_argument("--member", type=int, default=None, metavar="I",
                   help="replay: only member I of a trial of several seeds (default: the whole trial)")
    add_storage_flag(p, purpose="replay: ")
    p.set_defaults(run=run)


def task_from_args(args: argparse.Namespace) -> TaskSpec:
    """Return the task the flags describe (an npz file not read yet)."""
    from lstmbench.errors import UserError

    scoring = dict(metric=args.metric or "", tolerance=args.tolerance or 0.0,
                   val_fraction=args.val_fraction)
    if args.data is not None:
        given = [flag for flag, value in (("--seq-len", args.seq_len), ("--sequences", args.sequences),
                                          ("--noise", args.noise or None)) if value is not None]
        if given:
            raise UserError(f"{', '.join(given)}: the file {args.data} has its own sequences: "
                            "leave them out")
        return TaskSpec(kind="npz", path=args.data, **scoring)
    if args.noise and args.task != "first-bit":
        raise UserError(f"--noise is first-bit's; {args.task} makes its own noise: leave it out")
    return TaskSpec(kind=args.task, n_sequences=args.sequences, seq_len=args.seq_len,
                    noise=args.noise, **scoring)


def spec_from_args(args: argparse.Namespace, task: TaskSpec | None = None) -> TrialSpec:
    """Return the trial spec the flags describe (arm defaults: T=1/B=1 or W=10/B=11, at most
    the task's sequence length and windows)."""
    task = task_from_args(args) if task is None else task
    if args.stateful:
        model = ModelConfig(
            stateful=True,
            timesteps=1 if args.timesteps is None else args.timesteps,
            batch_size=1 if args.batch_size is None else args.batch_size,
            units=args.units,
        )
    else:
        window = min(10, task.seq_len) if args.window is None else args.window  # type: ignore[type-var]
        model = ModelConfig(
            stateful=False,
            window=window,
            # 11 (the notebook's), or every window of a small task; a window longer than the
            # sequence is refused by the model's check, naming the window
            batch_size=(min(11, max(1, n_windows(task, window))) if args.batch_size is None
                        else args.batch_size),
            units=args.units,
        )
    return TrialSpec(
        model=model,
        task=task,
        train=TrainSpec(epochs=args.epochs, target=args.target, engine=args.engine,
                        learning_rate=args.lr, stop_at_convergence=args.stop,
                        xla=args.xla or "auto", replicates=args.replicates,
                        # One run gains nothing from a program shared with other configurations:
                        # its own shapes train several times faster and compile sooner.
                        programs=args.programs or "exact"),
        seed=args.seed,
    )


def run(args: argparse.Namespace) -> int:
    from lstmbench.errors import UserError

    if args.study is not None or args.trial is not None:
        if args.study is None or args.trial is None:
            raise UserError("replay needs both --study NAME and --trial N")
        if args.xla is not None:
            raise UserError(f"--xla {args.xla} is for a new run: a replay runs the XLA choice "
                            "stored with the trial")
        if args.programs is not None:
            raise UserError(f"--programs {args.programs} is for a new run: a replay runs the "
                            "programs stored with the trial")
        return _replay(study=args.study, trial=args.trial, member=args.member,
                       storage=args.storage, as_json=args.json)
    if args.member is not None:
        raise UserError("--member is for a replay: give --study NAME --trial N --member I")
    if args.stateful and args.window is not None:
        raise UserError("--window is for --stateless; a stateful model takes --timesteps")
    if not args.stateful and args.timesteps is not None:
        raise UserError("--timesteps is for --stateful; a stateless model takes --window")
    from lstmbench.memory import check_train
    from lstmbench.tasks import resolve

    # An npz file is read and checked here, its sizes fitted to memory before its sequences load.
    task = resolve(task_from_args(args), fits=lambda t: check_train(spec_from_args(args, t)))
    spec = spec_from_args(args, task)
    check_train(spec)  # before TensorFlow is imported or any array allocated

    from lstmbench.trial import run_trial

    if args.json:  # stdout is the one JSON object, stderr stays quiet
        result = run_trial(spec)
    else:
        from lstmbench.commands._epochs import EpochProgress

        with EpochProgress(spec.train.epochs) as progress:  # on stderr, once the run is long
            result = run_trial(spec, on_epoch=progress)
    if args.json:
        tts = result.time_to_solution_s
        json.dump({**result.to_dict(), "time_to_solution_s": tts if tts < float("inf") else None},
                  sys.stdout)
        sys.stdout.write("\n")
    else:
        from lstmbench.commands._show import print_result

        print_result(result)
    return 0


def _replay(*, study: str, trial: int, member: int | None, storage: str | None,
            as_json: bool) -> int:
    """Print the comparison with the stored run; exit 0 when it matches, 1 when it does not."""
    from lstmbench.study.replay import TOLERANCE, replay_trial

    out = replay_trial(study, trial, storage, member=member)
    if as_json:
        json.dump({"matches": out.matches, "stored_convergence_epoch": out.stored_epoch,
                   "replayed_convergence_epoch": out.replayed_epoch,
                   "stored_val_accuracy": out.stored_curve,
                   "replayed_val_accuracy": out.replayed_curve,
                   "result": out.result.to_dict()}, sys.stdout)
        sys.stdout.write("\n")
    else:
        from rich.console import Console

        from lstmbench.commands._show import print_result

        console = Console()
        print_result(out.result, console)
        verdict = "[green]matches[/]" if out.matches else "[red]does NOT match[/]"
        what = f"trial {trial}" + ("" if member is None else f" member {member}")
        console.print(f"replay of {what} of {study!r} {verdict} the stored run: convergence "
                      f"epoch {out.stored_epoch} stored, {out.replayed_epoch} now; curve "
                      f"{'identical' if out.matches else 'differs'} (tolerance {TOLERANCE:g})")
    return 0 if out.matches else 1
