"""Final bills: find the GFE a bill is for, run the $400 check, store the bill and finding."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from sqlalchemy import insert, select

from ketacost._money import Money
from ketacost.documents import FinalBill, GoodFaithEstimate, compare_bill_to_gfe

from ._errors import RecordNotFoundError, RecordsError
from ._keep import new_id, years_after
from ._names import patient_key
from ._results import BillCheck
from ._schema import bills, dispute_checks, dispute_findings, gfes
from ._verify import bill_detail

if TYPE_CHECKING:
    from ._store import Records

__all__ = ["check_bill", "find_gfe"]


def _npis(body: str) -> set[str]:
    return {p.provider.npi for p in GoodFaithEstimate.model_validate_json(body).providers}


def _npi_list(npis: set[str]) -> str:
    return ", ".join(sorted(npis))


def find_gfe(
    records: Records,
    patient_name: str,
    *,
    birth_date: date | None = None,
    service_date: date,
    npis: set[str] | None = None,
) -> str:
    """The GFE in force for a patient's ``service_date``: the latest issued on or before it.

    A re-issued GFE replaces the earlier one; a GFE issued after the date of service is not
    the one given for it. With ``npis`` (the bill's providers), only a GFE listing one of them.

    Raises:
        RecordNotFoundError: none does.
        RecordsError: patients of several birth dates have this name and none was given.
    """
    query = select(
        gfes.c.id,
        gfes.c.patient_birth_date,
        gfes.c.issued,
        gfes.c.period_start,
        gfes.c.period_end,
        gfes.c.body,
    ).where(gfes.c.patient_key == patient_key(patient_name))
    if birth_date is not None:
        query = query.where(gfes.c.patient_birth_date == birth_date)
    with records.engine.connect() as conn:
        rows = conn.execute(query.order_by(gfes.c.issued.desc(), gfes.c.created_at.desc())).all()
    patients = {r.patient_birth_date for r in rows}
    if len(patients) > 1:
        raise RecordsError(
            f"{len(patients)} patients of this name have Good Faith Estimates stored: give "
            "the patient's birth date (patient.birth_date in the bill file) or the GFE's id "
            "(--gfe ID)"
        )
    day = service_date.isoformat()
    in_force = [
        r
        for r in rows
        if r.issued <= service_date and r.period_start <= service_date <= r.period_end
    ]
    if not in_force:
        raise RecordNotFoundError(
            f"no stored Good Faith Estimate for this patient, issued by {day}, covers {day}"
            "; give the GFE's id (--gfe ID)"
        )
    if npis:
        in_force = [r for r in in_force if npis & _npis(r.body)]
        if not in_force:
            raise RecordsError(
                f"none of the bill's providers (NPI {_npi_list(npis)}) is on this patient's "
                f"Good Faith Estimate for {day}; give the GFE's id (--gfe ID)"
            )
    return str(in_force[0].id)


def _check_given(
    records: Records,
    gfe_id: str,
    *,
    patient_name: str | None,
    birth_date: date | None,
    service_date: date | None,
    npis: set[str],
) -> None:
    """Refuse a GFE named by id that is not the bill's: another patient, later, no provider."""
    with records.engine.connect() as conn:
        g = conn.execute(select(gfes).where(gfes.c.id == gfe_id)).one()
    if patient_name is not None and patient_key(patient_name) != g.patient_key:
        raise RecordsError(f"Good Faith Estimate {gfe_id} is not for the bill's patient (name)")
    if birth_date is not None and birth_date != g.patient_birth_date:
        raise RecordsError(
            f"Good Faith Estimate {gfe_id} is not for the bill's patient (birth date)"
        )
    if service_date is not None and g.issued > service_date:
        raise RecordsError(
            f"Good Faith Estimate {gfe_id} was issued {g.issued.isoformat()}, after the date "
            f"of service {service_date.isoformat()}"
        )
    if npis and not npis & _npis(g.body):
        raise RecordsError(
            f"none of the bill's providers (NPI {_npi_list(npis)}) is on Good Faith Estimate "
            f"{gfe_id}"
        )


def check_bill(
    records: Records,
    bill: FinalBill,
    *,
    gfe_id: str | None = None,
    patient_name: str | None = None,
    birth_date: date | None = None,
    service_date: date | None = None,
) -> BillCheck:
    """Compare a final bill with its GFE ($400 per provider, 45 CFR 149.620); store both.

    The GFE is ``gfe_id``, else the patient's newest one covering ``service_date`` (default:
    the bill's first dated line). The bill is kept ``retention_years`` after its date. Bills
    stored earlier for the same GFE count too: billed charges are summed per provider, and
    the 120 days run from the earliest bill's date.
    """
    npis = set(bill.billed())
    if not npis:
        raise RecordsError("the bill has no amounts: give totals (per provider NPI) or lines")
    day = service_date or min((ln.date for ln in bill.lines if ln.date), default=None)
    if gfe_id is not None:
        gfe_id = records.resolve(gfe_id)
        _check_given(
            records,
            gfe_id,
            patient_name=patient_name,
            birth_date=birth_date,
            service_date=day,
            npis=npis,
        )
    else:
        if patient_name is None or day is None:
            raise RecordsError(
                "to find the Good Faith Estimate, give the patient's name and the date of "
                "service (or the GFE's id)"
            )
        gfe_id = find_gfe(records, patient_name, birth_date=birth_date, service_date=day, npis=npis)
    with records.engine.connect() as conn:
        g = conn.execute(
            select(gfes.c.body, gfes.c.period_start, gfes.c.period_end).where(gfes.c.id == gfe_id)
        ).one()
        earlier = [
            FinalBill.model_validate_json(b)
            for b in conn.scalars(
                select(bills.c.body).where(bills.c.gfe_id == gfe_id).order_by(bills.c.created_at)
            )
        ]
    # A line dated outside the GFE's period is refused, not left out: it is for a service
    # this GFE did not estimate (another GFE covers it, or none), and leaving it out would
    # compare less than was billed without the user seeing it. One bill, one GFE's period.
    outside = sorted(
        {ln.date for ln in bill.lines if ln.date and not g.period_start <= ln.date <= g.period_end}
    )
    if outside:
        raise RecordsError(
            f"the bill has lines dated {', '.join(d.isoformat() for d in outside)}, outside the "
            f"Good Faith Estimate's period ({g.period_start.isoformat()} to "
            f"{g.period_end.isoformat()}): check those lines against the GFE that covers them"
        )
    body = g.body
    if any(b == bill for b in earlier):
        raise RecordsError(
            "this bill was already checked against this Good Faith Estimate: "
            "it is not counted twice"
        )
    findings = tuple(
        compare_bill_to_gfe(GoodFaithEstimate.model_validate_json(body), combined([*earlier, bill]))
    )
    billed = sum(bill.billed().values(), Money(0))
    bill_day = bill.bill_date or records.today()
    bill_id, check_id = new_id(), new_id()
    now = records._now()
    row = {
        "id": bill_id,
        "gfe_id": gfe_id,
        "bill_date": bill.bill_date,
        "service_date": day,  # as resolved: given, else the first dated line
        "body": bill.model_dump_json(),
        "billed_cents": billed.cents,
        "keep_until": years_after(bill_day, records.retention_years),
        "created_at": now,
    }
    finding_rows = [
        {
            "check_id": check_id,
            "npi": f.npi,
            "provider": f.provider,
            "expected_cents": f.expected.cents,
            "billed_cents": f.billed.cents,
            "over_cents": f.over.cents,
            "deadline": f.deadline,
            "note": f.note,
        }
        for f in findings
    ]
    with records.engine.begin() as conn:
        conn.execute(insert(bills).values(**row))
        conn.execute(
            insert(dispute_checks).values(
                id=check_id,
                bill_id=bill_id,
                gfe_id=gfe_id,
                findings=len(findings),
                created_at=now,
            )
        )
        for f_row in finding_rows:
            conn.execute(insert(dispute_findings).values(**f_row))
        records._audit(
            conn,
            "check-bill",
            gfe_id,
            {
                "bill": bill_id,
                "check": check_id,
                "findings": len(findings),
                **bill_detail(row, finding_rows),
            },
        )
    return BillCheck(
        gfe_id=gfe_id,
        bill_id=bill_id,
        check_id=check_id,
        findings=findings,
        bills_counted=len(earlier) + 1,
    )


def combined(bills_for_gfe: list[FinalBill]) -> FinalBill:
    """All the bills for one GFE as one: billed summed per provider NPI, the earliest date.

    The $400 test is on the total billed charges of each provider (45 CFR
    149.620(a)(2)(ii): "total billed charges ... by any provider or facility ... are at least
    $400 more than the total expected charges"), and the 120 days run from the date of the
    initial bill (45 CFR 149.620(b)(1)).
    """
    totals: dict[str, Money] = {}
    for b in bills_for_gfe:
        for npi, amount in b.billed().items():
            totals[npi] = totals.get(npi, Money()) + amount
    dated = [b.bill_date for b in bills_for_gfe if b.bill_date is not None]
    return FinalBill(bill_date=min(dated) if dated else None, totals=totals)
