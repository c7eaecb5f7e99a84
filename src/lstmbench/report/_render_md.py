"""The report as Markdown (GitHub flavour): tables as pipes, figures as image links."""

from __future__ import annotations

from collections.abc import Container

from lstmbench.report._document import Figure, Heading, Paragraph, document
from lstmbench.report._summary import Summary, Table


def render_markdown(summary: Summary, plots: Container[str] = ()) -> str:
    """Return the Markdown report; figures link ``plots/<name>.png`` when ``name`` is in ``plots``."""
    out: list[str] = []
    for block in document(summary):
        if isinstance(block, Heading):
            out.append(f"{'#' * block.level} {block.text}")
        elif isinstance(block, Paragraph):
            out.append(block.text)
        elif isinstance(block, Table):
            out.append(_table(block))
        elif isinstance(block, Figure) and block.name in plots:
            out.append(f"![{block.caption}](plots/{block.name}.png)")
    return "\n\n".join(out) + "\n"


def _table(t: Table) -> str:
    lines = [f"**{t.title}**", ""] if t.title else []
    lines.append("| " + " | ".join(_cell(c) for c in t.columns) + " |")
    lines.append("|" + "|".join("---" if i < t.left else "--:" for i in range(len(t.columns))) + "|")
    lines += ["| " + " | ".join(_cell(c) for c in row) + " |" for row in t.rows]
    if t.note:
        lines += ["", f"<sub>{t.note}</sub>"]
    return "\n".join(lines)


def _cell(text: str) -> str:
    return text.replace("|", "\\|") or " "
