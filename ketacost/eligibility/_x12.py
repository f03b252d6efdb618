"""The X12 005010X279A1 271 reader (being written: the reader lands in its own commit)."""

from __future__ import annotations

from ._snapshot import EligibilitySnapshot

__all__ = ["read_x12_271"]


def read_x12_271(text: str | bytes) -> tuple[EligibilitySnapshot, ...]:
    """One snapshot per member of a 271 response, in file order."""
    raise NotImplementedError("the 271 reader is not written yet")
