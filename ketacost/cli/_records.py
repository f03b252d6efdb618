"""``ketacost records ...`` and ``ketacost bill check``: the records database (records extra).

    ketacost records init [--db URL]
    ketacost records save-gfe REQUEST [--issued DATE] [--pdf] [--payers DIR]
    ketacost records list [--patient NAME | --open-disputes]
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

from ._app import EXIT_PROBLEMS, cli
from ._estimate import REQUEST, library
from ._output import payers_option, write_private

if TYPE_CHECKING:
    from ketacost._money import Money
    from ketacost.records import Records
    from ketacost.records._results import Reestimate, StoredCheck

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


def _check_lines(c: StoredCheck) -> list[str]:
    when = c.bill_date.isoformat() if c.bill_date else "undated"
    return [
        f"bill check {c.check_id[:12]} of GFE {c.gfe_id[:12]}, bill {c.bill_id[:12]} "
        f"({when}, {c.billed:$}): {len(c.findings)} finding(s)",
        *(f"    {f.note}" for f in c.findings),
    ]


@records.command("list")
@click.option("--patient", default=None, metavar="NAME", help="Only this patient's.")
@click.option(
    "--open-disputes",
    is_flag=True,
    help="Bill checks whose 120 days to start a dispute have not run out today.",
)
@db_option()
def records_list(patient: str | None, open_disputes: bool, db_url: str | None) -> None:
    """List the stored Good Faith Estimates, newest first (or the open disputes)."""
    if open_disputes:
        with _open(db_url) as rec:
            today = rec.today()
            checks = rec.open_disputes(today)
        if not checks:
            click.echo(f"No bill check has a dispute window open on {today.isoformat()}.")
        for c in checks:
            click.echo(f"{c.patient_name}: " + "\n".join(_check_lines(c)))
        return
    with _open(db_url) as rec:
        found = rec.list_gfes(patient=patient)
    if not found:
        click.echo("No Good Faith Estimates stored.")
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
@click.option("--html", "html_out", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--pdf", "pdf_out", type=click.Path(path_type=Path, dir_okay=False))
@db_option()
def records_show(
    record_id: str, html_out: Path | None, pdf_out: Path | None, db_url: str | None
) -> None:
    """Show a stored GFE or bill check (an id or its first 6+ characters).

    For a GFE, --html and --pdf write its exact HTML or PDF.
    """
    from ketacost.records import RecordNotFoundError

    with _open(db_url) as rec:
        try:
            r = rec.show(record_id)
        except RecordNotFoundError:
            if html_out is not None or pdf_out is not None:
                raise
            check = rec.show_check(record_id)
            click.echo(f"Patient {check.patient_name}")
            click.echo("\n".join(_check_lines(check)))
            return
    s = r.summary
    click.echo(f"Good Faith Estimate {s.id}")
    click.echo(f"  patient:     {s.patient_name} (born {s.patient_birth_date.isoformat()})")
    click.echo(f"  issued:      {s.issued.isoformat()}; kept until {s.keep_until.isoformat()}")
    click.echo(f"  period:      {s.period_start.isoformat()} to {s.period_end.isoformat()}")
    click.echo(f"  expected:    {s.total_expected:$}")
    for p in r.gfe.providers:
        click.echo(f"    {p.provider.name} (NPI {p.provider.npi}): {p.expected_total:$}")
    click.echo(f"  rules hash:  {r.rules_hash}")
    used = [f.path for f in r.rule_files if f.used]
    click.echo(f"  rule files:  {len(r.rule_files)} stored; read: {', '.join(used)}")
    for c in r.checks:
        when = c.bill_date.isoformat() if c.bill_date else "undated"
        click.echo(
            f"  bill {c.bill_id[:12]} ({when}, {c.billed:$}): {len(c.findings)} finding(s)"
            f" [check {c.check_id[:12]}]"
        )
        for f in c.findings:
            click.echo(f"    {f.note}")
    if html_out is not None:
        write_private(html_out, r.html)
        click.echo(f"HTML written to {html_out}")
    if pdf_out is not None:
        if r.pdf is None:
            raise click.ClickException("this Good Faith Estimate was stored without a PDF")
        write_private(pdf_out, r.pdf)
        click.echo(f"PDF written to {pdf_out}")


def _signed(m: Money) -> str:
    return f"+{m:$}" if m.cents >= 0 else f"{m:$}"


def _change_line(r: Reestimate) -> str:
    who = f"{r.patient_name or 'estimate'} {(r.gfe_ids or (r.estimate_id,))[0][:12]}"
    if r.status == "error":
        return f"{who}: cannot re-estimate: {r.message}"
    if r.after is None:
        return f"{who}: unchanged (none of its rule files changed)"
    delta = r.change()
    assert delta is not None
    files = f" ({', '.join(r.changed_files)} changed)" if r.changed_files else ""
    if r.status == "unchanged":
        return f"{who}: unchanged{files}"
    if r.after == r.before:
        return f"{who}: CHANGED{files}: its warnings (the totals are the same)"
    return (
        f"{who}: CHANGED{files}: patient {r.before.patient:$} -> {r.after.patient:$} "
        f"({_signed(delta.patient)}), plan {r.before.payer:$} -> {r.after.payer:$} "
        f"({_signed(delta.payer)})"
        + (
            f", second payer {r.before.secondary:$} -> {r.after.secondary:$}"
            if r.before.secondary or r.after.secondary
            else ""
        )
    )


@records.command("reestimate")
@click.option(
    "--changed-rules",
    is_flag=True,
    help="Re-run only the estimates whose rule files differ from the current ones.",
)
@click.option(
    "--clinic",
    "clinic_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="A clinic file to re-price with (default: each estimate's stored clinic).",
)
@payers_option()
@db_option()
def records_reestimate(
    changed_rules: bool, clinic_path: Path | None, payers_dir: Path | None, db_url: str | None
) -> int:
    """Re-run each stored request against the current rule files: what changes, by how much.

    Exit code 1 when an estimate changes (or cannot be re-run), else 0.
    """
    from ketacost._loader import load_clinic

    clinic = None if clinic_path is None else load_clinic(clinic_path)
    with _open(db_url) as rec:
        results = rec.reestimate(
            library(payers_dir), changed_rules_only=changed_rules, clinic=clinic
        )
    if not results:
        click.echo("No estimates stored.")
        return 0
    for r in results:
        click.echo(_change_line(r))
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
    click.echo(f"Deleted {len(result.deleted)} record(s) past retention; {result.kept} kept.")
    for gfe_id in result.deleted:
        click.echo(f"  deleted {gfe_id}")
    if result.estimates_deleted:
        click.echo(f"Deleted {len(result.estimates_deleted)} estimate(s) saved without a GFE.")
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
    click.echo(f"Audit log intact: {len(entries)} entries; head {head}")
    return 0


@cli.group()
def bill() -> None:
    """Final bills: compare one with its Good Faith Estimate (records extra)."""


@bill.command("check")
@click.argument("bill_path", metavar="BILL", type=click.Path(path_type=Path, dir_okay=False))
@click.option("--gfe", "gfe_id", metavar="ID", default=None, help="The GFE (default: found).")
@db_option()
def bill_check(bill_path: Path, gfe_id: str | None, db_url: str | None) -> None:
    """Compare a final bill with its GFE ($400 per provider, 45 CFR 149.620); store the result.

    Without --gfe, the GFE is the patient's newest one covering the date of service.

    \b
    Example:
      ketacost bill check bill.yaml
    """
    from ketacost.records._bill_file import load_bill

    found = load_bill(bill_path)
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
