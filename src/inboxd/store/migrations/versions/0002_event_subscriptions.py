"""Event subscriptions: scenarios, their revisions and active triggers, the delivery outbox and
its attempts (docs/events.md).

Revision ID: 0002_events
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0002_events"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "scenarios",
        sa.Column("id", Id, nullable=False),
        sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("signing_secret", sa.Text, nullable=False),
        sa.Column("active_revision_id", Id),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scenarios"),
    )
    op.create_table(
        "scenario_revisions",
        sa.Column("id", Id, nullable=False),
        sa.Column("scenario_id", Id, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer),
        sa.Column("parent_version", sa.Integer),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("definition", Json, nullable=False),
        sa.Column("author_uid", sa.Text),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("modified_at", Ms, nullable=False),
        sa.Column("activated_at", Ms),
        sa.Column("activations", Json, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_scenario_revisions"),
        sa.ForeignKeyConstraint(["scenario_id"], ["scenarios.id"], name="fk_scenario_revisions_scenario_id_scenarios"),
    )
    op.create_index("ix_scenario_revisions_scenario_id", "scenario_revisions", ["scenario_id"])
    op.create_table(
        "scenario_triggers",
        sa.Column("trigger_event", sa.String(128), nullable=False),
        sa.Column("scenario_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("trigger_event", "scenario_id", name="pk_scenario_triggers"),
    )
    op.create_table(
        "event_deliveries",
        sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False, autoincrement=True),
        sa.Column("id", Id, nullable=False),
        sa.Column("scenario_id", Id, nullable=False),
        sa.Column("revision_id", Id, nullable=False),
        sa.Column("trigger_event", sa.String(128), nullable=False),
        sa.Column("event_name", sa.String(255)),
        sa.Column("order_key", sa.String(128), nullable=False),
        sa.Column("chat_id", Id),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("headers", Json),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("due_at", Ms, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", Ms),
        sa.Column("last_status_code", sa.Integer),
        sa.Column("last_error", sa.Text),
        sa.Column("finished_at", Ms),
        sa.PrimaryKeyConstraint("seq", name="pk_event_deliveries"),
        sa.UniqueConstraint("id", name="uq_event_deliveries_id"),
    )
    op.create_index("ix_event_deliveries_state_due_at", "event_deliveries", ["state", "due_at"])
    op.create_index(
        "ix_event_deliveries_state_scenario_id_order_key_seq",
        "event_deliveries",
        ["state", "scenario_id", "order_key", "seq"],
    )
    op.create_index("ix_event_deliveries_scenario_id_seq", "event_deliveries", ["scenario_id", "seq"])
    op.create_index("ix_event_deliveries_finished_at", "event_deliveries", ["finished_at"])
    op.create_table(
        "event_attempts",
        sa.Column("delivery_id", Id, nullable=False),
        sa.Column("attempt", sa.Integer, nullable=False),
        sa.Column("started_at", Ms, nullable=False),
        sa.Column("latency_ms", sa.Integer),
        sa.Column("status_code", sa.Integer),
        sa.Column("error", sa.Text),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("delivery_id", "attempt", name="pk_event_attempts"),
    )


def downgrade() -> None:
    op.drop_table("event_attempts")
    op.drop_table("event_deliveries")
    op.drop_table("scenario_triggers")
    op.drop_index("ix_scenario_revisions_scenario_id", table_name="scenario_revisions")
    op.drop_table("scenario_revisions")
    op.drop_table("scenarios")
