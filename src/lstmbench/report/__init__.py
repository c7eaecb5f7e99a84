"""Reading studies back: rows of trials, one summary, renderings. Never imports TensorFlow."""

from __future__ import annotations

from lstmbench.report._document import document
from lstmbench.report._exact import TestResult
from lstmbench.report._groups import ConfigRow, EpochTime, StatefulCell, WindowRow
from lstmbench.report._load import importances, load_summary, study_summary, sweep_summary
from lstmbench.report._plots import make_plots
from lstmbench.report._records import trial_rows, trials_frame
from lstmbench.report._render_html import render_html
from lstmbench.report._render_json import render_json
from lstmbench.report._render_md import render_markdown
from lstmbench.report._render_rich import render_rich, render_verdict
from lstmbench.report._stats import Estimate, Interval
from lstmbench.report._summary import (
    ArmSummary,
    BestTrial,
    Confirmation,
    Importances,
    Region,
    Summary,
    Table,
    summarize,
)
from lstmbench.report._write import ReportOutcome, run_report, write_files

__all__ = [
    "ArmSummary", "BestTrial", "ConfigRow", "Confirmation", "EpochTime", "Estimate", "Importances",
    "Interval", "Region", "ReportOutcome", "StatefulCell", "Summary", "Table", "TestResult",
    "WindowRow", "document", "importances", "load_summary", "make_plots", "render_html",
    "render_json", "render_markdown", "render_rich", "render_verdict", "run_report",
    "study_summary", "summarize", "sweep_summary", "trial_rows",
    "trials_frame", "write_files",
]
