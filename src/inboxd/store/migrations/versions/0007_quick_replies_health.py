"""Quick replies (their targets flattened for the forChat filter), channel health problems and
the per-account health signals; the outbox learns the gap before a chat's next message.

Revision ID: 0007_quick_replies_health
Revises: 0006_labels
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007_quick_replies_health"
down_revision = "0006_labels"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.add_column("outbox", sa.Column("next_gap_ms", sa.Integer))
    op.create_table(
        "quick_replies",
        sa.Column("id", Id, nullable=False),
        sa.Column("contents", Json, nullable=False),
        sa.Column("content_types", sa.String(128), nullable=False),
        sa.Column("between_messages_delay", sa.Integer),
        sa.Column("target", Json, nullable=False),
        sa.Column("position", sa.String(8), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("note", sa.Text),
        sa.Column("departments", Json, nullable=False),
        sa.Column("users", Json, nullable=False),
        sa.Column("client", Json),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_quick_replies"),
    )
    op.create_index("ix_quick_replies_created_at", "quick_replies", ["created_at"])
    op.create_table(
        "quick_reply_targets",
        sa.Column("quick_reply_id", Id, nullable=False),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("chat_id", Id),
        sa.PrimaryKeyConstraint("quick_reply_id", "position", name="pk_quick_reply_targets"),
        sa.ForeignKeyConstraint(
            ["quick_reply_id"], ["quick_replies.id"], name="fk_quick_reply_targets_quick_reply_id_quick_replies"
        ),
    )
    op.create_index(
        "ix_quick_reply_targets_channel_account_id", "quick_reply_targets", ["channel", "account_id"]
    )
    op.create_table(
        "channel_problems",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("case_id", sa.String(128), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("impaired", Json, nullable=False),
        sa.Column("message", sa.Text, nullable=False),
        sa.Column("instruction", sa.Text),
        sa.Column("source", Json, nullable=False),
        sa.Column("clears_on", sa.String(16), nullable=False),
        sa.Column("operation_class", sa.String(16)),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("started_at", Ms, nullable=False),
        sa.Column("resolved_at", Ms),
        sa.Column("resolved_by", sa.String(16)),
        sa.PrimaryKeyConstraint("id", name="pk_channel_problems"),
        sa.ForeignKeyConstraint(
            ["channel_account_id"], ["channel_accounts.id"], name="fk_channel_problems_channel_account_id_channel_accounts"
        ),
    )
    op.create_index(
        "uq_channel_problems_active_name_case_id",
        "channel_problems",
        ["name", "case_id"],
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    )
    op.create_index(
        "ix_channel_problems_channel_account_id_resolved_at", "channel_problems", ["channel_account_id", "resolved_at"]
    )
    op.create_index("ix_channel_problems_created_at", "channel_problems", ["created_at"])
    op.create_table(
        "channel_health_signals",
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("last_webhook_at", Ms),
        sa.Column("unanswered_send_at", Ms),
        sa.Column("quality_check_due_at", Ms, nullable=False),
        sa.Column("quality_rating", sa.String(16)),
        sa.PrimaryKeyConstraint("channel_account_id", name="pk_channel_health_signals"),
        sa.ForeignKeyConstraint(
            ["channel_account_id"],
            ["channel_accounts.id"],
            name="fk_channel_health_signals_channel_account_id_channel_accounts",
        ),
    )


def downgrade() -> None:
    op.drop_table("channel_health_signals")
    op.drop_table("channel_problems")
    op.drop_table("quick_reply_targets")
    op.drop_table("quick_replies")
    op.drop_column("outbox", "next_gap_ms")
