"""check-in analysis queue: a claim lease and the time the closing message was posted (reliability issue)

Revision ID: 0007_finish_queue
Revises: 0006_goals
"""

import sqlalchemy as sa
from alembic import op

import storage.types

revision = "0007_finish_queue"
down_revision = "0006_goals"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.add_column(sa.Column("analysis_claimed_at", storage.types.UTCDateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("posted_at", storage.types.UTCDateTime(timezone=True), nullable=True))
    # Check-ins closed before this revision were posted when they closed: the queue must not post them again.
    op.execute("UPDATE checkin SET posted_at = finished_at WHERE state IN ('done', 'abandoned')")


def downgrade() -> None:
    with op.batch_alter_table("checkin", schema=None) as batch_op:
        batch_op.drop_column("posted_at")
        batch_op.drop_column("analysis_claimed_at")
