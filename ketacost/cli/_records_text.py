"""The text of the ``records`` commands: a stored GFE, a bill check, a re-estimate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ._output import english
from ._streams import is_stdio

if TYPE_CHECKING:
    from ketacost._money import Money
    from ketacost.records._results import GfeRecord, Reestimate, StoredCheck

__all__ = ["change_line", "check_lines", "gfe_lines", "where"]


def _findings(n: int) -> str:
    """``1 finding`` / ``3 findings`` (staff-facing: English)."""
    return english().ngettext("{n} finding", "{n} findings", n).format(n=n)


def check_lines(c: StoredCheck) -> list[str]:
    """A stored bill check: one line, then a line per finding."""
    when = c.bill_date.isoformat() if c.bill_date else "undated"
    return [
        f"bill check {c.check_id[:12]} of GFE {c.gfe_id[:12]}, bill {c.bill_id[:12]} "
        f"({when}, {c.billed:$}): {_findings(len(c.findings))}",
        *(f"    {f.note}" for f in c.findings),
    ]


def where(path: Path) -> str:
    """Where a document went: ``standard output`` for ``-``, else the path."""
    return "standard output" if is_stdio(path) else str(path)


def gfe_lines(r: GfeRecord) -> list[str]:
    """What ``records show`` prints of a stored GFE."""
    s = r.summary
    lines = [
        f"Good Faith Estimate {s.id}",
        f"  patient:     {s.patient_name} (born {s.patient_birth_date.isoformat()})",
        f"  issued:      {s.issued.isoformat()}; kept until {s.keep_until.isoformat()}",
        f"  period:      {s.period_start.isoformat()} to {s.period_end.isoformat()}",
        f"  expected:    {s.total_expected:$}",
        *(
            f"    {p.provider.name} (NPI {p.provider.npi}): {p.expected_total:$}"
            for p in r.gfe.providers
        ),
        f"  rules hash:  {r.rules_hash}",
    ]
    used = [f.path for f in r.rule_files if f.used]
    lines.append(f"  rule files:  {len(r.rule_files)} stored; read: {', '.join(used)}")
    for c in r.checks:
        when = c.bill_date.isoformat() if c.bill_date else "undated"
        lines.append(
            f"  bill {c.bill_id[:12]} ({when}, {c.billed:$}): {_findings(len(c.findings))}"
            f" [check {c.check_id[:12]}]"
        )
        lines.extend(f"    {f.note}" for f in c.findings)
    return lines


def _signed(m: Money) -> str:
    return f"+{m:$}" if m.cents >= 0 else f"{m:$}"


def change_line(r: Reestimate) -> str:
    """One stored estimate re-run: unchanged, changed by how much, or why it failed."""
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
