"""The records' errors (importable without the records extra)."""

from __future__ import annotations

from ketacost._errors import KetacostError

__all__ = ["NotInitialisedError", "RecordNotFoundError", "RecordsError", "RetentionError"]


class RecordsError(KetacostError, RuntimeError):
    """The records database cannot do what was asked."""


class NotInitialisedError(RecordsError):
    """No records database at the URL, or one whose schema is not this version's."""


class RecordNotFoundError(RecordsError, LookupError):
    """No record with that id (or the id prefix matches several)."""


class RetentionError(RecordsError):
    """A record inside its retention period was asked to be deleted."""
