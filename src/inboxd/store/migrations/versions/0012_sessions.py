"""Agents' browser sessions (stored hashed), the failed sign-ins counted for the lockout, and the
live streams each agent holds open (presence from streams).

Revision ID: 0012_sessions
Revises: 0010_rate_limits
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_sessions"
down_revision = "0010_rate_limits"
branch_labels = None
depends_on = None

Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "agent_sessions",
        sa.Column("id", Id, nullable=False),
        sa.Column("agent_uid", sa.String(36), nullable=False),
        sa.Column("secret_hash", sa.String(64), nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("expires_at", Ms, nullable=False),
        sa.Column("revoked_at", Ms),
        sa.PrimaryKeyConstraint("id", name="pk_agent_sessions"),
        sa.ForeignKeyConstraint(["agent_uid"], ["agents.uid"], name="fk_agent_sessions_agent_uid_agents"),
        sa.UniqueConstraint("secret_hash", name="uq_agent_sessions_secret_hash"),
    )
    op.create_index("ix_agent_sessions_agent_uid", "agent_sessions", ["agent_uid"])
    op.create_index("ix_agent_sessions_expires_at", "agent_sessions", ["expires_at"])
    op.create_table(
        "login_failures",
        sa.Column("id", Id, nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("failed_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_login_failures"),
    )
    op.create_index("ix_login_failures_email_key_failed_at", "login_failures", ["email_key", "failed_at"])
    op.create_table(
        "agent_streams",
        sa.Column("id", Id, nullable=False),
        sa.Column("agent_uid", sa.String(36), nullable=False),
        sa.Column("opened_at", Ms, nullable=False),
        sa.Column("seen_at", Ms, nullable=False),
        sa.Column("closed_at", Ms),
        sa.PrimaryKeyConstraint("id", name="pk_agent_streams"),
        sa.ForeignKeyConstraint(["agent_uid"], ["agents.uid"], name="fk_agent_streams_agent_uid_agents"),
    )
    op.create_index("ix_agent_streams_agent_uid", "agent_streams", ["agent_uid"])


def downgrade() -> None:
    op.drop_index("ix_agent_streams_agent_uid", "agent_streams")
    op.drop_table("agent_streams")
    op.drop_index("ix_login_failures_email_key_failed_at", "login_failures")
    op.drop_table("login_failures")
    op.drop_index("ix_agent_sessions_expires_at", "agent_sessions")
    op.drop_index("ix_agent_sessions_agent_uid", "agent_sessions")
    op.drop_table("agent_sessions")
