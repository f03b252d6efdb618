"""The records of ``--format jsonl``: what each command emits, one JSON object per line.

Every record starts with ``"record"``, its kind; money is an exact decimal string. Every
record of a kind has the same keys, at every depth: a field the JSON documents leave out when
it is empty is here all the same, ``null`` (a payer, a model), ``[]`` (a list) or ``"0.00"``
(money). The shapes (also in each command's help):

* ``estimate``: a ``line`` record per billed line, in visit order (the line of the estimate
  JSON, with its visit's ``plan_year``, ``payer_id`` and ``network``); a ``plan_year`` record
  per plan year (the estimate JSON's ``plan_years`` entry); last, one ``totals`` record (the
  estimate's identity, its second payer (that of the first coverage, or null), counts, totals
  and warnings). ``line`` and ``totals`` records carry every money field of the totals, and
  the ``line`` records' money sums to the ``totals`` record's.
* ``compare``: an ``option`` record per variant, cheapest for the patient first (the
  comparison JSON's row, with its ``library_version`` and its estimate's ``rules_hash``).
* ``payers list``: a ``payer`` record per payer.
* ``records list``: a ``gfe`` record per stored Good Faith Estimate, newest first; with
  ``--open-disputes``, a ``bill_check`` record per check.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pydantic import BaseModel

    from ketacost._comparison import Comparison
    from ketacost._estimate import Estimate, EstimateLine, Totals
    from ketacost._library import PayerLibrary
    from ketacost._payer import Payer
    from ketacost.records._results import GfeSummary, StoredCheck

__all__ = [
    "check_records",
    "comparison_records",
    "estimate_records",
    "full_dump",
    "gfe_records",
    "payer_records",
]

Record = Mapping[str, Any]


def estimate_records(result: Estimate) -> Iterator[Record]:
    """An estimate as ``line`` records, then ``plan_year`` records, then one ``totals``.

    Args:
        result: the estimate.

    Yields:
        The records, in that order.
    """
    for visit in result.visits:
        where = {
            "plan_year": visit.plan_year.isoformat(),
            "payer_id": visit.payer_id,
            "network": visit.network,
        }
        for line in visit.lines:
            yield {"record": "line", **where, **full_dump(line), **_money(line)}
    for year in result.plan_years:
        yield {"record": "plan_year", **full_dump(year)}
    second = result.coordination[0] if result.coordination else None
    yield {
        "record": "totals",
        "library_version": result.library_version,
        "rules_hash": result.rules_hash,
        "issued": result.issued.isoformat() if result.issued else None,
        "payer_id": result.payer_id,
        "payer_name": result.payer_name,
        "network": result.network,
        "secondary_payer_id": second.secondary_payer_id if second else None,
        "secondary_payer_name": second.secondary_payer_name if second else None,
        "visits": len(result.visits),
        "lines": sum(len(v.lines) for v in result.visits),
        **_money(result.totals),
        "warnings": list(result.warnings),
    }


def _money(amounts: EstimateLine | Totals) -> dict[str, str]:
    """Every money field of the totals, from a line or the totals, as decimal strings."""
    from ketacost._estimate import Totals

    return {name: str(getattr(amounts, name)) for name in Totals.model_fields}


def full_dump(model: BaseModel) -> dict[str, Any]:
    """A model as JSON data with every field, at every depth, in the model's field order.

    Where the model's own JSON leaves a field out (``exclude_if``: empty, unset or zero),
    it is here all the same: ``None`` stays ``null``, money is its decimal string
    (``"0.00"``), an empty list is ``[]``. Fields never serialised (``exclude=True``) stay out.

    Args:
        model: the model.

    Returns:
        Its fields by name.
    """
    from pydantic import BaseModel
    from pydantic_core import to_jsonable_python

    from ketacost._money import Money

    dumped = model.model_dump(mode="json")
    out: dict[str, Any] = {}
    for name, field in type(model).model_fields.items():
        if field.exclude is True:
            continue
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out[name] = full_dump(value)
        elif isinstance(value, tuple) and value and isinstance(value[0], BaseModel):
            out[name] = [full_dump(item) for item in value]
        elif name in dumped:
            out[name] = dumped[name]
        elif isinstance(value, Money):
            out[name] = str(value)
        else:
            out[name] = to_jsonable_python(value)
    return out


def comparison_records(result: Comparison) -> Iterator[Record]:
    """A comparison as ``option`` records, cheapest for the patient first."""
    for row in result.rows:
        yield {
            "record": "option",
            "library_version": result.library_version,
            "rules_hash": row.estimate.rules_hash if row.estimate is not None else None,
            **full_dump(row),
        }


def payer_records(lib: PayerLibrary) -> Iterator[Record]:
    """A payer library as ``payer`` records (the fields of ``payers list --format json``)."""
    for p in lib.values():
        yield {"record": "payer", **payer_summary(p)}


def payer_summary(p: Payer) -> dict[str, Any]:
    """A payer's id, name, kind, networks, review date and whether it is illustrative."""
    return {
        "id": p.id,
        "name": p.name,
        "kind": p.kind,
        "networks": sorted(p.networks),
        "last_reviewed": p.metadata.last_reviewed.isoformat(),
        "illustrative": p.metadata.illustrative,
    }


def gfe_records(found: list[GfeSummary]) -> Iterator[Record]:
    """Stored Good Faith Estimates as ``gfe`` records, in the order given."""
    for s in found:
        yield {
            "record": "gfe",
            "id": s.id,
            "issued": s.issued.isoformat(),
            "patient_name": s.patient_name,
            "patient_birth_date": s.patient_birth_date.isoformat(),
            "period_start": s.period_start.isoformat(),
            "period_end": s.period_end.isoformat(),
            "total_expected": str(s.total_expected),
            "keep_until": s.keep_until.isoformat(),
            "has_pdf": s.has_pdf,
        }


def check_records(checks: list[StoredCheck]) -> Iterator[Record]:
    """Stored bill checks as ``bill_check`` records, each with its findings."""
    for c in checks:
        yield {
            "record": "bill_check",
            "check_id": c.check_id,
            "gfe_id": c.gfe_id,
            "patient_name": c.patient_name,
            "bill_id": c.bill_id,
            "bill_date": c.bill_date.isoformat() if c.bill_date else None,
            "billed": str(c.billed),
            "findings": [f.model_dump(mode="json") for f in c.findings],
        }
