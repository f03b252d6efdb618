"""ketacost: what a course of ketamine or esketamine treatment costs, and who pays what.

>>> import ketacost
>>> request = ketacost.load_request("examples/requests/iv-series-self-pay.yaml")  # doctest: +SKIP
>>> estimate = ketacost.estimate(request)                                          # doctest: +SKIP
>>> estimate.totals.patient                                                        # doctest: +SKIP
Money('2700.00')
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING

from ._version import __version__

# The exports are imported on first use (PEP 562), as pydantic does: ``import ketacost``
# (and so the ``ketacost`` command's ``--help``, whose package this is) builds no model. The
# imports below are what type checkers and readers see; _EXPORTS is where each name lives
# (tests/test_cli_startup.py checks that the two agree).
if TYPE_CHECKING:
    from ._clinic import Address, Clinic, Package, Provider, SessionTemplate, TemplateLine
    from ._dated import Dated
    from ._engine import rules_hash
    from ._errors import (
        ClinicFileError,
        EligibilityError,
        EstimateError,
        FileIssue,
        KetacostError,
        PayerFileError,
        RequestFileError,
        RuleFileError,
        UnknownPayerError,
    )
    from ._estimate import (
        Accumulators,
        AssistanceYear,
        CostRange,
        Estimate,
        EstimateLine,
        EstimateRange,
        PlanYearSummary,
        RangeDriver,
        Totals,
        VisitEstimate,
    )
    from ._estimating import adjudicate, estimate, good_faith_range
    from ._library import PayerLibrary, check_payers, default_payers, load_payers, stale_payers
    from ._loader import (
        clinic_from_data,
        load_clinic,
        load_payer,
        load_program,
        load_request,
        payer_from_data,
        program_from_data,
        request_from_data,
    )
    from ._money import Money
    from ._order import OrderOfBenefits, order_of_benefits
    from ._paths import resolve_payer_dir, schema_path
    from ._payer import Payer
    from ._plan import Phase, Plan, ScheduledVisit, expand
    from ._request import (
        AmountRange,
        Coverage,
        CoveragePeriod,
        DoseChoice,
        EstimateRequest,
        Patient,
        SessionsRange,
        StartingAccumulators,
        Unknowns,
    )
    from ._savings import SavingsProgram

_EXPORTS = {
    "Accumulators": "._estimate",
    "Address": "._clinic",
    "AmountRange": "._request",
    "AssistanceYear": "._estimate",
    "Clinic": "._clinic",
    "ClinicFileError": "._errors",
    "CostRange": "._estimate",
    "Coverage": "._request",
    "CoveragePeriod": "._request",
    "Dated": "._dated",
    "DoseChoice": "._request",
    "Estimate": "._estimate",
    "EligibilityError": "._errors",
    "EstimateError": "._errors",
    "EstimateLine": "._estimate",
    "EstimateRange": "._estimate",
    "EstimateRequest": "._request",
    "FileIssue": "._errors",
    "KetacostError": "._errors",
    "Money": "._money",
    "OrderOfBenefits": "._order",
    "Package": "._clinic",
    "Patient": "._request",
    "Payer": "._payer",
    "PayerFileError": "._errors",
    "PayerLibrary": "._library",
    "Phase": "._plan",
    "Plan": "._plan",
    "PlanYearSummary": "._estimate",
    "Provider": "._clinic",
    "RangeDriver": "._estimate",
    "RequestFileError": "._errors",
    "RuleFileError": "._errors",
    "SavingsProgram": "._savings",
    "ScheduledVisit": "._plan",
    "SessionTemplate": "._clinic",
    "SessionsRange": "._request",
    "StartingAccumulators": "._request",
    "TemplateLine": "._clinic",
    "Totals": "._estimate",
    "UnknownPayerError": "._errors",
    "Unknowns": "._request",
    "VisitEstimate": "._estimate",
    "adjudicate": "._estimating",
    "check_payers": "._library",
    "clinic_from_data": "._loader",
    "default_payers": "._library",
    "estimate": "._estimating",
    "good_faith_range": "._estimating",
    "expand": "._plan",
    "load_clinic": "._loader",
    "load_payer": "._loader",
    "load_payers": "._library",
    "load_program": "._loader",
    "load_request": "._loader",
    "order_of_benefits": "._order",
    "payer_from_data": "._loader",
    "program_from_data": "._loader",
    "request_from_data": "._loader",
    "resolve_payer_dir": "._paths",
    "rules_hash": "._engine",
    "schema_path": "._paths",
    "stale_payers": "._library",
}


if not TYPE_CHECKING:  # hidden from type checkers, so that `ketacost.typo` stays an error

    def __getattr__(name: str) -> object:
        """An export, imported from its module on first use and kept."""
        if name not in _EXPORTS:
            raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
        value = getattr(import_module(_EXPORTS[name], __name__), name)
        globals()[name] = value
        return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


__all__ = [
    "Accumulators",
    "Address",
    "AmountRange",
    "AssistanceYear",
    "Clinic",
    "ClinicFileError",
    "CostRange",
    "Coverage",
    "CoveragePeriod",
    "Dated",
    "DoseChoice",
    "EligibilityError",
    "Estimate",
    "EstimateError",
    "EstimateLine",
    "EstimateRange",
    "EstimateRequest",
    "FileIssue",
    "KetacostError",
    "Money",
    "OrderOfBenefits",
    "Package",
    "Patient",
    "Payer",
    "PayerFileError",
    "PayerLibrary",
    "Phase",
    "Plan",
    "PlanYearSummary",
    "Provider",
    "RangeDriver",
    "RequestFileError",
    "RuleFileError",
    "SavingsProgram",
    "ScheduledVisit",
    "SessionTemplate",
    "SessionsRange",
    "StartingAccumulators",
    "TemplateLine",
    "Totals",
    "UnknownPayerError",
    "Unknowns",
    "VisitEstimate",
    "__version__",
    "adjudicate",
    "check_payers",
    "clinic_from_data",
    "default_payers",
    "estimate",
    "expand",
    "good_faith_range",
    "load_clinic",
    "load_payer",
    "load_payers",
    "load_program",
    "load_request",
    "order_of_benefits",
    "payer_from_data",
    "program_from_data",
    "request_from_data",
    "resolve_payer_dir",
    "rules_hash",
    "schema_path",
    "stale_payers",
]
