"""The FHIR R4 CoverageEligibilityResponse reader (being written: lands in its own commit)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._snapshot import EligibilitySnapshot

__all__ = ["read_fhir"]


def read_fhir(data: str | bytes | Mapping[str, Any]) -> EligibilitySnapshot:
    """The snapshot of a CoverageEligibilityResponse."""
    raise NotImplementedError("the FHIR reader is not written yet")
