"""Database access for event subscriptions: scenarios and their revisions, the active-trigger
index, and the delivery outbox with its attempts."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.store.notify import notify
from inboxd.store.tables import (
    channel_accounts,
    chats,
    event_attempts,
    event_deliveries,
    scenario_revisions,
    scenario_triggers,
    scenarios,
)

NOTIFY_CHANNEL = "inboxd_events"
PENDING, DELIVERED, FAILED = "pending", "delivered", "failed"


# --- scenarios ------------------------------------------------------------------------------


async def insert_scenario(conn: AsyncConnection, scenario: dict[str, Any], revision: dict[str, Any]) -> None:
    await conn.execute(scenarios.insert().values(**scenario))
    await conn.execute(scenario_revisions.insert().values(**revision))


async def get_scenario(conn: AsyncConnection, scenario_id: str, *, lock: bool = False) -> sa.RowMapping | None:
    query = sa.select(scenarios).where(scenarios.c.id == scenario_id)
    if lock and conn.dialect.name == "postgresql":
        query = query.with_for_update()
    return (await conn.execute(query)).mappings().first()


async def revisions_of(conn: AsyncConnection, scenario_ids: list[str]) -> dict[str, list[sa.RowMapping]]:
    if not scenario_ids:
        return {}
    query = (
        sa.select(scenario_revisions)
        .where(scenario_revisions.c.scenario_id.in_(scenario_ids))
        .order_by(scenario_revisions.c.version, scenario_revisions.c.created_at, scenario_revisions.c.id)
    )
    out: dict[str, list[sa.RowMapping]] = {i: [] for i in scenario_ids}
    for row in (await conn.execute(query)).mappings():
        out[row["scenario_id"]].append(row)
    return out


async def insert_revision(conn: AsyncConnection, revision: dict[str, Any]) -> None:
    await conn.execute(scenario_revisions.insert().values(**revision))


async def draft_of(conn: AsyncConnection, scenario_id: str) -> sa.RowMapping | None:
    query = sa.select(scenario_revisions).where(
        scenario_revisions.c.scenario_id == scenario_id, scenario_revisions.c.kind == "draft"
    )
    return (await conn.execute(query)).mappings().first()


async def update_draft(
    conn: AsyncConnection, draft_id: str, definition: dict[str, Any], author_uid: str | None, now: int
) -> None:
    values: dict[str, Any] = {"definition": definition, "name": definition["name"], "modified_at": now}
    if author_uid is not None:
        values["author_uid"] = author_uid
    await conn.execute(scenario_revisions.update().where(scenario_revisions.c.id == draft_id).values(**values))


async def take_version(conn: AsyncConnection, scenario_id: str) -> int:
    """The next version number of the scenario, taken for good (a deleted revision's number is
    never given again). The update locks the scenario's row until the transaction ends."""
    await conn.execute(
        scenarios.update().where(scenarios.c.id == scenario_id).values(last_version=scenarios.c.last_version + 1)
    )
    query = sa.select(scenarios.c.last_version).where(scenarios.c.id == scenario_id)
    return (await conn.execute(query)).scalar_one()


async def promote_draft(
    conn: AsyncConnection, draft_id: str, *, version: int, definition: dict[str, Any], author_uid: str | None, now: int
) -> bool:
    """The draft becomes revision `version`; False if it is no longer a draft."""
    result = await conn.execute(
        scenario_revisions.update()
        .where(scenario_revisions.c.id == draft_id, scenario_revisions.c.kind == "draft")
        .values(kind="revision", version=version, definition=definition, name=definition["name"],
                author_uid=author_uid, created_at=now, modified_at=now)
    )
    return result.rowcount == 1


async def delete_revision(conn: AsyncConnection, revision_id: str) -> None:
    """Remove one revision or draft. Its deliveries already queued stay (their bodies are rendered)."""
    await conn.execute(scenario_revisions.delete().where(scenario_revisions.c.id == revision_id))


async def list_scenarios(
    conn: AsyncConnection, *, include_system: bool, limit: int, skip: int
) -> tuple[list[sa.RowMapping], int]:
    where = [] if include_system else [scenarios.c.system.is_(False)]
    page = sa.select(scenarios).where(*where).order_by(scenarios.c.created_at, scenarios.c.id).limit(limit).offset(skip)
    rows = list((await conn.execute(page)).mappings())
    total = (await conn.execute(sa.select(sa.func.count()).select_from(scenarios).where(*where))).scalar_one()
    return rows, total


async def set_active_revision(
    conn: AsyncConnection, scenario_id: str, revision_id: str | None, triggers: list[str], now: int
) -> None:
    """Make `revision_id` the active revision (None: none), and index its trigger events."""
    await conn.execute(
        scenarios.update().where(scenarios.c.id == scenario_id).values(active_revision_id=revision_id, updated_at=now)
    )
    await conn.execute(scenario_triggers.delete().where(scenario_triggers.c.scenario_id == scenario_id))
    if revision_id is not None and triggers:
        await conn.execute(
            scenario_triggers.insert(), [{"trigger_event": t, "scenario_id": scenario_id} for t in triggers]
        )


