"""``ketacost payers list | show ID | check [DIR]``: browse and validate payer files."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from ._app import EXIT_PROBLEMS, EXIT_USER_ERROR, cli, fail
from ._complete import complete_payer_ids
from ._estimate import library
from ._output import echo_report, english, format_option, payers_option
from ._streams import StdioPath, echo_jsonl, is_stdio

if TYPE_CHECKING:
    from ketacost._dated import Dated
    from ketacost._payer import Payer
    from ketacost._render import Report, Table

__all__ = ["payers"]


def _dated(value: Dated[Any], shown: Callable[[Any], str] = str) -> str:
    """A dated value: ``$1,500.00``, or ``$1,500.00 from 2026-01-01; $1,650.00 from ...``."""
    if value.plain:
        return shown(value.values[0])
    return "; ".join(f"{shown(v)} from {d.isoformat()}" for d, v in value.steps)


def _usd(value: Any) -> str:
    """Money with its dollar sign (``$1,500.00``)."""
    return format(value, "$")


def _percent(rate: Any) -> str:
    """A rate as a percentage (``0.2`` -> ``20%``, ``1.4`` -> ``140%``), exact."""
    from ketacost._i18n import translator

    return translator("en", "cli").percent(rate)


@cli.group()
def payers() -> None:
    """Browse and check the payer files.

    \b
    Examples:
      ketacost payers list
      ketacost payers show medicare-part-b
      ketacost payers check payers/ --max-age-days 365
    """


@payers.command("list")
@format_option(("table", "json", "jsonl", "markdown"))
@payers_option()
def list_payers(fmt: str, payers_dir: Path | None) -> None:
    """List the payers: id, name, kind, networks and when each was last reviewed.

    JSON lines (--format jsonl): a "payer" record per payer, by id: record, id, name, kind,
    networks, last_reviewed, illustrative.

    \b
    Example:
      ketacost payers list --payers my-payers/
      ketacost payers list --format jsonl | jq -r 'select(.kind=="medicare") | .id'
    """
    from ketacost._render import Report, Table

    from ._jsonl import payer_records, payer_summary

    lib = library(payers_dir)
    if fmt == "json":
        import json

        click.echo(json.dumps([payer_summary(p) for p in lib.values()], indent=2))
        return
    if fmt == "jsonl":
        echo_jsonl(payer_records(lib))
        return
    rows = tuple(
        (
            p.id,
            p.name,
            p.kind,
            ", ".join(sorted(p.networks)) or "none",
            p.metadata.last_reviewed.isoformat(),
            "yes" if p.metadata.illustrative else "no",
        )
        for p in lib.values()
    )
    table = Table(
        "Payers", ("ID", "Name", "Kind", "Networks", "Last reviewed", "Illustrative"), rows
    )
    where = f"{lib.directory} ({lib.source})" if lib.directory else "memory"
    title = english().ngettext("{n} payer", "{n} payers", len(rows)).format(n=len(rows))
    echo_report(Report(title, (table,), footer=f"From {where}."), fmt)


def _allowed(basis: Any) -> str:
    from ketacost._payer import FeeSchedule, MedicareFeeSchedule, PercentOfCharge, PercentOfPayer

    if isinstance(basis, FeeSchedule):
        n = len(basis.rates)
        return (
            english().ngettext("fee schedule ({n} code)", "fee schedule ({n} codes)", n).format(n=n)
        )
    if isinstance(basis, MedicareFeeSchedule):
        n = len(basis.rates)
        extra = (
            english().ngettext(" + {n} code of its own", " + {n} codes of its own", n).format(n=n)
            if n
            else ""
        )
        return f"physician fee schedule {_dated(basis.schedule)} at the clinic's locality{extra}"
    if isinstance(basis, PercentOfPayer):
        return f"{_dated(basis.percent, _percent)} of the {basis.payer} fee schedule"
    if isinstance(basis, PercentOfCharge):
        return f"{_dated(basis.percent, _percent)} of the charge"
    return str(basis)


#: What a payer without networks is, said where its tables would be.
_NO_NETWORKS = {
    "self-pay": "Self-pay: no plan is billed; the patient pays the clinic's self-pay prices "
    "(a Good Faith Estimate is owed).",
    "medigap": "Pays only as a second payer, after Original Medicare (see 'As a second "
    "payer'): never billed first, and nothing on an item Medicare does not cover; no "
    "networks, coverage rules or cost sharing of its own.",
}
#: The parts of Original Medicare's cost share a supplement may pay, in words.
_SUPPLEMENT_PARTS = {
    "deductible": "the Part B deductible",
    "coinsurance": "the Part B coinsurance",
    "excess": "excess charges (a non-participating clinic's charge above Medicare's amount)",
}
#: The parts a supplement may leave to the patient, in words (what it does not pay).
_LEFT_TO_THE_PATIENT = {
    "deductible": "the Part B deductible",
    "excess": "excess charges",
}
#: How a second payer pays, in words (``SecondaryBenefit.method``): (name, what it pays).
_METHODS = {
    "supplement": ("Medigap supplement", ""),
    "medicare_crossover": ("Medicaid after Medicare (crossover)", ""),
    "tricare_for_life": (
        "TRICARE For Life",
        "the patient's Medicare cost share on an item Medicare covers; as first payer on an "
        "item Medicare does not cover",
    ),
    "standard": (
        "standard",
        "the lesser of its own benefit (as if it paid first) and what the patient still owes",
    ),
    "non_duplication": ("non-duplication", "its own benefit minus what the first payer paid"),
    "medicare_secondary_payer": (
        "Medicare as second payer (42 CFR 411.33(a))",
        "after a group health plan that pays first (the patient or spouse still works for an "
        "employer of 20 or more)",
    ),
    "last_resort": ("payer of last resort", ""),
}


def _as_second_payer(p: Payer) -> Table:
    """How the payer pays after a first payer of each kind (its ``as_secondary``)."""
    from ketacost._render import Table

    rows = []
    for benefit in p.as_secondary:
        name, pays_words = _METHODS.get(benefit.method, (benefit.method, ""))
        pays = [pays_words] if pays_words else []
        if benefit.pays:
            parts = ", ".join(_SUPPLEMENT_PARTS[part] for part in benefit.pays)
            pays.append(f"pays {parts}")
            left = [w for k, w in _LEFT_TO_THE_PATIENT.items() if k not in benefit.pays]
            if left:
                pays.append(f"the patient still owes {' and '.join(left)}")
        if benefit.office_visit_copay is not None:
            copay = benefit.office_visit_copay
            pays.append(
                f"the patient pays up to {_usd(copay.amount)} of the coinsurance per office "
                f"visit ({' '.join(copay.codes)})"
            )
        if benefit.method in ("medicare_crossover", "last_resort"):
            pays.append(
                "the lesser of the patient's cost share and its own rate minus the first "
                "payer's payment (never below $0), the whole cost share on a code it has no "
                "rate for; the clinic writes off the rest (42 CFR 447.15)"
                if benefit.payment == "lesser_of"
                else "the patient's whole cost share after the first payer"
            )
        if benefit.sold_to_eligible_before is not None:
            pays.append(
                "(sold only to people eligible for Medicare before "
                f"{benefit.sold_to_eligible_before.isoformat()})"
            )
        rows.append((", ".join(benefit.after), name, "; ".join(pays), benefit.source))
    return Table(
        "As a second payer", ("After (first payer's kind)", "Method", "Pays", "Source"), tuple(rows)
    )


def payer_report(p: Payer) -> Report:
    """A payer's networks, cost sharing, coverage rules and limits, as tables.

    Cost sharing is per network and category of service: the copay, the coinsurance, whether
    the deductible applies first, and the coverage rules whose lines fall in the category.
    """
    from ketacost._payer import CoveredRule
    from ketacost._render import Report, Table

    nets = tuple(
        (
            name,
            _dated(n.deductible.individual, _usd),
            _dated(n.deductible.family, _usd) if n.deductible.family else "",
            _dated(n.out_of_pocket_max.individual, _usd) if n.out_of_pocket_max else "no cap",
            _allowed(n.allowed),
            "yes" if n.balance_billing else "no",
            f"one per {n.copay_scope}",
        )
        for name, n in sorted(p.networks.items())
    )
    shares = []
    for name, n in sorted(p.networks.items()):
        for category, share in sorted(n.cost_sharing.items()):
            rule_ids = [
                r.id or " ".join(r.codes)
                for r in p.coverage
                if isinstance(r, CoveredRule) and r.category == category
            ]
            if not share.deductible_applies:
                deductible = "does not apply"
            elif share.copay_after_deductible:
                deductible = "applies first, then the copay"
            else:
                deductible = "applies first"
            shares.append(
                (
                    name,
                    category,
                    _dated(share.copay, _usd),
                    _dated(share.coinsurance, _percent),
                    deductible,
                    ", ".join(rule_ids),
                )
            )
    rules = []
    for r in p.coverage:
        if isinstance(r, CoveredRule):
            c = r.conditions
            en = english()
            trials, diagnoses = c.min_failed_trials, len(c.diagnoses)
            needs = [
                "prior authorization" if c.prior_authorization else "",
                en.ngettext("{n} failed trial", "{n} failed trials", trials).format(n=trials)
                if trials
                else "",
                f"age {c.min_age}+" if c.min_age is not None else "",
                en.ngettext("{n} diagnosis", "{n} diagnoses", diagnoses).format(n=diagnoses)
                if diagnoses
                else "",
            ]
            decides = f"covered ({r.category})"
            detail = ", ".join(n for n in needs if n)
        else:
            decides, detail = "excluded", r.reason
        when = ""
        if r.effective_from or r.effective_until:
            start = r.effective_from.isoformat() if r.effective_from else "…"
            end = r.effective_until.isoformat() if r.effective_until else "…"
            when = f"{start} to {end}"
        rules.append((r.id or "", " ".join(r.codes), decides, detail, when))
    tables = [
        table
        for table in (
            Table(
                "Networks",
                (
                    "Network",
                    "Deductible",
                    "Family ded.",
                    "Out-of-pocket max",
                    "Allowed",
                    "Balance bill",
                    "Copays",
                ),
                nets,
            ),
            Table(
                "Cost sharing",
                ("Network", "Category", "Copay", "Coinsurance", "Deductible", "Rules"),
                tuple(shares),
            ),
            Table(
                "Coverage rules", ("Rule", "Codes", "Decision", "Conditions", "Dates"), tuple(rules)
            ),
            _as_second_payer(p),
        )
        if table.rows  # a payer without networks (self-pay, Medigap) shows no empty table
    ]
    if p.limits:
        tables.append(
            Table(
                "Session limits",
                ("Limit", "Codes", "Sessions per plan year", "Networks"),
                tuple(
                    (k, " ".join(v.codes), _dated(v.sessions_per_plan_year), "all")
                    for k, v in sorted(p.limits.items())
                ),
            )
        )
    m = p.metadata
    notes = [f"Last reviewed {m.last_reviewed.isoformat()}."]
    if not p.networks:
        notes.insert(
            0, _NO_NETWORKS.get(p.kind, "No networks: this payer has no benefits of its own.")
        )
    if m.illustrative:
        notes.append("Illustrative: figures stand for a typical plan, not a real one.")
    if m.notes:
        notes.append(m.notes)
    notes += [f"Source: {ref.title} <{ref.href}>" for ref in m.reference]
    return Report(f"{p.name} ({p.id}, {p.kind})", tuple(tables), tuple(notes))


@payers.command("show")
@click.argument("payer_id", metavar="ID", shell_complete=complete_payer_ids)
@format_option(("table", "json", "markdown"))
@payers_option()
def show_payer(payer_id: str, fmt: str, payers_dir: Path | None) -> None:
    """Show one payer: networks, coverage rules, limits and sources.

    \b
    Example:
      ketacost payers show commercial-ppo
      ketacost payers show medicare-part-b --format json
    """
    payer = library(payers_dir)[payer_id]
    if fmt == "json":
        click.echo(payer.model_dump_json(indent=2))
    else:
        echo_report(payer_report(payer), fmt)


def _loadable(directory: Path) -> dict[str, Payer]:
    """Every payer file of a folder that loads on its own (the others are reported already)."""
    from ketacost._errors import PayerFileError
    from ketacost._loader import load_payer

    found: dict[str, Payer] = {}
    for path in sorted(directory.glob("*.yaml")):
        try:
            payer = load_payer(path)
        except PayerFileError:
            continue
        found[payer.id] = payer
    return found


@payers.command("check")
@click.argument(
    "directory",
    required=False,
    type=StdioPath(file_okay=False),
    default=None,
)
@click.option(
    "--max-age-days",
    type=click.IntRange(min=0),
    default=365,
    show_default=True,
    help="Report payers whose last_reviewed date is older than this.",
)
@click.option(
    "--today",
    type=click.DateTime(formats=["%Y-%m-%d"]),
    default=None,
    help="The date to measure age from (default: today).",
)
@click.option(
    "--payers",
    "payers_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=None,
    help="With '-': the payer folder whose payers and fee schedules the file on standard "
    "input may name (default: $KETACOST_PAYERS, then the bundled ones).",
)
def check(
    directory: Path | None, max_age_days: int, today: datetime | None, payers_dir: Path | None
) -> int:
    """Check every payer file: every error with file:line:column, and stale review dates.

    Exit code 2 when any file has an error, 1 when files are only stale, 0 when all is well.
    With '-', one payer file is read from standard input (its errors name <stdin>; the
    file-name-is-id rule does not apply); the payers and fee schedules it names must be in
    the library of --payers (default: $KETACOST_PAYERS, then the bundled payers).

    \b
    Example:
      ketacost payers check payers/ --max-age-days 180
      ketacost payers check - < payers/commercial-ppo.yaml
    """
    from ketacost._library import check_payers, stale_payers
    from ketacost._paths import resolve_payer_dir

    on = today.date() if today else date.today()
    if payers_dir is not None and not is_stdio(directory):
        fail("--payers names the library for 'payers check -'; give the folder as DIRECTORY")
    if is_stdio(directory):
        issues, found = _check_stdin(payers_dir)
        where, checked = "<stdin>", "the payer file on standard input"
    else:
        path, _ = resolve_payer_dir(directory)
        issues, found = check_payers(path), _loadable(path)
        where = str(path)
        files = len(list(path.glob("*.yaml")))
        checked = (
            english()
            .ngettext("{n} payer file in {path}", "{n} payer files in {path}", files)
            .format(n=files, path=path)
        )
    for issue in issues:
        click.echo(f"{issue}")
    stale = stale_payers(found, today=on, max_age_days=max_age_days)
    for pid, reviewed, age in stale:
        shown = where if is_stdio(directory) else f"{Path(where) / (pid + '.yaml')}"
        old = english().ngettext("{n} day old", "{n} days old", age).format(n=age)
        click.echo(
            f"{shown}: metadata.last_reviewed: {reviewed.isoformat()} is "
            f"{old} (more than {max_age_days}); review the payer's sources"
        )
    errors = english().ngettext("{n} error", "{n} errors", len(issues)).format(n=len(issues))
    click.echo(f"{checked}: {errors}, {len(stale)} stale", err=True)
    if issues:
        return EXIT_USER_ERROR
    return EXIT_PROBLEMS if stale else 0


def _check_stdin(payers_dir: Path | None) -> tuple[list[Any], dict[str, Payer]]:
    """The issues of the payer file on standard input, and the payer when it loads.

    Its references (``percent_of_payer``, ``medicare_fee_schedule``) are checked as a
    folder scan checks them, against the library (``--payers``, else the default one).
    """
    from ketacost._errors import PayerFileError
    from ketacost._fee_schedule_files import schedule_reference_issues
    from ketacost._library import _reference_issues
    from ketacost._loader import parse_document, payer_from_bytes
    from ketacost._source import SourceMap

    from ._streams import STDIN_NAME, read_stdin, sniffed

    raw = read_stdin()
    try:
        payer = payer_from_bytes(raw, name=STDIN_NAME, syntax=sniffed(raw))
    except PayerFileError as exc:
        return list(exc.issues), {}
    # Parsed again for the positions of its references; it parsed once, so it does again.
    _, source = parse_document(raw, STDIN_NAME, PayerFileError, syntax=sniffed(raw))
    lib = library(payers_dir)
    payers = {**{pid: lib[pid] for pid in lib}, payer.id: payer}
    sources = {pid: SourceMap.empty(pid) for pid in payers} | {payer.id: source}
    issues = _reference_issues(payers, sources)
    issues += schedule_reference_issues(payers, sources, lib.fee_schedules)
    return [i for i in issues if i.path == STDIN_NAME], {payer.id: payer}
