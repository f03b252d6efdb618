"""The records tables, and the audit log's append-only triggers.

Revision ID: 0001
Revises:
Create Date: 2026-11-30
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ID = 32
SHA = 64

_PG_FUNCTION = """
CREATE FUNCTION ketacost_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only: % is refused', TG_OP;
END
$$ LANGUAGE plpgsql
"""
_PG_TRIGGERS = (
    "CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log "
    "FOR EACH ROW EXECUTE FUNCTION ketacost_audit_append_only()",
    "CREATE TRIGGER audit_log_no_truncate BEFORE TRUNCATE ON audit_log "
    "FOR EACH STATEMENT EXECUTE FUNCTION ketacost_audit_append_only()",
)
_SQLITE_TRIGGERS = (
    "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: UPDATE is refused'); END",
    "CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log "
    "BEGIN SELECT RAISE(ABORT, 'the audit log is append-only: DELETE is refused'); END",
)


def _tables() -> None:
    op.create_table(
        "rule_files",
        sa.Column("sha256", sa.String(SHA), primary_key=True),
        sa.Column("content", sa.LargeBinary, nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
    )
    op.create_table(
        "requests",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("sha256", sa.String(SHA), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_table(
        "estimates",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("request_id", sa.String(ID), sa.ForeignKey("requests.id"), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("rules_hash", sa.String(SHA), nullable=False),
        sa.Column("library_version", sa.String(40), nullable=False),
        sa.Column("payer_id", sa.String(80), nullable=False),
        sa.Column("charge_cents", sa.BigInteger, nullable=False),
        sa.Column("patient_cents", sa.BigInteger, nullable=False),
        sa.Column("payer_cents", sa.BigInteger, nullable=False),
        sa.Column("secondary_cents", sa.BigInteger, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_estimates_request_id", "estimates", ["request_id"])
    op.create_table(
        "estimate_rule_files",
        sa.Column("estimate_id", sa.String(ID), sa.ForeignKey("estimates.id"), primary_key=True),
        sa.Column("path", sa.String(200), primary_key=True),
        sa.Column("sha256", sa.String(SHA), sa.ForeignKey("rule_files.sha256"), nullable=False),
        sa.Column("used", sa.Boolean, nullable=False),
    )
    op.create_index("ix_estimate_rule_files_sha256", "estimate_rule_files", ["sha256"])
    op.create_table(
        "gfes",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("estimate_id", sa.String(ID), sa.ForeignKey("estimates.id"), nullable=False),
        sa.Column("issued", sa.Date, nullable=False),
        sa.Column("patient_name", sa.String(200), nullable=False),
        sa.Column("patient_birth_date", sa.Date, nullable=False),
        sa.Column("period_start", sa.Date, nullable=False),
        sa.Column("period_end", sa.Date, nullable=False),
        sa.Column("total_cents", sa.BigInteger, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("html", sa.LargeBinary, nullable=False),
        sa.Column("html_sha256", sa.String(SHA), nullable=False),
        sa.Column("pdf", sa.LargeBinary, nullable=True),
        sa.Column("pdf_sha256", sa.String(SHA), nullable=True),
        sa.Column("keep_until", sa.Date, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_gfes_estimate_id", "gfes", ["estimate_id"])
    op.create_index("ix_gfes_patient_name", "gfes", ["patient_name"])
    op.create_index("ix_gfes_keep_until", "gfes", ["keep_until"])
    op.create_table(
        "bills",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("gfe_id", sa.String(ID), sa.ForeignKey("gfes.id"), nullable=False),
        sa.Column("bill_date", sa.Date, nullable=True),
        sa.Column("service_date", sa.Date, nullable=True),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("billed_cents", sa.BigInteger, nullable=False),
        sa.Column("keep_until", sa.Date, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_bills_gfe_id", "bills", ["gfe_id"])
    op.create_table(
        "dispute_checks",
        sa.Column("id", sa.String(ID), primary_key=True),
        sa.Column("bill_id", sa.String(ID), sa.ForeignKey("bills.id"), nullable=False),
        sa.Column("gfe_id", sa.String(ID), sa.ForeignKey("gfes.id"), nullable=False),
        sa.Column("findings", sa.Integer, nullable=False),
        sa.Column("created_at", sa.String(32), nullable=False),
    )
    op.create_index("ix_dispute_checks_bill_id", "dispute_checks", ["bill_id"])
    op.create_index("ix_dispute_checks_gfe_id", "dispute_checks", ["gfe_id"])
    op.create_table(
        "dispute_findings",
        sa.Column("check_id", sa.String(ID), sa.ForeignKey("dispute_checks.id"), primary_key=True),
        sa.Column("npi", sa.String(10), primary_key=True),
        sa.Column("provider", sa.String(200), nullable=False),
        sa.Column("expected_cents", sa.BigInteger, nullable=False),
        sa.Column("billed_cents", sa.BigInteger, nullable=False),
        sa.Column("over_cents", sa.BigInteger, nullable=False),
        sa.Column("deadline", sa.Date, nullable=True),
        sa.Column("note", sa.Text, nullable=False),
    )
    op.create_table(
        "audit_log",
        sa.Column("seq", sa.Integer, primary_key=True, autoincrement=False),
        sa.Column("at", sa.String(32), nullable=False),
        sa.Column("actor", sa.String(100), nullable=False),
        sa.Column("action", sa.String(40), nullable=False),
        sa.Column("record_id", sa.String(ID), nullable=True),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("prev_hash", sa.String(SHA), nullable=False),
        sa.Column("hash", sa.String(SHA), nullable=False),
        sa.UniqueConstraint("prev_hash", name="uq_audit_log_prev_hash"),
    )


def upgrade() -> None:
    """Create the tables; make the audit log refuse UPDATE and DELETE (and TRUNCATE)."""
    _tables()
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_FUNCTION)
        for statement in _PG_TRIGGERS:
            op.execute(statement)
    else:
        for statement in _SQLITE_TRIGGERS:
            op.execute(statement)


def downgrade() -> None:
    """Drop everything, the audit log's triggers first."""
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER audit_log_no_truncate ON audit_log")
        op.execute("DROP TRIGGER audit_log_append_only ON audit_log")
        op.execute("DROP FUNCTION ketacost_audit_append_only()")
    else:
        op.execute("DROP TRIGGER audit_log_no_delete")
        op.execute("DROP TRIGGER audit_log_no_update")
    for table in (
        "audit_log",
        "dispute_findings",
        "dispute_checks",
        "bills",
        "gfes",
        "estimate_rule_files",
        "estimates",
        "requests",
        "rule_files",
    ):
        op.drop_table(table)
