"""Reading a GFE back whole, purging past retention, re-estimating under new rule files."""

from __future__ import annotations

import json
from dataclasses import replace
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, delete, select

from ketacost._clinic import Clinic
from ketacost._errors import KetacostError
from ketacost._library import PayerLibrary
from ketacost._loader import request_from_data
from ketacost._money import Money
from ketacost.documents import DisputeFinding, GoodFaithEstimate

from ._errors import RecordNotFoundError, RecordsError, RetentionError
from ._keep import years_after
from ._results import (
    GfeRecord,
    PurgeResult,
    Reestimate,
    RuleFileUse,
    StoredCheck,
    Totals,
    summary_of,
)
from ._rules import CLINIC_FILE
from ._schema import (
    bills,
    dispute_checks,
    dispute_findings,
    estimate_rule_files,
    estimates,
    gfes,
    requests,
    rule_files,
)
from ._verify import sha256

if TYPE_CHECKING:
    from ._store import Records

__all__ = [
    "delete_gfe",
    "kept_until",
    "open_disputes",
    "purge",
    "reestimate",
    "show",
    "show_check",
    "write_rule_files",
]


def _checks(records: Records, *where: Any) -> tuple[StoredCheck, ...]:
    out: list[StoredCheck] = []
    with records.engine.connect() as conn:
        rows = conn.execute(
            select(dispute_checks.c.id, dispute_checks.c.gfe_id, dispute_checks.c.created_at)
            .add_columns(bills.c.id.label("bill_id"), bills.c.bill_date, bills.c.billed_cents)
            .add_columns(gfes.c.patient_name)
            .join(bills, bills.c.id == dispute_checks.c.bill_id)
            .join(gfes, gfes.c.id == dispute_checks.c.gfe_id)
            .where(*where)
            .order_by(dispute_checks.c.created_at, dispute_checks.c.id)
        ).all()
        for r in rows:
            found = conn.execute(
                select(dispute_findings)
                .where(dispute_findings.c.check_id == r.id)
                .order_by(dispute_findings.c.npi)
            ).all()
            out.append(
                StoredCheck(
                    check_id=r.id,
                    gfe_id=r.gfe_id,
                    patient_name=r.patient_name,
                    bill_id=r.bill_id,
                    bill_date=r.bill_date,
                    billed=Money.from_cents(r.billed_cents),
                    findings=tuple(
                        DisputeFinding(
                            npi=f.npi,
                            provider=f.provider,
                            expected=Money.from_cents(f.expected_cents),
                            billed=Money.from_cents(f.billed_cents),
                            over=Money.from_cents(f.over_cents),
                            deadline=f.deadline,
                            note=f.note,
                        )
                        for f in found
                    ),
                )
            )
    return tuple(out)


def show_check(records: Records, id_or_prefix: str) -> StoredCheck:
    """A stored bill check, by its id or its bill's (or a unique prefix of 6+ characters)."""
    wanted = id_or_prefix.strip().lower()
    if len(wanted) < 6 or not all(c in "0123456789abcdef" for c in wanted):
        raise RecordNotFoundError(
            f"{id_or_prefix!r} is not a record id (give 6 or more of its hex characters)"
        )
    found = _checks(
        records,
        dispute_checks.c.id.startswith(wanted, autoescape=True)
        | bills.c.id.startswith(wanted, autoescape=True),
    )
    if not found:
        raise RecordNotFoundError(f"no Good Faith Estimate or bill check with id {id_or_prefix}")
    if len(found) > 1:
        raise RecordNotFoundError(f"id {id_or_prefix} matches several records: give more")
    return found[0]


def open_disputes(records: Records, today: date) -> list[StoredCheck]:
    """The newest check of each GFE with a finding whose 120 days have not run out by ``today``.

    A GFE's newest check sums all its bills (``_bills.combined``), so it replaces the earlier
    ones. A finding on an undated bill has no known deadline: it is listed too.
    """
    newest: dict[str, StoredCheck] = {}
    for c in _checks(records, dispute_checks.c.findings > 0):
        newest[c.gfe_id] = c  # oldest first: the last one stays
    return [
        c
        for c in newest.values()
        if any(f.deadline is None or f.deadline >= today for f in c.findings)
    ]


