"""capability map versions (goals issue)

Revision ID: 0006_goals
Revises: 0001
"""

import sqlalchemy as sa
import sqlmodel
from alembic import op

import storage.types

revision = "0006_goals"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "capabilitymapversion",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("source", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("loaded_by", sqlmodel.sql.sqltypes.AutoString(), nullable=True),
        sa.Column("loaded_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("capabilitymapversion", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_capabilitymapversion_active"), ["active"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("capabilitymapversion", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_capabilitymapversion_active"))
    op.drop_table("capabilitymapversion")
