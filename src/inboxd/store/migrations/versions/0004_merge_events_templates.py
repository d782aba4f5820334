"""Merge point: event subscriptions (0002_events) and templates (0003_templates) were written in
parallel from 0001; from here the history is one line again. No schema change.

Revision ID: 0004_merge
Revises: 0002_events, 0003_templates
"""

from __future__ import annotations

revision = "0004_merge"
down_revision = ("0002_events", "0003_templates")
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