def show(records: Records, id_or_prefix: str) -> GfeRecord:
    """Everything stored for one GFE."""
    gfe_id = records.resolve(id_or_prefix)
    with records.engine.connect() as conn:
        g = conn.execute(select(gfes).where(gfes.c.id == gfe_id)).one()
        e = conn.execute(select(estimates).where(estimates.c.id == g.estimate_id)).one()
        request_json = conn.scalars(
            select(requests.c.body).where(requests.c.id == e.request_id)
        ).one()
        files = conn.execute(
            select(estimate_rule_files)
            .where(estimate_rule_files.c.estimate_id == e.id)
            .order_by(estimate_rule_files.c.path)
        ).all()
    return GfeRecord(
        summary=summary_of(g),
        gfe=GoodFaithEstimate.model_validate_json(g.body),
        html=g.html,
        pdf=g.pdf,
        estimate_id=e.id,
        request_json=request_json,
        estimate_json=e.body,
        rules_hash=e.rules_hash,
        rule_files=tuple(RuleFileUse(f.path, f.sha256, f.used) for f in files),
        checks=_checks(records, dispute_checks.c.gfe_id == gfe_id),
    )


def write_rule_files(records: Records, id_or_prefix: str, folder: Path) -> list[Path]:
    """Write the rule files a GFE's estimate was made with into ``folder`` (a payer folder).

    The clinic is written as ``clinic.json``; the rest load with ``load_payers(folder)``.
    """
    record = show(records, id_or_prefix)
    written: list[Path] = []
    with records.engine.connect() as conn:
        for f in record.rule_files:
            content = conn.scalars(
                select(rule_files.c.content).where(rule_files.c.sha256 == f.sha256)
            ).one()
            target = folder / f.path
            if folder.resolve() not in target.resolve().parents:
                raise RecordsError(f"stored rule file path {f.path!r} leaves the folder")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_bytes(content)
            written.append(target)
    return written


def purge(records: Records, today: date, record_id: str | None = None) -> PurgeResult:
    """Delete GFEs (with their bills and checks) whose keep-until date is before ``today``.

    Raises:
        RetentionError: ``record_id`` names a GFE still inside its retention.
    """
    if record_id is not None:
        gfe_id = records.resolve(record_id)
        until = kept_until(records, gfe_id)
        if until >= today:
            raise RetentionError(
                f"record {gfe_id} is kept until {until.isoformat()} (issued + "
                f"{records.retention_years} years, or a later bill's): not deleted"
            )
        candidates = [gfe_id]
    else:
        with records.engine.connect() as conn:
            candidates = list(conn.scalars(select(gfes.c.id).order_by(gfes.c.id)))
        candidates = [c for c in candidates if kept_until(records, c) < today]
    with records.engine.begin() as conn:
        for gfe_id in candidates:
            delete_gfe(conn, gfe_id)
            records._audit(conn, "purge", gfe_id, {"today": today.isoformat()})
        alone = [] if record_id is not None else _estimates_past(records, conn, today)
        for estimate_id in alone:
            _delete_estimate(conn, estimate_id)
            records._audit(
                conn, "purge", estimate_id, {"today": today.isoformat(), "kind": "estimate"}
            )
        kept = len(conn.scalars(select(gfes.c.id)).all())
    return PurgeResult(deleted=tuple(candidates), kept=kept, estimates_deleted=tuple(alone))


def _estimates_past(records: Records, conn: Connection, today: date) -> list[str]:
    """Estimates saved without a GFE whose keep-until (recomputed from ``issued``) is past."""
    rows = conn.execute(
        select(estimates.c.id, estimates.c.issued, estimates.c.keep_until)
        .where(~select(gfes.c.id).where(gfes.c.estimate_id == estimates.c.id).exists())
        .order_by(estimates.c.id)
    ).all()
    out: list[str] = []
    for r in rows:
        days = [] if r.keep_until is None else [r.keep_until]
        if r.issued is not None:
            days.append(years_after(r.issued, records.retention_years))
        if days and max(days) < today:
            out.append(r.id)
    return out


def delete_gfe(conn: Connection, gfe_id: str) -> None:
    check_ids = select(dispute_checks.c.id).where(dispute_checks.c.gfe_id == gfe_id)
    conn.execute(delete(dispute_findings).where(dispute_findings.c.check_id.in_(check_ids)))
    conn.execute(delete(dispute_checks).where(dispute_checks.c.gfe_id == gfe_id))
    conn.execute(delete(bills).where(bills.c.gfe_id == gfe_id))
    estimate_id = conn.scalars(select(gfes.c.estimate_id).where(gfes.c.id == gfe_id)).one()
    conn.execute(delete(gfes).where(gfes.c.id == gfe_id))
    if conn.scalars(select(gfes.c.id).where(gfes.c.estimate_id == estimate_id)).first():
        return
    _delete_estimate(conn, estimate_id)


