"""Small builders for synthetic payers, clinics and requests, as plain Python data.

Each builder returns the dict a rule file would hold, so a test can change one field and
validate it through the public loaders (``ketacost.payer_from_data`` and friends). Money is
written as text (``"300.00"``) and rates as text (``"0.2"``), the way a file holds them.

Example:
    >>> p = payer(networks={"in": network(cost_sharing={"visit": share(copay="30.00")})},
    ...           coverage=[covered("99214", category="visit")])
    >>> ketacost.payer_from_data(p).id
    'test-plan'
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import ketacost

__all__ = [
    "clinic",
    "covered",
    "excluded",
    "line",
    "network",
    "payer",
    "payers",
    "request",
    "session",
    "share",
]

#: ``metadata`` every synthetic payer carries (the model requires a reference).
METADATA: dict[str, Any] = {
    "reference": [{"title": "synthetic test payer", "href": "urn:ketacost:test"}],
    "last_reviewed": "2026-01-01",
}

#: A valid NPI (the CMS documentation example) and TIN for synthetic clinics.
NPI = "1234567893"
TIN = "12-3456789"


def share(
    *,
    copay: Any = "0.00",
    coinsurance: Any = "0",
    deductible_applies: bool = True,
    copay_after_deductible: bool = False,
) -> dict[str, Any]:
    """Cost sharing for one category."""
    return {
        "copay": copay,
        "coinsurance": coinsurance,
        "deductible_applies": deductible_applies,
        "copay_after_deductible": copay_after_deductible,
    }


def network(
    *,
    deductible: Any = "0.00",
    family_deductible: Any = None,
    family_type: str = "embedded",
    oop: Any = None,
    family_oop: Any = None,
    rates: dict[str, Any] | None = None,
    allowed: dict[str, Any] | None = None,
    balance_billing: bool = False,
    cost_sharing: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """One network tier. ``allowed`` overrides the fee schedule built from ``rates``."""
    ded: dict[str, Any] = {"individual": deductible, "family_type": family_type}
    if family_deductible is not None:
        ded["family"] = family_deductible
    cap: dict[str, Any] | None = None
    if oop is not None:
        cap = {"individual": oop, "family_type": family_type}
        if family_oop is not None:
            cap["family"] = family_oop
    return {
        "deductible": ded,
        "out_of_pocket_max": cap,
        "allowed": allowed or {"basis": "fee_schedule", "rates": dict(rates or {})},
        "balance_billing": balance_billing,
        "cost_sharing": cost_sharing or {"all": share()},
    }


def covered(*codes: str, category: str, **conditions: Any) -> dict[str, Any]:
    """A covered rule for ``codes``; keyword arguments become its ``conditions``."""
    rule: dict[str, Any] = {"codes": list(codes), "status": "covered", "category": category}
    if conditions:
        rule["conditions"] = conditions
    return rule


def excluded(*codes: str, reason: str) -> dict[str, Any]:
    """An excluded rule for ``codes`` with the payer's reason."""
    return {"codes": list(codes), "status": "excluded", "reason": reason}


def payer(
    payer_id: str = "test-plan",
    *,
    kind: str = "commercial",
    networks: dict[str, Any] | None = None,
    coverage: Iterable[dict[str, Any]] = (),
    limits: dict[str, Any] | None = None,
    plan_year_start: dict[str, int] | None = None,
    billing_variants: Iterable[str] = (),
) -> dict[str, Any]:
    """A payer file's data; ``name`` is derived from the id."""
    data: dict[str, Any] = {
        "id": payer_id,
        "name": f"Test payer {payer_id}",
        "kind": kind,
        "metadata": METADATA,
        "networks": networks or {},
        "coverage": list(coverage),
        "limits": limits or {},
        "billing_variants": list(billing_variants),
    }
    if plan_year_start is not None:
        data["plan_year_start"] = plan_year_start
    return data


def payers(*data: dict[str, Any]) -> dict[str, ketacost.Payer]:
    """Validate payer dicts into the ``{id: Payer}`` mapping ``adjudicate`` takes."""
    out = [ketacost.payer_from_data(d) for d in data]
    return {p.id: p for p in out}


def line(code: str, units: int = 1, **extra: Any) -> dict[str, Any]:
    """One template line (``description`` defaults to the code)."""
    return {"code": code, "units": units, "description": f"code {code}", **extra}


def session(*lines: dict[str, Any], self_pay: Any = None) -> dict[str, Any]:
    """A session template from its lines."""
    data: dict[str, Any] = {"description": "test session", "lines": list(lines)}
    if self_pay is not None:
        data["self_pay"] = self_pay
    return data


def clinic(
    chargemaster: dict[str, Any],
    sessions: dict[str, Any],
    *,
    packages: Iterable[dict[str, Any]] = (),
) -> dict[str, Any]:
    """A clinic file's data with a fixed identity and address."""
    return {
        "name": "Test Clinic",
        "npi": NPI,
        "tin": TIN,
        "address": {"line1": "1 Test St", "city": "Boston", "state": "MA", "zip": "02134"},
        "chargemaster": chargemaster,
        "sessions": sessions,
        "packages": list(packages),
    }


def request(
    clinic_data: dict[str, Any] | ketacost.Clinic,
    phases: Iterable[dict[str, Any]],
    *,
    start: str,
    payer_id: str = "test-plan",
    network: str = "in",
    tier: str = "individual",
    prior_authorization: str = "not_requested",
    accumulators: dict[str, Any] | None = None,
    patient: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """A request's data. The default patient is 40 with no diagnoses and no failed trials."""
    coverage: dict[str, Any] = {
        "payer": payer_id,
        "network": network,
        "tier": tier,
        "prior_authorization": prior_authorization,
    }
    if accumulators is not None:
        coverage["accumulators"] = accumulators
    return {
        "patient": patient or {"age": 40},
        "coverage": coverage,
        "clinic": clinic_data,
        "plan": {"start": start, "phases": list(phases)},
    }
