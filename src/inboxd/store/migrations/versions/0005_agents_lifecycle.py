"""Agents, departments and the chat lifecycle: agents, departments and their members; the
channel account's default department and resolution message; when a chat started waiting.

Revision ID: 0005_agents_lifecycle
Revises: 0004_merge
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005_agents_lifecycle"
down_revision = "0004_merge"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "agents",
        sa.Column("uid", sa.String(36), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("email_key", sa.String(320), nullable=False),
        sa.Column("display_name", sa.Text, nullable=False),
        sa.Column("crm_id", sa.String(255)),
        sa.Column("roles", Json, nullable=False),
        sa.Column("password_hash", sa.Text),
        sa.Column("active", sa.Boolean, nullable=False),
        sa.Column("presence", sa.String(16), nullable=False),
        sa.Column("max_open_chats", sa.Integer),
        sa.Column("last_assigned_at", Ms),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("uid", name="pk_agents"),
        sa.UniqueConstraint("email_key", name="uq_agents_email_key"),
        sa.UniqueConstraint("crm_id", name="uq_agents_crm_id"),
    )
    op.create_table(
        "departments",
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("assignment", sa.String(16), nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_departments"),
    )
    op.create_table(
        "department_members",
        sa.Column("department_id", sa.String(64), nullable=False),
        sa.Column("agent_uid", sa.String(36), nullable=False),
        sa.PrimaryKeyConstraint("department_id", "agent_uid", name="pk_department_members"),
        sa.ForeignKeyConstraint(
            ["department_id"], ["departments.id"], name="fk_department_members_department_id_departments"
        ),
        sa.ForeignKeyConstraint(["agent_uid"], ["agents.uid"], name="fk_department_members_agent_uid_agents"),
    )
    op.create_index("ix_department_members_agent_uid", "department_members", ["agent_uid"])
    op.add_column("channel_accounts", sa.Column("default_department_id", sa.String(64)))
    op.add_column("channel_accounts", sa.Column("resolution_message", sa.Text))
    op.add_column("chats", sa.Column("queued_at", Ms))
    op.create_index("ix_chats_department_id_queued_at", "chats", ["department_id", "queued_at"])
    op.create_index("ix_chats_agent_uid_status", "chats", ["agent_uid", "status"])


def downgrade() -> None:
    op.drop_index("ix_chats_agent_uid_status", "chats")
    op.drop_index("ix_chats_department_id_queued_at", "chats")
    with op.batch_alter_table("chats") as batch:
        batch.drop_column("queued_at")
    with op.batch_alter_table("channel_accounts") as batch:
        batch.drop_column("resolution_message")
        batch.drop_column("default_department_id")
    op.drop_index("ix_department_members_agent_uid", "department_members")
    op.drop_table("department_members")
    op.drop_table("departments")
    op.drop_table("agents")