def _delete_estimate(conn: Connection, estimate_id: str) -> None:
    """Delete an estimate no GFE refers to, and its request when no other estimate does."""
    request_id = conn.scalars(
        select(estimates.c.request_id).where(estimates.c.id == estimate_id)
    ).one()
    conn.execute(
        delete(estimate_rule_files).where(estimate_rule_files.c.estimate_id == estimate_id)
    )
    conn.execute(delete(estimates).where(estimates.c.id == estimate_id))
    if not conn.scalars(select(estimates.c.id).where(estimates.c.request_id == request_id)).first():
        conn.execute(delete(requests).where(requests.c.id == request_id))


def kept_until(records: Records, gfe_id: str) -> date:
    """The last day a GFE is kept: its keep-until date, or a later one of its bills.

    Recomputed from the issue (and bill) dates and the retention period; a stored keep-until
    column only ever lengthens it (a column changed to an earlier date deletes nothing early).
    """
    years = records.retention_years
    with records.engine.connect() as conn:
        g = conn.execute(select(gfes.c.issued, gfes.c.keep_until).where(gfes.c.id == gfe_id)).one()
        days: list[date] = [g.keep_until, years_after(g.issued, years)]
        for b in conn.execute(
            select(bills.c.bill_date, bills.c.keep_until).where(bills.c.gfe_id == gfe_id)
        ):
            days.append(b.keep_until)
            if b.bill_date is not None:
                days.append(years_after(b.bill_date, years))
    return max(days)


def _current_hashes(library: PayerLibrary) -> dict[str, str]:
    return {f"{key}.yaml": digest for key, digest in library.file_hashes.items()}


def reestimate(
    records: Records,
    library: PayerLibrary,
    *,
    changed_rules_only: bool = False,
    clinic: Clinic | None = None,
) -> list[Reestimate]:
    """Re-run every stored request against ``library``; what changes, by how much.

    ``clinic`` replaces each request's stored clinic (a changed clinic file re-prices the
    self-pay lines); by default the stored clinic is used. With ``changed_rules_only``, an
    estimate none of whose used rule files (the clinic included) differ is listed as ``rules
    unchanged`` and not re-run. Warnings that appear or go count as a change too.
    """
    from ketacost._estimating import estimate as run_estimate

    current = _current_hashes(library)
    clinic_data = None if clinic is None else clinic.model_dump(mode="json")
    if clinic is not None:
        current[CLINIC_FILE] = sha256(clinic.model_dump_json().encode())
    with records.engine.connect() as conn:
        rows = conn.execute(
            select(estimates, requests.c.body.label("request_body"))
            .join(requests, requests.c.id == estimates.c.request_id)
            .order_by(estimates.c.created_at, estimates.c.id)
        ).all()
        used = conn.execute(
            select(estimate_rule_files).where(estimate_rule_files.c.used.is_(True))
        ).all()
        owners = conn.execute(select(gfes.c.id, gfes.c.estimate_id, gfes.c.patient_name)).all()
    used_by: dict[str, list[tuple[str, str]]] = {}
    for u in used:
        used_by.setdefault(u.estimate_id, []).append((u.path, u.sha256))
    gfes_of: dict[str, list[Any]] = {}
    for o in owners:
        gfes_of.setdefault(o.estimate_id, []).append(o)
    out: list[Reestimate] = []
    for r in rows:
        mine = gfes_of.get(r.id, [])
        changed = tuple(
            sorted(
                p
                for p, d in used_by.get(r.id, [])
                if (p != CLINIC_FILE or clinic is not None) and current.get(p) != d
            )
        )
        before = Totals(
            charge=Money.from_cents(r.charge_cents),
            patient=Money.from_cents(r.patient_cents),
            payer=Money.from_cents(r.payer_cents),
            secondary=Money.from_cents(r.secondary_cents),
        )
        base = Reestimate(
            estimate_id=r.id,
            gfe_ids=tuple(o.id for o in mine),
            patient_name=mine[0].patient_name if mine else None,
            status="rules unchanged",
            changed_files=changed,
            before=before,
            after=None,
        )
        if changed_rules_only and not changed:
            out.append(base)
            continue
        try:
            data = json.loads(r.request_body)
            if clinic_data is not None:
                data["clinic"] = clinic_data
            request = request_from_data(data, payers=library, source="<stored request>")
            result = run_estimate(request, payers=library)
        except KetacostError as exc:
            out.append(replace(base, status="error", message=str(exc)))
            continue
        t = result.totals
        after = Totals(charge=t.charge, patient=t.patient_net, payer=t.payer, secondary=t.secondary)
        old_warnings = tuple(json.loads(r.body).get("warnings", ()))
        added = tuple(w for w in result.warnings if w not in old_warnings)
        gone = tuple(w for w in old_warnings if w not in result.warnings)
        status = "unchanged" if after == before and not added and not gone else "changed"
        out.append(
            replace(base, status=status, after=after, warnings_added=added, warnings_removed=gone)
        )
    return out
