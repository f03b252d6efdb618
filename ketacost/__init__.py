"""ketacost: what a course of ketamine or esketamine treatment costs, and who pays what.

>>> import ketacost
>>> request = ketacost.load_request("examples/requests/iv-series-self-pay.yaml")  # doctest: +SKIP
>>> estimate = ketacost.estimate(request)                                          # doctest: +SKIP
>>> estimate.totals.patient                                                        # doctest: +SKIP
Money('2700.00')
"""

from __future__ import annotations

from ._clinic import Address, Clinic, Package, Provider, SessionTemplate, TemplateLine
from ._dated import Dated
from ._engine import rules_hash
from ._errors import (
    ClinicFileError,
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
    Estimate,
    EstimateLine,
    EstimateRange,
    PlanYearSummary,
    RangeDriver,
    Totals,
    VisitEstimate,
)
from ._estimating import adjudicate, estimate
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
from ._paths import resolve_payer_dir
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
from ._version import __version__

__all__ = [
    "Accumulators",
    "Address",
    "AmountRange",
    "AssistanceYear",
    "Clinic",
    "ClinicFileError",
    "Coverage",
    "CoveragePeriod",
    "Dated",
    "DoseChoice",
    "Estimate",
    "EstimateError",
    "EstimateLine",
    "EstimateRange",
    "EstimateRequest",
    "FileIssue",
    "KetacostError",
    "Money",
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
    "load_clinic",
    "load_payer",
    "load_payers",
    "load_program",
    "load_request",
    "payer_from_data",
    "program_from_data",
    "request_from_data",
    "resolve_payer_dir",
    "rules_hash",
    "stale_payers",
]