async def record_activation(conn: AsyncConnection, revision: sa.RowMapping, now: int, user_uid: str | None) -> None:
    activations = [*(revision["activations"] or []), {"timestamp": now, "userUid": user_uid}]
    await conn.execute(
        scenario_revisions.update()
        .where(scenario_revisions.c.id == revision["id"])
        .values(activated_at=now, activations=activations, modified_at=now)
    )


async def delete_scenario(conn: AsyncConnection, scenario_id: str) -> bool:
    """Remove the scenario, its revisions, its undelivered events and its runs."""
    deliveries = sa.select(event_deliveries.c.id).where(event_deliveries.c.scenario_id == scenario_id)
    await conn.execute(event_attempts.delete().where(event_attempts.c.delivery_id.in_(deliveries)))
    await conn.execute(event_deliveries.delete().where(event_deliveries.c.scenario_id == scenario_id))
    await conn.execute(scenario_triggers.delete().where(scenario_triggers.c.scenario_id == scenario_id))
    await conn.execute(scenario_revisions.delete().where(scenario_revisions.c.scenario_id == scenario_id))
    result = await conn.execute(scenarios.delete().where(scenarios.c.id == scenario_id))
    return result.rowcount == 1


async def active_for_trigger(conn: AsyncConnection, trigger: str) -> list[sa.RowMapping]:
    """The active revisions listening to `trigger`: what every event looks up, in the
    transaction of the change that raised it."""
    return list((await conn.execute(_ACTIVE_FOR_TRIGGER, {"b_trigger": trigger})).mappings())


# Built once: every transaction that raises an event runs it (a group commit of sends: twice).
_ACTIVE_FOR_TRIGGER = (
    sa.select(
        scenarios.c.id.label("scenario_id"),
        scenario_revisions.c.id.label("revision_id"),
        scenario_revisions.c.definition,
    )
    .select_from(scenario_triggers)
    .join(scenarios, scenarios.c.id == scenario_triggers.c.scenario_id)
    .join(scenario_revisions, scenario_revisions.c.id == scenarios.c.active_revision_id)
    .where(scenario_triggers.c.trigger_event == sa.bindparam("b_trigger"))
    .order_by(scenarios.c.created_at, scenarios.c.id)
)


_CHAT_WITH_ACCOUNT = sa.select(
    chats, channel_accounts.c.channel, channel_accounts.c.account_id.label("account_phone")
).join(channel_accounts, channel_accounts.c.id == chats.c.channel_account_id)


async def find_chat_by_channel(
    conn: AsyncConnection, channel: str, account_id: str, contact_id: str
) -> sa.RowMapping | None:
    """The chat with this Texter channel identity (`channelInfo` name, accountId, id)."""
    query = _CHAT_WITH_ACCOUNT.where(
        channel_accounts.c.channel == channel,
        channel_accounts.c.account_id == account_id,
        chats.c.contact_id == contact_id,
    )
    return (await conn.execute(query)).mappings().first()


# --- the delivery outbox --------------------------------------------------------------------


async def enqueue(conn: AsyncConnection, rows: list[dict[str, Any]]) -> None:
    await conn.execute(event_deliveries.insert(), rows)
    await notify(conn, NOTIFY_CHANNEL)  # wake workers in other processes (delivered on commit)


def _earlier_in_stream() -> sa.Exists:
    earlier = event_deliveries.alias("earlier")
    return sa.exists().where(
        earlier.c.state == PENDING,
        earlier.c.scenario_id == event_deliveries.c.scenario_id,
        earlier.c.order_key == event_deliveries.c.order_key,
        earlier.c.seq < event_deliveries.c.seq,
    )


