"""Rate limits: a token's own rate and burst, and the shared token buckets.

Revision ID: 0010_rate_limits
Revises: 0011_live_events
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_rate_limits"
down_revision = "0011_live_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("api_tokens") as batch:
        batch.add_column(sa.Column("rate_per_second", sa.Float))
        batch.add_column(sa.Column("rate_burst", sa.Integer))
    op.create_table(
        "rate_limit_buckets",
        sa.Column("principal", sa.String(200), nullable=False),
        sa.Column("level", sa.Float, nullable=False),
        sa.Column("updated_at", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("principal", name="pk_rate_limit_buckets"),
    )
    op.create_index("ix_rate_limit_buckets_updated_at", "rate_limit_buckets", ["updated_at"])


def downgrade() -> None:
    op.drop_index("ix_rate_limit_buckets_updated_at", "rate_limit_buckets")
    op.drop_table("rate_limit_buckets")
    with op.batch_alter_table("api_tokens") as batch:
        batch.drop_column("rate_burst")
        batch.drop_column("rate_per_second")
