"""Rendering an estimate for a person to read: plain text, Markdown and CSV (no extras).

An estimate is first turned into a :class:`Report` (titled tables, plain-English notes,
warnings and a footer); a report then prints as plain text (:func:`render_plain`) or Markdown
(:func:`render_markdown`), or, in the CLI, as a rich table where ``rich`` is installed. CSV
(:func:`render_csv`) is one row per estimate line with every amount, for a spreadsheet.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ._comparison import Comparison
from ._estimate import Coordination, Estimate, Totals
from ._money import Money

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
    "self_pay_notes",
    "usd",
]


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table of text cells; ``right`` holds the indexes of numeric columns."""

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()


@dataclass(frozen=True, slots=True)
class Report:
    """What a person reads: a title, tables, plain-English notes, warnings and a footer."""

    title: str
    tables: tuple[Table, ...]
    notes: tuple[str, ...] = ()
    warnings: tuple[str, ...] = ()
    footer: str = ""


def usd(m: Money) -> str:
    """``$1,234.50``."""
    return format(m, "$")


def charge_notes(
    t: Totals, payer_name: str, by_payer: Sequence[tuple[str, Totals]] = ()
) -> list[str]:
    """One plain-English sentence per kind of charge with a non-zero total.

    ``by_payer`` (payer name, its totals), when the plan has more than one payer: the
    deductible and what the plan pays are then said for each payer.
    """
    out: list[str] = []
    payers = list(by_payer) if len(by_payer) > 1 else [(payer_name, t)]
    if t.copay:
        out.append(f"{usd(t.copay)} in copays: a fixed amount per visit for a kind of service.")
    for name, part in payers:
        if part.deductible:
            out.append(
                f"{usd(part.deductible)} goes to your {name} deductible: what you pay before "
                "the plan starts to share the cost."
            )
    if t.coinsurance:
        out.append(f"{usd(t.coinsurance)} in coinsurance: your percentage of the allowed amount.")
    if t.balance_bill:
        out.append(
            f"{usd(t.balance_bill)} balance billed: the clinic's charge above what the plan "
            "allows (out of network, or up to Medicare's limiting charge when the clinic does "
            "not take assignment); it does not count toward your deductible or maximum."
        )
    if t.non_covered:
        out.append(
            f"{usd(t.non_covered)} not covered (or self-pay): you pay the clinic's self-pay "
            "price for those items; it does not count toward your deductible or maximum."
        )
    if t.assistance:
        out.append(
            f"{usd(t.assistance)} is paid by the manufacturer's savings program toward your "
            f"share, so you pay {usd(t.patient_net)}."
        )
    if t.reimbursement:
        out.append(
            f"{usd(t.reimbursement)} is paid back to you by {payer_name} (on a superbill you "
            "send, or by Medicare on a claim the clinic files without taking assignment); what "
            "you pay is net of it."
        )
    for name, part in payers:
        if part.payer and part.payer != part.reimbursement:
            out.append(f"{usd(part.payer - part.reimbursement)} is paid by {name} to the clinic.")
    return out + _write_off_notes(t)


def _write_off_notes(t: Totals) -> list[str]:
    """What the clinic does not collect: the contractual write-off and the self-pay discount."""
    out: list[str] = []
    contractual = t.write_off - t.self_pay_discount
    if contractual:
        out.append(
            f"{usd(contractual)} is written off by the clinic: the part of its charge above "
            "what the plan allows, and what a payer's payment cut or a second payer's rules "
            "leave unpaid; nobody bills you for it."
        )
    if t.self_pay_discount:
        out.append(
            f"{usd(t.self_pay_discount)} is the clinic's self-pay discount: its charge above "
            "its self-pay price on the items the plan does not cover."
        )
    return out


