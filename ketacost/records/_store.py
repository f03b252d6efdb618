"""The records database: Good Faith Estimates kept for years, bills checked against them.

Every write appends to the hash-chained audit log in the same transaction. The audit log has
no update or delete here, and the database refuses both (triggers, see the migration).
"""

from __future__ import annotations

import getpass
import hashlib
import json
import os
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, date, datetime
from pathlib import Path
from types import TracebackType
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, text
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.engine import URL

from ketacost._clinic import Clinic
from ketacost._estimate import Estimate
from ketacost._library import PayerLibrary
from ketacost._request import EstimateRequest
from ketacost.documents import FinalBill, GoodFaithEstimate

from . import _db
from ._audit import GENESIS, AuditEntry, canonical_entry, entry_hash, verify_chain
from ._errors import RecordNotFoundError, RecordsError
from ._keep import RETENTION_YEARS, new_id, years_after
from ._names import patient_key
from ._results import (
    BillCheck,
    GfeRecord,
    GfeSummary,
    PurgeResult,
    Reestimate,
    StoredCheck,
    summary_of,
)
from ._schema import (
    audit_log,
    estimate_rule_files,
    estimates,
    gfes,
    requests,
    rule_files,
)
from ._verify import gfe_detail, verify_rows

__all__ = ["RETENTION_YEARS", "Records", "new_id", "years_after"]


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _actor() -> str:
    name = os.environ.get("KETACOST_ACTOR")
    if name:
        return name[:100]
    try:
        return getpass.getuser()[:100]
    except (OSError, KeyError):
        return "unknown"


