"""Rendering an estimate for a person to read: plain text, Markdown and CSV (no extras).

An estimate is first turned into a :class:`Report` (titled tables, plain-English notes,
warnings and a footer); a report then prints as plain text (:func:`render_plain`) or Markdown
(:func:`render_markdown`), or, in the CLI, as a rich table where ``rich`` is installed. CSV
(:func:`render_csv`) is one row per estimate line with every amount, for a spreadsheet.
"""

from __future__ import annotations

import csv
import io
import textwrap
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta

from ._comparison import NO_SECOND_PAYER, Comparison, ComparisonRow
from ._errors import KetacostError
from ._estimate import Coordination, Estimate, RangeDriver, SelfPayItem, Totals
from ._i18n import N_, Translator, translator
from ._money import Money
from ._plain import describe, not_covered_reason, phase_name
from ._request import EstimateRequest

__all__ = [
    "COMPARISON_COLUMNS",
    "CSV_COLUMNS",
    "Report",
    "Table",
    "assistance_notes",
    "charge_notes",
    "comparison_report",
    "csv_text",
    "day",
    "estimate_report",
    "fit_widths",
    "is_self_pay",
    "range_notes",
    "render_comparison_csv",
    "render_csv",
    "render_markdown",
    "render_plain",
    "render_table",
    "secondary_notes",
    "self_pay_notes",
    "stacked_row",
    "usd",
]


@dataclass(frozen=True, slots=True)
class Table:
    """A titled table of text cells; ``right`` holds the indexes of numeric columns.

    ``total_last``: the last row is a total (drawn bold where the output can).
    """

    title: str
    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    right: frozenset[int] = frozenset()
    total_last: bool = False


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


def _t(lang: str) -> Translator:
    return translator(lang, "cli")


def day(d: date, lang: str = "en") -> str:
    """A date in a table: ``Jan 5, 2026`` / ``5 ene 2026`` (never mistaken for another day)."""
    return _t(lang).date(d, "medium")


def is_self_pay(estimate: Estimate) -> bool:
    """Whether no insurance is billed at all: every line is paid to the clinic as self-pay."""
    lines = list(estimate.lines())
    return bool(lines) and all(ln.reason == SELF_PAY for ln in lines)


#: The engine's reason on a line a self-pay patient pays the clinic for (ketacost._engine).
SELF_PAY = "self-pay"


def charge_notes(
    t: Totals,
    payer_name: str,
    by_payer: Sequence[tuple[str, Totals]] = (),
    *,
    lang: str = "en",
    self_pay: bool = False,
) -> list[str]:
    """One plain-language sentence per kind of charge with a non-zero total.

    ``by_payer`` (payer name, its totals), when the plan has more than one payer: the
    deductible and what the plan pays are then said for each payer. ``self_pay``: no
    insurance is billed (the self-pay total is then said as such, not as "not covered").
    """
    tr = _t(lang)
    out: list[str] = []
    payers = list(by_payer) if len(by_payer) > 1 else [(payer_name, t)]
    if t.copay:
        out.append(
            tr.gettext("{amount} in copays: a fixed amount per visit for a kind of service.")
            .format(amount=usd(t.copay))
        )  # fmt: skip
    for name, part in payers:
        if part.deductible:
            out.append(
                tr.gettext(
                    "{amount} goes to your {payer} deductible: what you pay before the plan "
                    "starts to share the cost."
                ).format(amount=usd(part.deductible), payer=name)
            )
    if t.coinsurance:
        out.append(
            tr.gettext("{amount} in coinsurance: your percentage of the allowed amount.")
            .format(amount=usd(t.coinsurance))
        )  # fmt: skip
    if t.balance_bill:
        out.append(
            tr.gettext(
                "{amount} balance billed: the clinic's charge above what the plan allows (out "
                "of network, or up to Medicare's limiting charge when the clinic does not take "
                "assignment); it does not count toward your deductible or maximum."
            ).format(amount=usd(t.balance_bill))
        )
    if t.non_covered and self_pay:
        out.append(
            tr.gettext(
                "{amount} at the clinic's self-pay prices: you pay the clinic directly and no "
                "insurance is billed."
            ).format(amount=usd(t.non_covered))
        )
    elif t.non_covered:
        out.append(
            tr.gettext(
                "{amount} not covered (or self-pay): you pay the clinic's self-pay price for "
                "those items; it does not count toward your deductible or maximum."
            ).format(amount=usd(t.non_covered))
        )
    if t.assistance:
        out.append(
            tr.gettext(
                "{amount} is paid by the manufacturer's savings program toward your share, so "
                "you pay {net}."
            ).format(amount=usd(t.assistance), net=usd(t.patient_net))
        )
    if t.reimbursement:
        out.append(
            tr.gettext(
                "{amount} is paid back to you by {payer} (on a superbill you send, or by "
                "Medicare on a claim the clinic files without taking assignment); what you pay "
                "is net of it."
            ).format(amount=usd(t.reimbursement), payer=payer_name)
        )
    for name, part in payers:
        if part.payer and part.payer != part.reimbursement:
            out.append(
                tr.gettext("{amount} is paid by {payer} to the clinic.").format(
                    amount=usd(part.payer - part.reimbursement), payer=name
                )
            )
    return out + _write_off_notes(t, tr)