def self_pay_notes(estimate: Estimate) -> list[str]:
    """Paying cash instead, and the items billed as self-pay (a Good Faith Estimate is owed)."""
    out: list[str] = []
    if estimate.self_pay_comparison is not None:
        out.append(estimate.self_pay_comparison.note)
    insured = [i for i in estimate.self_pay_items if i.billed_as == "not covered"]
    if insured:
        listed = "; ".join(
            f"{i.description} ({i.code}), {i.lines} time{'s' * (i.lines != 1)}, {usd(i.price)}"
            for i in insured
        )
        plan = (
            "neither plan covers them" if estimate.coordination else "the plan does not cover them"
        )
        out.append(
            f"Billed at the clinic's self-pay prices because {plan}: "
            f"{listed}. Ask the clinic for a Good Faith Estimate of these items: one is owed "
            "for care a plan does not cover (45 CFR 149.610)."
        )
    return out


def _visit_rows(estimate: Estimate, second: bool) -> tuple[tuple[str, ...], ...]:
    """A row per visit; ``second``: with the second payer's column after the plan's."""
    rows: list[tuple[str, ...]] = []
    for v in estimate.visits:
        t = v.totals
        codes = " ".join(ln.code + (f"×{ln.units}" if ln.units > 1 else "") for ln in v.lines)
        covered = all(ln.covered for ln in v.lines)
        partly = any(ln.covered for ln in v.lines)
        status = "covered" if covered else ("partly" if partly else "not covered")
        rows.append(
            (
                str(v.number),
                v.date.isoformat(),
                v.phase,
                codes,
                usd(t.charge),
                status,
                usd(t.patient_net),
                usd(t.payer),
                *((usd(t.secondary),) if second else ()),
            )
        )
    return tuple(rows)


def by_payer(estimate: Estimate) -> list[tuple[str, Totals]]:
    """(payer name, its totals) for each payer of the plan, in the order they first pay."""
    rows: dict[str, list[Totals]] = {}
    for year in estimate.plan_years:
        rows.setdefault(year.payer_name, []).append(year.totals)
    return [(name, sum_totals(found)) for name, found in rows.items()]


def sum_totals(found: Sequence[Totals]) -> Totals:
    """Field by field sums of totals."""
    return Totals(**{f: sum((getattr(t, f) for t in found), Money(0)) for f in Totals.model_fields})


def _year_row(
    label: str, payer: str | None, visits: int, t: Totals, second: bool = False
) -> tuple[str, ...]:
    """A plan-year row; the payer's column only when the plan has more than one payer.

    ``second``: the second payer's column after the plan's.
    """
    return (
        label,
        *((payer,) if payer is not None else ()),
        str(visits),
        usd(t.charge),
        usd(t.deductible),
        usd(t.copay + t.coinsurance),
        usd(t.non_covered + t.balance_bill),
        usd(t.assistance),
        usd(t.patient_net),
        usd(t.payer),
        *((usd(t.secondary),) if second else ()),
    )


def range_notes(estimate: Estimate) -> list[str]:
    """The low/expected/high range of what the patient pays, and the input driving each."""
    r = estimate.range
    if r is None:
        return []
    out = [
        f"Some inputs are not known yet, so you may pay from {usd(r.low)} to {usd(r.high)}; "
        f"{usd(r.expected)} is expected."
    ]
    for d in r.drivers:
        out.append(
            f"{d.description}: {usd(d.low)} if {d.low_value}, {usd(d.high)} if {d.high_value}."
        )
    return out


def assistance_notes(estimate: Estimate) -> list[str]:
    """Where a savings program's annual maximum runs out, per calendar year."""
    out: list[str] = []
    for a in estimate.assistance:
        text = f"{a.program_name}, {a.year}: {usd(a.used)} of {usd(a.annual_max)} used"
        if a.exhausted_visit is not None and a.exhausted_on is not None:
            text += (
                f"; the annual maximum runs out at visit {a.exhausted_visit} "
                f"({a.exhausted_on.isoformat()}), after which you pay your full share"
            )
        out.append(text + ".")
    return out