async def claim_due(
    conn: AsyncConnection, *, owner: str, now: int, lease_ms: int, limit: int
) -> list[dict[str, Any]]:
    """Lease up to `limit` due deliveries, each the oldest undelivered event of its (scenario,
    stream), with the scenario's signing secret. A lease that ran out (its worker died) makes
    the row claimable again: the event is sent again with the same id, which receivers dedup on."""
    query = (
        sa.select(event_deliveries.c.seq)
        .where(
            event_deliveries.c.state == PENDING,
            event_deliveries.c.due_at <= now,
            sa.or_(event_deliveries.c.lease_until.is_(None), event_deliveries.c.lease_until < now),
            sa.not_(_earlier_in_stream()),
        )
        .order_by(event_deliveries.c.due_at, event_deliveries.c.seq)
        .limit(limit)
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update(of=event_deliveries, skip_locked=True)
    seqs = list((await conn.execute(query)).scalars())
    if not seqs:
        return []
    await conn.execute(
        event_deliveries.update()
        .where(event_deliveries.c.seq.in_(seqs))
        .values(lease_owner=owner, lease_until=now + lease_ms, attempts=event_deliveries.c.attempts + 1)
    )
    detail = (
        sa.select(event_deliveries, scenarios.c.signing_secret)
        .outerjoin(scenarios, scenarios.c.id == event_deliveries.c.scenario_id)
        .where(event_deliveries.c.seq.in_(seqs))
        .order_by(event_deliveries.c.due_at, event_deliveries.c.seq)
    )
    rows = [dict(r) for r in (await conn.execute(detail)).mappings()]
    orphans = [r["seq"] for r in rows if r["signing_secret"] is None]
    if orphans:  # raised while its scenario was being deleted
        await conn.execute(event_deliveries.delete().where(event_deliveries.c.seq.in_(orphans)))
    return [r for r in rows if r["signing_secret"] is not None]


async def record_attempt(
    conn: AsyncConnection,
    row: dict[str, Any],
    owner: str,
    *,
    attempt: dict[str, Any],
    state: str,
    due_at: int | None,
    now: int,
) -> bool:
    """Keep the attempt and move the delivery on: `delivered`/`failed` (finished) or back to
    `pending` until `due_at`. The delivery only moves if this worker still holds it (a worker
    whose lease ran out may find another one retried it meanwhile); the attempt is kept anyway,
    unless the delivery is gone (its subscription was deleted meanwhile)."""
    values: dict[str, Any] = {
        "state": state,
        "lease_owner": None,
        "lease_until": None,
        "last_status_code": attempt["status_code"],
        "last_error": attempt["error"],
    }
    if state == PENDING:
        values["due_at"] = due_at
    else:
        values["finished_at"] = now
    result = await conn.execute(
        event_deliveries.update()
        .where(event_deliveries.c.seq == row["seq"], event_deliveries.c.lease_owner == owner)
        .values(**values)
    )
    moved = result.rowcount == 1
    if moved or (await conn.execute(sa.select(event_deliveries.c.seq).where(event_deliveries.c.seq == row["seq"]))).first():
        await conn.execute(event_attempts.insert().values(delivery_id=row["id"], **attempt))
    return moved


async def release(conn: AsyncConnection, seq: int, owner: str) -> None:
    """Give back a delivery this worker holds (shutdown): the lease cleared, the attempt not
    counted, due as before; other processes are woken for it."""
    result = await conn.execute(
        event_deliveries.update()
        .where(event_deliveries.c.seq == seq, event_deliveries.c.lease_owner == owner)
        .values(lease_owner=None, lease_until=None, attempts=event_deliveries.c.attempts - 1)
    )
    if result.rowcount:
        await notify(conn, NOTIFY_CHANNEL)


async def count_pending(conn: AsyncConnection) -> int:
    query = sa.select(sa.func.count()).select_from(event_deliveries).where(event_deliveries.c.state == PENDING)
    return (await conn.execute(query)).scalar_one()


async def list_runs(
    conn: AsyncConnection, scenario_id: str, *, state: str | None, limit: int, skip: int
) -> tuple[list[sa.RowMapping], dict[str, list[sa.RowMapping]], int]:
    where = [event_deliveries.c.scenario_id == scenario_id]
    if state:
        where.append(event_deliveries.c.state == state)
    columns = [c for c in event_deliveries.c if c.name not in ("body", "headers")]
    page = sa.select(*columns).where(*where).order_by(event_deliveries.c.seq.desc()).limit(limit).offset(skip)
    rows = list((await conn.execute(page)).mappings())
    total = (await conn.execute(sa.select(sa.func.count()).select_from(event_deliveries).where(*where))).scalar_one()
    attempts: dict[str, list[sa.RowMapping]] = {r["id"]: [] for r in rows}
    if rows:
        query = (
            sa.select(event_attempts)
            .where(event_attempts.c.delivery_id.in_(list(attempts)))
            .order_by(event_attempts.c.delivery_id, event_attempts.c.attempt)
        )
        for attempt in (await conn.execute(query)).mappings():
            attempts[attempt["delivery_id"]].append(attempt)
    return rows, attempts, total


async def prune_finished(conn: AsyncConnection, *, before: int, limit: int = 500) -> int:
    """Forget runs finished before `before` (and their attempts), a batch at a time."""
    old = (
        sa.select(event_deliveries.c.seq, event_deliveries.c.id)
        .where(event_deliveries.c.state != PENDING, event_deliveries.c.finished_at < before)
        .limit(limit)
    )
    found = (await conn.execute(old)).all()
    if not found:
        return 0
    await conn.execute(event_attempts.delete().where(event_attempts.c.delivery_id.in_([r.id for r in found])))
    await conn.execute(event_deliveries.delete().where(event_deliveries.c.seq.in_([r.seq for r in found])))
    return len(found)
