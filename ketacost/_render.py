"""Plain-text rendering of an estimate, for a person to read (no extra dependencies)."""

from __future__ import annotations

from ._estimate import Estimate, Totals
from ._money import Money

__all__ = ["render_table"]


def _usd(m: Money) -> str:
    return format(m, "$")


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def fmt(cells: list[str]) -> str:
        return "  ".join(
            c.rjust(widths[i]) if i in right else c.ljust(widths[i]) for i, c in enumerate(cells)
        ).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return [fmt(headers), rule, *(fmt(r) for r in rows)]


def _explain(t: Totals, payer_name: str) -> list[str]:
    out: list[str] = []
    if t.copay:
        out.append(f"{_usd(t.copay)} in copays: a fixed amount per visit for a kind of service.")
    if t.deductible:
        out.append(
            f"{_usd(t.deductible)} goes to your {payer_name} deductible: what you pay before "
            "the plan starts to share the cost."
        )
    if t.coinsurance:
        out.append(f"{_usd(t.coinsurance)} in coinsurance: your percentage of the allowed amount.")
    if t.balance_bill:
        out.append(
            f"{_usd(t.balance_bill)} balance billed: the clinic's charge above what the plan "
            "allows out of network; it does not count toward your deductible or maximum."
        )
    if t.non_covered:
        out.append(
            f"{_usd(t.non_covered)} not covered (or self-pay): you pay the clinic's price in full."
        )
    if t.payer:
        out.append(f"{_usd(t.payer)} is paid by {payer_name}.")
    return out


def render_table(estimate: Estimate) -> str:
    """The estimate as a readable table: one row per visit, then plan years and totals."""
    rows: list[list[str]] = []
    for v in estimate.visits:
        t = v.totals
        codes = " ".join(ln.code + (f"×{ln.units}" if ln.units > 1 else "") for ln in v.lines)
        covered = all(ln.covered for ln in v.lines)
        partly = any(ln.covered for ln in v.lines)
        status = "covered" if covered else ("partly" if partly else "not covered")
        rows.append(
            [
                str(v.number),
                v.date.isoformat(),
                v.phase,
                codes,
                _usd(t.charge),
                status,
                _usd(t.patient),
                _usd(t.payer),
            ]
        )
    head = f"Estimate: {estimate.payer_name} ({estimate.network} network)"
    out = [head, "=" * len(head), ""]
    out += _table(
        ["#", "Date", "Phase", "Codes", "Charge", "Coverage", "You pay", "Plan pays"],
        rows,
        {0, 4, 6, 7},
    )
    out.append("")
    year_rows = [
        [
            f"{y.start.isoformat()} to {y.end.isoformat()}",
            str(y.visits),
            _usd(y.totals.charge),
            _usd(y.totals.deductible),
            _usd(y.totals.copay + y.totals.coinsurance),
            _usd(y.totals.non_covered + y.totals.balance_bill),
            _usd(y.totals.patient),
            _usd(y.totals.payer),
        ]
        for y in estimate.plan_years
    ]
    t = estimate.totals
    year_rows.append(
        [
            "All plan years",
            str(len(estimate.visits)),
            _usd(t.charge),
            _usd(t.deductible),
            _usd(t.copay + t.coinsurance),
            _usd(t.non_covered + t.balance_bill),
            _usd(t.patient),
            _usd(t.payer),
        ]
    )
    out += _table(
        [
            "Plan year",
            "Visits",
            "Charge",
            "Deductible",
            "Copay+coins.",
            "Not covered+balance",
            "You pay",
            "Plan pays",
        ],
        year_rows,
        {1, 2, 3, 4, 5, 6, 7},
    )
    out.append("")
    out += [f"- {line}" for line in _explain(t, estimate.payer_name)]
    for w in estimate.warnings:
        out.append(f"! {w}")
    out.append("")
    issued = estimate.issued.isoformat() if estimate.issued else "undated"
    out.append(
        f"This is an estimate ({issued}), not a bill or a guarantee of coverage. "
        f"ketacost {estimate.library_version}, rules {estimate.rules_hash[:12]}."
    )
    return "\n".join(out) + "\n"