#: What each way of paying second means for the patient, in words (ketacost._secondary).
_METHOD_WORDS = {
    "supplement": "as a Medicare supplement: it pays its part of the cost sharing on what "
    "Medicare approved, and nothing on items Medicare does not cover",
    "medicare_crossover": "on what Medicare approved: it pays the Medicare cost sharing (up to "
    "its own rate, the rest written off), and pays alone for items only it covers",
    "tricare_for_life": "as TRICARE For Life: it pays the Medicare cost sharing on items both "
    "cover, and pays first, with its own cost sharing, on items only TRICARE covers",
    "standard": "by standard coordination of benefits: up to what it would pay as the only "
    "plan, never more than what is left to you",
    "non_duplication": "by non-duplication: its own benefit less what the first payer paid",
    "medicare_secondary_payer": "as Medicare Secondary Payer: the least of what it would pay "
    "as the only payer, its approved amount less the first plan's payment, and what is left "
    "to you",
    "last_resort": "as the payer of last resort: on items it covers you owe at most its copay, "
    "and the clinic accepts its payment in full",
}


def _second_names(estimate: Estimate) -> dict[str, str]:
    """Second payer id -> name, in the order the coverages name them."""
    return {c.secondary_payer_id: c.secondary_payer_name for c in estimate.coordination}


def _primary_name(estimate: Estimate, c: Coordination) -> str:
    for y in estimate.plan_years:
        if y.payer_id == c.primary_payer_id:
            return y.payer_name
    return c.primary_payer_id


def secondary_notes(estimate: Estimate) -> list[str]:
    """What each second payer pays and how; the Qualified Medicare Beneficiary's protection.

    Empty for an estimate without a second payer.
    """
    out: list[str] = []
    paid: dict[str, Money] = {}
    for y in estimate.plan_years:
        if y.secondary_payer_id is not None:
            paid[y.secondary_payer_id] = (
                paid.get(y.secondary_payer_id, Money(0)) + y.totals.secondary
            )
    told: set[tuple[str, str]] = set()
    for c in estimate.coordination:
        key = (c.primary_payer_id, c.secondary_payer_id)
        if key in told:
            continue
        told.add(key)
        first = _primary_name(estimate, c)
        how = _METHOD_WORDS.get(c.method, c.method)
        amount = paid.get(c.secondary_payer_id, Money(0))
        out.append(
            f"{usd(amount)} is paid by {c.secondary_payer_name}, the second payer, after "
            f"{first}, {how}."
        )
        if c.order_source is not None:
            out.append(f"{first} pays first: {c.order_rule} ({c.order_source}).")
    if any(c.balance_billing_prohibited for c in estimate.coordination):
        out.append(
            "As a Qualified Medicare Beneficiary you owe nothing for items Medicare covers: the "
            "clinic may not bill you Medicare's deductible, coinsurance or copays (SSA "
            "§1902(n)(3)(B)); Medicaid pays them, or the clinic writes them off."
        )
    return out


def _payers_title(estimate: Estimate) -> str:
    """The payer, or the payers in the order they pay (``A, then B``), and any second payer."""
    names = list(dict.fromkeys(y.payer_name for y in estimate.plan_years))
    title = ", then ".join(names) if len(names) > 1 else estimate.payer_name
    seconds = list(_second_names(estimate).values())
    return title + "".join(f" + {name}" for name in seconds)


def _second_header(estimate: Estimate) -> str:
    """The second payer's column: ``Medigap Plan G pays`` (``Second payer pays`` for several)."""
    names = set(_second_names(estimate).values())
    return f"{names.pop()} pays" if len(names) == 1 else "Second payer pays"


