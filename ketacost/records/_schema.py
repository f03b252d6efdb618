"""The records tables (SQLAlchemy Core). Money is integer cents; never a float.

The migrations in ``migrations/versions`` create exactly these tables (a test compares them).
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    Date,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

__all__ = [
    "audit_log",
    "bills",
    "dispute_checks",
    "dispute_findings",
    "estimate_rule_files",
    "estimates",
    "gfes",
    "metadata",
    "requests",
    "rule_files",
]

metadata = MetaData()

ID = 32  # uuid4 hex
SHA = 64  # sha256 hex

#: Each rule file's bytes, once, by content hash (payer, program, edits, fee schedule, clinic).
rule_files = Table(
    "rule_files",
    metadata,
    Column("sha256", String(SHA), primary_key=True),
    Column("content", LargeBinary, nullable=False),
    Column("size", Integer, nullable=False),
)

#: The request as given: its canonical JSON (the clinic is inside it).
requests = Table(
    "requests",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("sha256", String(SHA), nullable=False),
    Column("body", Text, nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: An estimate of a request: its JSON, the rules hash and its totals in cents.
estimates = Table(
    "estimates",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("request_id", ForeignKey("requests.id"), nullable=False, index=True),
    Column("body", Text, nullable=False),
    Column("rules_hash", String(SHA), nullable=False),
    Column("library_version", String(40), nullable=False),
    Column("payer_id", String(80), nullable=False),
    Column("charge_cents", BigInteger, nullable=False),
    Column("patient_cents", BigInteger, nullable=False),  # patient_net
    Column("payer_cents", BigInteger, nullable=False),
    Column("secondary_cents", BigInteger, nullable=False),
    Column("created_at", String(32), nullable=False),
    # The request's issue date (else the day saved) and that + the retention years.
    Column("issued", Date, nullable=True),
    Column("keep_until", Date, nullable=True, index=True),
)

#: Which rule files (path in the payer folder -> content hash) an estimate was made with.
estimate_rule_files = Table(
    "estimate_rule_files",
    metadata,
    Column("estimate_id", ForeignKey("estimates.id"), primary_key=True),
    Column("path", String(200), primary_key=True),
    Column("sha256", ForeignKey("rule_files.sha256"), nullable=False, index=True),
    Column("used", Boolean, nullable=False),  # read by its coverage
)

#: A Good Faith Estimate as handed to the patient: its JSON, HTML and PDF bytes.
gfes = Table(
    "gfes",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("estimate_id", ForeignKey("estimates.id"), nullable=False, index=True),
    Column("issued", Date, nullable=False),
    Column("patient_name", String(200), nullable=False, index=True),
    # _names.patient_key(patient_name): what a name is looked up by (filled by ketacost).
    Column("patient_key", String(400), nullable=True, index=True),
    Column("patient_birth_date", Date, nullable=False),
    Column("period_start", Date, nullable=False),
    Column("period_end", Date, nullable=False),
    Column("total_cents", BigInteger, nullable=False),
    Column("body", Text, nullable=False),
    Column("html", LargeBinary, nullable=False),
    Column("html_sha256", String(SHA), nullable=False),
    Column("pdf", LargeBinary, nullable=True),
    Column("pdf_sha256", String(SHA), nullable=True),
    Column("keep_until", Date, nullable=False, index=True),
    Column("created_at", String(32), nullable=False),
)

#: A final bill compared with a GFE.
bills = Table(
    "bills",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("gfe_id", ForeignKey("gfes.id"), nullable=False, index=True),
    Column("bill_date", Date, nullable=True),
    Column("service_date", Date, nullable=True),
    Column("body", Text, nullable=False),
    Column("billed_cents", BigInteger, nullable=False),
    Column("keep_until", Date, nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: One run of the $400 check of a bill against its GFE (45 CFR 149.620).
dispute_checks = Table(
    "dispute_checks",
    metadata,
    Column("id", String(ID), primary_key=True),
    Column("bill_id", ForeignKey("bills.id"), nullable=False, index=True),
    Column("gfe_id", ForeignKey("gfes.id"), nullable=False, index=True),
    Column("findings", Integer, nullable=False),
    Column("created_at", String(32), nullable=False),
)

#: A provider billed at least $400 above its expected charges.
dispute_findings = Table(
    "dispute_findings",
    metadata,
    Column("check_id", ForeignKey("dispute_checks.id"), primary_key=True),
    Column("npi", String(10), primary_key=True),
    Column("provider", Text, nullable=False),  # a provider's name has no length limit
    Column("expected_cents", BigInteger, nullable=False),
    Column("billed_cents", BigInteger, nullable=False),
    Column("over_cents", BigInteger, nullable=False),
    Column("deadline", Date, nullable=True),
    Column("note", Text, nullable=False),
)

#: Append-only, hash-chained (``_audit``). No patient data: ids, hashes and counts only.
audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", Integer, primary_key=True, autoincrement=False),
    Column("at", String(32), nullable=False),
    Column("actor", String(100), nullable=False),
    Column("action", String(40), nullable=False),
    Column("record_id", String(ID), nullable=True),
    Column("detail", Text, nullable=False),
    Column("prev_hash", String(SHA), nullable=False),
    Column("hash", String(SHA), nullable=False),
    UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
)
