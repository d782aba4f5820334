"""Scenario authoring (copy, drafts, revisions): each scenario counts the versions it gave out, no
two revisions of a scenario share a number, and a scenario has at most one draft.

Revision ID: 0008_scenario_authoring
Revises: 0007_quick_replies_health
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_scenario_authoring"
down_revision = "0007_quick_replies_health"
branch_labels = None
depends_on = None

DRAFT = sa.text("kind = 'draft'")


def upgrade() -> None:
    op.add_column("scenarios", sa.Column("last_version", sa.Integer, nullable=False, server_default="0"))
    op.execute(
        "UPDATE scenarios SET last_version = COALESCE("
        "(SELECT MAX(version) FROM scenario_revisions WHERE scenario_revisions.scenario_id = scenarios.id), 0)"
    )
    op.create_index("uq_scenario_revisions_scenario_id_version", "scenario_revisions", ["scenario_id", "version"],
                    unique=True)
    op.create_index("uq_scenario_revisions_draft", "scenario_revisions", ["scenario_id"], unique=True,
                    sqlite_where=DRAFT, postgresql_where=DRAFT)


def downgrade() -> None:
    op.drop_index("uq_scenario_revisions_draft", table_name="scenario_revisions")
    op.drop_index("uq_scenario_revisions_scenario_id_version", table_name="scenario_revisions")
    with op.batch_alter_table("scenarios") as batch:
        batch.drop_column("last_version")
