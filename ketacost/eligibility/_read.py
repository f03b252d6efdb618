"""Either response, told apart by its content: :func:`read_eligibility`, :func:`choose_member`."""

from __future__ import annotations

from ketacost._errors import EligibilityError

from ._fhir import read_fhir
from ._snapshot import EligibilitySnapshot
from ._x12 import read_x12_271

__all__ = ["choose_member", "read_eligibility"]


def read_eligibility(data: str | bytes) -> tuple[EligibilitySnapshot, ...]:
    """The snapshots of an X12 271 (text starting ``ISA``) or of a FHIR response (JSON).

    A 271 gives one snapshot per member, in file order; a FHIR response gives one.

    Raises:
        EligibilityError: the response cannot be read (naming the segment or JSON path).
    """
    head = data[:64].lstrip()[:3]
    if head in ("ISA", b"ISA"):
        return read_x12_271(data)
    return (read_fhir(data),)


def choose_member(
    snapshots: tuple[EligibilitySnapshot, ...], member_id: str | None = None
) -> EligibilitySnapshot:
    """The snapshot of the member ``member_id`` names (the only one, when ``None``).

    Raises:
        EligibilityError: no snapshot, no member with that id, or several and no id given.
    """
    if not snapshots:
        raise EligibilityError("the response has no member")
    ids = ", ".join(s.member.member_id or "(no id)" for s in snapshots)
    if member_id is None:
        if len(snapshots) == 1:
            return snapshots[0]
        raise EligibilityError(f"the response has {len(snapshots)} members ({ids}): name one")
    found = [s for s in snapshots if s.member.member_id == member_id]
    if not found:
        raise EligibilityError(f"no member {member_id!r} in the response (members: {ids})")
    return found[0]
