"""Writing results: rich tables where ``rich`` is installed, plain text otherwise."""

from __future__ import annotations

import io
import shutil
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ketacost._render import Report

__all__ = ["FORMATS", "echo_report", "format_option", "payers_option", "rich_available"]

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
            table.add_column(header, justify="right" if i in t.right else "left")
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
    width = max(100, shutil.get_terminal_size((120, 24)).columns)
    click.echo(render_rich(report, width=width, color=color), nl=False, color=color)
