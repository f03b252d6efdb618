"""Writing results: rich tables where ``rich`` is installed, plain text otherwise."""

from __future__ import annotations

import io
import os
import shutil
import sys
import textwrap
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

if TYPE_CHECKING:
    from ketacost._i18n import Translator
    from ketacost._render import Report

__all__ = [
    "FORMATS",
    "echo_report",
    "english",
    "format_option",
    "lang_option",
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


#: The languages of the patient-facing text (ketacost._i18n.LANGUAGES; kept here so that
#: ``--help`` imports no library module).
LANGS = ("en", "es")


def lang_option() -> Callable[[F], F]:
    """``--lang en|es`` (or ``$KETACOST_LANG``): the language of what a patient reads."""
    return click.option(
        "--lang",
        "lang",
        type=click.Choice(LANGS),
        default="en",
        show_default=True,
        envvar="KETACOST_LANG",
        help="Language of the patient-facing text: tables, sentences and dates (en, es). "
        "Amounts are the same exact figures in both; JSON, JSON lines and CSV are unchanged, "
        "and the engine's detail for billing staff (rules, warnings) stays in English.",
    )


def english() -> Translator:
    """The English messages of the staff-facing output (counts through ``ngettext``)."""
    from ketacost._i18n import translator

    return translator("en", "cli")


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
    """A report drawn with rich tables (rich imported here, lazily), ``width`` columns wide.

    Money is never cut short: an amount column is as wide as its widest amount and never
    wraps; the text columns wrap instead. A table that cannot fit that way at ``width`` is
    drawn stacked: a paragraph per row, ``Header: value`` after ``Header: value``.
    """
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
        last = len(t.rows) - 1
        bold_last = t.total_last
        widths = _fit_widths(t, width)
        if widths is None:
            console.print()
            console.print(Text(t.title, style="bold"))
            for n, row in enumerate(t.rows):
                console.print(_stacked_row(t, row, bold=bold_last and n == last))
            console.print()
            continue
        table = Table(title=t.title, box=box.SIMPLE_HEAVY, title_justify="left")
        for i, (header, column_width) in enumerate(zip(t.headers, widths, strict=True)):
            if i in t.right:
                # Never wrapped, so its header is wrapped here to the widest amount.
                table.add_column(
                    "\n".join(textwrap.wrap(header, column_width)) or header,
                    justify="right",
                    no_wrap=True,
                    width=column_width,
                )
            else:
                table.add_column(header, justify="left", overflow="fold", width=column_width)
        for n, row in enumerate(t.rows):
            style = "bold" if bold_last and n == last else None
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


def _stacked_row(t: Any, row: tuple[str, ...], *, bold: bool) -> Any:
    """One row of a table too wide for the terminal: ``first · Header: value · ...``.

    Wrapped at spaces only where a line ends, so an amount (no space in it) stays whole.
    """
    from rich.text import Text

    text = Text(style="bold" if bold else "")
    text.append(row[0], style="bold")
    for header, cell in zip(t.headers[1:], row[1:], strict=True):
        if cell:
            text.append(f" · {header}: {cell}")
    return text


def _fit_widths(t: Any, width: int) -> list[int] | None:
    """Each column's width for a rich table ``width`` wide, or None when it cannot fit.

    :func:`ketacost._render.fit_widths` with rich's room: each column has a space of padding
    each side and a separator, and the box its two edges (rich's own narrowing would cut
    amounts once the text columns are all the same width).
    """
    from ketacost._render import fit_widths

    return fit_widths(t, width - (3 * len(t.headers) + 2))


def _plain_width() -> int | None:
    """The width plain text fits on a terminal: ``COLUMNS``, else the terminal's.

    None for a pipe or a file (no terminal cuts its lines: each row and sentence stays whole).
    """
    if not sys.stdout.isatty():
        return None
    return max(20, shutil.get_terminal_size((120, 24)).columns)


def echo_report(report: Report, fmt: str) -> None:
    """Print a report as ``table`` (rich or plain) or ``markdown``.

    Tables fit the terminal's width (``COLUMNS``, else the terminal's, else 120; plain text
    written to a pipe or file: no limit), and so do plain sentences: an amount is never split
    across lines.
    """
    from ketacost._render import render_markdown, render_plain

    if fmt == "markdown":
        click.echo(render_markdown(report), nl=False)
        return
    ctx = click.get_current_context()
    plain = bool((ctx.find_root().obj or {}).get("plain"))
    if plain or not rich_available():
        click.echo(render_plain(report, _plain_width()), nl=False)
        return
    width = max(20, shutil.get_terminal_size((120, 24)).columns)
    color = sys.stdout.isatty()
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