def _write_off_notes(t: Totals, tr: Translator) -> list[str]:
    """What the clinic does not collect: the contractual write-off and the self-pay discount."""
    out: list[str] = []
    contractual = t.write_off - t.self_pay_discount
    if contractual:
        out.append(
            tr.gettext(
                "{amount} is written off by the clinic: the part of its charge above what the "
                "plan allows, and what a payer's payment cut or a second payer's rules leave "
                "unpaid; nobody bills you for it."
            ).format(amount=usd(contractual))
        )
    if t.self_pay_discount:
        out.append(
            tr.gettext(
                "{amount} is the clinic's self-pay discount: its charge above its self-pay "
                "price on the items the plan does not cover."
            ).format(amount=usd(t.self_pay_discount))
        )
    return out


def self_pay_notes(estimate: Estimate, *, lang: str = "en") -> list[str]:
    """Paying cash instead, and the items billed as self-pay (a Good Faith Estimate is owed)."""
    tr = _t(lang)
    out: list[str] = []
    if estimate.self_pay_comparison is not None:
        cash = estimate.self_pay_comparison
        out.append(
            tr.gettext(
                "Paying the clinic's self-pay prices for the whole plan would cost {self_pay}, "
                "{saving} less than the {through_plan} estimated through the plan. A self-pay "
                "patient is owed a Good Faith Estimate (45 CFR 149.610); ask the clinic before "
                "deciding, since care paid in cash does not count toward the plan's deductible "
                "or out-of-pocket maximum."
            ).format(
                self_pay=usd(cash.self_pay),
                saving=usd(cash.saving),
                through_plan=usd(cash.through_plan),
            )
        )
    insured = [i for i in estimate.self_pay_items if i.billed_as == "not covered"]
    if insured:
        # Each item in words (as the notes [1], [2] above say it) and its code once: what the
        # patient asks the clinic's Good Faith Estimate for.
        listed = "; ".join(_item_entry(estimate, i, tr) for i in insured)
        if estimate.coordination:
            text = tr.gettext(
                "Billed at the clinic's self-pay prices because neither plan covers them: "
                "{items}. Ask the clinic for a Good Faith Estimate of these items: one is owed "
                "for care a plan does not cover (45 CFR 149.610)."
            )
        else:
            text = tr.gettext(
                "Billed at the clinic's self-pay prices because the plan does not cover them: "
                "{items}. Ask the clinic for a Good Faith Estimate of these items: one is owed "
                "for care a plan does not cover (45 CFR 149.610)."
            )
        out.append(text.format(items=listed))
    return out


def _item_entry(estimate: Estimate, item: SelfPayItem, tr: Translator) -> str:
    """A self-pay item in words a patient knows, its code once, times and price.

    The words are :func:`ketacost._plain.describe` of the item's first line (the engine's
    description when no line bills it); the code is left out when the words already say it.
    """
    what = next(
        (describe(ln, tr.lang) for ln in estimate.lines() if ln.code == item.code),
        item.description,
    )
    if item.code in what:
        text = tr.ngettext("{what}, {n} time, {price}", "{what}, {n} times, {price}", item.lines)
    else:
        text = tr.ngettext(
            "{what} ({code}), {n} time, {price}", "{what} ({code}), {n} times, {price}", item.lines
        )
    return text.format(what=what, code=item.code, n=item.lines, price=usd(item.price))


