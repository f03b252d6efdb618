"""Writing results: rich tables where ``rich`` is installed, plain text otherwise."""

from __future__ import annotations

import io
import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ketacost._render import Report

__all__ = [
    "FORMATS",
    "echo_report",
    "format_option",
    "payers_option",
    "rich_available",
    "write_private",
]

FORMATS = ("table", "json", "csv", "markdown")

F = TypeVar("F", bound=Callable[..., Any])


def format_option(choices: tuple[str, ...] = FORMATS, default: str = "table") -> Callable[[F], F]:
    return click.option(
        "--format",
        "fmt",
        type=click.Choice(choices),
        default=default,
        show_default=True,
        help="Output format.",
    )


def payers_option() -> Callable[[F], F]:
    return click.option(
        "--payers",
        "payers_dir",
        type=click.Path(path_type=Path, file_okay=False),
        default=None,
        help="Folder of payer files (default: $KETACOST_PAYERS, then the bundled ones).",
    )


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def render_rich(report: Report, *, width: int, color: bool) -> str:
    """A report drawn with rich tables (rich imported here, lazily)."""
    from rich import box
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    buf = io.StringIO()
    console = Console(
        file=buf,
        width=width,
        force_terminal=color,
        no_color=not color,
        highlight=False,
        emoji=False,
        markup=False,
    )
    console.print(Text(report.title, style="bold"))
    for t in report.tables:
        table = Table(title=t.title, box=box.SIMPLE_HEAVY, title_justify="left")
        for i, header in enumerate(t.headers):
            if i in t.right:
                # Money is never cut short: a numeric column is as wide as its widest cell
                # and its header's longest word; the text columns wrap instead.
                table.add_column(header, justify="right", width=_numeric_width(t, i))
            else:
                table.add_column(header, justify="left", overflow="fold")
        last = len(t.rows) - 1
        for n, row in enumerate(t.rows):
            style = "bold" if n == last and t.title == "Plan years" else None
            table.add_row(*(Text(c) for c in row), style=style)
        console.print(table)
    for note in report.notes:
        console.print(Text(f"• {note}"))
    for warning in report.warnings:
        console.print(Text(f"! {warning}", style="yellow"))
    if report.footer:
        console.print()
        console.print(Text(report.footer, style="dim"))
    return buf.getvalue()


def _numeric_width(t: Any, i: int) -> int:
    """The narrowest a numeric column may be: its widest cell, and its header's longest word."""
    words = t.headers[i].split() or [""]
    return max(max(len(w) for w in words), *(len(row[i]) for row in t.rows))


def _longest_word(t: Any, i: int) -> int:
    return max(
        len(w) for text in (t.headers[i], *(r[i] for r in t.rows)) for w in text.split() or [""]
    )


def _needed_width(report: Report) -> int:
    """A width at which every numeric column fits whole and no text column cuts a word."""
    needed = 0
    for t in report.tables:
        columns = range(len(t.headers))
        cells = sum(_numeric_width(t, i) if i in t.right else _longest_word(t, i) for i in columns)
        needed = max(needed, cells + 3 * len(t.headers) + 2)  # padding and the box's edges
    return needed


def echo_report(report: Report, fmt: str) -> None:
    """Print a report as ``table`` (rich or plain) or ``markdown``."""
    from ketacost._render import render_markdown, render_plain

    if fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
        return
    ctx = click.get_current_context()
    plain = bool((ctx.find_root().obj or {}).get("plain"))
    if plain or not rich_available():
        click.echo(render_plain(report), nl=False)
        return
    color = sys.stdout.isatty()
    width = max(100, shutil.get_terminal_size((120, 24)).columns, _needed_width(report))
    click.echo(render_rich(report, width=width, color=color), nl=False, color=color)


def write_private(path: Path, data: bytes | str) -> None:
    """Write a patient's document readable by its owner only (0600); text as UTF-8, as is.

    Good Faith Estimates, superbills and stored records name the patient: they are never left
    readable by other users of a shared clinic computer.
    """
    raw = data.encode("utf-8") if isinstance(data, str) else data
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.chmod(path, 0o600)  # a file that was there keeps its mode otherwise
    with os.fdopen(fd, "wb") as f:
        f.write(raw)
