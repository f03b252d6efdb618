"""Cross-checking every stored GFE, bill and finding against the audit entry that saved it.

The audit log is hash-chained (``_audit``), so what an entry records cannot be changed
unseen; a row changed in place (even with its own hash columns rewritten), a row deleted
without a ``purge`` entry, or a row no entry saved is reported as tampering.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, select

from ._audit import AuditEntry
from ._schema import bills, dispute_checks, dispute_findings, gfes

if TYPE_CHECKING:
    from ._store import Records

__all__ = ["bill_detail", "findings_sha256", "gfe_detail", "sha256", "verify_rows"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def gfe_detail(row: Mapping[str, Any]) -> dict[str, Any]:
    """What a save-gfe audit entry records of a ``gfes`` row (hashes, dates, cents)."""
    return {
        "body_sha256": sha256(row["body"].encode("utf-8")),
        "html_sha256": sha256(row["html"]),
        "pdf_sha256": None if row["pdf"] is None else sha256(row["pdf"]),
        "issued": row["issued"].isoformat(),
        "keep_until": row["keep_until"].isoformat(),
        "total_cents": row["total_cents"],
    }


def findings_sha256(findings: Iterable[Mapping[str, Any]]) -> str:
    """sha256 of the findings' canonical JSON (sorted by NPI; cents and ISO dates)."""
    rows = [
        {
            "npi": f["npi"],
            "provider": f["provider"],
            "expected_cents": f["expected_cents"],
            "billed_cents": f["billed_cents"],
            "over_cents": f["over_cents"],
            "deadline": None if f["deadline"] is None else f["deadline"].isoformat(),
            "note": f["note"],
        }
        for f in findings
    ]
    rows.sort(key=lambda f: str(f["npi"]))
    text = json.dumps(rows, sort_keys=True, separators=(",", ":"), ensure_ascii=True)
    return sha256(text.encode("ascii"))


def bill_detail(row: Mapping[str, Any], findings: Iterable[Mapping[str, Any]]) -> dict[str, Any]:
    """What a check-bill audit entry records of a ``bills`` row and its check's findings."""
    return {
        "bill_sha256": sha256(row["body"].encode("utf-8")),
        "billed_cents": row["billed_cents"],
        "bill_keep_until": row["keep_until"].isoformat(),
        "findings_sha256": findings_sha256(findings),
    }


_GFE_LABELS = {
    "body_sha256": "document (JSON)",
    "html_sha256": "HTML",
    "pdf_sha256": "PDF",
    "issued": "issue date",
    "keep_until": "keep-until date",
    "total_cents": "total",
}
_BILL_LABELS = {
    "bill_sha256": "bill",
    "billed_cents": "billed total",
    "bill_keep_until": "keep-until date",
    "findings_sha256": "findings",
}


def _differences(
    what: str, stored: Mapping[str, Any], saved: Mapping[str, Any], labels: Mapping[str, str]
) -> list[str]:
    return [
        f"{what}: its {label} is not the {label} that was saved"
        for key, label in labels.items()
        if stored[key] != saved.get(key)
    ]


def verify_rows(records: Records, entries: list[AuditEntry]) -> list[str]:
    """Every stored row that differs from, or lacks, its audit entry; every unpurged deletion."""
    saved_gfes: dict[str, Mapping[str, Any]] = {}
    saved_bills: dict[str, tuple[str | None, Mapping[str, Any]]] = {}
    purged: set[str] = set()
    for e in entries:
        if e.action == "save-gfe" and e.record_id is not None:
            saved_gfes[e.record_id] = e.detail
        elif e.action == "check-bill":
            saved_bills[str(e.detail.get("bill"))] = (e.record_id, e.detail)
        elif e.action == "purge" and e.record_id is not None:
            purged.add(e.record_id)
    problems: list[str] = []
    with records.engine.connect() as conn:
        gfe_rows = {r["id"]: dict(r) for r in conn.execute(select(gfes)).mappings()}
        for gfe_id, row in sorted(gfe_rows.items()):
            what = f"GFE {gfe_id}"
            if gfe_id not in saved_gfes:
                problems.append(f"{what}: no audit entry saved it")
                continue
            problems += _differences(what, gfe_detail(row), saved_gfes[gfe_id], _GFE_LABELS)
        for gfe_id in sorted(set(saved_gfes) - set(gfe_rows) - purged):
            problems.append(f"GFE {gfe_id}: deleted without a purge")
        problems += _verify_bills(conn, saved_bills, purged)
    return problems


def _verify_bills(
    conn: Connection,
    saved: Mapping[str, tuple[str | None, Mapping[str, Any]]],
    purged: set[str],
) -> list[str]:
    problems: list[str] = []
    rows = {r["id"]: dict(r) for r in conn.execute(select(bills)).mappings()}
    for bill_id, row in sorted(rows.items()):
        what = f"bill {bill_id}"
        if bill_id not in saved:
            problems.append(f"{what}: no audit entry saved it")
            continue
        gfe_id, detail = saved[bill_id]
        if row["gfe_id"] != gfe_id:
            problems.append(f"{what}: its GFE is not the GFE it was checked against")
        found = [
            dict(f)
            for f in conn.execute(
                select(dispute_findings).where(dispute_findings.c.check_id == detail.get("check"))
            ).mappings()
        ]
        problems += _differences(what, bill_detail(row, found), detail, _BILL_LABELS)
    checks = set(conn.scalars(select(dispute_checks.c.id)))
    for bill_id, (gfe_id, detail) in sorted(saved.items()):
        if gfe_id in purged:
            continue
        if bill_id not in rows:
            problems.append(f"bill {bill_id}: deleted without a purge")
        if detail.get("check") not in checks:
            problems.append(f"check {detail.get('check')}: deleted without a purge")
    return problems
