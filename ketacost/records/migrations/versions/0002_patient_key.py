"""A patient key on each GFE; an issue and keep-until date on each estimate.

The key (NFC, case-folded, whitespace collapsed) is what a name is looked up by; an estimate
saved without a GFE is kept and purged like a GFE. A finding's provider name is Text (a
provider's name has no length limit).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-30
"""

from __future__ import annotations

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def _key(name: str) -> str:
    # A copy of ketacost.records._names.patient_key as it was when this migration was written.
    folded = unicodedata.normalize("NFC", name).casefold()
    return " ".join(unicodedata.normalize("NFC", folded).split())


def upgrade() -> None:
    """Add ``gfes.patient_key`` (indexed) and fill it from each stored name."""
    op.add_column("gfes", sa.Column("patient_key", sa.String(400), nullable=True))
    op.create_index("ix_gfes_patient_key", "gfes", ["patient_key"])
    conn = op.get_bind()
    gfes = sa.table("gfes", sa.column("id"), sa.column("patient_name"), sa.column("patient_key"))
    for gfe_id, name in conn.execute(sa.select(gfes.c.id, gfes.c.patient_name)).all():
        conn.execute(gfes.update().where(gfes.c.id == gfe_id).values(patient_key=_key(name)))
    op.add_column("estimates", sa.Column("issued", sa.Date, nullable=True))
    op.add_column("estimates", sa.Column("keep_until", sa.Date, nullable=True))
    op.create_index("ix_estimates_keep_until", "estimates", ["keep_until"])
    _provider_type(sa.String(200), sa.Text())


def _provider_type(old: sa.types.TypeEngine[str], new: sa.types.TypeEngine[str]) -> None:
    # SQLite alters a column's type by copying the table (nothing refers to this one).
    with op.batch_alter_table("dispute_findings") as batch:
        batch.alter_column("provider", existing_type=old, type_=new, existing_nullable=False)


def downgrade() -> None:
    """Drop the new columns (SQLite 3.35 or later drops a column in place)."""
    _provider_type(sa.Text(), sa.String(200))
    op.drop_index("ix_estimates_keep_until", table_name="estimates")
    op.drop_column("estimates", "keep_until")
    op.drop_column("estimates", "issued")
    op.drop_index("ix_gfes_patient_key", table_name="gfes")
    op.drop_column("gfes", "patient_key")