def estimate_report(estimate: Estimate) -> Report:
    """The estimate as a report: visits, plan years and totals, and what each charge is.

    With a second payer (coordination of benefits), both tables gain its column after the
    plan's, and the notes say what it paid and how.
    """
    second = bool(estimate.coordination)
    extra = (_second_header(estimate),) if second else ()
    visit_headers = ("#", "Date", "Phase", "Codes", "Charge", "Coverage", "You pay", "Plan pays",
                     *extra)  # fmt: skip
    visits = Table(
        "Visits",
        visit_headers,
        _visit_rows(estimate, second),
        frozenset({0, 4, 6, 7, *((8,) if second else ())}),
    )
    several = len({y.payer_id for y in estimate.plan_years}) > 1
    names = _second_names(estimate)

    def payer_cell(name: str, second_id: str | None) -> str:
        return name if second_id is None else f"{name} + {names.get(second_id, second_id)}"

    year_rows = [
        _year_row(
            f"{y.start.isoformat()} to {y.end.isoformat()}",
            payer_cell(y.payer_name, y.secondary_payer_id) if several else None,
            y.visits,
            y.totals,
            second,
        )
        for y in estimate.plan_years
    ]
    year_rows.append(
        _year_row(
            "All plan years",
            "" if several else None,
            len(estimate.visits),
            estimate.totals,
            second,
        )
    )
    headers = ("Plan year", *(("Payer",) if several else ()), "Visits", "Charge",
               "Deductible", "Copay+coins.", "Not covered+balance", "Savings", "You pay",
               "Plan pays", *extra)  # fmt: skip
    first_number = 2 if several else 1
    years = Table(
        "Plan years", headers, tuple(year_rows), frozenset(range(first_number, len(headers)))
    )
    issued = estimate.issued.isoformat() if estimate.issued else "undated"
    footer = (
        f"This is an estimate ({issued}), not a bill or a guarantee of coverage. "
        f"ketacost {estimate.library_version}, rules {estimate.rules_hash[:12]}."
    )
    return Report(
        title=f"Estimate: {_payers_title(estimate)} ({estimate.network} network)",
        tables=(visits, years),
        notes=(
            *charge_notes(estimate.totals, estimate.payer_name, by_payer(estimate)),
            *secondary_notes(estimate),
            *self_pay_notes(estimate),
            *assistance_notes(estimate),
            *range_notes(estimate),
        ),
        warnings=estimate.warnings,
        footer=footer,
    )


