"""Templates: the templates of each channel account and their submitted localizations.

Revision ID: 0003_templates
Revises: 0001
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003_templates"
down_revision = "0001"
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "templates",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("name", sa.String(512), nullable=False),
        sa.Column("provider_name", sa.String(512), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("usage", sa.String(16), nullable=False),
        sa.Column("category", sa.String(32), nullable=False),
        sa.Column("chat_status", sa.SmallInteger, nullable=False),
        sa.Column("is_default", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("departments", Json, nullable=False),
        sa.Column("set_bot_node", sa.Text),
        sa.Column("bot", sa.Text),
        sa.Column("reply_text", sa.Text),
        sa.Column("responsible_agent", sa.Text),
        sa.Column("responsible_department", sa.Text),
        sa.Column("attached_file", Json),
        sa.Column("defaults", Json, nullable=False),
        sa.Column("drafts", Json, nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.ForeignKeyConstraint(
            ["channel_account_id"], ["channel_accounts.id"], name="fk_templates_channel_account_id_channel_accounts"
        ),
        sa.UniqueConstraint(
            "channel_account_id", "provider_name", name="uq_templates_channel_account_id_provider_name"
        ),
    )
    op.create_table(
        "template_localizations",
        sa.Column("template_id", Id, nullable=False),
        sa.Column("language", sa.String(16), nullable=False),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("components", Json, nullable=False),
        sa.Column("rejection_reason", sa.Text),
        sa.Column("provider_template_id", sa.String(64)),
        sa.Column("meta", Json),
        sa.Column("quality_score", Json),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("template_id", "language", name="pk_template_localizations"),
        sa.ForeignKeyConstraint(
            ["template_id"], ["templates.id"], name="fk_template_localizations_template_id_templates"
        ),
    )
    op.create_index(
        "ix_template_localizations_provider_template_id", "template_localizations", ["provider_template_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_template_localizations_provider_template_id", "template_localizations")
    op.drop_table("template_localizations")
    op.drop_table("templates")
