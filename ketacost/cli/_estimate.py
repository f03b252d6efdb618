"""``ketacost estimate``, ``compare``, ``schedule`` and ``schemas``: shells over the library.

Each command imports the library inside its function: ``ketacost --help`` builds no model.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import click

from ._app import cli, fail
from ._complete import complete_payer_ids, complete_secondary_ids
from ._output import (
    FORMATS,
    echo_report,
    english,
    format_option,
    lang_option,
    payers_option,
)
from ._streams import StdioPath, echo_jsonl, name_of, one_stdin, read_input

if TYPE_CHECKING:
    from ketacost._estimate import Estimate
    from ketacost._library import PayerLibrary
    from ketacost._payer import Payer
    from ketacost._request import EstimateRequest

__all__ = ["REQUEST", "compare", "estimate", "library", "load"]

F = TypeVar("F", bound=Callable[..., Any])

#: Where ``--base-dir`` is kept for :func:`load` (``click.Context.meta``).
_BASE_DIR = "ketacost.base_dir"


def _keep_base_dir(ctx: click.Context, _param: click.Parameter, value: Path | None) -> None:
    ctx.meta[_BASE_DIR] = value


def REQUEST(f: F) -> F:  # noqa: N802 - a decorator named as the argument it adds
    """The ``REQUEST`` argument (a file, or ``-``) and ``--base-dir`` for a request on stdin."""
    f = click.option(
        "--base-dir",
        type=click.Path(path_type=Path, file_okay=False, exists=True),
        default=None,
        expose_value=False,
        callback=_keep_base_dir,
        help="With REQUEST '-': the folder a clinic file the request names is relative to "
        "(default: the current folder; a request file's clinic is relative to that file).",
    )(f)
    return click.argument("request_path", metavar="REQUEST", type=StdioPath(dir_okay=False))(f)


def library(payers_dir: Path | None) -> PayerLibrary:
    """The payer library from ``--payers``, or the default one."""
    from ketacost._library import default_payers, load_payers

    return default_payers() if payers_dir is None else load_payers(payers_dir)


def load(request_path: Path, payers_dir: Path | None) -> tuple[EstimateRequest, PayerLibrary]:
    """A request (from a file, or standard input for ``-``) and the payer library it uses."""
    from ._streams import is_stdio, load_request_input

    base_dir: Path | None = click.get_current_context().meta.get(_BASE_DIR)
    if base_dir is not None and not is_stdio(request_path):
        fail("--base-dir is for a request on standard input (REQUEST '-')")
    payers = library(payers_dir)
    return load_request_input(request_path, payers, base_dir=base_dir), payers


@cli.command()
@REQUEST
@format_option((*FORMATS, "jsonl"))
@click.option("--json", "as_json", is_flag=True, hidden=True, help="Same as --format json.")
@payers_option()
@click.option(
    "--eligibility",
    "eligibility_path",
    type=StdioPath(dir_okay=False),
    metavar="FILE",
    help="A payer's eligibility response (X12 271, or FHIR CoverageEligibilityResponse JSON) "
    "to start from: its deductible and out-of-pocket met, and plan year.",
)
@click.option(
    "--use-eligibility-cost-sharing",
    "use_cost_sharing",
    is_flag=True,
    help="Apply the response's copays, coinsurance, deductible and maximum for this patient "
    "where they differ from the payer file.",
)
@click.option("--member", "member_id", metavar="ID", help="The member of a 271 with several.")
@lang_option()
def estimate(
    request_path: Path,
    fmt: str,
    as_json: bool,
    payers_dir: Path | None,
    eligibility_path: Path | None,
    use_cost_sharing: bool,
    member_id: str | None,
    lang: str,
) -> None:
    """Estimate every visit of a request: who pays what.

    Prints a per-visit table (saying why a line is not covered, in words), totals per plan
    year and overall, and a plain-language line for each kind of charge, in English or
    Spanish (--lang es). JSON is the library's estimate JSON, unchanged; CSV is one row per
    billed line with every amount. With --eligibility, the request starts from the payer's
    response; what it used and every warning go to standard error. REQUEST or the
    --eligibility FILE may be '-' for standard input (a request there is JSON if it starts
    with '{' or '[', else YAML; a clinic file it names is looked for relative to the current
    folder, or to --base-dir).

    JSON lines (--format jsonl), one object per line, money as decimal strings: a "line"
    record per billed line (the estimate JSON's line plus its visit's plan_year, payer_id
    and network); a "plan_year" record per plan year; last, one "totals" record
    (library_version, rules_hash, issued, payer_id, payer_name, network, secondary_payer_id,
    secondary_payer_name, visits, lines, every total, warnings). Every record of a kind has
    the same keys: what the JSON leaves out when empty is null, [] or "0.00" (money); the
    money of the "line" records sums to the "totals" record's.

    \b
    Example:
      ketacost estimate examples/requests/esketamine-commercial.yaml
      ketacost estimate examples/requests/iv-series-self-pay.yaml --format json
      ketacost estimate examples/requests/iv-series-commercial.yaml --lang es
      ketacost estimate - --base-dir examples/requests --format jsonl \
          < examples/requests/iv-series-self-pay.yaml | jq -c 'select(.record=="totals")'
      ketacost estimate examples/requests/esketamine-commercial.yaml \\
          --eligibility examples/eligibility/commercial-ppo-fhir.json
    """
    from ketacost import estimate as estimate_request
    from ketacost._render import estimate_report, render_csv

    if as_json and fmt not in ("table", "json"):
        fail(f"--json is --format json; it cannot go with --format {fmt}")
    one_stdin(REQUEST=request_path, **{"--eligibility": eligibility_path})
    request, library_given = load(request_path, payers_dir)
    payers: Mapping[str, Payer] = library_given
    if eligibility_path is not None:
        request, payers = _with_eligibility(
            request, payers, eligibility_path, use_cost_sharing, member_id
        )
    elif use_cost_sharing or member_id is not None:
        fail("--use-eligibility-cost-sharing and --member need --eligibility FILE")
    result = estimate_request(request, payers=payers)
    if fmt == "json" or as_json:
        click.echo(result.model_dump_json(indent=2))
    elif fmt == "jsonl":
        from ._jsonl import estimate_records

        echo_jsonl(estimate_records(result))
    elif fmt == "csv":
        click.echo(render_csv(result), nl=False)
    else:
        kinds = {y.payer_id: payers[y.payer_id].kind for y in result.plan_years}
        report = estimate_report(result, lang=lang, request=request, kinds=kinds)
        if request.good_faith is not None:
            # A note of the report, so that it wraps to the terminal as the others do.
            notes = (*report.notes, good_faith_due(request, result, lang))
            report = dataclasses.replace(report, notes=notes)
        echo_report(report, fmt)


def good_faith_due(request: EstimateRequest, result: Estimate, lang: str = "en") -> str:
    """When the request's Good Faith Estimate is due, for one issued on the request's date.

    In ``lang`` (the timing sentence is :func:`ketacost.documents.timing_sentence`'s).
    """
    from ketacost._i18n import translator
    from ketacost.documents import gfe_timing, timing_sentence
    from ketacost.documents._common import DocumentError
    from ketacost.documents._gfe import twelve_months_of

    assert request.good_faith is not None
    t = translator(lang, "cli")
    try:
        first, _ = twelve_months_of(request, result)
    except DocumentError:
        return t.gettext("Good Faith Estimate: none is owed (no item is self-paid).")
    issued = request.issued or date.today()
    timing = gfe_timing(request.good_faith, first, issued)
    # None has been issued yet: whether one issued on the request's date would be on time.
    return t.gettext("Good Faith Estimate: {when}").format(
        when=timing_sentence(timing, prospective=True, lang=lang)
    )


def _with_eligibility(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    path: Path,
    use_cost_sharing: bool,
    member_id: str | None,
) -> tuple[EstimateRequest, Mapping[str, Payer]]:
    """The request with an eligibility response applied; what it used, on standard error."""
    from ketacost._errors import EligibilityError
    from ketacost.eligibility import ApplyPolicy, choose_member, read_eligibility

    try:
        snapshots = read_eligibility(read_input(path))
        wanted = member_id
        if wanted is None and len(snapshots) > 1:
            wanted = request.coverage.member_id or request.patient.member_id
        snapshot = choose_member(snapshots, wanted)
    except EligibilityError as exc:  # the response's own problem: say which file it is
        raise click.ClickException(f"--eligibility {name_of(path)}: {exc}") from None
    applied = snapshot.apply(request, payers, policy=ApplyPolicy(use_cost_sharing=use_cost_sharing))
    for use in applied.used:
        if use.amount is not None:
            shown = f" {use.amount:$}"
        elif use.percent is not None:
            shown = f" {english().percent(use.percent)}"
        else:
            shown = ""
        click.echo(f"eligibility: {use.target}{shown} ({use.how}; {use.where()})", err=True)
    for warning in applied.warnings:
        click.echo(f"eligibility warning: {warning}", err=True)
    return applied.request, applied.payers


def _dates(values: tuple[datetime, ...]) -> list[date]:
    return [v.date() for v in values]


@cli.command()
@REQUEST
@click.option(
    "--payer",
    "payer_ids",
    multiple=True,
    metavar="ID",
    shell_complete=complete_payer_ids,
    help="A payer id (repeat).",
)
@click.option(
    "--network", "networks", multiple=True, type=click.Choice(["in", "out"]), help="(repeat)"
)
@click.option(
    "--session",
    "sessions",
    multiple=True,
    metavar="NAME",
    help="A clinic session template replacing every phase's session (repeat).",
)
@click.option(
    "--start",
    "starts",
    multiple=True,
    type=click.DateTime(formats=["%Y-%m-%d"]),
    help="A plan start date, YYYY-MM-DD (repeat).",
)
@click.option(
    "--drug-benefit",
    "drug_benefits",
    multiple=True,
    type=click.Choice(["medical", "pharmacy"]),
    help="The drug billed by the clinic (medical) or a specialty pharmacy (repeat).",
)
@click.option(
    "--secondary",
    "secondaries",
    multiple=True,
    metavar="ID",
    shell_complete=complete_secondary_ids,
    help="A second payer on the coverage, or 'none' for the first payer alone (repeat).",
)
@format_option((*FORMATS, "jsonl"))
@payers_option()
@lang_option()
def compare(
    request_path: Path,
    payer_ids: tuple[str, ...],
    networks: tuple[str, ...],
    sessions: tuple[str, ...],
    starts: tuple[datetime, ...],
    drug_benefits: tuple[str, ...],
    secondaries: tuple[str, ...],
    fmt: str,
    payers_dir: Path | None,
    lang: str,
) -> None:
    """Price one plan several ways, ranked by what the patient pays.

    Every combination of the given payers, networks, sessions, start dates, drug routes and
    second payers is estimated; a dimension not given keeps the request's value. REQUEST may
    be '-' for standard input (a clinic file it names is then looked for relative to the
    current folder, or to --base-dir).

    JSON lines (--format jsonl): an "option" record per variant, cheapest for the patient
    first: library_version, rules_hash, then the comparison JSON's row (rank, label, variant,
    payer_id, payer_name, network, sessions, start, visits, totals, patient_cost,
    self_pay_comparison, secondary_payer_id, secondary_payer_name); money as decimal
    strings. Every record has the same keys: null, [] or "0.00" where the JSON leaves one out.

    \b
    Example:
      ketacost compare examples/requests/esketamine-commercial.yaml \\
          --payer commercial-ppo --payer medicare-part-b --payer self-pay
      ketacost compare examples/requests/esketamine-commercial.yaml --network in --network out
      ketacost compare examples/requests/esketamine-commercial.yaml \\
          --drug-benefit medical --drug-benefit pharmacy
      ketacost compare examples/requests/medicare-medigap.yaml \\
          --secondary none --secondary medigap-plan-g --secondary medigap-plan-n
      ketacost compare - --base-dir examples/requests --payer self-pay --payer hdhp \\
          --format jsonl < examples/requests/iv-series-self-pay.yaml
    """
    if not (payer_ids or networks or sessions or starts or drug_benefits or secondaries):
        fail(
            "give at least one --payer, --network, --session, --start, --drug-benefit or "
            "--secondary to compare"
        )
    from ketacost._render import comparison_report, render_comparison_csv
    from ketacost.compare import NO_SECOND_PAYER
    from ketacost.compare import compare as compare_variants
    from ketacost.compare import variants as make_variants

    request, payers = load(request_path, payers_dir)
    for pid in (*payer_ids, *(s for s in secondaries if s != NO_SECOND_PAYER)):
        payers[pid]  # raises UnknownPayerError, listing the known ids
    result = compare_variants(
        request,
        make_variants(
            payers=payer_ids,
            networks=networks,
            sessions=sessions,
            starts=_dates(starts),
            drug_benefits=drug_benefits,
            secondaries=secondaries,
        ),
        payers,
    )
    if fmt == "json":
        click.echo(result.model_dump_json(indent=2))
    elif fmt == "jsonl":
        from ._jsonl import comparison_records

        echo_jsonl(comparison_records(result))
    elif fmt == "csv":
        click.echo(render_comparison_csv(result), nl=False)
    else:
        kinds = {r.payer_id: payers[r.payer_id].kind for r in result.rows}
        echo_report(comparison_report(result, lang=lang, kinds=kinds), fmt)
