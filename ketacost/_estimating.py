"""Estimating, the layer above the engine.

A request (validated if need be), adjudicated, with its low/expected/high range when it lists
unknowns.

The engine (:mod:`ketacost._engine`) adjudicates one request as written; the range
(:mod:`ketacost._range`) re-runs it for each combination of the unknown inputs. This module
joins the two, so that neither imports the other.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from . import _engine
from ._estimate import Estimate
from ._library import default_payers
from ._loader import request_from_data
from ._payer import Payer
from ._range import estimate_range
from ._request import EstimateRequest
from ._savings import SavingsProgram

__all__ = ["adjudicate", "estimate"]


def adjudicate(
    request: EstimateRequest,
    payers: Mapping[str, Payer],
    programs: Mapping[str, SavingsProgram] | None = None,
) -> Estimate:
    """Estimate a request against a set of payers. Pure: no I/O, no clock.

    ``programs`` are the manufacturer savings programs a request may name; by default those
    of ``payers`` when it is a :class:`~ketacost.PayerLibrary`. When the request lists
    ``unknowns``, the estimate carries a low/expected/high ``range``.

    Raises:
        UnknownPayerError: the request (or a payer it uses) names a payer not in ``payers``.
        EstimateError: the request cannot be priced (a value not in force on a date, ...).
    """
    if programs is None:
        programs = getattr(payers, "programs", None) or {}
    found = _engine.adjudicate(request, payers, programs)
    if request.unknowns is None:
        return found

    def run(variant: EstimateRequest) -> Estimate:
        return _engine.adjudicate(variant, payers, programs)

    return found.model_copy(update={"range": estimate_range(request, found, run)})


def estimate(
    request: EstimateRequest | Mapping[str, Any] | str,
    *,
    payers: Mapping[str, Payer] | None = None,
) -> Estimate:
    """Estimate every visit of a request: who pays what, line by line.

    Args:
        request: an :class:`EstimateRequest`, or the same as Python data or JSON text.
        payers: the payer library to use; by default the bundled one (see README, "Payer
            files"). Loading it is the only I/O, done once.

    Raises:
        RequestFileError: the request is invalid (each problem names its field).
        UnknownPayerError: the request names a payer that is not in the library.
        EstimateError: the request cannot be priced (e.g. no rule value in force on a date).
    """
    library = default_payers() if payers is None else payers
    if not isinstance(request, EstimateRequest):
        request = request_from_data(request, payers=library)
    return adjudicate(request, library)
