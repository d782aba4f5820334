"""The live event log: one row per change an agent should see, and the counter that numbers
them in commit order (docs/live.md).

Revision ID: 0011_live_events
Revises: 0008_scenario_authoring
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_live_events"
down_revision = "0008_scenario_authoring"
branch_labels = None
depends_on = None

Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "live_events",
        sa.Column("id", sa.BigInteger, nullable=False, autoincrement=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("channel_account_id", Id),
        sa.Column("chat_id", Id),
        sa.Column("department_id", sa.Text),
        sa.Column("agent_uid", sa.Text),
        sa.Column("data", sa.Text, nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_live_events"),
    )
    op.create_table(
        "live_cursor",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("last_id", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_live_cursor"),
    )


def downgrade() -> None:
    op.drop_table("live_cursor")
    op.drop_table("live_events")