def _coverage_key(estimate: Estimate, lang: str) -> tuple[dict[int, str], list[str]]:
    """Each visit's coverage cell, and the notes saying why lines are not covered, in words.

    A reason (from :func:`ketacost._plain.not_covered_reason`) is numbered the first time a
    visit has it; the cell says ``not covered [1]``, ``partly covered [1, 2]`` or ``self-pay
    [1]``, and note ``[1]`` names the charges and why.
    """
    tr = _t(lang)
    numbers: dict[str, int] = {}
    what: dict[str, list[str]] = {}
    cells: dict[int, str] = {}
    for v in estimate.visits:
        marks: list[int] = []
        for ln in v.lines:
            reason = not_covered_reason(ln, lang)
            if reason is None:
                continue
            n = numbers.setdefault(reason, len(numbers) + 1)
            if n not in marks:
                marks.append(n)
            named = describe(ln, lang)
            if named not in what.setdefault(reason, []):
                what[reason].append(named)
        covered = [ln.covered for ln in v.lines]
        if all(covered):
            status = tr.gettext("covered")
        elif all(ln.reason == SELF_PAY for ln in v.lines):
            status = tr.gettext("self-pay")
        elif any(covered):
            status = tr.gettext("partly covered")
        else:
            status = tr.gettext("not covered")
        cells[v.number] = status + (f" [{', '.join(map(str, marks))}]" if marks else "")
    notes = [
        tr.gettext("[{n}] {what}: {why}.").format(n=n, what=tr.join(what[reason]), why=reason)
        for reason, n in numbers.items()
    ]
    return cells, notes


