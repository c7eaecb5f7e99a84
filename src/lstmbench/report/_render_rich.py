"""The report in the terminal: rich tables; figures are left to the files ``--out`` writes."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table as RichTable

from lstmbench.report._document import Block, Figure, Heading, Paragraph, document, verdict_document
from lstmbench.report._summary import Summary, Table


def render_rich(summary: Summary, console: Console) -> None:
    """Print the report of ``summary`` on ``console``."""
    _print(document(summary), console)


def render_verdict(summary: Summary, console: Console) -> None:
    """Print the end of a sweep: the arms in one table, and the verdict."""
    _print(verdict_document(summary), console)


def _print(blocks: list[Block], console: Console) -> None:
    for block in blocks:
        if isinstance(block, Heading):
            console.print()
            console.rule(escape(block.text), align="left", style="bold" if block.level == 1 else "")
        elif isinstance(block, Paragraph):
            console.print(escape(block.text), highlight=False)
        elif isinstance(block, Table):
            console.print(_table(block))
        elif isinstance(block, Figure):
            pass  # plots: `--out DIR` writes them (and embeds them in report.html)


def _table(t: Table) -> RichTable:
    table = RichTable(title=escape(t.title) or None, title_justify="left",
                      show_header=any(t.columns), caption=escape(t.note) or None,
                      caption_justify="left", highlight=False)
    for i, col in enumerate(t.columns):
        table.add_column(escape(col), justify="left" if i < t.left else "right")
    for row in t.rows:
        table.add_row(*(escape(c) for c in row))
    return table
