"""The rules hash: one sha256 over the rule files and the clinic an estimate used.

The payers, savings programs and physician fee schedules, by id.

With it an estimate (a Good Faith Estimate disputed months later) can be re-derived.
"""

from __future__ import annotations

import hashlib

from ketacost._clinic import Clinic
from ketacost._fee_schedule import PhysicianFeeSchedule
from ketacost._payer import Payer
from ketacost._savings import SavingsProgram

__all__ = ["rules_hash"]

_HASHES: dict[int, tuple[object, str]] = {}


def _digest(obj: Payer | Clinic | SavingsProgram | PhysicianFeeSchedule) -> str:
    """sha256 of a rule object's canonical JSON, cached per object (objects are frozen)."""
    hit = _HASHES.get(id(obj))
    if hit is not None and hit[0] is obj:
        return hit[1]
    digest = hashlib.sha256(obj.model_dump_json().encode()).hexdigest()
    if len(_HASHES) > 512:
        _HASHES.clear()
    _HASHES[id(obj)] = (obj, digest)
    return digest


def rules_hash(
    payers: list[Payer],
    clinic: Clinic,
    programs: list[SavingsProgram] | None = None,
    schedules: list[PhysicianFeeSchedule] | None = None,
) -> str:
    """One sha256 over the payers, savings programs, fee schedules and clinic an estimate used.

    An estimate that used no fee schedule hashes as before.
    """
    h = hashlib.sha256()
    for p in sorted({p.id: p for p in payers}.values(), key=lambda p: p.id):
        h.update(f"payer:{p.id}:{_digest(p)}\n".encode())
    for g in sorted({g.id: g for g in programs or ()}.values(), key=lambda g: g.id):
        h.update(f"program:{g.id}:{_digest(g)}\n".encode())
    for s in sorted({s.id: s for s in schedules or ()}.values(), key=lambda s: s.id):
        h.update(f"fee-schedule:{s.id}:{_digest(s)}\n".encode())
    h.update(f"clinic:{_digest(clinic)}\n".encode())
    return h.hexdigest()
