"""``ketacost schedule`` and ``ketacost schemas``: a plan's dated sessions, and the schemas."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import cli, fail
from ._estimate import REQUEST, load
from ._output import echo_report, format_option, lang_option, payers_option
from ._streams import StdioPath, echo_jsonl, is_stdio, write_output

if TYPE_CHECKING:
    from ketacost._estimate import Estimate
    from ketacost._request import EstimateRequest

__all__ = ["schedule", "schemas", "session_records"]


def session_records(request: EstimateRequest, result: Estimate) -> Iterator[dict[str, Any]]:
    """A ``session`` record per dated session of the plan, in order.

    Args:
        request: the request whose plan is expanded.
        result: its estimate (what each visit costs the patient).

    Yields:
        ``record``, ``number``, ``date``, ``day``, ``phase``, ``session``, ``description``,
        ``minutes`` (or null), ``patient`` and ``patient_net`` (decimal strings) and
        ``moved_from`` (the date before a holiday or closure moved it, or null).
    """
    from ketacost._plan import expand

    totals = {v.number: v.totals for v in result.visits}
    for v in expand(request.plan):
        template = request.clinic.sessions[v.session]
        yield {
            "record": "session",
            "number": v.number,
            "date": v.date.isoformat(),
            "day": v.date.strftime("%a"),
            "phase": v.phase_name,
            "session": v.session,
            "description": template.description,
            "minutes": template.minutes or None,
            "patient": str(totals[v.number].patient),
            "patient_net": str(totals[v.number].patient_net),
            "moved_from": None if v.date == v.nominal_date else v.nominal_date.isoformat(),
        }


@cli.command()
@REQUEST
@click.option(
    "--ics",
    "ics_path",
    type=StdioPath(dir_okay=False),
    default=None,
    help="Also write the sessions to this iCalendar (.ics) file, owner-only ('-': to "
    "standard output, instead of the table; then give no --format).",
)
@format_option(("table", "jsonl", "markdown"))
@payers_option()
@lang_option()
def schedule(
    request_path: Path, ics_path: Path | None, fmt: str, payers_dir: Path | None, lang: str
) -> None:
    """The dated sessions of a request's plan (and what each visit is expected to cost).

    With --ics, the sessions are also written as a calendar file (one all-day event per
    session) that imports into common calendar apps; it needs the calendar extra. The table
    and the calendar's events are in English or Spanish (--lang es). REQUEST may be '-'
    (standard input).

    JSON lines (--format jsonl): a "session" record per session, in order: record, number,
    date, day, phase, session, description, minutes, patient, patient_net (decimal
    strings), moved_from (null unless a closure moved it).

    \b
    Example:
      ketacost schedule examples/requests/iv-series-self-pay.yaml --ics sessions.ics
      ketacost schedule examples/requests/iv-series-self-pay.yaml --ics - > sessions.ics
      ketacost schedule examples/requests/iv-series-self-pay.yaml --lang es
    """
    from ketacost import estimate as estimate_request
    from ketacost._i18n import translator

    t = translator(lang, "cli")

    if is_stdio(ics_path) and _given("fmt"):
        fail(f"--ics - and --format {fmt} both write to standard output; give --ics a file")
    request, payers = load(request_path, payers_dir)
    result = estimate_request(request, payers=payers)
    sessions = list(session_records(request, result))
    notes = []
    if ics_path is not None:
        from ketacost.ics import schedule_ics

        calendar = schedule_ics(request, result, lang=lang)
        write_output(ics_path, calendar)
        events = t.ngettext("{n} event", "{n} events", len(sessions)).format(n=len(sessions))
        if is_stdio(ics_path):
            click.echo(
                t.gettext("Calendar written to standard output ({events}).").format(events=events),
                err=True,
            )
            return
        notes.append(
            t.gettext("Calendar written to {path} ({events}).").format(path=ics_path, events=events)
        )
    if fmt == "jsonl":
        echo_jsonl(sessions)
        for note in notes:
            click.echo(note, err=True)
        return
    _echo_table(request, sessions, notes, fmt, lang)


def _given(name: str) -> bool:
    """Whether the option ``name`` was given (on the command line or by its variable)."""
    from click.core import ParameterSource

    source = click.get_current_context().get_parameter_source(name)
    return source not in (None, ParameterSource.DEFAULT, ParameterSource.DEFAULT_MAP)


def _echo_table(
    request: EstimateRequest, sessions: list[dict[str, Any]], notes: list[str], fmt: str, lang: str
) -> None:
    """The sessions as a table (or markdown), in ``lang``."""
    from datetime import date

    from ketacost._i18n import translator
    from ketacost._money import Money
    from ketacost._plain import phase_name
    from ketacost._render import Report, Table, day, usd

    t = translator(lang, "cli")
    rows = tuple(
        (
            str(s["number"]),
            day(date.fromisoformat(s["date"]), lang),
            t.date(date.fromisoformat(s["date"]), "weekday"),
            phase_name(s["phase"], lang),
            s["description"],
            t.gettext("{n} min").format(n=s["minutes"]) if s["minutes"] else "",
            usd(Money(s["patient"])),
            t.gettext("moved from {date}").format(
                date=day(date.fromisoformat(s["moved_from"]), lang)
            )
            if s["moved_from"]
            else "",
        )
        for s in sessions
    )
    table = Table(
        t.gettext("Sessions"),
        (
            "#",
            t.gettext("Date"),
            t.gettext("Day"),
            t.gettext("Phase"),
            t.gettext("Session"),
            t.gettext("Length"),
            t.gettext("You pay"),
            t.gettext("Note"),
        ),
        rows,
        frozenset({0, 5, 6}),
    )
    title = t.gettext("Schedule at {clinic}").format(clinic=request.clinic.name)
    echo_report(Report(title=title, tables=(table,), notes=tuple(notes)), fmt)


@cli.command()
@click.argument("folder", type=StdioPath(file_okay=False))
def schemas(folder: Path) -> None:
    """Write the JSON Schemas of the payer, clinic, request and estimate files to a folder.

    With '-', print them instead as one JSON object, by file name (sorted keys).

    \b
    Example:
      ketacost schemas schemas/
      ketacost schemas - | jq '."payer.schema.json".required'
    """
    import pydantic

    from ketacost._schema import GENERATED_WITH, json_schemas, schema_text

    if is_stdio(folder):
        write_output(folder, schema_text(dict(json_schemas())))
        return
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in json_schemas().items():
        (folder / name).write_text(schema_text(schema), encoding="utf-8")
    (folder / GENERATED_WITH).write_text(f"pydantic {pydantic.VERSION}\n")
    click.echo(f"wrote {len(json_schemas())} schemas to {folder}")
