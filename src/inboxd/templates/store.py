"""Template rows: queries on `templates` and `template_localizations`.

A template is looked up by its name case-insensitively (`provider_name`, the lowercase name it
has at Meta), so `Order_Ready` and `order_ready` are one template.
"""

from __future__ import annotations

import re
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.tables import channel_accounts, template_localizations, templates

# Statuses a localization has before Meta has it.
LOCAL_STATUSES = ("REQUESTED", "SUBMIT_FAILED")
APPROVED = "APPROVED"

_WITH_ACCOUNT = sa.select(templates, channel_accounts.c.account_id.label("account_phone")).join(
    channel_accounts, channel_accounts.c.id == templates.c.channel_account_id
)


async def get_template(
    conn: AsyncConnection, channel_account_id: str, name: str, *, lock: bool = False
) -> sa.RowMapping | None:
    """`lock`: hold the template row until commit (PostgreSQL; SQLite has one writer anyway), for
    read-modify-write of its drafts and localizations by concurrent requests."""
    query = _WITH_ACCOUNT.where(
        templates.c.channel_account_id == channel_account_id, templates.c.provider_name == name.lower()
    )
    if lock:
        query = query.with_for_update(of=templates)
    return (await conn.execute(query)).mappings().first()


async def get_template_by_id(conn: AsyncConnection, template_id: str) -> sa.RowMapping:
    return (await conn.execute(_WITH_ACCOUNT.where(templates.c.id == template_id))).mappings().one()


async def accounts_having(conn: AsyncConnection, name: str) -> list[str]:
    """The channel accounts (ids) with a template of this name, oldest account first."""
    query = (
        sa.select(channel_accounts.c.id)
        .join(templates, templates.c.channel_account_id == channel_accounts.c.id)
        .where(templates.c.provider_name == name.lower(), channel_accounts.c.channel == "whatsapp")
        .order_by(channel_accounts.c.created_at, channel_accounts.c.id)
    )
    return [r.id for r in await conn.execute(query)]


async def list_templates(conn: AsyncConnection, channel_account_id: str | None = None) -> list[sa.RowMapping]:
    query = _WITH_ACCOUNT.order_by(templates.c.created_at, templates.c.id)
    if channel_account_id is not None:
        query = query.where(templates.c.channel_account_id == channel_account_id)
    return list((await conn.execute(query)).mappings())


async def localizations(conn: AsyncConnection, template_ids: list[str]) -> dict[str, list[sa.RowMapping]]:
    if not template_ids:
        return {}
    query = (
        sa.select(template_localizations)
        .where(template_localizations.c.template_id.in_(template_ids))
        .order_by(template_localizations.c.created_at, template_localizations.c.language)
    )
    found: dict[str, list[sa.RowMapping]] = {tid: [] for tid in template_ids}
    for row in (await conn.execute(query)).mappings():
        found[row["template_id"]].append(row)
    return found


async def generated_name(conn: AsyncConnection, channel_account_id: str, usage: str, category: str) -> str:
    """`{usage}_{category}_{n}` (e.g. `inbox_marketing_95`): one more than the highest n taken."""
    prefix = f"{usage}_{category}_".lower()
    query = sa.select(templates.c.provider_name).where(
        templates.c.channel_account_id == channel_account_id,
        templates.c.provider_name.like(prefix.replace("_", "\\_") + "%", escape="\\"),
    )
    pattern = re.compile(re.escape(prefix) + r"(\d+)$")
    taken = [int(m.group(1)) for (name,) in await conn.execute(query) if (m := pattern.match(name))]
    return f"{prefix}{max(taken, default=0) + 1}"


async def insert_template(conn: AsyncConnection, values: dict[str, Any]) -> None:
    await conn.execute(templates.insert().values(**values))


async def update_template(conn: AsyncConnection, template_id: str, values: dict[str, Any]) -> None:
    await conn.execute(templates.update().where(templates.c.id == template_id).values(**values))


async def clear_default(conn: AsyncConnection, channel_account_id: str, except_id: str) -> None:
    """Only one default template per account."""
    await conn.execute(
        templates.update()
        .where(templates.c.channel_account_id == channel_account_id, templates.c.id != except_id,
               templates.c.is_default.is_(True))
        .values(is_default=False)
    )


async def delete_template(conn: AsyncConnection, template_id: str) -> None:
    await conn.execute(template_localizations.delete().where(template_localizations.c.template_id == template_id))
    await conn.execute(templates.delete().where(templates.c.id == template_id))


async def get_localization(conn: AsyncConnection, template_id: str, language: str) -> sa.RowMapping | None:
    query = sa.select(template_localizations).where(
        template_localizations.c.template_id == template_id, template_localizations.c.language == language
    )
    return (await conn.execute(query)).mappings().first()


async def put_localization(conn: AsyncConnection, values: dict[str, Any]) -> None:
    """Insert the localization, or replace the one of that template and language."""
    await conn.execute(
        template_localizations.delete().where(
            template_localizations.c.template_id == values["template_id"],
            template_localizations.c.language == values["language"],
        )
    )
    await conn.execute(template_localizations.insert().values(**values))


async def update_localization(
    conn: AsyncConnection, template_id: str, language: str, values: dict[str, Any], *, only_if_status: str | None = None
) -> bool:
    query = template_localizations.update().where(
        template_localizations.c.template_id == template_id, template_localizations.c.language == language
    )
    if only_if_status is not None:
        query = query.where(template_localizations.c.status == only_if_status)
    return (await conn.execute(query.values(**values))).rowcount == 1


async def find_localization_for_update(
    conn: AsyncConnection, waba_id: str | None, provider_template_id: str | None, name: str | None, language: str | None
) -> sa.RowMapping | None:
    """The localization a Meta status update is about: by Meta's template id, else by name and
    language (an update can overtake the commit of the id after the submit call)."""
    base = (
        sa.select(template_localizations, templates.c.channel_account_id)
        .join(templates, templates.c.id == template_localizations.c.template_id)
        .join(channel_accounts, channel_accounts.c.id == templates.c.channel_account_id)
    )
    if waba_id:
        base = base.where(channel_accounts.c.waba_id == waba_id)
    if provider_template_id:
        row = (await conn.execute(base.where(template_localizations.c.provider_template_id == provider_template_id))).mappings().first()
        if row is not None:
            return row
    if name and language:
        query = base.where(templates.c.provider_name == name.lower(), template_localizations.c.language == language)
        return (await conn.execute(query)).mappings().first()
    return None