def _visit_rows(
    estimate: Estimate, second: bool, cells: dict[int, str], lang: str
) -> tuple[tuple[str, ...], ...]:
    """A row per visit; ``second``: with the second payer's column after the plan's."""
    rows: list[tuple[str, ...]] = []
    for v in estimate.visits:
        t = v.totals
        codes = " ".join(ln.code + (f"×{ln.units}" if ln.units > 1 else "") for ln in v.lines)
        rows.append(
            (
                str(v.number),
                day(v.date, lang),
                phase_name(v.phase, lang),
                codes,
                usd(t.charge),
                cells[v.number],
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


#: Prior authorization outcomes in words (the request's values), for the range's sentences.
_AUTHORIZATION_WORDS = {
    "approved": N_("if it is approved"),
    "denied": N_("if it is denied"),
    "pending": N_("while it is pending"),
    "not_requested": N_("if it is not requested"),
}


def _range_value(estimate: Estimate, driver: RangeDriver, value: str, tr: Translator) -> str:
    """One value of an unknown input, in words: ``with 6 sessions``, ``if it is denied``."""
    kind, _, phase = driver.input.partition(":")
    if kind in ("prior_authorization", "authorization_renewal"):
        words = _AUTHORIZATION_WORDS.get(value)
        return tr.gettext(words) if words else value
    if kind == "sessions" and value.isdigit():
        n = int(value)
        text = tr.ngettext("with {n} session", "with {n} sessions", n).format(n=n)
        planned = sum(1 for v in estimate.visits if v.phase == phase)
        if n == planned:
            text += " " + tr.gettext("(as planned)")
        return text
    if kind == "deductible_met":
        return tr.gettext("with {amount} of it met").format(amount=usd(Money(value)))
    if kind == "dose":
        return tr.gettext("with the session “{name}”").format(name=value)
    if kind == "accumulators":
        if value == "as written":
            return tr.gettext("with the amounts met as written")
        return tr.gettext("with the other amounts met")
    return value


def _range_input(driver: RangeDriver, tr: Translator) -> str:
    """What an unknown input is, in words (the driver's own description for an unknown kind)."""
    kind, _, phase = driver.input.partition(":")
    if kind == "prior_authorization":
        return tr.gettext("The prior authorization decision")
    if kind == "authorization_renewal":
        return tr.gettext("The renewal of prior authorization")
    if kind == "sessions":
        return tr.gettext("The number of sessions in {phase}").format(
            phase=phase_name(phase, tr.lang)
        )
    if kind == "dose":
        return tr.gettext("The session (dose) used in {phase}").format(
            phase=phase_name(phase, tr.lang)
        )
    if kind == "deductible_met":
        return tr.gettext("How much of the deductible is already met")
    if kind == "accumulators":
        return tr.gettext("The amounts already met toward the deductible and maximum")
    return driver.description[:1].upper() + driver.description[1:]


def _outside_notes(request: EstimateRequest, tr: Translator) -> list[str]:
    """A sessions unknown whose range leaves out the plan's own count (the expected case)."""
    out: list[str] = []
    for s in request.unknowns.sessions if request.unknowns else ():
        planned = next(
            (
                p.count
                for i, p in enumerate(request.plan.phases)
                if (p.name or f"phase {i + 1}") == s.phase
            ),
            None,
        )
        if planned is not None and not s.low <= planned <= s.high:
            out.append(
                tr.ngettext(
                    "The plan has {n} session in {phase}, outside the {low} to {high} given as "
                    "not known yet; the expected figure is for {n}.",
                    "The plan has {n} sessions in {phase}, outside the {low} to {high} given as "
                    "not known yet; the expected figure is for {n}.",
                    planned,
                ).format(n=planned, phase=phase_name(s.phase, tr.lang), low=s.low, high=s.high)
            )
    return out


def range_notes(
    estimate: Estimate, *, lang: str = "en", request: EstimateRequest | None = None
) -> list[str]:
    """The low/expected/high range of what the patient pays, and the input driving each.

    An input whose values all give the same cost is said not to change it. With the
    ``request``, a sessions unknown whose range leaves out the plan's own count says so.
    """
    tr = _t(lang)
    r = estimate.range
    if r is None:
        return []
    if r.low == r.high:
        out = [
            tr.gettext(
                "Some inputs are not known yet, but they do not change what you pay: {amount}."
            ).format(amount=usd(r.expected))
        ]
    else:
        out = [
            tr.gettext(
                "Some inputs are not known yet, so you may pay from {low} to {high}; "
                "{expected} is expected."
            ).format(low=usd(r.low), high=usd(r.high), expected=usd(r.expected))
        ]
    for d in r.drivers:
        what = _range_input(d, tr)
        if d.low == d.high:
            out.append(
                tr.gettext("{input} does not change what you pay ({amount}).").format(
                    input=what, amount=usd(d.low)
                )
            )
            continue
        out.append(
            tr.gettext("{input}: {low} {low_value}, {high} {high_value}.").format(
                input=what,
                low=usd(d.low),
                low_value=_range_value(estimate, d, d.low_value, tr),
                high=usd(d.high),
                high_value=_range_value(estimate, d, d.high_value, tr),
            )
        )
    return out + (_outside_notes(request, tr) if request is not None else [])


def assistance_notes(estimate: Estimate, *, lang: str = "en") -> list[str]:
    """Where a savings program's annual maximum runs out, per calendar year."""
    tr = _t(lang)
    out: list[str] = []
    for a in estimate.assistance:
        if a.exhausted_visit is not None and a.exhausted_on is not None:
            text = tr.gettext(
                "{program}, {year}: {used} of {annual_max} used; the annual maximum runs out "
                "at visit {visit} ({date}), after which you pay your full share."
            )
        else:
            text = tr.gettext("{program}, {year}: {used} of {annual_max} used.")
        out.append(
            text.format(
                program=a.program_name,
                year=a.year,
                used=usd(a.used),
                annual_max=usd(a.annual_max),
                visit=a.exhausted_visit,
                date=tr.date(a.exhausted_on) if a.exhausted_on else "",
            )
        )
    return out


#: What each way of paying second means for the patient, in words (ketacost._secondary).
_METHOD_WORDS = {
    "supplement": N_(
        "as a Medicare supplement: it pays its part of the cost sharing on what Medicare "
        "approved, and nothing on items Medicare does not cover"
    ),
    "medicare_crossover": N_(
        "on what Medicare approved: it pays the Medicare cost sharing (up to its own rate, the "
        "rest written off), and pays alone for items only it covers"
    ),
    "tricare_for_life": N_(
        "as TRICARE For Life: it pays the Medicare cost sharing on items both cover, and pays "
        "first, with its own cost sharing, on items only TRICARE covers"
    ),
    "standard": N_(
        "by standard coordination of benefits: up to what it would pay as the only plan, never "
        "more than what is left to you"
    ),
    "non_duplication": N_("by non-duplication: its own benefit less what the first payer paid"),
    "medicare_secondary_payer": N_(
        "as Medicare Secondary Payer: the least of what it would pay as the only payer, its "
        "approved amount less the first plan's payment, and what is left to you"
    ),
    "last_resort": N_(
        "as the payer of last resort: on items it covers you owe at most its copay, and the "
        "clinic accepts its payment in full"
    ),
}


def _second_names(estimate: Estimate) -> dict[str, str]:
    """Second payer id -> name, in the order the coverages name them."""
    return {c.secondary_payer_id: c.secondary_payer_name for c in estimate.coordination}


def _primary_name(estimate: Estimate, c: Coordination) -> str:
    for y in estimate.plan_years:
        if y.payer_id == c.primary_payer_id:
            return y.payer_name
    return c.primary_payer_id


def secondary_notes(estimate: Estimate, *, lang: str = "en") -> list[str]:
    """What each second payer pays and how; the Qualified Medicare Beneficiary's protection.

    Empty for an estimate without a second payer. Why a payer pays first (the order rule and
    its source) is the engine's text, in English.
    """
    tr = _t(lang)
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
        words = _METHOD_WORDS.get(c.method)
        how = tr.gettext(words) if words else c.method
        amount = paid.get(c.secondary_payer_id, Money(0))
        out.append(
            tr.gettext("{amount} is paid by {second}, the second payer, after {first}, {how}.")
            .format(amount=usd(amount), second=c.secondary_payer_name, first=first, how=how)
        )  # fmt: skip
        if c.order_source is not None:
            out.append(
                tr.gettext("{first} pays first: {rule} ({source}).").format(
                    first=first, rule=c.order_rule, source=c.order_source
                )
            )
    if any(c.balance_billing_prohibited for c in estimate.coordination):
        out.append(
            tr.gettext(
                "As a Qualified Medicare Beneficiary you owe nothing for items Medicare covers: "
                "the clinic may not bill you Medicare's deductible, coinsurance or copays (SSA "
                "§1902(n)(3)(B)); Medicaid pays them, or the clinic writes them off."
            )
        )
    return out


def _year_periods(estimate: Estimate, request: EstimateRequest | None) -> list[tuple[date, date]]:
    """Each plan-year row's dates, clipped to its coverage period when coverage changes in it.

    Two rows of one plan year (a commercial plan until March, then Medicare) would read the
    same; with the ``request``, each row says its part: ``Jan 1 to Feb 28, 2027`` and ``Mar 1
    to Dec 31, 2027``. Without it the plan year's dates stay (the payer column tells them apart).
    """
    years = [(y.start, y.end) for y in estimate.plan_years]
    out = list(years)
    if request is None or not request.coverage_periods:
        return out
    try:
        starts = sorted(request.period_start(p) for p in request.coverage_periods)
    except KetacostError:
        return out
    for k, (start, end) in enumerate(years):
        inside = [b for b in starts if start < b <= end]
        same = [j for j, o in enumerate(years) if o == (start, end)]
        if len(same) != len(inside) + 1:
            continue
        n = same.index(k)
        out_start = start if n == 0 else inside[n - 1]
        out_end = end if n == len(inside) else inside[n] - timedelta(days=1)
        out[k] = (out_start, out_end)
    return out


def _payers_title(estimate: Estimate, tr: Translator) -> str:
    """The payer, or the payers in the order they pay (``A, then B``), and any second payer."""
    names = list(dict.fromkeys(y.payer_name for y in estimate.plan_years))
    title = tr.gettext(", then ").join(names) if len(names) > 1 else estimate.payer_name
    seconds = list(_second_names(estimate).values())
    return title + "".join(f" + {name}" for name in seconds)


def _second_header(estimate: Estimate, tr: Translator) -> str:
    """The second payer's column: ``Medigap Plan G pays`` (``Second payer pays`` for several)."""
    names = set(_second_names(estimate).values())
    if len(names) == 1:
        return tr.gettext("{payer} pays").format(payer=names.pop())
    return tr.gettext("Second payer pays")


def self_pay_name(tr: Translator) -> str:
    """What a self-pay "payer" is, in the reader's words (the payer file's name is English)."""
    return tr.gettext("Self-pay (no insurance billed)")


def _network_words(network: str, tr: Translator) -> str:
    if network == "in":
        return tr.gettext("in network")
    if network == "out":
        return tr.gettext("out of network")
    return tr.gettext("{network} network").format(network=network)


def estimate_report(
    estimate: Estimate,
    *,
    lang: str = "en",
    request: EstimateRequest | None = None,
    kinds: Mapping[str, str] | None = None,
) -> Report:
    """The estimate as a report: visits, plan years and totals, and what each charge is.

    With a second payer (coordination of benefits), both tables gain its column after the
    plan's, and the notes say what it paid and how. ``lang``: ``en`` or ``es`` (the
    patient-facing words; amounts are the same exact figures in both). ``request``: the
    request estimated, for what the range notes say of its unknowns. ``kinds``: payer id ->
    the payer file's ``kind``; Original Medicare (``medicare``) has no network in the
    commercial sense, so its title names none.
    """
    tr = _t(lang)
    self_pay = is_self_pay(estimate)
    second = bool(estimate.coordination)
    extra = (_second_header(estimate, tr),) if second else ()
    visit_headers = (
        "#",
        tr.gettext("Date"),
        tr.gettext("Phase"),
        tr.gettext("Codes"),
        tr.gettext("Charge"),
        tr.gettext("Coverage"),
        tr.gettext("You pay"),
        tr.gettext("Plan pays"),
        *extra,
    )
    cells, why_notes = _coverage_key(estimate, lang)
    visits = Table(
        tr.gettext("Visits"),
        visit_headers,
        _visit_rows(estimate, second, cells, lang),
        frozenset({0, 4, 6, 7, *((8,) if second else ())}),
    )
    several = len({y.payer_id for y in estimate.plan_years}) > 1
    names = _second_names(estimate)

    def payer_cell(name: str, second_id: str | None) -> str:
        return name if second_id is None else f"{name} + {names.get(second_id, second_id)}"

    periods = _year_periods(estimate, request)
    year_rows = [
        _year_row(
            tr.gettext("{start} to {end}").format(start=day(s, lang), end=day(e, lang)),
            payer_cell(y.payer_name, y.secondary_payer_id) if several else None,
            y.visits,
            y.totals,
            second,
        )
        for y, (s, e) in zip(estimate.plan_years, periods, strict=True)
    ]
    year_rows.append(
        _year_row(
            tr.gettext("All plan years"),
            "" if several else None,
            len(estimate.visits),
            estimate.totals,
            second,
        )
    )
    headers = (
        tr.gettext("Plan year"),
        *((tr.gettext("Payer"),) if several else ()),
        tr.gettext("Visits"),
        tr.gettext("Charge"),
        tr.gettext("Deductible"),
        tr.gettext("Copay+coins."),
        tr.gettext("Self-pay") if self_pay else tr.gettext("Not covered+balance"),
        tr.gettext("Savings"),
        tr.gettext("You pay"),
        tr.gettext("Plan pays"),
        *extra,
    )
    first_number = 2 if several else 1
    years = Table(
        tr.gettext("Plan years"),
        headers,
        tuple(year_rows),
        frozenset(range(first_number, len(headers))),
        total_last=True,
    )
    if estimate.issued:
        footer = tr.gettext(
            "This is an estimate ({issued}), not a bill or a guarantee of coverage."
        ).format(issued=tr.date(estimate.issued))
    else:
        footer = tr.gettext("This is an estimate (undated), not a bill or a guarantee of coverage.")
    footer += f" ketacost {estimate.library_version}, " + tr.gettext("rules {hash}.").format(
        hash=estimate.rules_hash[:12]
    )
    if self_pay:
        title = tr.gettext("Estimate: {payer}").format(payer=self_pay_name(tr))
    elif (kinds or {}).get(estimate.payer_id) == "medicare":
        title = tr.gettext("Estimate: {payer}").format(payer=_payers_title(estimate, tr))
    else:
        title = tr.gettext("Estimate: {payer} ({network})").format(
            payer=_payers_title(estimate, tr), network=_network_words(estimate.network, tr)
        )
    return Report(
        title=title,
        tables=(visits, years),
        notes=(
            *why_notes,
            *charge_notes(
                estimate.totals, estimate.payer_name, by_payer(estimate), lang=lang,
                self_pay=self_pay,
            ),
            *secondary_notes(estimate, lang=lang),
            *self_pay_notes(estimate, lang=lang),
            *assistance_notes(estimate, lang=lang),
            *range_notes(estimate, lang=lang, request=request),
        ),
        warnings=estimate.warnings,
        footer=footer,
    )  # fmt: skip


def _numeric_width(t: Table, i: int) -> int:
    """The narrowest a numeric column may be: its widest cell, and its header's longest word."""
    words = t.headers[i].split() or [""]
    return max(max(len(w) for w in words), *(len(row[i]) for row in t.rows))


def _longest_word(t: Table, i: int) -> int:
    return max(
        len(w) for text in (t.headers[i], *(r[i] for r in t.rows)) for w in text.split() or [""]
    )


def fit_widths(t: Table, room: int) -> list[int] | None:
    """Each column's width when the cells may take ``room`` characters, or None if they cannot.

    An amount column is as wide as its widest amount (and its header's longest word); a text
    column as its longest cell, narrowed widest first while the table is too wide, never
    below its longest word (an id such as ``medicare-advantage`` is never cut).
    """
    widths: list[int] = []
    least: list[int] = []
    for i, header in enumerate(t.headers):
        if i in t.right:
            widths.append(_numeric_width(t, i))
            least.append(widths[-1])
        else:
            widths.append(max(len(text) for text in (header, *(r[i] for r in t.rows))) or 1)
            least.append(_longest_word(t, i) or 1)
    if sum(least) > room:
        return None
    while sum(widths) > room:
        widest = max(
            (i for i in range(len(widths)) if widths[i] > least[i]), key=lambda i: widths[i]
        )
        widths[widest] -= 1
    return widths


def _wrap(text: str, width: int) -> list[str]:
    """``text`` in lines of at most ``width``, broken at spaces only (a word is never cut)."""
    return textwrap.wrap(text, width, break_long_words=False, break_on_hyphens=False) or [""]


def stacked_row(t: Table, row: Sequence[str]) -> str:
    """A row of a table too wide for the terminal: ``first · Header: value · ...``."""
    return " · ".join(
        [row[0], *(f"{h}: {c}" for h, c in zip(t.headers[1:], row[1:], strict=True) if c)]
    )


def _plain_table(t: Table, width: int | None = None) -> list[str]:
    """A table in aligned columns.

    At ``width``, cells wrap at spaces (an amount has none), and a table that cannot fit is
    stacked, a paragraph per row.
    """
    gap = 2
    if width is None:
        widths = [
            max(len(h), *(len(r[i]) for r in t.rows)) if t.rows else len(h)
            for i, h in enumerate(t.headers)
        ]
    else:
        found = fit_widths(t, width - gap * (len(t.headers) - 1))
        if found is None:
            out: list[str] = []
            for row in t.rows:
                out += _wrap(stacked_row(t, row), width)
            return out
        widths = found

    def fmt(cells: Sequence[str]) -> list[str]:
        parts = [_wrap(c, widths[i]) if width is not None else [c] for i, c in enumerate(cells)]
        lines = []
        for k in range(max(len(p) for p in parts)):
            lines.append(
                (" " * gap)
                .join(
                    (p[k] if k < len(p) else "").rjust(widths[i])
                    if i in t.right
                    else (p[k] if k < len(p) else "").ljust(widths[i])
                    for i, p in enumerate(parts)
                )
                .rstrip()
            )
        return lines

    rule = (" " * gap).join("-" * w for w in widths)
    body = [line for r in t.rows for line in fmt(r)]
    return [*fmt(t.headers), rule, *body]


def render_plain(report: Report, width: int | None = None) -> str:
    """A report as plain text, columns aligned with spaces.

    ``width``: the terminal's width; tables then fit it (text cells wrap at spaces, or a
    table too wide is stacked a row per paragraph) and sentences wrap at spaces, so that
    no amount is ever split across lines. None: no limit (one line per row and sentence).
    """

    def para(text: str, first: str, rest: str) -> list[str]:
        if width is None:
            return [first + text]
        return textwrap.wrap(
            text,
            width,
            initial_indent=first,
            subsequent_indent=rest,
            break_long_words=False,
            break_on_hyphens=False,
        ) or [first]

    title = para(report.title, "", "")
    out = [*title, "=" * max(len(line) for line in title), ""]
    for table in report.tables:
        out += [*para(table.title, "", ""), *_plain_table(table, width), ""]
    for line in report.notes:
        out += para(line, "- ", "  ")
    for w in report.warnings:
        out += para(w, "! ", "  ")
    if report.footer:
        out += ["", *para(report.footer, "", "")]
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


def render_table(estimate: Estimate, *, lang: str = "en") -> str:
    """The estimate as a readable plain-text table: visits, then plan years and totals."""
    return render_plain(estimate_report(estimate, lang=lang))


def _row_self_pay(r: ComparisonRow) -> bool:
    return r.estimate is not None and is_self_pay(r.estimate)


def _row_network(r: ComparisonRow, tr: Translator, kinds: Mapping[str, str]) -> str:
    """A comparison row's network: ``in``/``out``, none for self-pay.

    ``Medicare`` for Original Medicare (no network in the commercial sense).
    """
    if _row_self_pay(r):
        return tr.gettext("none (self-pay)")
    if kinds.get(r.payer_id) == "medicare":
        return "Medicare"
    if r.network == "in":
        return tr.pgettext("network", "in")
    if r.network == "out":
        return tr.pgettext("network", "out")
    return r.network


def _row_payer(r: ComparisonRow, tr: Translator) -> str:
    return self_pay_name(tr) if _row_self_pay(r) else r.payer_name


#: A prior authorization status in a comparison's option label.
_STATUS_WORDS = {
    "approved": N_("prior authorization approved"),
    "denied": N_("prior authorization denied"),
    "pending": N_("prior authorization pending"),
    "not_requested": N_("prior authorization not requested"),
}

#: How the drug is billed, in a comparison's option label.
_ROUTE_WORDS = {
    "medical": N_("drug billed by the clinic (medical benefit)"),
    "pharmacy": N_("drug from a specialty pharmacy (pharmacy benefit)"),
}


def option_label(r: ComparisonRow, *, lang: str = "en") -> str:
    """A comparison row's option in the reader's words, built from what the variant changes.

    The variant's own ``label`` (written by a person) as it is; otherwise the payer's name,
    the network in words, the start date (``t.date``), the second payer's name ...
    """
    tr = _t(lang)
    v = r.variant
    if v.label:
        return v.label
    parts: list[str] = []
    if v.payer:
        parts.append(_row_payer(r, tr))
    if v.network:
        parts.append(_network_words(v.network, tr))
    if v.prior_authorization:
        words = _STATUS_WORDS.get(v.prior_authorization)
        parts.append(tr.gettext(words) if words else v.prior_authorization)
    if v.session:
        parts.append(v.session)
    if v.plan is not None:
        parts.append(tr.gettext("other plan"))
    if v.start:
        parts.append(tr.gettext("from {date}").format(date=day(v.start, lang)))
    if v.secondary == NO_SECOND_PAYER:
        parts.append(tr.gettext("no second payer"))
    elif v.secondary:
        parts.append(f"+ {r.secondary_payer_name or v.secondary}")
    for key, value in sorted(v.coverage.items()):
        route = _ROUTE_WORDS.get(value) if key == "drug_benefit" else None
        parts.append(tr.gettext(route) if route else f"{key}={value}")
    return ", ".join(parts) or tr.gettext("as requested")


def comparison_report(
    comparison: Comparison, *, lang: str = "en", kinds: Mapping[str, str] | None = None
) -> Report:
    """A comparison as one table, cheapest for the patient first.

    When a row has a second payer (or a variant sets one), the table gains the second payer
    and what it pays, after the plan's column. When a row is self-pay, what it pays the
    clinic is in a "Self-pay" column of its own (never counted as "not covered"). ``kinds``:
    payer id -> the payer file's ``kind`` (Original Medicare shows no network).
    """
    tr = _t(lang)
    found = kinds or {}
    second = any(
        r.secondary_payer_id is not None or r.variant.secondary is not None for r in comparison.rows
    )
    any_self_pay = any(_row_self_pay(r) for r in comparison.rows)

    def not_covered(r: ComparisonRow) -> tuple[str, ...]:
        if not any_self_pay:
            return (usd(r.totals.non_covered + r.totals.balance_bill),)
        if _row_self_pay(r):
            return (usd(r.totals.non_covered), usd(r.totals.balance_bill))
        return (usd(Money(0)), usd(r.totals.non_covered + r.totals.balance_bill))

    labels = {r.rank: option_label(r, lang=lang) for r in comparison.rows}
    rows = tuple(
        (
            str(r.rank),
            labels[r.rank],
            _row_payer(r, tr),
            *((r.secondary_payer_name or tr.gettext("none"),) if second else ()),
            _row_network(r, tr, found),
            ", ".join(r.sessions),
            day(r.start, lang),
            str(r.visits),
            usd(r.totals.charge),
            usd(r.totals.payer),
            *((usd(r.totals.secondary),) if second else ()),
            *not_covered(r),
            usd(r.totals.assistance),
            usd(r.patient_cost),
        )
        for r in comparison.rows
    )
    headers = (
        tr.gettext("Rank"),
        tr.gettext("Option"),
        tr.gettext("Payer"),
        *((tr.gettext("Second payer"),) if second else ()),
        tr.gettext("Network"),
        tr.gettext("Sessions"),
        tr.gettext("Start"),
        tr.gettext("Visits"),
        tr.gettext("Charge"),
        tr.gettext("Plan pays"),
        *((tr.gettext("Second payer pays"),) if second else ()),
        *((tr.gettext("Self-pay"),) if any_self_pay else ()),
        tr.gettext("Not covered+balance"),
        tr.gettext("Savings"),
        tr.gettext("You pay"),
    )
    first_amount = 7 if second else 6
    table = Table(
        tr.gettext("Ranked by what the patient pays"),
        headers,
        rows,
        frozenset({0, *range(first_amount, len(headers))}),
    )
    best, worst = comparison.rows[0], comparison.rows[-1]
    notes = [
        tr.gettext("Cheapest for the patient: {option}, {amount} in all.").format(
            option=labels[best.rank], amount=usd(best.patient_cost)
        )
    ]
    if len(comparison.rows) > 1 and worst.patient_cost == best.patient_cost:
        notes.append(tr.gettext("Every option costs the patient the same."))
    elif len(comparison.rows) > 1:
        notes.append(
            tr.gettext("Most expensive: {option}, {amount} more.").format(
                option=labels[worst.rank], amount=usd(worst.patient_cost - best.patient_cost)
            )
        )
    for r in comparison.rows:
        cash = r.self_pay_comparison
        if cash is not None:
            notes.append(
                tr.gettext(
                    "{option}: paying the clinic's self-pay prices instead would cost "
                    "{self_pay}, {saving} less than through the plan."
                ).format(
                    option=labels[r.rank], self_pay=usd(cash.self_pay), saving=usd(cash.saving)
                )
            )
    return Report(
        title=tr.gettext("Comparison"),
        tables=(table,),
        notes=tuple(notes),
        footer=tr.gettext("Estimates, not bills or guarantees of coverage.")
        + f" ketacost {comparison.library_version}.",
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
