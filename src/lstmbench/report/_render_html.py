"""The report as one self-contained HTML file: inline CSS, plots as base64 PNG data URIs."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from html import escape

from lstmbench.report._document import Figure, Heading, Paragraph, document
from lstmbench.report._summary import Summary, Table

CSS = """
body { font: 15px/1.5 system-ui, sans-serif; max-width: 1000px; margin: 2em auto; padding: 0 1em;
       color: #222; }
table { border-collapse: collapse; margin: 0.5em 0 0.2em; }
th, td { padding: 0.2em 0.7em; border-bottom: 1px solid #ddd; text-align: right; }
th.l, td.l { text-align: left; }
caption { text-align: left; font-weight: bold; }
.note { color: #666; font-size: 0.85em; margin: 0 0 1em; }
figure { margin: 1em 0; } figure img { max-width: 100%; }
figcaption { color: #666; font-size: 0.9em; }
"""


def render_html(summary: Summary, plots: Mapping[str, bytes] | None = None) -> str:
    """Return the HTML report; ``plots`` maps a figure's name to its PNG bytes (embedded)."""
    plots = plots or {}
    body: list[str] = []
    for block in document(summary):
        if isinstance(block, Heading):
            body.append(f"<h{block.level}>{escape(block.text)}</h{block.level}>")
        elif isinstance(block, Paragraph):
            body.append(f"<p>{escape(block.text)}</p>")
        elif isinstance(block, Table):
            body.append(_table(block))
        elif isinstance(block, Figure) and block.name in plots:
            data = base64.b64encode(plots[block.name]).decode("ascii")
            body.append(f'<figure id="{block.name}"><img alt="{escape(block.caption)}" '
                        f'src="data:image/png;base64,{data}">'
                        f"<figcaption>{escape(block.caption)}</figcaption></figure>")
    return ("<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
            f"<title>lstmbench report: {escape(summary.study)}</title>\n<style>{CSS}</style>\n"
            "</head>\n<body>\n" + "\n".join(body) + "\n</body>\n</html>\n")


LEFT = ' class="l"'


def _table(t: Table) -> str:
    rows = ["<table>"]
    if t.title:
        rows.append(f"<caption>{escape(t.title)}</caption>")

    def cells(tag: str, row: tuple[str, ...]) -> str:  # leading word columns align left
        return "".join(f"<{tag}{LEFT if i < t.left else ''}>{escape(c)}</{tag}>"
                       for i, c in enumerate(row))

    if any(t.columns):
        rows.append(f"<tr>{cells('th', t.columns)}</tr>")
    rows += [f"<tr>{cells('td', row)}</tr>" for row in t.rows]
    rows.append("</table>")
    if t.note:
        rows.append(f'<p class="note">{escape(t.note)}</p>')
    return "\n".join(rows)
