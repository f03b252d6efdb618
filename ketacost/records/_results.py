"""What the records return: plain frozen dataclasses (no SQLAlchemy types leak out)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from ketacost._money import Money
from ketacost.documents import DisputeFinding, GoodFaithEstimate

__all__ = [
    "BillCheck",
    "GfeRecord",
    "GfeSummary",
    "PurgeResult",
    "Reestimate",
    "RuleFileUse",
    "StoredCheck",
    "Totals",
    "summary_of",
]


@dataclass(frozen=True)
class GfeSummary:
    """One stored Good Faith Estimate, as listed."""

    id: str
    issued: date
    patient_name: str
    patient_birth_date: date
    period_start: date
    period_end: date
    total_expected: Money
    keep_until: date
    has_pdf: bool


@dataclass(frozen=True)
class RuleFileUse:
    """A rule file an estimate was made with: its path in the folder and content hash."""

    path: str
    sha256: str
    used: bool


@dataclass(frozen=True)
class StoredCheck:
    """A stored $400 check of a final bill against the GFE."""

    check_id: str
    gfe_id: str
    patient_name: str
    bill_id: str
    bill_date: date | None
    billed: Money
    findings: tuple[DisputeFinding, ...]


@dataclass(frozen=True)
class GfeRecord:
    """Everything stored for one GFE: the document, its bytes, what it was made from."""

    summary: GfeSummary
    gfe: GoodFaithEstimate
    html: bytes
    pdf: bytes | None
    estimate_id: str
    request_json: str
    estimate_json: str
    rules_hash: str
    rule_files: tuple[RuleFileUse, ...]
    checks: tuple[StoredCheck, ...]


@dataclass(frozen=True)
class BillCheck:
    """The result of ``check_bill``: which GFE, what was stored, and the findings.

    The findings are on every bill stored for the GFE (``bills_counted``, this one included).
    """

    gfe_id: str
    bill_id: str
    check_id: str
    findings: tuple[DisputeFinding, ...]
    bills_counted: int = 1


@dataclass(frozen=True)
class PurgeResult:
    """Records deleted (past their keep-until date) and how many are still kept."""

    deleted: tuple[str, ...]
    kept: int
    estimates_deleted: tuple[str, ...] = ()  # saved without a GFE


@dataclass(frozen=True)
class Totals:
    """An estimate's totals in the records: charges, patient (net), plan, second payer."""

    charge: Money
    patient: Money
    payer: Money
    secondary: Money


@dataclass(frozen=True)
class Reestimate:
    """A stored estimate re-run against the current rule files.

    ``status``: ``changed`` (a total or a warning differs), ``unchanged``, ``rules
    unchanged`` (not re-run: none of the files it used differ) or ``error`` (``message`` says
    why).
    """

    estimate_id: str
    gfe_ids: tuple[str, ...]
    patient_name: str | None
    status: str
    changed_files: tuple[str, ...]
    before: Totals
    after: Totals | None
    message: str = ""
    warnings_added: tuple[str, ...] = ()  # warnings the re-run gives that the stored did not
    warnings_removed: tuple[str, ...] = ()  # warnings of the stored estimate the re-run lacks

    def change(self) -> Totals | None:
        """After minus before, per total (None when not re-run)."""
        if self.after is None:
            return None
        return Totals(
            charge=self.after.charge - self.before.charge,
            patient=self.after.patient - self.before.patient,
            payer=self.after.payer - self.before.payer,
            secondary=self.after.secondary - self.before.secondary,
        )


def summary_of(r: Any) -> GfeSummary:
    """The summary of a ``gfes`` row."""
    return GfeSummary(
        id=r.id,
        issued=r.issued,
        patient_name=r.patient_name,
        patient_birth_date=r.patient_birth_date,
        period_start=r.period_start,
        period_end=r.period_end,
        total_expected=Money.from_cents(r.total_cents),
        keep_until=r.keep_until,
        has_pdf=r.pdf is not None,
    )