class Records:
    """A records database (open one with :func:`ketacost.records.open_records`)."""

    def __init__(
        self,
        engine: Engine,
        url: URL,
        *,
        retention_years: int = RETENTION_YEARS,
        actor: str | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        if not 1 <= retention_years <= 100:
            raise RecordsError(f"retention_years must be 1 to 100 (got {retention_years})")
        self.engine = engine
        self.url = _db.shown(url)
        self.retention_years = retention_years
        self.actor = actor or _actor()
        self._clock = clock or (lambda: datetime.now(UTC))

    def close(self) -> None:
        """Close the database's connections."""
        self.engine.dispose()

    def __enter__(self) -> Records:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Records({self.url!r})"

    # -- the audit log ------------------------------------------------------------------

    def _now(self) -> str:
        return self._clock().astimezone(UTC).isoformat(timespec="seconds")

    def today(self) -> date:
        """Today's local date by the clock: the one "today" of the records and their CLI."""
        return self._clock().astimezone().date()

    def _audit(
        self, conn: Connection, action: str, record_id: str | None, detail: Mapping[str, Any]
    ) -> None:
        """Append one entry (ids, hashes and counts only: never patient data)."""
        if conn.dialect.name == "postgresql":
            # One writer at a time: two appends never read the same head.
            conn.execute(text("LOCK TABLE audit_log IN SHARE ROW EXCLUSIVE MODE"))
        head = conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        seq, prev = (1, GENESIS) if head is None else (head.seq + 1, head.hash)
        at = self._now()
        canonical = canonical_entry(seq, at, self.actor, action, record_id, detail)
        conn.execute(
            insert(audit_log).values(
                seq=seq,
                at=at,
                actor=self.actor,
                action=action,
                record_id=record_id,
                detail=json.dumps(detail, sort_keys=True, separators=(",", ":")),
                prev_hash=prev,
                hash=entry_hash(prev, canonical),
            )
        )

    def audit_entries(self) -> list[AuditEntry]:
        """The audit log, oldest first."""
        with self.engine.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
        return [
            AuditEntry(
                seq=r.seq,
                at=r.at,
                actor=r.actor,
                action=r.action,
                record_id=r.record_id,
                detail=json.loads(r.detail),
                prev_hash=r.prev_hash,
                hash=r.hash,
            )
            for r in rows
        ]

    def verify(self, *, anchor: str | None = None) -> list[str]:
        """Every sign of tampering (empty when none): the audit chain, then every stored row.

        Each stored GFE (its JSON, HTML and PDF bytes, issue and keep-until dates, total) and
        each bill and its findings must match what the audit entry that saved it recorded; a
        row no entry saved, or one gone without a purge entry, is tampering too.
        """
        entries = self.audit_entries()
        return verify_chain(entries, anchor=anchor) + verify_rows(self, entries)

    # -- saving -------------------------------------------------------------------------

    def _store_rule_files(self, conn: Connection, files: Mapping[str, bytes]) -> dict[str, str]:
        stmt_insert = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
        digests: dict[str, str] = {}
        for path, content in sorted(files.items()):
            digest = _sha256(content)
            digests[path] = digest
            conn.execute(
                stmt_insert(rule_files)
                .values(sha256=digest, content=content, size=len(content))
                .on_conflict_do_nothing(index_elements=["sha256"])
            )
        return digests

    def save_gfe(
        self,
        *,
        request: EstimateRequest,
        estimate: Estimate,
        gfe: GoodFaithEstimate,
        html: str,
        pdf: bytes | None,
        rule_files: Mapping[str, bytes],
        used: Iterable[str] | None = None,
        reuse_identical: bool = True,
    ) -> str:
        """Store a GFE as handed to the patient, with what it was made from; its id.

        With ``reuse_identical`` (the default), a GFE already stored for the patient with the
        same issue date, document, HTML and PDF (or with no PDF given now) is not stored twice:
        its id is returned, so the bills checked against it add up in one record.

        Args:
            request: the request estimated.
            estimate: its estimate (the GFE's source).
            gfe: the Good Faith Estimate.
            html: the HTML handed to the patient (stored as UTF-8 bytes).
            pdf: the PDF handed to the patient, if one was.
            rule_files: path -> bytes of the rule files (:func:`rule_files_of`).
            used: which of ``rule_files`` the estimate's coverage read (default: all).
            reuse_identical: return the id of an identical GFE already stored instead of a copy.
        """
        if gfe.rules_hash != estimate.rules_hash:
            raise RecordsError("the GFE was not made from this estimate (its rules hash differs)")
        if not rule_files:
            raise RecordsError("no rule files given: an estimate is stored with its rule files")
        html_bytes = html.encode("utf-8")
        body = gfe.model_dump_json()
        gfe_id = new_id()
        with self.engine.begin() as conn:
            # The same GFE saved again (the command run twice) is the record already kept: a
            # second copy would split the bills checked against it between two records.
            same = conn.execute(
                select(gfes.c.id, gfes.c.pdf_sha256)
                .where(gfes.c.patient_key == patient_key(gfe.patient.name))
                .where(gfes.c.issued == gfe.issued)
                .where(gfes.c.body == body)
                .where(gfes.c.html_sha256 == _sha256(html_bytes))
            ).all()
            for kept_id, kept_pdf in same if reuse_identical else ():
                if pdf is None or kept_pdf == _sha256(pdf):
                    return str(kept_id)
            request_id, estimate_id = self._insert_estimate(
                conn, request, estimate, rule_files, used, gfe.issued
            )
            row = {
                "id": gfe_id,
                "estimate_id": estimate_id,
                "issued": gfe.issued,
                "patient_name": gfe.patient.name,
                "patient_key": patient_key(gfe.patient.name),
                "patient_birth_date": gfe.patient.birth_date,
                "period_start": gfe.period_start,
                "period_end": gfe.period_end,
                "total_cents": gfe.total_expected.cents,
                "body": body,
                "html": html_bytes,
                "html_sha256": _sha256(html_bytes),
                "pdf": pdf,
                "pdf_sha256": None if pdf is None else _sha256(pdf),
                "keep_until": years_after(gfe.issued, self.retention_years),
                "created_at": self._now(),
            }
            conn.execute(insert(gfes).values(**row))
            self._audit(
                conn,
                "save-gfe",
                gfe_id,
                {
                    "request": request_id,
                    "estimate": estimate_id,
                    "rules_hash": estimate.rules_hash,
                    **gfe_detail(row),
                },
            )
        return gfe_id

    def save_estimate(
        self,
        *,
        request: EstimateRequest,
        estimate: Estimate,
        rule_files: Mapping[str, bytes],
        used: Iterable[str] | None = None,
        issued: date | None = None,
    ) -> str:
        """Store a request and its estimate (no GFE) with the rule files; the estimate's id.

        Kept like a GFE: ``retention_years`` after ``issued`` (default: the request's issue
        date, else today), then purged.
        """
        day = issued or request.issued or self.today()
        with self.engine.begin() as conn:
            request_id, estimate_id = self._insert_estimate(
                conn, request, estimate, rule_files, used, day
            )
            self._audit(
                conn,
                "save-estimate",
                estimate_id,
                {
                    "request": request_id,
                    "rules_hash": estimate.rules_hash,
                    "issued": day.isoformat(),
                    "keep_until": years_after(day, self.retention_years).isoformat(),
                },
            )
        return estimate_id

    def _insert_estimate(
        self,
        conn: Connection,
        request: EstimateRequest,
        estimate: Estimate,
        rule_files: Mapping[str, bytes],
        used: Iterable[str] | None,
        issued: date,
    ) -> tuple[str, str]:
        """Insert the rule files, the request and the estimate: (request id, estimate id)."""
        if not rule_files:
            raise RecordsError("no rule files given: an estimate is stored with its rule files")
        used_set = set(rule_files) if used is None else set(used)
        request_json = request.model_dump_json()
        t = estimate.totals
        now = self._now()
        request_id, estimate_id = new_id(), new_id()
        digests = self._store_rule_files(conn, rule_files)
        conn.execute(
            insert(requests).values(
                id=request_id,
                sha256=_sha256(request_json.encode()),
                body=request_json,
                created_at=now,
            )
        )
        conn.execute(
            insert(estimates).values(
                id=estimate_id,
                request_id=request_id,
                body=estimate.model_dump_json(),
                rules_hash=estimate.rules_hash,
                library_version=estimate.library_version,
                payer_id=estimate.payer_id,
                charge_cents=t.charge.cents,
                patient_cents=t.patient_net.cents,
                payer_cents=t.payer.cents,
                secondary_cents=t.secondary.cents,
                created_at=now,
                issued=issued,
                keep_until=years_after(issued, self.retention_years),
            )
        )
        conn.execute(
            insert(estimate_rule_files),
            [
                {"estimate_id": estimate_id, "path": p, "sha256": d, "used": p in used_set}
                for p, d in digests.items()
            ],
        )
        return request_id, estimate_id

    # -- reading ------------------------------------------------------------------------

    def resolve(self, id_or_prefix: str) -> str:
        """The GFE id a full id or a unique prefix (6 characters or more) names.

        Raises:
            RecordNotFoundError: none, or several, match.
        """
        wanted = id_or_prefix.strip().lower()
        if len(wanted) < 6 or not all(c in "0123456789abcdef" for c in wanted):
            raise RecordNotFoundError(
                f"{id_or_prefix!r} is not a record id (give 6 or more of its hex characters)"
            )
        with self.engine.connect() as conn:
            found = conn.scalars(
                select(gfes.c.id).where(gfes.c.id.startswith(wanted, autoescape=True)).limit(2)
            ).all()
        if not found:
            raise RecordNotFoundError(f"no Good Faith Estimate with id {id_or_prefix}")
        if len(found) > 1:
            raise RecordNotFoundError(f"id {id_or_prefix} matches several records: give more")
        return str(found[0])

    def list_gfes(self, *, patient: str | None = None) -> list[GfeSummary]:
        """Stored GFEs, newest issue first; ``patient``: only that name (any case, any spacing)."""
        query = select(gfes).order_by(gfes.c.issued.desc(), gfes.c.created_at.desc())
        if patient is not None:
            query = query.where(gfes.c.patient_key == patient_key(patient))
        with self.engine.connect() as conn:
            return [summary_of(r) for r in conn.execute(query)]

    def find_gfe(
        self,
        patient_name: str,
        *,
        birth_date: date | None = None,
        service_date: date,
        npis: set[str] | None = None,
    ) -> str:
        """The GFE in force for a patient's ``service_date``: the latest issued on or before it.

        Raises:
            RecordNotFoundError: none does.
            RecordsError: several patients have this name and no ``birth_date`` was given.
        """
        from ._bills import find_gfe

        return find_gfe(
            self, patient_name, birth_date=birth_date, service_date=service_date, npis=npis
        )

    def check_bill(
        self,
        bill: FinalBill,
        *,
        gfe_id: str | None = None,
        patient_name: str | None = None,
        birth_date: date | None = None,
        service_date: date | None = None,
    ) -> BillCheck:
        """Compare a final bill with its GFE ($400 per provider, 45 CFR 149.620); store both.

        The GFE is ``gfe_id``, else the patient's newest one covering ``service_date`` (default:
        the bill's first dated line). The bill is kept ``retention_years`` after its date.
        """
        from ._bills import check_bill

        return check_bill(
            self,
            bill,
            gfe_id=gfe_id,
            patient_name=patient_name,
            birth_date=birth_date,
            service_date=service_date,
        )

    def kept_until(self, gfe_id: str) -> date:
        """The last day a GFE is kept: its keep-until date, or a later one of its bills."""
        from ._maintain import kept_until

        return kept_until(self, gfe_id)

    # -- reading back, purging, re-estimating (ketacost.records._maintain) ---------------

    def show(self, id_or_prefix: str) -> GfeRecord:
        """Everything stored for one GFE: the document, its exact bytes, its sources, checks."""
        from ._maintain import show

        return show(self, id_or_prefix)

    def show_check(self, id_or_prefix: str) -> StoredCheck:
        """A stored bill check, named by its id or its bill's id (or a 6+ character prefix)."""
        from ._maintain import show_check

        return show_check(self, id_or_prefix)

    def open_disputes(self, today: date | None = None) -> list[StoredCheck]:
        """Checks with a finding whose 120 days to dispute are still open (default: today)."""
        from ._maintain import open_disputes

        return open_disputes(self, today or self.today())

    def write_rule_files(self, id_or_prefix: str, folder: Path) -> list[Path]:
        """Write the rule files a GFE was estimated with into ``folder`` (to re-derive it)."""
        from ._maintain import write_rule_files

        return write_rule_files(self, id_or_prefix, folder)

    def purge(self, today: date | None = None, *, record_id: str | None = None) -> PurgeResult:
        """Delete the GFEs past their keep-until date (and their bills); never one inside it.

        Args:
            today: the date to purge as of (default: :meth:`today`); never later than the
                clock's, so no date typed by hand deletes a record inside its retention.
            record_id: only this GFE.

        Estimates saved without a GFE are purged the same way (``estimates_deleted``).

        Raises:
            RetentionError: ``record_id`` names a GFE still inside its retention.
            RecordsError: ``today`` is after the clock's date.
        """
        from ._maintain import purge

        now = self.today()
        if today is not None and today > now:
            raise RecordsError(
                f"purge as of {today.isoformat()} refused: it is after today's date "
                f"({now.isoformat()}), and records are never purged ahead of the clock"
            )
        return purge(self, today or now, record_id)

    def reestimate(
        self,
        library: PayerLibrary,
        *,
        changed_rules_only: bool = False,
        clinic: Clinic | None = None,
    ) -> list[Reestimate]:
        """Re-run each stored request against ``library``: which estimates change, by how much.

        ``clinic`` replaces the stored clinic (default: each request's own).
        """
        from ._maintain import reestimate

        return reestimate(self, library, changed_rules_only=changed_rules_only, clinic=clinic)
