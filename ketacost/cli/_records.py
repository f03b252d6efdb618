"""``ketacost records ...`` and ``ketacost bill check``: the records database (records extra).

    ketacost records init [--db URL]
    ketacost records save-gfe REQUEST [--issued DATE] [--pdf] [--payers DIR]
    ketacost records list [--patient NAME | --open-disputes] [--format text|jsonl]
    ketacost records show ID [--html FILE] [--pdf FILE]     (a GFE's id or a bill check's)
    ketacost records reestimate [--changed-rules] [--clinic FILE] [--payers DIR]
    ketacost records purge [--today DATE] [--record ID]
    ketacost records verify [--anchor HASH]
    ketacost bill check BILL.yaml [--gfe ID]

``--db`` defaults to ``$KETACOST_DB``, else a SQLite file in the user's data folder. Nothing
here prints to a log; what is printed goes to the terminal of whoever ran the command.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._app import EXIT_PROBLEMS, cli, fail
from ._estimate import REQUEST, library
from ._output import english, payers_option
from ._records_text import change_line, check_lines, gfe_lines, where
from ._streams import StdioPath, echo_jsonl, is_stdio, write_output

if TYPE_CHECKING:
    from ketacost.records import Records

__all__ = ["bill", "records"]

F = TypeVar("F", bound=Callable[..., Any])
DATE = click.DateTime(formats=["%Y-%m-%d"])


def db_option() -> Callable[[F], F]:
    return click.option(
        "--db",
        "db_url",
        metavar="URL",
        default=None,
        help="Database URL (default: $KETACOST_DB, else a SQLite file in your data folder).",
    )


def _open(db_url: str | None) -> Records:
    from ketacost.records import open_records

    return open_records(db_url)


@cli.group()
def records() -> None:
    """Good Faith Estimates kept for years, bills checked against them (records extra).

    \b
    Example:
      ketacost records init
      ketacost records save-gfe examples/requests/iv-series-self-pay.yaml
      ketacost records list
    """


@records.command("init")
@db_option()
def records_init(db_url: str | None) -> None:
    """Create the records database (or migrate it to this version); files are owner-only."""
    from ketacost.records import init_records

    with init_records(db_url) as rec:
        click.echo(f"Records database ready: {rec.url}")


@records.command("save-gfe")
@REQUEST
@click.option("--issued", type=DATE, default=None, help="Issue date (default: the request's).")
@click.option("--pdf", "with_pdf", is_flag=True, help="Also make and keep the PDF (pdf extra).")
@payers_option()
@db_option()
def records_save_gfe(
    request_path: Path,
    issued: datetime | None,
    with_pdf: bool,
    payers_dir: Path | None,
    db_url: str | None,
) -> None:
    """Make a request's Good Faith Estimate and keep it, with the rule files it used.

    The same as ``ketacost gfe REQUEST --save`` without writing a file.
    """
    from ketacost.documents import render_gfe_html, render_gfe_pdf

    from ._documents import make_gfe, save_gfe_record

    request, payers, result, doc = make_gfe(
        request_path, payers_dir, issued=issued.date() if issued else None
    )
    pdf = render_gfe_pdf(doc) if with_pdf else None
    gfe_id, keep = save_gfe_record(db_url, request, result, doc, render_gfe_html(doc), pdf, payers)
    click.echo(f"Saved Good Faith Estimate {gfe_id} (kept until {keep.isoformat()})")


@records.command("list")
@click.option("--patient", default=None, metavar="NAME", help="Only this patient's.")
@click.option(
    "--open-disputes",
    is_flag=True,
    help="Bill checks whose 120 days to start a dispute have not run out today.",
)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["text", "jsonl"]),
    default="text",
    show_default=True,
    help="Output format.",
)
@db_option()
def records_list(patient: str | None, open_disputes: bool, fmt: str, db_url: str | None) -> None:
    """List the stored Good Faith Estimates, newest first (or the open disputes).

    JSON lines (--format jsonl): a "gfe" record per GFE (record, id, issued, patient_name,
    patient_birth_date, period_start, period_end, total_expected, keep_until, has_pdf);
    with --open-disputes, a "bill_check" record per check (record, check_id, gfe_id,
    patient_name, bill_id, bill_date, billed, findings). Money as decimal strings; nothing
    is printed when there is nothing to list.
    """
    from ._jsonl import check_records, gfe_records

    if open_disputes:
        with _open(db_url) as rec:
            today = rec.today()
            checks = rec.open_disputes(today)
        if fmt == "jsonl":
            echo_jsonl(check_records(checks))
            return
        if not checks:
            click.echo(f"No bill check has a dispute window open on {today.isoformat()}.")
        for c in checks:
            click.echo(f"{c.patient_name}: " + "\n".join(check_lines(c)))
        return
    with _open(db_url) as rec:
        found = rec.list_gfes(patient=patient)
    if fmt == "jsonl":
        echo_jsonl(gfe_records(found))
        return
    if not found:
        if patient is None:
            click.echo("No Good Faith Estimates stored.")
        else:  # a first name alone finds nothing: say so, not that nothing is stored
            click.echo(
                f"No Good Faith Estimate stored for {patient!r}: the patient's whole name is "
                "matched (any case and spacing); `ketacost records list` lists every patient."
            )
        return
    click.echo("id            issued      patient (birth date)                 total  keep until")
    for s in found:
        who = f"{s.patient_name} ({s.patient_birth_date.isoformat()})"
        total = format(s.total_expected, "$")
        click.echo(
            f"{s.id[:12]}  {s.issued.isoformat()}  {who:<30} {total:>12}  "
            f"{s.keep_until.isoformat()}{'' if s.has_pdf else '  (no PDF)'}"
        )


@records.command("show")
@click.argument("record_id", metavar="ID")
@click.option(
    "--html",
    "html_out",
    type=StdioPath(dir_okay=False),
    help="Write the GFE's HTML to this file ('-': standard output).",
)
@click.option(
    "--pdf",
    "pdf_out",
    type=StdioPath(dir_okay=False),
    help="Write the GFE's PDF to this file ('-': standard output).",
)
@db_option()
def records_show(
    record_id: str, html_out: Path | None, pdf_out: Path | None, db_url: str | None
) -> None:
    """Show a stored GFE or bill check (an id or its first 6+ characters).

    For a GFE, --html and --pdf write its exact HTML or PDF; with '-' the document goes to
    standard output and the rest to standard error (only one of them can be '-').
    """
    from ketacost.records import RecordNotFoundError

    if is_stdio(html_out) and is_stdio(pdf_out):
        fail("only one of --html and --pdf can be standard output ('-')")
    err = is_stdio(html_out) or is_stdio(pdf_out)

    with _open(db_url) as rec:
        try:
            r = rec.show(record_id)
        except RecordNotFoundError:
            if html_out is not None or pdf_out is not None:
                raise
            check = rec.show_check(record_id)
            click.echo(f"Patient {check.patient_name}")
            click.echo("\n".join(check_lines(check)))
            return
    click.echo("\n".join(gfe_lines(r)), err=err)
    if pdf_out is not None and r.pdf is None:
        raise click.ClickException("this Good Faith Estimate was stored without a PDF")
    if html_out is not None:
        write_output(html_out, r.html)
        click.echo(f"HTML written to {where(html_out)}", err=err)
    if pdf_out is not None:
        assert r.pdf is not None
        write_output(pdf_out, r.pdf, binary=True)
        click.echo(f"PDF written to {where(pdf_out)}", err=err)


@records.command("reestimate")
@click.option(
    "--changed-rules",
    is_flag=True,
    help="Re-run only the estimates whose rule files differ from the current ones.",
)
@click.option(
    "--clinic",
    "clinic_path",
    type=StdioPath(dir_okay=False),
    default=None,
    help="A clinic file to re-price with (default: each estimate's stored clinic; "
    "'-': standard input).",
)
@payers_option()
@db_option()
def records_reestimate(
    changed_rules: bool, clinic_path: Path | None, payers_dir: Path | None, db_url: str | None
) -> int:
    """Re-run each stored request against the current rule files: what changes, by how much.

    Exit code 1 when an estimate changes (or cannot be re-run), else 0.
    """
    from ._streams import load_clinic_input

    clinic = None if clinic_path is None else load_clinic_input(clinic_path)
    with _open(db_url) as rec:
        results = rec.reestimate(
            library(payers_dir), changed_rules_only=changed_rules, clinic=clinic
        )
    if not results:
        click.echo("No estimates stored.")
        return 0
    for r in results:
        click.echo(change_line(r))
        for w in r.warnings_added:
            click.echo(f"    new warning: {w}")
        for w in r.warnings_removed:
            click.echo(f"    warning gone: {w}")
    changed = sum(r.status in ("changed", "error") for r in results)
    click.echo(f"{changed} of {len(results)} stored estimates change.")
    return EXIT_PROBLEMS if changed else 0


@records.command("purge")
@click.option(
    "--today",
    type=DATE,
    default=None,
    help="Purge as of this date (default: today); never later than today.",
)
@click.option("--record", "record_id", metavar="ID", default=None, help="Only this record.")
@db_option()
def records_purge(today: datetime | None, record_id: str | None, db_url: str | None) -> None:
    """Delete the GFEs past their keep-until date; never one inside it (exit 2 if asked)."""
    with _open(db_url) as rec:
        result = rec.purge(today.date() if today else None, record_id=record_id)
    t = english()
    click.echo(
        t.ngettext(
            "Deleted {n} record past retention; {kept} kept.",
            "Deleted {n} records past retention; {kept} kept.",
            len(result.deleted),
        ).format(n=len(result.deleted), kept=result.kept)
    )
    for gfe_id in result.deleted:
        click.echo(f"  deleted {gfe_id}")
    if result.estimates_deleted:
        n = len(result.estimates_deleted)
        click.echo(
            t.ngettext(
                "Deleted {n} estimate saved without a GFE.",
                "Deleted {n} estimates saved without a GFE.",
                n,
            ).format(n=n)
        )
    for estimate_id in result.estimates_deleted:
        click.echo(f"  deleted estimate {estimate_id}")


@records.command("verify")
@click.option("--anchor", metavar="HASH", default=None, help="A head hash noted earlier.")
@db_option()
def records_verify(anchor: str | None, db_url: str | None) -> int:
    """Check the audit log's hash chain and the stored documents' bytes (exit 1 if tampered)."""
    with _open(db_url) as rec:
        problems = rec.verify(anchor=anchor)
        entries = rec.audit_entries()
    for p in problems:
        click.echo(f"TAMPERED: {p}")
    if problems:
        return EXIT_PROBLEMS
    head = entries[-1].hash if entries else "(empty)"
    intact = english().ngettext(
        "Audit log intact: {n} entry; head {head}",
        "Audit log intact: {n} entries; head {head}",
        len(entries),
    )
    click.echo(intact.format(n=len(entries), head=head))
    return 0


@cli.group()
def bill() -> None:
    """Final bills: compare one with its Good Faith Estimate (records extra)."""


@bill.command("check")
@click.argument("bill_path", metavar="BILL", type=StdioPath(dir_okay=False))
@click.option("--gfe", "gfe_id", metavar="ID", default=None, help="The GFE (default: found).")
@db_option()
def bill_check(bill_path: Path, gfe_id: str | None, db_url: str | None) -> None:
    """Compare a final bill with its GFE ($400 per provider, 45 CFR 149.620); store the result.

    Without --gfe, the GFE is the patient's newest one covering the date of service. BILL
    may be '-' (standard input: JSON if it starts with '{' or '[', else YAML).

    \b
    Example:
      ketacost bill check bill.yaml
    """
    from ketacost._errors import RequestFileError
    from ketacost._validation import validate
    from ketacost.records._bill_file import BillFile

    from ._streams import parse_input

    data, source = parse_input(bill_path, RequestFileError)
    found = validate(BillFile, data, source, RequestFileError)
    with _open(db_url) as rec:
        result = rec.check_bill(
            found.bill(),
            gfe_id=gfe_id,
            patient_name=found.patient.name if found.patient else None,
            birth_date=found.patient.birth_date if found.patient else None,
            service_date=found.first_service_date(),
        )
    click.echo(
        f"Compared with Good Faith Estimate {result.gfe_id}; stored as check {result.check_id}"
        " (ketacost records show ID)"
    )
    if result.bills_counted > 1:
        click.echo(
            f"Billed charges are summed over the {result.bills_counted} bills stored for it."
        )
    if not result.findings:
        click.echo("No provider billed $400.00 or more above its expected charges.")
    for f in result.findings:
        click.echo(f"  {f.note}")
