"""``ketacost gfe`` and ``ketacost superbill``: the documents, written to a file or stdout.

With ``-o -`` the document alone goes to standard output (a PDF as its bytes) and the
command's summary lines go to standard error.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ketacost.cli._app import cli, fail
from ketacost.cli._estimate import REQUEST, load
from ketacost.cli._output import payers_option
from ketacost.cli._streams import (
    StdioPath,
    is_stdio,
    name_of,
    one_stdin,
    read_input,
    refuse_terminal,
    write_output,
)

if TYPE_CHECKING:
    from ketacost._estimate import Estimate
    from ketacost._library import PayerLibrary
    from ketacost._request import EstimateRequest
    from ketacost.documents import GoodFaithEstimate

__all__ = ["gfe", "superbill"]

F = TypeVar("F", bound=Callable[..., Any])
DATE = click.DateTime(formats=["%Y-%m-%d"])


def _output_option() -> Callable[[F], F]:
    return click.option(
        "-o",
        "--output",
        "output",
        type=StdioPath(dir_okay=False),
        required=True,
        help="The file to write ('-': standard output; this command's messages then go to "
        "standard error).",
    )


#: ``ketacost._i18n.LANGUAGES``, written out: importing it here would load the models on every
#: TAB of shell completion (tests/test_documents_es.py checks they agree).
LANGUAGES = ("en", "es")


def _lang_option() -> Callable[[F], F]:
    return click.option(
        "--lang",
        type=click.Choice(LANGUAGES),
        default="en",
        show_default=True,
        envvar="KETACOST_LANG",
        help="The document's language: English or Spanish (the figures are the same); or "
        "$KETACOST_LANG, as for estimate, compare and schedule.",
    )


def _visits_range(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    low, sep, high = text.partition("-")
    if not (sep and low.strip().isdigit() and high.strip().isdigit()):
        fail(f"--expected-visits must be LOW-HIGH, e.g. 12-18 (got {text!r})")
    return int(low), int(high)


def _previous_gfe(path: Path) -> tuple[GoodFaithEstimate, str]:
    """The Good Faith Estimate a new one replaces, read from its JSON, and its file's sha256.

    The digest is of the bytes read, as the patient holds them (not of a re-serialisation).
    """
    import hashlib

    from pydantic import ValidationError

    from ketacost.documents import GoodFaithEstimate

    try:
        raw = read_input(path)
    except OSError as exc:
        fail(f"--replaces {name_of(path)}: cannot read it ({exc.strerror or exc})")
    try:
        return GoodFaithEstimate.model_validate_json(raw), hashlib.sha256(raw).hexdigest()
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"]) or "the file"
        fail(
            f"--replaces {name_of(path)}: not a Good Faith Estimate's JSON as `ketacost gfe "
            f"--format json` writes it ({where}: {first['msg']})"
        )


@cli.command()
@REQUEST
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "json", "fhir"]),
    default="html",
    show_default=True,
    help="fhir: an HL7 Da Vinci Patient Cost Transparency GFE (FHIR 4.0.1 JSON).",
)
@_output_option()
@click.option(
    "--issued", type=DATE, default=None, help="Issue date (default: the request's, else today)."
)
@click.option(
    "--expected-visits",
    metavar="LOW-HIGH",
    default=None,
    help="A range for the number of sessions when it is not known yet, e.g. 12-18.",
)
@click.option(
    "--replaces",
    "replaces_path",
    type=StdioPath(dir_okay=False),
    default=None,
    help="A Good Faith Estimate's JSON (as --format json writes it) that this one replaces "
    "after a change of scope: the new one lists what changed ('-': standard input).",
)
@click.option(
    "--save",
    is_flag=True,
    help="Keep it in the records database (records extra) for six years: its document, its "
    "HTML, the PDF's exact bytes when --format pdf, the request, the estimate and the rule "
    "files it used.",
)
@click.option(
    "--db",
    "db_url",
    metavar="URL",
    default=None,
    help="With --save: the records database (default: $KETACOST_DB, else your data folder).",
)
@_lang_option()
@payers_option()
def gfe(
    request_path: Path,
    fmt: str,
    output: Path,
    issued: datetime | None,
    expected_visits: str | None,
    replaces_path: Path | None,
    save: bool,
    db_url: str | None,
    lang: str,
    payers_dir: Path | None,
) -> None:
    """Write a Good Faith Estimate (No Surprises Act, 45 CFR 149.610) of a request.

    It covers the items the patient self-pays (self-pay coverage, a superbill, items the plan
    does not cover) and lists the items billed to a plan as not part of it. HTML prints from
    a browser; PDF needs the pdf extra; JSON is the document's data.

    REQUEST and --replaces may be '-' (standard input; a clinic file a request there names is
    looked for relative to the current folder, or to --base-dir); -o - writes the document
    to standard output and the messages to standard error.

    \b
    Example:
      ketacost gfe examples/requests/iv-series-self-pay.yaml --format pdf -o gfe.pdf
      ketacost gfe - --base-dir examples/requests --format json -o - \\
          < examples/requests/iv-series-self-pay.yaml > gfe.json
    """
    from ketacost.documents import render_gfe_html, render_gfe_pdf

    if db_url is not None and not save:
        fail("--db names the records database for --save; give --save too")
    one_stdin(REQUEST=request_path, **{"--replaces": replaces_path})
    if fmt == "pdf":
        refuse_terminal(output)
    visits = _visits_range(expected_visits)
    previous = _previous_gfe(replaces_path) if replaces_path is not None else None
    request, payers, result, doc = make_gfe(
        request_path,
        payers_dir,
        issued=issued.date() if issued else None,
        expected_visits=visits,
        previous=previous,
        lang=lang,
    )
    html = render_gfe_html(doc) if fmt == "html" or save else None
    pdf = render_gfe_pdf(doc) if fmt == "pdf" else None
    to_stderr = is_stdio(output)
    if save:
        # Kept before it is written: a patient never holds a GFE the records lack; so the
        # folder it goes to must be there first.
        if not to_stderr and not output.parent.is_dir():
            fail(f"-o {output}: no folder {output.parent}; nothing was saved")
        assert html is not None
        gfe_id, keep = save_gfe_record(db_url, request, result, doc, html, pdf, payers)
        click.echo(f"Saved as record {gfe_id}, kept until {keep.isoformat()}", err=to_stderr)
        if issued is None and doc.issued != date.today():
            click.echo(
                f"Note: issued {doc.issued.isoformat()}, the request's date, not today "
                f"({date.today().isoformat()}); give --issued for the day it is handed out",
                err=to_stderr,
            )
    if fmt == "pdf":
        assert pdf is not None
        write_output(output, pdf, binary=True)
    elif fmt == "html":
        assert html is not None
        write_output(output, html)
    elif fmt == "fhir":
        from ketacost.documents import render_gfe_fhir

        write_output(output, render_gfe_fhir(doc) + "\n")
    else:
        # newline="": "\n" on every OS, so the file's sha256 is gfe_digest's (--replaces).
        write_output(output, doc.model_dump_json(indent=2) + "\n")
    _gfe_summary(doc, output)


def _gfe_summary(doc: GoodFaithEstimate, output: Path) -> None:
    """What ``gfe`` wrote, what it replaces and when it is due (stderr when -o -)."""
    from ketacost._render import usd
    from ketacost.documents import timing_sentence

    err = is_stdio(output)
    where = "standard output" if err else str(output)
    click.echo(
        f"Good Faith Estimate for {doc.patient.name}: {usd(doc.total_expected)} expected "
        f"from {doc.period_start.isoformat()} to {doc.period_end.isoformat()}; "
        f"written to {where}",
        err=err,
    )
    if doc.reissue is not None:
        counts = {
            kind: sum(c.change == kind for c in doc.reissue.changes)
            for kind in ("added", "removed", "re-priced", "rescheduled")
        }
        click.echo(
            f"Replaces the estimate of {doc.reissue.replaces.issued.isoformat()}: "
            + ", ".join(f"{n} {kind}" for kind, n in counts.items()),
            err=err,
        )
    if doc.timing is not None:
        click.echo(f"Due: {timing_sentence(doc.timing)}", err=err)


def make_gfe(
    request_path: Path,
    payers_dir: Path | None,
    *,
    issued: date | None,
    expected_visits: tuple[int, int] | None = None,
    previous: tuple[GoodFaithEstimate, str] | None = None,
    lang: str = "en",
) -> tuple[EstimateRequest, PayerLibrary, Estimate, GoodFaithEstimate]:
    """A request's GFE as the commands make it: estimated, with the range of its 12 months.

    ``issued`` defaults to the request's date, else today; ``previous`` (a GFE and the sha256
    of its file) makes it a re-issue after a change of scope; ``lang`` is its language.
    """
    from ketacost import estimate as estimate_request
    from ketacost import good_faith_range
    from ketacost.documents import build_gfe, reissue_gfe

    request, payers = load(request_path, payers_dir)
    result = estimate_request(request, payers=payers)
    day = issued or request.issued or date.today()
    period_range = None
    if request.unknowns is not None and expected_visits is None:
        period_range = good_faith_range(request, result, payers=payers)
    if previous is not None:
        doc = reissue_gfe(
            previous[0],
            request,
            result,
            issued=day,
            expected_visits=expected_visits,
            period_range=period_range,
            previous_sha256=previous[1],
            lang=lang,
        )
    else:
        doc = build_gfe(
            request,
            result,
            issued=day,
            expected_visits=expected_visits,
            period_range=period_range,
            lang=lang,
        )
    return request, payers, result, doc


def save_gfe_record(
    db_url: str | None,
    request: EstimateRequest,
    estimate: Estimate,
    doc: GoodFaithEstimate,
    html: str,
    pdf: bytes | None,
    payers: PayerLibrary,
) -> tuple[str, date]:
    """Keep the GFE as handed out (the PDF's exact bytes when one was written): id, keep-until."""
    from ketacost.records import open_records, rule_files_of, used_rule_paths

    with open_records(db_url) as rec:
        gfe_id = rec.save_gfe(
            request=request,
            estimate=estimate,
            gfe=doc,
            html=html,
            pdf=pdf,
            rule_files=rule_files_of(request, payers),
            used=used_rule_paths(request, payers),
        )
        keep = rec.show(gfe_id).summary.keep_until
    return gfe_id, keep


@cli.command()
@REQUEST
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["html", "pdf", "json", "csv"]),
    default="html",
    show_default=True,
)
@_output_option()
@click.option("--from", "start", type=DATE, default=None, help="First date of service to list.")
@click.option("--to", "end", type=DATE, default=None, help="Last date of service to list.")
@click.option(
    "--issued",
    type=DATE,
    default=None,
    help="The superbill's date: on or after every visit it lists as paid (without --to it "
    "lists the visits up to that day; default: the last date of service listed).",
)
@_lang_option()
@payers_option()
def superbill(
    request_path: Path,
    fmt: str,
    output: Path,
    start: datetime | None,
    end: datetime | None,
    issued: datetime | None,
    lang: str,
    payers_dir: Path | None,
) -> None:
    """Write a superbill (for out-of-network reimbursement) for the visits of a request.

    Each visit is taken as paid what the estimate says the patient pays. REQUEST may be '-'
    (standard input); -o - writes the superbill to standard output, the summary to stderr.

    \b
    Example:
      ketacost superbill examples/requests/iv-series-self-pay.yaml --format pdf \\
          --from 2027-01-01 --to 2027-01-31 -o superbill-january.pdf
    """
    from ketacost import estimate as estimate_request
    from ketacost._render import usd
    from ketacost.documents import (
        build_superbill,
        render_superbill_csv,
        render_superbill_html,
        render_superbill_pdf,
    )

    if fmt == "pdf":
        refuse_terminal(output)
    request, payers = load(request_path, payers_dir)
    result = estimate_request(request, payers=payers)
    bill = build_superbill(
        request,
        result,
        start=start.date() if start else None,
        end=end.date() if end else None,
        issued=issued.date() if issued else None,
        lang=lang,
    )
    if fmt == "pdf":
        write_output(output, render_superbill_pdf(bill), binary=True)
    elif fmt == "html":
        write_output(output, render_superbill_html(bill))
    elif fmt == "csv":
        write_output(output, render_superbill_csv(bill))
    else:
        write_output(output, bill.model_dump_json(indent=2) + "\n")
    err = is_stdio(output)
    click.echo(
        f"Superbill for {bill.patient.name}: {len(bill.lines)} lines, charges "
        f"{usd(bill.total_charge)}, paid {usd(bill.total_paid)}; written to "
        + ("standard output" if err else str(output)),
        err=err,
    )
