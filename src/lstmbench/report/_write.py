"""``lstmbench report`` as a library function: find the studies, print them, write the files."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console

from lstmbench.report._load import load_summary
from lstmbench.report._records import trials_frame
from lstmbench.report._render_html import render_html
from lstmbench.report._render_json import render_json
from lstmbench.report._render_md import render_markdown
from lstmbench.report._render_rich import render_rich
from lstmbench.report._summary import Summary
from lstmbench.storage import find_studies, mask, storage_url


@dataclass(frozen=True)
class ReportOutcome:
    summaries: list[Summary]
    files: list[Path] = field(default_factory=list)


def run_report(*, study: str | None = None, storage: str | None = None, out: str | Path | None = None,
               console: Console | None = None, with_importances: bool | None = None,
               as_json: bool = False) -> ReportOutcome:
    """Print the report of ``study`` (``"all"``: each) and, with ``out``, write its files there.

    Files: ``report.md``, ``report.html`` (self-contained), ``trials.csv`` and ``plots/*.png``;
    several studies get a folder each under ``out``. Parameter importances
    (``with_importances``) are computed by default only when files are written. ``as_json``
    prints each summary as one line of JSON instead of tables.
    """
    console = console or Console()
    rdb, names = find_studies(storage, study)
    summaries, files = [], []
    for name in names:
        summary, optuna_study = load_summary(
            rdb, name, storage=mask(storage_url(storage)),
            with_importances=out is not None if with_importances is None else with_importances)
        summaries.append(summary)
        if as_json:
            console.file.write(render_json(summary) + "\n")
        else:
            render_rich(summary, console)
        if out is not None:
            folder = Path(out) if len(names) == 1 else Path(out) / name
            files += write_files(summary, optuna_study, folder)
    if files and not as_json:
        console.print(f"\nwrote {len(files)} files to {Path(out)}/", highlight=False)
    return ReportOutcome(summaries, files)


def write_files(summary: Summary, study: object, folder: Path) -> list[Path]:
    """Write report.md, report.html, trials.csv and plots/*.png into ``folder``; return the paths."""
    from lstmbench.report._plots import make_plots

    folder.mkdir(parents=True, exist_ok=True)
    plots = make_plots(summary)
    written = []
    (folder / "plots").mkdir(exist_ok=True)
    for name, png in plots.items():
        path = folder / "plots" / f"{name}.png"
        path.write_bytes(png)
        written.append(path)
    md = folder / "report.md"
    md.write_text(render_markdown(summary, plots), encoding="utf-8")
    html = folder / "report.html"
    html.write_text(render_html(summary, plots), encoding="utf-8")
    table = folder / "trials.csv"
    trials_frame(study).to_csv(table, index=False)
    return [md, html, table, *written]