def _plain_table(t: Table) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in t.rows)) if t.rows else len(h)
        for i, h in enumerate(t.headers)
    ]

    def fmt(cells: Sequence[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in t.right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [fmt(t.headers), rule, *(fmt(r) for r in t.rows)]


def render_plain(report: Report) -> str:
    """A report as plain text, columns aligned with spaces."""
    out = [report.title, "=" * len(report.title), ""]
    for table in report.tables:
        out += [table.title, *_plain_table(table), ""]
    out += [f"- {line}" for line in report.notes]
    out += [f"! {w}" for w in report.warnings]
    if report.footer:
        out += ["", report.footer]
    return "\n".join(out) + "\n"


def _md_cell(text: str) -> str:
    return text.replace("|", "\\|")


def render_markdown(report: Report) -> str:
    """A report as GitHub-flavoured Markdown (tables, a bullet list, a closing paragraph)."""
    out = [f"# {report.title}", ""]
    for table in report.tables:
        out += [f"## {table.title}", ""]
        out.append("| " + " | ".join(_md_cell(h) for h in table.headers) + " |")
        out.append(
            "|"
            + "|".join("---:" if i in table.right else "---" for i in range(len(table.headers)))
            + "|"
        )
        out += ["| " + " | ".join(_md_cell(c) for c in row) + " |" for row in table.rows]
        out.append("")
    out += [f"- {line}" for line in report.notes]
    out += [f"- **Warning:** {w}" for w in report.warnings]
    if report.footer:
        out += ["", f"_{report.footer}_"]
    return "\n".join(out) + "\n"


#: Columns of :func:`render_csv`, one row per estimate line: where and what, then every
#: amount (the money fields of :class:`~ketacost.Totals`, in their order).
CSV_COLUMNS = (
    "visit",
    "date",
    "phase",
    "session",
    "code",
    "units",
    "modifiers",
    "covered",
    "rule",
    "reason",
    *Totals.model_fields,
)


def csv_text(header: Sequence[str], rows: Iterable[Sequence[str]]) -> str:
    r"""CSV text (RFC 4180, ``\r\n`` line ends) with a header row."""
    buf = io.StringIO()
    writer = csv.writer(buf)
    writer.writerow(header)
    writer.writerows(rows)
    return buf.getvalue()


def render_csv(estimate: Estimate) -> str:
    """Every line of the estimate as CSV: where it is, the rule, and every amount."""
    rows = (
        (
            str(ln.visit),
            ln.date.isoformat(),
            ln.phase,
            ln.session,
            ln.code,
            str(ln.units),
            " ".join(ln.modifiers),
            "yes" if ln.covered else "no",
            ln.rule,
            ln.reason or "",
            *(str(getattr(ln, name)) for name in CSV_COLUMNS[10:]),
        )
        for ln in estimate.lines()
    )
    return csv_text(CSV_COLUMNS, rows)


def render_table(estimate: Estimate) -> str:
    """The estimate as a readable plain-text table: visits, then plan years and totals."""
    return render_plain(estimate_report(estimate))


def comparison_report(comparison: Comparison) -> Report:
    """A comparison as one table, cheapest for the patient first.

    When a row has a second payer (or a variant sets one), the table gains the second payer
    and what it pays, after the plan's column.
    """
    second = any(
        r.secondary_payer_id is not None or r.variant.secondary is not None for r in comparison.rows
    )
    rows = tuple(
        (
            str(r.rank),
            r.label,
            r.payer_name,
            *((r.secondary_payer_name or "none",) if second else ()),
            r.network,
            ", ".join(r.sessions),
            r.start.isoformat(),
            str(r.visits),
            usd(r.totals.charge),
            usd(r.totals.payer),
            *((usd(r.totals.secondary),) if second else ()),
            usd(r.totals.non_covered + r.totals.balance_bill),
            usd(r.totals.assistance),
            usd(r.patient_cost),
        )
        for r in comparison.rows
    )
    headers = ("Rank", "Option", "Payer", *(("Second payer",) if second else ()), "Network",
               "Sessions", "Start", "Visits", "Charge", "Plan pays",
               *(("Second payer pays",) if second else ()), "Not covered+balance", "Savings",
               "You pay")  # fmt: skip
    first_amount = headers.index("Visits")
    table = Table(
        "Ranked by what the patient pays",
        headers,
        rows,
        frozenset({0, *range(first_amount, len(headers))}),
    )
    best, worst = comparison.rows[0], comparison.rows[-1]
    notes = [f"Cheapest for the patient: {best.label}, {usd(best.patient_cost)} in all."]
    if len(comparison.rows) > 1:
        notes.append(
            f"Most expensive: {worst.label}, {usd(worst.patient_cost - best.patient_cost)} more."
        )
    for r in comparison.rows:
        cash = r.self_pay_comparison
        if cash is not None:
            notes.append(
                f"{r.label}: paying the clinic's self-pay prices instead would cost "
                f"{usd(cash.self_pay)}, {usd(cash.saving)} less than through the plan."
            )
    return Report(
        title="Comparison",
        tables=(table,),
        notes=tuple(notes),
        footer=(
            "Estimates, not bills or guarantees of coverage. "
            f"ketacost {comparison.library_version}."
        ),
    )


#: Columns of :func:`render_comparison_csv`, one row per variant.
COMPARISON_COLUMNS = (
    "rank",
    "option",
    "payer_id",
    "payer_name",
    "network",
    "sessions",
    "start",
    "visits",
    *Totals.model_fields,
    "patient_cost",
)


def render_comparison_csv(comparison: Comparison) -> str:
    """A comparison as CSV: one row per variant, every total.

    When a row has a second payer, a ``secondary_payer_id`` column follows ``payer_name``
    (its amount is the ``secondary`` total); without one the columns are
    :data:`COMPARISON_COLUMNS`.
    """
    second = any(r.secondary_payer_id is not None for r in comparison.rows)
    at = COMPARISON_COLUMNS.index("payer_name") + 1
    header = (
        (*COMPARISON_COLUMNS[:at], "secondary_payer_id", *COMPARISON_COLUMNS[at:])
        if second
        else COMPARISON_COLUMNS
    )
    rows = (
        (
            str(r.rank),
            r.label,
            r.payer_id,
            r.payer_name,
            *((r.secondary_payer_id or "",) if second else ()),
            r.network,
            " ".join(r.sessions),
            r.start.isoformat(),
            str(r.visits),
            *(str(getattr(r.totals, name)) for name in Totals.model_fields),
            str(r.patient_cost),
        )
        for r in comparison.rows
    )
    return csv_text(header, rows)
