"""The models of a comparison: a variant of a request, and the variants ranked.

:func:`ketacost.compare.compare` makes them (ranked by what the patient pays); the renderers
show them.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from pydantic import Field

from ._estimate import Estimate, SelfPayComparison, Totals
from ._money import Money
from ._plan import Plan
from ._request import AuthorizationStatus
from ._types import Model, NetworkName, Slug

__all__ = ["NO_SECOND_PAYER", "Comparison", "ComparisonRow", "Variant"]

#: A variant's ``secondary`` that takes the second payer away ("Medicare alone").
NO_SECOND_PAYER = "none"


def _unset(value: object) -> bool:
    """An optional field is left out of the JSON when not set (comparisons keep their bytes)."""
    return value is None


class Variant(Model):
    """What to change in the request; a field left ``None`` keeps the request's value."""

    label: str | None = Field(default=None, max_length=120, description="name shown in a table")
    payer: Slug | None = None
    network: NetworkName | None = None
    prior_authorization: AuthorizationStatus | None = None
    session: Slug | None = Field(
        default=None, description="session template that replaces every phase's session"
    )
    start: date | None = Field(default=None, description="new plan start date")
    plan: Plan | None = Field(default=None, description="a whole plan replacing the request's")
    secondary: Slug | None = Field(
        default=None,
        exclude_if=_unset,
        description="a second payer on the coverage (coordination of benefits): its payer "
        f"id, or {NO_SECOND_PAYER!r} for none; None keeps the request's",
    )
    coverage: dict[str, Any] = Field(
        default_factory=dict, description="other coverage fields to set, by name"
    )

    def describe(self) -> str:
        """The label, or the changes in words (``medicare-part-b, out of network``)."""
        if self.label:
            return self.label
        parts: list[str] = []
        if self.payer:
            parts.append(self.payer)
        if self.network:
            parts.append(f"{self.network} network")
        if self.prior_authorization:
            parts.append(f"prior authorization {self.prior_authorization}")
        if self.session:
            parts.append(self.session)
        if self.plan is not None:
            parts.append("other plan")
        if self.start:
            parts.append(f"from {self.start.isoformat()}")
        if self.secondary == NO_SECOND_PAYER:
            parts.append("no second payer")
        elif self.secondary:
            parts.append(f"+ {self.secondary}")
        routes = {"medical": "drug billed by the clinic (medical benefit)",
                  "pharmacy": "drug from a specialty pharmacy (pharmacy benefit)"}  # fmt: skip
        for key, value in sorted(self.coverage.items()):
            if key == "drug_benefit" and value in routes:
                parts.append(routes[value])
            else:
                parts.append(f"{key}={value}")
        return ", ".join(parts) or "as requested"


class ComparisonRow(Model):
    """One variant's result."""

    rank: int = Field(ge=1, description="1 = cheapest for the patient")
    label: str
    variant: Variant
    payer_id: str
    payer_name: str
    network: str
    sessions: tuple[str, ...] = Field(description="session templates the plan uses, in order")
    start: date
    visits: int
    totals: Totals
    patient_cost: Money = Field(description="what the patient pays in all (the ranking key)")
    self_pay_comparison: SelfPayComparison | None = Field(
        default=None, description="set when paying cash for this option's plan costs less"
    )
    secondary_payer_id: str | None = Field(
        default=None,
        exclude_if=_unset,
        description="the second payer, if any (left out of the JSON when none)",
    )
    secondary_payer_name: str | None = Field(
        default=None, exclude_if=_unset, description="its name"
    )
    estimate: Estimate | None = Field(default=None, exclude=True, description="not serialised")


class Comparison(Model):
    """Variants ranked by patient cost, cheapest first."""

    library_version: str
    rows: tuple[ComparisonRow, ...]

    @property
    def cheapest(self) -> ComparisonRow:
        """The row the patient pays least on."""
        return self.rows[0]
