"""Channel accounts: the business's WhatsApp numbers and the secrets to reach them."""

from __future__ import annotations

from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.store.notify import notify
from inboxd.store.tables import channel_accounts, channel_health_signals

META_GRAPH_URL = "https://graph.facebook.com"
DEFAULT_API_VERSION = "v23.0"
DEFAULT_MPS = 80


@dataclass(frozen=True)
class ChannelAccount:
    id: str
    channel: str
    account_id: str
    phone_number_id: str
    waba_id: str | None
    access_token: str
    app_secret: str
    verify_token: str
    graph_url: str
    api_version: str
    mps: int
    sandbox: bool
    created_at: int
    # The chat lifecycle's settings (docs/chats.md).
    default_department_id: str | None = None
    resolution_message: str | None = None
    # Send WhatsApp's read receipt when an agent reads a chat (`POST /chats/{id}/read`).
    read_receipts: bool = False

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"ChannelAccount(id={self.id!r}, channel={self.channel!r}, account_id={self.account_id!r})"

    @property
    def graph_base(self) -> str:
        return f"{self.graph_url.rstrip('/')}/{self.api_version}"


def _account(row: sa.Row) -> ChannelAccount:
    return ChannelAccount(**{k: getattr(row, k) for k in ChannelAccount.__dataclass_fields__})


async def add_whatsapp_account(
    conn: AsyncConnection,
    *,
    account_id: str,
    phone_number_id: str,
    access_token: str,
    app_secret: str,
    verify_token: str,
    graph_url: str = META_GRAPH_URL,
    api_version: str = DEFAULT_API_VERSION,
    mps: int = DEFAULT_MPS,
    waba_id: str | None = None,
    sandbox: bool = False,
    read_receipts: bool = False,
) -> ChannelAccount:
    values = {
        "id": new_id(),
        "channel": "whatsapp",
        "account_id": account_id,
        "phone_number_id": phone_number_id,
        "waba_id": waba_id,
        "access_token": access_token,
        "app_secret": app_secret,
        "verify_token": verify_token,
        "graph_url": graph_url,
        "api_version": api_version,
        "mps": mps,
        "sandbox": sandbox,
        "created_at": now_ms(),
        "read_receipts": read_receipts,
    }
    await conn.execute(channel_accounts.insert().values(**values))
    # Channel health's bookkeeping row; the number's quality rating is read at once.
    await conn.execute(
        channel_health_signals.insert().values(channel_account_id=values["id"], quality_check_due_at=values["created_at"])
    )
    return ChannelAccount(**values)


# What `update_account` may change (`inboxd channels update`): credentials and connection settings.
UPDATABLE = ("access_token", "app_secret", "verify_token", "graph_url", "api_version", "mps", "waba_id")
# Processes cache accounts for a few seconds; on PostgreSQL this NOTIFY makes them drop the cache
# at once when the update commits (on SQLite the caches expire within their TTL).
ACCOUNTS_CHANGED_CHANNEL = "inboxd_accounts"


async def update_account(conn: AsyncConnection, id_: str, **changes: object) -> ChannelAccount | None:
    unknown = set(changes) - set(UPDATABLE)
    if unknown:
        raise ValueError(f"cannot update {sorted(unknown)}")
    if changes:
        await conn.execute(channel_accounts.update().where(channel_accounts.c.id == id_).values(**changes))
        await notify(conn, ACCOUNTS_CHANGED_CHANNEL, id_)
    return await get_account(conn, id_)


async def find_account(conn: AsyncConnection, ref: str) -> ChannelAccount | None:
    """An account by its inboxd id, or by its business number (`accountId`, a leading + allowed)."""
    return await get_account(conn, ref) or await find_by_account_id(conn, "whatsapp", ref.lstrip("+"))


async def list_accounts(conn: AsyncConnection, channel: str | None = None) -> list[ChannelAccount]:
    query = sa.select(channel_accounts).order_by(channel_accounts.c.created_at, channel_accounts.c.id)
    if channel:
        query = query.where(channel_accounts.c.channel == channel)
    return [_account(r) for r in await conn.execute(query)]


async def get_account(conn: AsyncConnection, id_: str) -> ChannelAccount | None:
    row = (await conn.execute(sa.select(channel_accounts).where(channel_accounts.c.id == id_))).first()
    return _account(row) if row else None


async def find_by_phone_number_id(conn: AsyncConnection, phone_number_id: str) -> ChannelAccount | None:
    query = sa.select(channel_accounts).where(channel_accounts.c.phone_number_id == phone_number_id)
    row = (await conn.execute(query)).first()
    return _account(row) if row else None


async def find_by_account_id(conn: AsyncConnection, channel: str, account_id: str) -> ChannelAccount | None:
    query = sa.select(channel_accounts).where(
        channel_accounts.c.channel == channel, channel_accounts.c.account_id == account_id
    )
    row = (await conn.execute(query)).first()
    return _account(row) if row else None


async def find_sandbox(conn: AsyncConnection) -> ChannelAccount | None:
    query = sa.select(channel_accounts).where(channel_accounts.c.sandbox.is_(True)).limit(1)
    row = (await conn.execute(query)).first()
    return _account(row) if row else None


# --- the chat lifecycle's settings of an account ---------------------------------------------


async def update_lifecycle_settings(conn: AsyncConnection, id_: str, values: dict[str, object]) -> None:
    """`default_department_id` and/or `resolution_message` (None clears)."""
    allowed = {"default_department_id", "resolution_message"}
    assert set(values) <= allowed, set(values) - allowed
    if values:
        await conn.execute(channel_accounts.update().where(channel_accounts.c.id == id_).values(**values))


async def lifecycle_settings(conn: AsyncConnection, id_: str) -> tuple[str | None, str | None]:
    """(default department, resolution message) of the account."""
    query = sa.select(channel_accounts.c.default_department_id, channel_accounts.c.resolution_message).where(
        channel_accounts.c.id == id_
    )
    row = (await conn.execute(query)).first()
    return (row.default_department_id, row.resolution_message) if row else (None, None)


async def accounts_defaulting_to(conn: AsyncConnection, department_id: str) -> list[str]:
    query = sa.select(channel_accounts.c.account_id).where(channel_accounts.c.default_department_id == department_id)
    return sorted((await conn.execute(query)).scalars())
