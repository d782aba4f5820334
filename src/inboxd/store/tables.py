"""The database schema (SQLAlchemy Core). Alembic migrations in `store/migrations` create it;
`tests/store/test_migrations.py` checks that the two agree.

Conventions: ids are 24-hex strings (`domain.ids`); times are epoch milliseconds in BigInteger
columns named `*_at` / `timestamp`; JSON columns hold the Texter-shaped sub-objects.
"""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import JSONB

metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

Json = sa.JSON().with_variant(JSONB(), "postgresql")
Id = sa.String(24)
Ms = sa.BigInteger

channel_accounts = sa.Table(
    "channel_accounts",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    # Texter's `accountId`: for WhatsApp, the business phone number in digits.
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("phone_number_id", sa.String(64), nullable=False, unique=True),
    sa.Column("waba_id", sa.String(64)),
    sa.Column("access_token", sa.Text, nullable=False),
    sa.Column("app_secret", sa.Text, nullable=False),
    sa.Column("verify_token", sa.Text, nullable=False),
    sa.Column("graph_url", sa.Text, nullable=False),
    sa.Column("api_version", sa.String(16), nullable=False),
    sa.Column("mps", sa.Integer, nullable=False),
    sa.Column("sandbox", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Ms, nullable=False),
    # The chat lifecycle (docs/chats.md): the department of the chats its contacts open or reopen,
    # and the text `POST /chats/{id}/resolve` sends with `notifyClient: true`.
    sa.Column("default_department_id", sa.String(64)),
    sa.Column("resolution_message", sa.Text),
    # Mark the contact's last message read on WhatsApp when an agent reads the chat (docs/labels.md).
    sa.Column("read_receipts", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.UniqueConstraint("channel", "account_id"),
)

api_tokens = sa.Table(
    "api_tokens",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("scopes", Json, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("last_used_at", Ms),
    sa.Column("revoked_at", Ms),
    # The token's own rate limit (`tokens create --rate/--burst`); null: the configured default.
    sa.Column("rate_per_second", sa.Float),
    sa.Column("rate_burst", sa.Integer),
)

chats = sa.Table(
    "chats",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("channel_account_id", Id, sa.ForeignKey("channel_accounts.id"), nullable=False),
    # Texter's `channelInfo.id`: for WhatsApp, the contact's wa_id.
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
    # WhatsApp's own timestamp of the contact's last message: the 24-hour window runs from it.
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
    # Outbound acceptance order: each accepted outgoing message takes the next value.
    sa.Column("last_seq", sa.BigInteger, nullable=False, server_default="0"),
    # Since when the chat waits for an agent (PENDING with none), else null: round robin hands
    # waiting chats out oldest first (docs/chats.md).
    sa.Column("queued_at", Ms),
    sa.UniqueConstraint("channel_account_id", "contact_id"),
    sa.Index("ix_chats_last_message_at", "last_message_at"),
    sa.Index("ix_chats_department_id_queued_at", "department_id", "queued_at"),
    # An agent's open (PENDING + ASSIGNED) chats: counted for every round-robin choice.
    sa.Index("ix_chats_agent_uid_status", "agent_uid", "status"),
    # Search Chats' filters, each also walking the sort by last message time (docs/labels.md).
    sa.Index("ix_chats_status_last_message_at_id", "status", "last_message_at", "id"),
    sa.Index("ix_chats_agent_uid_last_message_at_id", "agent_uid", "last_message_at", "id"),
    sa.Index("ix_chats_department_id_last_message_at_id", "department_id", "last_message_at", "id"),
)

messages = sa.Table(
    "messages",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("chat_id", Id, sa.ForeignKey("chats.id"), nullable=False),
    sa.Column("channel_account_id", Id, sa.ForeignKey("channel_accounts.id"), nullable=False),
    sa.Column("direction", sa.String(8)),
    sa.Column("type", sa.String(16), nullable=False),
    # The type's content fields (text, media, buttons, list, contacts, location, postback, special).
    sa.Column("content", Json, nullable=False),
    sa.Column("status", sa.SmallInteger, nullable=False),
    sa.Column("status_history", Json, nullable=False),
    # The provider's message id (WhatsApp wamid), once known.
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
    sa.UniqueConstraint("channel_account_id", "external_id"),
    sa.Index("ix_messages_chat_id_timestamp_id", "chat_id", "timestamp", "id"),
)

# A status webhook that arrived before the send that caused it committed its wamid: kept here
# and applied when the wamid is stored (see `store.messages.attach_external_id`).
unmatched_statuses = sa.Table(
    "unmatched_statuses",
    metadata,
    sa.Column("channel_account_id", Id, primary_key=True),
    sa.Column("external_id", sa.String(255), primary_key=True),
    sa.Column("status", sa.SmallInteger, primary_key=True),
    sa.Column("timestamp", Ms, nullable=False),
    sa.Column("error", Json),
    sa.Column("received_at", Ms, nullable=False),
)

files = sa.Table(
    "files",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("sha256", sa.String(64), nullable=False, index=True),
    sa.Column("size", sa.BigInteger, nullable=False),
    sa.Column("content_type", sa.Text, nullable=False),
    sa.Column("filename", sa.Text),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

file_shares = sa.Table(
    "file_shares",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("file_id", Id, sa.ForeignKey("files.id"), nullable=False),
    sa.Column("token_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("expires_at", Ms),
    sa.Column("created_at", Ms, nullable=False),
)

# Raw inbound webhooks, persisted before they are acknowledged and processed.
webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("body", sa.LargeBinary, nullable=False),
    sa.Column("received_at", Ms, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | done | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", Ms, nullable=False),
    sa.Column("lease_until", Ms),
    sa.Column("last_error", sa.Text),
    sa.Column("processed_at", Ms),
    sa.Index("ix_webhook_events_state_next_attempt_at", "state", "next_attempt_at"),
)

# The delivery outbox: one row per outgoing message not yet handed to the channel, committed
# with the message and deleted when the channel has answered for good.
outbox = sa.Table(
    "outbox",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("message_id", Id, sa.ForeignKey("messages.id"), nullable=False, unique=True),
    sa.Column("chat_id", Id, nullable=False),
    sa.Column("channel_account_id", Id, nullable=False),
    sa.Column("seq", sa.BigInteger, nullable=False),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("due_at", Ms, nullable=False),
    # Set while a worker holds the row; a lease that ran out with the owner still set means the
    # worker died mid-send, so the outcome is in doubt (see delivery.worker).
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", Ms),
    sa.Column("last_error", Json),
    sa.Column("created_at", Ms, nullable=False),
    # How long the chat's next message waits after this one was handed to the channel (a quick
    # reply's `betweenMessagesDelay`); applied when this row leaves the outbox.
    sa.Column("next_gap_ms", sa.Integer),
    sa.Index("ix_outbox_due_at", "due_at"),
    sa.Index("ix_outbox_chat_id_seq", "chat_id", "seq"),
)

# `tmpSendId` / `Idempotency-Key`: the first request's result, per chat, for 24 hours.
idempotency_keys = sa.Table(
    "idempotency_keys",
    metadata,
    sa.Column("chat_id", Id, primary_key=True),
    sa.Column("key", sa.String(255), primary_key=True),
    sa.Column("request_hash", sa.String(64), nullable=False),
    sa.Column("message_ids", Json, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

# Media ids Graph gave us for a file we uploaded, per account and content hash.
graph_media = sa.Table(
    "graph_media",
    metadata,
    sa.Column("channel_account_id", Id, primary_key=True),
    sa.Column("sha256", sa.String(64), primary_key=True),
    sa.Column("media_id", sa.Text, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
)

# Per-account send pacing shared by every worker process: the next free send slot.
send_pacing = sa.Table(
    "send_pacing",
    metadata,
    sa.Column("channel_account_id", Id, primary_key=True),
    sa.Column("next_slot_us", sa.BigInteger, nullable=False),
)

# --- templates (docs/templates.md) -----------------------------------------------------------

# A Texter template: inboxd-side behaviour (usage, the chat status and reply action after the
# contact answers, send defaults) plus its unsubmitted drafts, per channel account.
templates = sa.Table(
    "templates",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("channel_account_id", Id, sa.ForeignKey("channel_accounts.id"), nullable=False),
    # Texter's `name` as the client spelled it; `provider_name` is its lowercase form, the name at
    # Meta (Meta allows lowercase only), so names differing only in case cannot both exist.
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
    # {language: {body?, header?, buttons?}}: values used when a send gives none.
    sa.Column("defaults", Json, nullable=False),
    # Texter's `localizationDrafts`: {language: {language, components, lastUpdated}}.
    sa.Column("drafts", Json, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.UniqueConstraint("channel_account_id", "provider_name"),
)

# Submitted localizations (`provider_template.localizations[]`), one per template and language,
# with the status Meta reports (REQUESTED → PENDING → APPROVED / REJECTED / …).
template_localizations = sa.Table(
    "template_localizations",
    metadata,
    sa.Column("template_id", Id, sa.ForeignKey("templates.id"), primary_key=True),
    sa.Column("language", sa.String(16), primary_key=True),
    sa.Column("status", sa.String(32), nullable=False),
    sa.Column("components", Json, nullable=False),
    sa.Column("rejection_reason", sa.Text),
    # Meta's id of this name + language (the `message_template_id` of its status webhooks).
    sa.Column("provider_template_id", sa.String(64)),
    sa.Column("meta", Json),
    sa.Column("quality_score", Json),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_template_localizations_provider_template_id", "provider_template_id"),
)

# --- event subscriptions (docs/events.md) ---------------------------------------------------

# A Texter scenario used as an event subscription. `signing_secret` keys the HMAC signature of
# every delivery, so it is kept in clear (like a channel's app secret); it is shown once, at import.
scenarios = sa.Table(
    "scenarios",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("signing_secret", sa.Text, nullable=False),
    # No foreign key: revisions point at their scenario, and this points back at one of them.
    sa.Column("active_revision_id", Id),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    # The highest version number ever given to a revision of this scenario: Create Revision takes
    # the next one (incremented under the row's lock), so a deleted revision's number is never reused.
    sa.Column("last_version", sa.Integer, nullable=False, server_default="0"),
)

# Revisions (numbered, immutable once made) and drafts of each scenario. `definition` holds the
# validated scenario data: triggerEvents, loaders, conditions, actions, options, …
scenario_revisions = sa.Table(
    "scenario_revisions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("scenario_id", Id, sa.ForeignKey("scenarios.id"), nullable=False, index=True),
    sa.Column("kind", sa.String(16), nullable=False),  # revision | draft
    sa.Column("version", sa.Integer),  # revisions: 1, 2, …; drafts: none
    sa.Column("parent_version", sa.Integer),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("definition", Json, nullable=False),
    sa.Column("author_uid", sa.Text),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("modified_at", Ms, nullable=False),
    sa.Column("activated_at", Ms),
    sa.Column("activations", Json, nullable=False),  # [{timestamp, userUid}]
    # No two revisions of a scenario share a number (drafts have none), and a scenario has at
    # most one draft: the database refuses what a race between two processes could otherwise make.
    sa.Index("uq_scenario_revisions_scenario_id_version", "scenario_id", "version", unique=True),
    sa.Index("uq_scenario_revisions_draft", "scenario_id", unique=True,
             sqlite_where=sa.text("kind = 'draft'"), postgresql_where=sa.text("kind = 'draft'")),
)

# The trigger events of each *active* scenario: the one lookup made inside every transaction
# that raises an event, so it is exact and indexed.
scenario_triggers = sa.Table(
    "scenario_triggers",
    metadata,
    sa.Column("trigger_event", sa.String(128), primary_key=True),
    sa.Column("scenario_id", Id, primary_key=True),
)

# The event delivery outbox, and the record of each delivery ("run"). A row is written in the
# transaction of the change that raised the event; workers claim due rows with leases, the head
# of each (scenario, order_key) stream first. No foreign keys: deleting a subscription must never
# make the transaction of a change (an incoming message) fail.
event_deliveries = sa.Table(
    "event_deliveries",
    metadata,
    # Insertion order: the order of events within a stream.
    sa.Column("seq", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
    # The stable event id receivers deduplicate on (X-Inboxd-Event-Id).
    sa.Column("id", Id, nullable=False, unique=True),
    sa.Column("scenario_id", Id, nullable=False),
    sa.Column("revision_id", Id, nullable=False),
    sa.Column("trigger_event", sa.String(128), nullable=False),
    sa.Column("event_name", sa.String(255)),
    # Events of one stream (a chat) are delivered one at a time, in `seq` order.
    sa.Column("order_key", sa.String(128), nullable=False),
    sa.Column("chat_id", Id),
    sa.Column("method", sa.String(8), nullable=False),
    sa.Column("url", sa.Text, nullable=False),
    sa.Column("headers", Json),
    # The exact bytes sent and signed, the same on every attempt.
    sa.Column("body", sa.Text, nullable=False),
    sa.Column("state", sa.String(16), nullable=False),  # pending | delivered | failed
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("due_at", Ms, nullable=False),
    sa.Column("lease_owner", sa.String(64)),
    sa.Column("lease_until", Ms),
    sa.Column("last_status_code", sa.Integer),
    sa.Column("last_error", sa.Text),
    sa.Column("finished_at", Ms),
    sa.Index("ix_event_deliveries_state_due_at", "state", "due_at"),
    sa.Index("ix_event_deliveries_state_scenario_id_order_key_seq", "state", "scenario_id", "order_key", "seq"),
    sa.Index("ix_event_deliveries_scenario_id_seq", "scenario_id", "seq"),
    sa.Index("ix_event_deliveries_finished_at", "finished_at"),
)

# Every attempt to deliver an event: what the receiver answered, how fast, or what went wrong.
event_attempts = sa.Table(
    "event_attempts",
    metadata,
    sa.Column("delivery_id", Id, primary_key=True),
    sa.Column("attempt", sa.Integer, primary_key=True),
    sa.Column("started_at", Ms, nullable=False),
    sa.Column("latency_ms", sa.Integer),
    sa.Column("status_code", sa.Integer),
    sa.Column("error", sa.Text),
    sa.Column("outcome", sa.String(16), nullable=False),  # delivered | retry | failed
)

# --- quick replies (docs/quick-replies.md) --------------------------------------------------

# A Texter quick reply. `contents` are Send a Message bodies as validated; `content_types` is
# ",text,media," (the distinct types, comma-framed) so `hasContentsType[]` is a portable LIKE.
quick_replies = sa.Table(
    "quick_replies",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("contents", Json, nullable=False),
    sa.Column("content_types", sa.String(128), nullable=False),
    sa.Column("between_messages_delay", sa.Integer),
    sa.Column("target", Json, nullable=False),  # [{name, accountId, id?}] as given
    sa.Column("position", sa.String(8), nullable=False),
    sa.Column("title", sa.Text),
    sa.Column("note", sa.Text),
    sa.Column("departments", Json, nullable=False),  # department ids, as given
    sa.Column("users", Json, nullable=False),  # agent uids, as given
    sa.Column("client", Json),  # `metadata.client`, free-form
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_quick_replies_created_at", "created_at"),
)

# `send.target` flattened, one row per target, for the `forChat[...]` filter.
quick_reply_targets = sa.Table(
    "quick_reply_targets",
    metadata,
    sa.Column("quick_reply_id", Id, sa.ForeignKey("quick_replies.id"), primary_key=True),
    sa.Column("position", sa.Integer, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),
    sa.Column("chat_id", Id),
    sa.Index("ix_quick_reply_targets_channel_account_id", "channel", "account_id"),
)

# --- channel health (docs/channel-health.md) ------------------------------------------------

# Texter's Problem objects. At most one *active* problem per (name, case_id): the partial unique
# index makes concurrent raisers (processes, workers) agree on one incident.
channel_problems = sa.Table(
    "channel_problems",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("channel", sa.String(32), nullable=False),
    sa.Column("channel_account_id", Id, sa.ForeignKey("channel_accounts.id"), nullable=False),
    sa.Column("account_id", sa.String(64), nullable=False),  # Texter's accountId (the business number)
    sa.Column("name", sa.String(100), nullable=False),
    sa.Column("case_id", sa.String(128), nullable=False),
    sa.Column("severity", sa.String(8), nullable=False),
    sa.Column("impaired", Json, nullable=False),
    sa.Column("message", sa.Text, nullable=False),
    sa.Column("instruction", sa.Text),
    sa.Column("source", Json, nullable=False),  # the signal that raised it
    # What resolves it by itself (health.kinds.Clears), and the class of the Graph call that raised it.
    sa.Column("clears_on", sa.String(16), nullable=False),
    sa.Column("operation_class", sa.String(16)),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("started_at", Ms, nullable=False),
    sa.Column("resolved_at", Ms),
    sa.Column("resolved_by", sa.String(16)),  # signal | operator
    sa.Index(
        "uq_channel_problems_active_name_case_id",
        "name",
        "case_id",
        unique=True,
        sqlite_where=sa.text("resolved_at IS NULL"),
        postgresql_where=sa.text("resolved_at IS NULL"),
    ),
    sa.Index("ix_channel_problems_channel_account_id_resolved_at", "channel_account_id", "resolved_at"),
    sa.Index("ix_channel_problems_created_at", "created_at"),
)

# What channel health watches per account between signals: when a webhook last arrived, the first
# successful send not followed by any webhook (both at a minute's resolution, so the hot paths
# write them about once a minute), and when the number's quality rating is next read from Graph.
channel_health_signals = sa.Table(
    "channel_health_signals",
    metadata,
    sa.Column("channel_account_id", Id, sa.ForeignKey("channel_accounts.id"), primary_key=True),
    sa.Column("last_webhook_at", Ms),
    sa.Column("unanswered_send_at", Ms),
    sa.Column("quality_check_due_at", Ms, nullable=False),
    sa.Column("quality_rating", sa.String(16)),
)

# --- the live event log (docs/live.md) -------------------------------------------------------

# One row per change an agent should see, written in the change's transaction. Ids come from
# `live_cursor` inside that transaction, so they are gapless and increase in commit order.
# `data` is the event's object as JSON text, streamed as it is stored. The chat's department
# and agent at the time of the event are kept beside it for per-agent visibility rules.
live_events = sa.Table(
    "live_events",
    metadata,
    sa.Column("id", sa.BigInteger, primary_key=True, autoincrement=False),
    sa.Column("type", sa.String(32), nullable=False),
    sa.Column("channel_account_id", Id),
    sa.Column("chat_id", Id),
    sa.Column("department_id", sa.Text),
    sa.Column("agent_uid", sa.Text),
    sa.Column("before", sa.Text),  # a moved chat's [department_id, agent_uid] before the move (JSON)
    sa.Column("data", sa.Text, nullable=False),
    sa.Column("created_at", Ms, nullable=False),
)

# The last live event id handed out (one row). Taking the next ids updates this row, which
# locks it until the transaction commits: the next writer waits, so id order is commit order.
live_cursor = sa.Table(
    "live_cursor",
    metadata,
    sa.Column("name", sa.String(32), primary_key=True),
    sa.Column("last_id", sa.BigInteger, nullable=False),
)

# --- agents and departments (docs/chats.md) -------------------------------------------------

# The people who work the inbox. `email_key` is the lower-cased email: unique, so two spellings
# of one address cannot both exist. `password_hash` is argon2id (never returned, never logged).
agents = sa.Table(
    "agents",
    metadata,
    sa.Column("uid", sa.String(36), primary_key=True),
    sa.Column("email", sa.String(320), nullable=False),
    sa.Column("email_key", sa.String(320), nullable=False, unique=True),
    sa.Column("display_name", sa.Text, nullable=False),
    sa.Column("crm_id", sa.String(255), unique=True),
    sa.Column("roles", Json, nullable=False),
    sa.Column("password_hash", sa.Text),
    sa.Column("active", sa.Boolean, nullable=False),
    sa.Column("presence", sa.String(16), nullable=False),
    sa.Column("max_open_chats", sa.Integer),
    # When the agent last got a chat: round robin's tie-break (the one assigned longest ago).
    sa.Column("last_assigned_at", Ms),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

departments = sa.Table(
    "departments",
    metadata,
    sa.Column("id", sa.String(64), primary_key=True),  # a slug, Texter's `departmentId`
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("assignment", sa.String(16), nullable=False),  # manual | round_robin
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

# --- labels (docs/labels.md) ----------------------------------------------------------------

# Texter's labels. `system` labels (failed_message) exist from the start: they can be renamed and
# recoloured, never created or deleted.
labels = sa.Table(
    "labels",
    metadata,
    sa.Column("id", sa.String(100), primary_key=True),
    sa.Column("name", sa.Text, nullable=False),
    sa.Column("color", sa.String(7), nullable=False),
    sa.Column("system", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("updated_at", Ms, nullable=False),
)

department_members = sa.Table(
    "department_members",
    metadata,
    sa.Column("department_id", sa.String(64), sa.ForeignKey("departments.id"), primary_key=True),
    sa.Column("agent_uid", sa.String(36), sa.ForeignKey("agents.uid"), primary_key=True),
    sa.Index("ix_department_members_agent_uid", "agent_uid"),
)

# The labels of each chat, one row per (label, chat): what Search Chats' `labels[]` filter reads
# through an index on both databases. Kept in step with `chats.labels` (the rendered list, in
# order) by the one function that writes both (`store.labels.write_chat_labels`).
chat_labels = sa.Table(
    "chat_labels",
    metadata,
    sa.Column("label_id", sa.String(100), sa.ForeignKey("labels.id"), primary_key=True),
    sa.Column("chat_id", Id, sa.ForeignKey("chats.id"), primary_key=True),
)

# --- rate limits (0010_rate_limits) -------------------------------------------------------------
# The shared token bucket of each principal (`token:<id>`, `address:<ip>`, later `session:<id>`);
# processes take units from it in small leases (api/limiter.py).
rate_limit_buckets = sa.Table(
    "rate_limit_buckets",
    metadata,
    sa.Column("principal", sa.String(200), primary_key=True),
    sa.Column("level", sa.Float, nullable=False),  # units left at `updated_at`
    sa.Column("updated_at", Ms, nullable=False),
    sa.Index("ix_rate_limit_buckets_updated_at", "updated_at"),
)

# --- sign-in (0012_sessions, docs/sign-in.md) -----------------------------------------------------
# An agent's browser session: the cookie's secret is only stored as its SHA-256, so any process
# accepts it and a copy of the database signs nobody in. Expires at `expires_at`
# (INBOXD_SESSION_HOURS after sign-in); logout sets `revoked_at`.
agent_sessions = sa.Table(
    "agent_sessions",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_uid", sa.String(36), sa.ForeignKey("agents.uid"), nullable=False),
    sa.Column("secret_hash", sa.String(64), nullable=False, unique=True),
    sa.Column("created_at", Ms, nullable=False),
    sa.Column("expires_at", Ms, nullable=False),
    sa.Column("revoked_at", Ms),
    sa.Index("ix_agent_sessions_agent_uid", "agent_uid"),
    sa.Index("ix_agent_sessions_expires_at", "expires_at"),
)

# One row per failed sign-in, by lower-cased email (known or not): the lockout counts them, so it
# holds across processes; rows older than the lockout window are purged.
login_failures = sa.Table(
    "login_failures",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("email_key", sa.String(320), nullable=False),
    sa.Column("failed_at", Ms, nullable=False),
    sa.Index("ix_login_failures_email_key_failed_at", "email_key", "failed_at"),
)

# The live streams an agent's sessions hold open, in any process (presence from streams): a row
# per stream, `seen_at` refreshed while it is open, `closed_at` set when it closes (the grace
# period runs from it); a process that died leaves rows that go stale.
agent_streams = sa.Table(
    "agent_streams",
    metadata,
    sa.Column("id", Id, primary_key=True),
    sa.Column("agent_uid", sa.String(36), sa.ForeignKey("agents.uid"), nullable=False),
    sa.Column("opened_at", Ms, nullable=False),
    sa.Column("seen_at", Ms, nullable=False),
    sa.Column("closed_at", Ms),
    sa.Index("ix_agent_streams_agent_uid", "agent_uid"),
)
