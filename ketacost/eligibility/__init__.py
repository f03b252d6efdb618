"""Eligibility in: an X12 271 or a FHIR CoverageEligibilityResponse as an estimate's start.

``read_x12_271(text)`` reads an ASC X12 005010X279A1 271 response (one snapshot per member:
the subscriber and each dependent, in file order); ``read_fhir(data)`` reads a FHIR R4
``CoverageEligibilityResponse``. Both give :class:`EligibilitySnapshot` objects, every figure
with its source; :meth:`EligibilitySnapshot.apply` sets a request's starting accumulators from
one, under declared policies. Errors are :class:`~ketacost.EligibilityError`, naming the
segment or JSON path.
"""

from __future__ import annotations

from ._apply import AppliedEligibility, ApplyPolicy, FigureUse
from ._fhir import read_fhir
from ._read import choose_member, read_eligibility
from ._snapshot import (
    AccumulatorFigure,
    AuthorizationNote,
    CostShareFigure,
    EligibilitySnapshot,
    Member,
    OtherPayer,
    Source,
)
from ._x12 import read_x12_271

__all__ = [
    "AccumulatorFigure",
    "AppliedEligibility",
    "ApplyPolicy",
    "AuthorizationNote",
    "CostShareFigure",
    "EligibilitySnapshot",
    "FigureUse",
    "Member",
    "OtherPayer",
    "Source",
    "choose_member",
    "read_eligibility",
    "read_fhir",
    "read_x12_271",
]
