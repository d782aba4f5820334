"""live_events.before: where a moved chat was (its department and agent) before the move, so
the event that shows it gone reaches the agents who saw it there (agents/visibility.py).

Revision ID: 0016_live_before
Revises: 0015_perf
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016_live_before"
down_revision = "0015_perf"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("live_events") as batch:
        batch.add_column(sa.Column("before", sa.Text))


def downgrade() -> None:
    with op.batch_alter_table("live_events") as batch:
        batch.drop_column("before")
