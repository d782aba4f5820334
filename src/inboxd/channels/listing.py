"""Channel accounts as the API and `inboxd channels list` show them: the one rendering, never a
secret (access token, app secret, verify token), with the account's health at a glance."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import iso_from_ms
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.tables import channel_health_signals, channel_problems


def account_object(account: ChannelAccount) -> dict[str, Any]:
    return {
        "id": account.id,
        "channel": account.channel,
        "accountId": account.account_id,
        "phoneNumberId": account.phone_number_id,
        "wabaId": account.waba_id,
        "graphUrl": account.graph_url,
        "apiVersion": account.api_version,
        "mps": account.mps,
        "sandbox": account.sandbox,
        "readReceipts": account.read_receipts,
        "created": iso_from_ms(account.created_at),
        "defaultDepartment": account.default_department_id,
        "resolutionMessage": account.resolution_message,
    }


def health_status(problems: dict[str, int]) -> str:
    """`error` with an active error, else `warning` with an active warning, else `ok`."""
    if problems.get("error"):
        return "error"
    return "warning" if problems.get("warning") else "ok"


async def list_with_health(conn: AsyncConnection) -> list[dict[str, Any]]:
    """Every account with `health {status, openProblems, errors, warnings, qualityRating}`."""
    accounts = await accounts_store.list_accounts(conn)
    counts: dict[str, dict[str, int]] = {}
    query = (
        sa.select(channel_problems.c.channel_account_id, channel_problems.c.severity, sa.func.count())
        .where(channel_problems.c.resolved_at.is_(None))
        .group_by(channel_problems.c.channel_account_id, channel_problems.c.severity)
    )
    for account_id, severity, count in await conn.execute(query):
        counts.setdefault(account_id, {})[severity] = int(count)
    ratings = dict((await conn.execute(sa.select(channel_health_signals.c.channel_account_id,
                                                 channel_health_signals.c.quality_rating))).all())
    out = []
    for account in accounts:
        problems = counts.get(account.id, {})
        out.append({**account_object(account), "health": {
            "status": health_status(problems), "openProblems": sum(problems.values()),
            "errors": problems.get("error", 0), "warnings": problems.get("warning", 0),
            "qualityRating": ratings.get(account.id),
        }})
    return out
