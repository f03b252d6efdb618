"""Readable reports of estimates and comparisons: plain text, Markdown and CSV.

>>> from ketacost.render import estimate_report, render_plain      # doctest: +SKIP
>>> print(render_plain(estimate_report(estimate)))                 # doctest: +SKIP
"""

from __future__ import annotations

from ._render import (
    COMPARISON_COLUMNS,
    CSV_COLUMNS,
    Report,
    Table,
    assistance_notes,
    charge_notes,
    comparison_report,
    csv_text,
    estimate_report,
    range_notes,
    render_comparison_csv,
    render_csv,
    render_markdown,
    render_plain,
    render_table,
    secondary_notes,
    usd,
)

__all__ = [
    "COMPARISON_COLUMNS",
    "CSV_COLUMNS",
    "Report",
    "Table",
    "assistance_notes",
    "charge_notes",
    "comparison_report",
    "csv_text",
    "estimate_report",
    "range_notes",
    "render_comparison_csv",
    "render_csv",
    "render_markdown",
    "render_plain",
    "render_table",
    "secondary_notes",
    "usd",
]
