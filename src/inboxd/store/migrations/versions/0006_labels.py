"""Labels: the labels table (with the system label failed_message), chat_labels (the indexed
side of `chats.labels`), Search Chats' filter indexes, and the per-account read-receipt setting.

Revision ID: 0006_labels
Revises: 0005_agents_lifecycle
Create Date: 2026-12-01
"""

from __future__ import annotations

import json
import time

import sqlalchemy as sa
from alembic import op

revision = "0006_labels"
down_revision = "0005_agents_lifecycle"
branch_labels = None
depends_on = None

Id = sa.String(24)
Ms = sa.BigInteger

# As `store.labels.SYSTEM_LABELS` was when this migration was written.
SYSTEM_LABELS = [{"id": "failed_message", "name": "Failed message", "color": "#e80303"}]

_FILTER_INDEXES = {
    "ix_chats_status_last_message_at_id": ["status", "last_message_at", "id"],
    "ix_chats_agent_uid_last_message_at_id": ["agent_uid", "last_message_at", "id"],
    "ix_chats_department_id_last_message_at_id": ["department_id", "last_message_at", "id"],
}


def upgrade() -> None:
    op.add_column(
        "channel_accounts", sa.Column("read_receipts", sa.Boolean, nullable=False, server_default=sa.false())
    )
    for name, columns in _FILTER_INDEXES.items():
        op.create_index(name, "chats", columns)
    labels = op.create_table(
        "labels",
        sa.Column("id", sa.String(100), nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("color", sa.String(7), nullable=False),
        sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_labels"),
    )
    chat_labels = op.create_table(
        "chat_labels",
        sa.Column("label_id", sa.String(100), nullable=False),
        sa.Column("chat_id", Id, nullable=False),
        sa.PrimaryKeyConstraint("label_id", "chat_id", name="pk_chat_labels"),
        sa.ForeignKeyConstraint(["label_id"], ["labels.id"], name="fk_chat_labels_label_id_labels"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name="fk_chat_labels_chat_id_chats"),
    )
    now = int(time.time() * 1000)
    op.bulk_insert(labels, [{**label, "system": True, "created_at": now, "updated_at": now} for label in SYSTEM_LABELS])
    _backfill(labels, chat_labels, now)


def _backfill(labels: sa.Table, chat_labels: sa.Table, now: int) -> None:
    """Ids already in `chats.labels` (nothing wrote them before this revision, but a database
    edited by hand may have some) become labels named after themselves, with their rows."""
    bind = op.get_bind()
    chats = sa.table("chats", sa.column("id"), sa.column("labels"))
    known = {label["id"] for label in SYSTEM_LABELS}
    pairs: list[dict[str, str]] = []
    for chat_id, raw in bind.execute(sa.select(chats.c.id, chats.c.labels)):
        value = json.loads(raw) if isinstance(raw, str) else raw
        for label_id in dict.fromkeys(value or []):
            if isinstance(label_id, str) and 1 <= len(label_id) <= 100:
                pairs.append({"label_id": label_id, "chat_id": chat_id})
    new = sorted({p["label_id"] for p in pairs} - known)
    if new:
        op.bulk_insert(labels, [{"id": i, "name": i, "color": "#555555", "system": False, "created_at": now,
                                 "updated_at": now} for i in new])
    if pairs:
        op.bulk_insert(chat_labels, pairs)


def downgrade() -> None:
    op.drop_table("chat_labels")
    op.drop_table("labels")
    for name in _FILTER_INDEXES:
        op.drop_index(name, "chats")
    with op.batch_alter_table("channel_accounts") as batch:
        batch.drop_column("read_receipts")
