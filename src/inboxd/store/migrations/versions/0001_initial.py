"""Initial schema: channel accounts, tokens, chats, messages, files, webhook events, outbox.

Revision ID: 0001
Revises:
Create Date: 2026-11-25
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(24)
Ms = sa.BigInteger


def upgrade() -> None:
    op.create_table(
        "channel_accounts",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("account_id", sa.String(64), nullable=False),
        sa.Column("phone_number_id", sa.String(64), nullable=False),
        sa.Column("waba_id", sa.String(64)),
        sa.Column("access_token", sa.Text, nullable=False),
        sa.Column("app_secret", sa.Text, nullable=False),
        sa.Column("verify_token", sa.Text, nullable=False),
        sa.Column("graph_url", sa.Text, nullable=False),
        sa.Column("api_version", sa.String(16), nullable=False),
        sa.Column("mps", sa.Integer, nullable=False),
        sa.Column("sandbox", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_channel_accounts"),
        sa.UniqueConstraint("phone_number_id", name="uq_channel_accounts_phone_number_id"),
        sa.UniqueConstraint("channel", "account_id", name="uq_channel_accounts_channel_account_id"),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", Id, nullable=False),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("scopes", Json, nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("last_used_at", Ms),
        sa.Column("revoked_at", Ms),
        sa.PrimaryKeyConstraint("id", name="pk_api_tokens"),
        sa.UniqueConstraint("token_hash", name="uq_api_tokens_token_hash"),
    )
    op.create_table(
        "chats",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("contact_id", sa.String(128), nullable=False),
        sa.Column("title", sa.Text),
        sa.Column("display_name", sa.Text),
        sa.Column("person_id", Id),
        sa.Column("image", sa.Text),
        sa.Column("agent_uid", sa.Text),
        sa.Column("agent_display_name", sa.Text),
        sa.Column("department_id", sa.Text),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("unread_count", sa.Integer, nullable=False, server_default="0"),
        sa.Column("labels", Json, nullable=False),
        sa.Column("last_message", Json),
        sa.Column("last_message_at", Ms),
        sa.Column("last_incoming_at", Ms),
        sa.Column("created_at", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.Column("pending_update_time", sa.BigInteger),
        sa.Column("resolved_update_time", sa.BigInteger),
        sa.Column("bot_state", Json),
        sa.Column("previous_bot_session", Json),
        sa.Column("reply_action", Json),
        sa.Column("crm_data", Json),
        sa.Column("crm_deep_link", sa.Text),
        sa.Column("external_bot", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("unsubscribed_at", Ms),
        sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
        sa.PrimaryKeyConstraint("id", name="pk_chats"),
        sa.ForeignKeyConstraint(
            ["channel_account_id"], ["channel_accounts.id"], name="fk_chats_channel_account_id_channel_accounts"
        ),
        sa.UniqueConstraint("channel_account_id", "contact_id", name="uq_chats_channel_account_id_contact_id"),
    )
    op.create_index("ix_chats_last_message_at", "chats", ["last_message_at"])
    op.create_table(
        "messages",
        sa.Column("id", Id, nullable=False),
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("direction", sa.String(8)),
        sa.Column("type", sa.String(16), nullable=False),
        sa.Column("content", Json, nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("status_history", Json, nullable=False),
        sa.Column("external_id", sa.String(255)),
        sa.Column("timestamp", Ms, nullable=False),
        sa.Column("updated_at", Ms, nullable=False),
        sa.Column("seq", sa.BigInteger),
        sa.Column("tmp_send_id", sa.Text),
        sa.Column("context", sa.String(255)),
        sa.Column("agent", sa.Text),
        sa.Column("meta", Json),
        sa.Column("error", Json),
        sa.Column("bot_session_id", sa.String(128)),
        sa.PrimaryKeyConstraint("id", name="pk_messages"),
        sa.ForeignKeyConstraint(["chat_id"], ["chats.id"], name="fk_messages_chat_id_chats"),
        sa.ForeignKeyConstraint(
            ["channel_account_id"], ["channel_accounts.id"], name="fk_messages_channel_account_id_channel_accounts"
        ),
        sa.UniqueConstraint(
            "channel_account_id", "external_id", name="uq_messages_channel_account_id_external_id"
        ),
    )
    op.create_index("ix_messages_chat_id_timestamp_id", "messages", ["chat_id", "timestamp", "id"])
    op.create_table(
        "unmatched_statuses",
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("external_id", sa.String(255), nullable=False),
        sa.Column("status", sa.SmallInteger, nullable=False),
        sa.Column("timestamp", Ms, nullable=False),
        sa.Column("error", Json),
        sa.Column("received_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("channel_account_id", "external_id", "status", name="pk_unmatched_statuses"),
    )
    op.create_table(
        "files",
        sa.Column("id", Id, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("size", sa.BigInteger, nullable=False),
        sa.Column("content_type", sa.Text, nullable=False),
        sa.Column("filename", sa.Text),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_files"),
    )
    op.create_index("ix_files_sha256", "files", ["sha256"])
    op.create_table(
        "file_shares",
        sa.Column("id", Id, nullable=False),
        sa.Column("file_id", Id, nullable=False),
        sa.Column("token_hash", sa.String(64), nullable=False),
        sa.Column("expires_at", Ms),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_file_shares"),
        sa.ForeignKeyConstraint(["file_id"], ["files.id"], name="fk_file_shares_file_id_files"),
        sa.UniqueConstraint("token_hash", name="uq_file_shares_token_hash"),
    )
    op.create_table(
        "webhook_events",
        sa.Column("id", Id, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("received_at", Ms, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("next_attempt_at", Ms, nullable=False),
        sa.Column("lease_until", Ms),
        sa.Column("last_error", sa.Text),
        sa.Column("processed_at", Ms),
        sa.PrimaryKeyConstraint("id", name="pk_webhook_events"),
    )
    op.create_index("ix_webhook_events_state_next_attempt_at", "webhook_events", ["state", "next_attempt_at"])
    op.create_table(
        "outbox",
        sa.Column("id", Id, nullable=False),
        sa.Column("message_id", Id, nullable=False),
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("seq", sa.BigInteger, nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
        sa.Column("due_at", Ms, nullable=False),
        sa.Column("lease_owner", sa.String(64)),
        sa.Column("lease_until", Ms),
        sa.Column("last_error", Json),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.ForeignKeyConstraint(["message_id"], ["messages.id"], name="fk_outbox_message_id_messages"),
        sa.UniqueConstraint("message_id", name="uq_outbox_message_id"),
    )
    op.create_index("ix_outbox_due_at", "outbox", ["due_at"])
    op.create_index("ix_outbox_chat_id_seq", "outbox", ["chat_id", "seq"])
    op.create_table(
        "idempotency_keys",
        sa.Column("chat_id", Id, nullable=False),
        sa.Column("key", sa.String(255), nullable=False),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("message_ids", Json, nullable=False),
        sa.Column("created_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("chat_id", "key", name="pk_idempotency_keys"),
    )
    op.create_table(
        "graph_media",
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("sha256", sa.String(64), nullable=False),
        sa.Column("media_id", sa.Text, nullable=False),
        sa.Column("expires_at", Ms, nullable=False),
        sa.PrimaryKeyConstraint("channel_account_id", "sha256", name="pk_graph_media"),
    )
    op.create_table(
        "send_pacing",
        sa.Column("channel_account_id", Id, nullable=False),
        sa.Column("next_slot_us", sa.BigInteger, nullable=False),
        sa.PrimaryKeyConstraint("channel_account_id", name="pk_send_pacing"),
    )


def downgrade() -> None:
    for table in (
        "send_pacing",
        "graph_media",
        "idempotency_keys",
        "outbox",
        "webhook_events",
        "file_shares",
        "files",
        "unmatched_statuses",
        "messages",
        "chats",
        "api_tokens",
        "channel_accounts",
    ):
        op.drop_table(table)
