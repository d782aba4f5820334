"""Messages: inserts deduplicated by the provider id, history pages, forward-only statuses."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.status import apply_status
from inboxd.store.tables import messages, outbox, unmatched_statuses
from inboxd.store.upsert import insert_for


async def insert_message(conn: AsyncConnection, values: dict[str, Any]) -> bool:
    """Insert one message; False when a message with the same provider id already exists in
    the account (a webhook Meta delivered twice), in which case nothing changes."""
    stmt = insert_for(conn, messages).values(**values)
    if values.get("external_id") is not None:
        stmt = stmt.on_conflict_do_nothing(index_elements=["channel_account_id", "external_id"])
    result = await conn.execute(stmt)
    return result.rowcount == 1


async def existing_external_ids(conn: AsyncConnection, channel_account_id: str, external_ids: list[str]) -> set[str]:
    if not external_ids:
        return set()
    query = sa.select(messages.c.external_id).where(
        messages.c.channel_account_id == channel_account_id, messages.c.external_id.in_(external_ids)
    )
    return set((await conn.execute(query)).scalars())


_MESSAGES_BY_IDS = sa.select(messages).where(messages.c.id.in_(sa.bindparam("b_ids", expanding=True)))


async def get_messages(conn: AsyncConnection, ids: list[str]) -> list[sa.RowMapping]:
    rows = (await conn.execute(_MESSAGES_BY_IDS, {"b_ids": list(ids)})).mappings()
    by_id = {r["id"]: r for r in rows}
    return [by_id[i] for i in ids if i in by_id]


async def find_by_external_id(conn: AsyncConnection, channel_account_id: str, external_id: str) -> sa.RowMapping | None:
    query = sa.select(messages).where(
        messages.c.channel_account_id == channel_account_id, messages.c.external_id == external_id
    )
    return (await conn.execute(query)).mappings().first()


async def page_before(
    conn: AsyncConnection, chat_id: str, *, before_time: int, before_id: str, limit: int
) -> list[sa.RowMapping]:
    """Up to `limit` messages older than the cursor (timestamp ≤ before_time, the cursor message
    itself excluded), oldest first. Walks the (chat_id, timestamp, id) index backwards, so the
    cost does not grow with the chat's history."""
    query = (
        sa.select(messages)
        .where(
            messages.c.chat_id == chat_id,
            messages.c.timestamp <= before_time,
            sa.not_(sa.and_(messages.c.timestamp == before_time, messages.c.id >= before_id)),
        )
        .order_by(messages.c.timestamp.desc(), messages.c.id.desc())
        .limit(limit)
    )
    rows = list((await conn.execute(query)).mappings())
    rows.reverse()
    return rows


async def bot_session_messages(conn: AsyncConnection, chat_id: str, bot_session_id: str, limit: int) -> list[sa.RowMapping]:
    query = (
        sa.select(messages)
        .where(messages.c.chat_id == chat_id, messages.c.bot_session_id == bot_session_id)
        .order_by(messages.c.timestamp, messages.c.id)
        .limit(limit)
    )
    return list((await conn.execute(query)).mappings())


async def time_range(conn: AsyncConnection, chat_id: str) -> tuple[int | None, int | None]:
    """minTime/maxTime of the whole chat (two index lookups, not a scan)."""
    in_chat = messages.c.chat_id == chat_id
    query = sa.select(
        sa.select(sa.func.min(messages.c.timestamp)).where(in_chat).scalar_subquery(),
        sa.select(sa.func.max(messages.c.timestamp)).where(in_chat).scalar_subquery(),
    )
    row = (await conn.execute(query)).one()
    return row[0], row[1]


async def apply_status_report(
    conn: AsyncConnection,
    *,
    channel_account_id: str,
    external_id: str,
    status: int,
    timestamp: int,
    error: dict[str, Any] | None,
    now: int,
    callback_data: str | None = None,
) -> sa.RowMapping | None:
    """Apply a provider status to the message with this provider id. Returns the updated row
    when the message's status changed; None for a repeat or a late status that only joins the
    history (a `delivered` after `read`).

    When no message has this wamid yet, the status may still name its message: inboxd sends its
    message id as `biz_opaque_callback_data`, which Meta echoes in statuses. That message adopts
    the wamid and leaves the outbox — this is how a send whose answer was lost (a worker killed
    mid-call, a timeout after Meta accepted) is known to have gone, and is not sent twice.
    Otherwise the status is parked in `unmatched_statuses` until the send's commit lands."""
    query = sa.select(messages).where(
        messages.c.channel_account_id == channel_account_id, messages.c.external_id == external_id
    )
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().first()
    if row is None and callback_data:
        row = await _adopt(conn, channel_account_id, callback_data, external_id, now)
    if row is None:
        stmt = insert_for(conn, unmatched_statuses).values(
            channel_account_id=channel_account_id,
            external_id=external_id,
            status=status,
            timestamp=timestamp,
            error=error,
            received_at=now,
        )
        await conn.execute(stmt.on_conflict_do_nothing())
        return None
    return await _apply(conn, row, status, timestamp, error, now)


async def _adopt(
    conn: AsyncConnection, channel_account_id: str, message_id: str, external_id: str, now: int
) -> sa.RowMapping | None:
    result = await conn.execute(
        messages.update()
        .where(
            messages.c.id == message_id,
            messages.c.channel_account_id == channel_account_id,
            messages.c.external_id.is_(None),
        )
        .values(external_id=external_id, updated_at=now)
        .returning(*messages.c)
    )
    row = result.mappings().first()
    if row is not None:
        await conn.execute(outbox.delete().where(outbox.c.message_id == message_id))
    return row


async def _apply(
    conn: AsyncConnection, row: sa.RowMapping, status: int, timestamp: int, error: dict[str, Any] | None, now: int
) -> sa.RowMapping | None:
    new_status, history, changed = apply_status(row["status"], row["status_history"], status, timestamp)
    if not changed:
        return None
    values: dict[str, Any] = {"status": new_status, "status_history": history, "updated_at": now}
    if error is not None and new_status == status:
        values["error"] = error
    result = await conn.execute(
        messages.update().where(messages.c.id == row["id"]).values(**values).returning(*messages.c)
    )
    updated = result.mappings().one()
    # A late status only joins the history; the message's status did not change.
    return updated if new_status != row["status"] else None


async def set_status(
    conn: AsyncConnection, message_id: str, status: int, timestamp: int, error: dict[str, Any] | None, now: int
) -> sa.RowMapping | None:
    """Apply a status inboxd decided itself (channel failed, failed before sending)."""
    query = sa.select(messages).where(messages.c.id == message_id)
    if conn.dialect.name == "postgresql":
        query = query.with_for_update()
    row = (await conn.execute(query)).mappings().one()
    return await _apply(conn, row, status, timestamp, error, now)


async def attach_external_id(
    conn: AsyncConnection, message_id: str, channel_account_id: str, external_id: str, now: int
) -> list[sa.RowMapping]:
    """Store the provider id Graph gave a sent message, then apply any statuses that arrived
    for it before this commit. Returns the rows after each applied status. A message that
    already has a provider id (adopted from a status webhook) keeps it."""
    result = await conn.execute(
        messages.update()
        .where(messages.c.id == message_id, messages.c.external_id.is_(None))
        .values(external_id=external_id, updated_at=now)
    )
    if result.rowcount == 0:
        return []
    parked = (
        await conn.execute(
            sa.delete(unmatched_statuses)
            .where(
                unmatched_statuses.c.channel_account_id == channel_account_id,
                unmatched_statuses.c.external_id == external_id,
            )
            .returning(unmatched_statuses.c.status, unmatched_statuses.c.timestamp, unmatched_statuses.c.error)
        )
    ).all()
    changed = []
    for status, timestamp, error in sorted(parked, key=lambda p: p[1]):
        row = await set_status(conn, message_id, status, timestamp, error, now)
        if row is not None:
            changed.append(row)
    return changed


# --- batches (one webhook event's worth): a few statements instead of a few per item ----------

_IN_CHUNK = 500


async def insert_new_messages(conn: AsyncConnection, rows: list[dict[str, Any]]) -> set[str]:
    """Insert many messages at once, deduplicated on (account, provider id) like
    `insert_message`; returns the ids of the rows actually inserted."""
    if not rows:
        return set()
    stmt = (
        insert_for(conn, messages)
        .on_conflict_do_nothing(index_elements=["channel_account_id", "external_id"])
        .returning(messages.c.id)
    )
    return set((await conn.execute(stmt, rows)).scalars())


@dataclass(frozen=True)
class StatusInput:
    external_id: str
    status: int
    timestamp: int
    error: dict[str, Any] | None = None
    callback_data: str | None = None


_UPDATE_STATUS = (
    messages.update()
    .where(messages.c.id == sa.bindparam("b_id"))
    .values(
        status=sa.bindparam("b_status"),
        status_history=sa.bindparam("b_history", type_=messages.c.status_history.type),
        updated_at=sa.bindparam("b_updated_at"),
        error=sa.bindparam("b_error", type_=messages.c.error.type),
    )
)


async def apply_status_reports(
    conn: AsyncConnection,
    *,
    channel_account_id: str,
    reports: list[StatusInput],
    now: int,
    history_only: list[dict[str, Any]] | None = None,
) -> list[dict[str, Any]]:
    """`apply_status_report` for many reports of one account, in order: one SELECT for their
    messages, the forward-only rule applied in memory (several statuses of one message in one
    batch apply one after the other), one UPDATE per changed message in a single executemany,
    the unknown wamids parked in one INSERT. Returns the row after each change, in order (what
    `MESSAGE_STATUS_CHANGED` publishes); `history_only`, if given, receives the rows that changed
    without a new status (a late status joined the history, a wamid was adopted)."""
    wamids = list(dict.fromkeys(r.external_id for r in reports))
    known: dict[str, str] = {}
    for start in range(0, len(wamids), _IN_CHUNK):
        query = sa.select(messages.c.external_id, messages.c.id).where(
            messages.c.channel_account_id == channel_account_id,
            messages.c.external_id.in_(wamids[start : start + _IN_CHUNK]),
        )
        known.update(dict((await conn.execute(query)).all()))
    # Every row this may change — the known ones and those a status could adopt by its callback
    # data — is locked up front in id order, the order the send's record locks them in too, so
    # the two cannot deadlock on PostgreSQL (and an adoption sees a concurrent record's wamid).
    adoptable = {r.callback_data for r in reports if r.external_id not in known and r.callback_data}
    ids = sorted(set(known.values()) | adoptable)
    by_id: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        query = (
            sa.select(messages)
            .where(messages.c.id.in_(ids[start : start + _IN_CHUNK]), messages.c.channel_account_id == channel_account_id)
            .order_by(messages.c.id)
        )
        if conn.dialect.name == "postgresql":
            query = query.with_for_update()
        by_id.update({row["id"]: dict(row) for row in (await conn.execute(query)).mappings()})
    state = {row["external_id"]: row for row in by_id.values() if row["external_id"] is not None}
    changed: list[dict[str, Any]] = []
    dirty: dict[str, dict[str, Any]] = {}
    adopted: list[str] = []
    parked: list[dict[str, Any]] = []
    for report in reports:
        row = state.get(report.external_id)
        candidate = by_id.get(report.callback_data or "") if row is None else None
        if candidate is not None and candidate["external_id"] is None:
            adopted_row = await _adopt(conn, channel_account_id, candidate["id"], report.external_id, now)
            if adopted_row is not None:
                row = state[report.external_id] = by_id[candidate["id"]] = dict(adopted_row)
                adopted.append(candidate["id"])
        if row is None:
            parked.append(
                {"channel_account_id": channel_account_id, "external_id": report.external_id, "status": report.status,
                 "timestamp": report.timestamp, "error": report.error, "received_at": now}
            )
            continue
        before = row["status"]
        new_status, history, was_changed = apply_status(before, row["status_history"], report.status, report.timestamp)
        if not was_changed:
            continue
        row["status"], row["status_history"], row["updated_at"] = new_status, history, now
        if report.error is not None and new_status == report.status:
            row["error"] = report.error
        dirty[row["id"]] = row
        if new_status != before:  # a late status only joins the history: no change to announce
            changed.append(dict(row))
    if history_only is not None:  # each touched row whose final state no announced row shows
        announced = {row["id"]: row for row in changed}
        history_only += [
            dict(by_id[row_id]) for row_id in dict.fromkeys([*adopted, *dirty])
            if announced.get(row_id) != by_id[row_id]
        ]
    if parked:
        await conn.execute(insert_for(conn, unmatched_statuses).on_conflict_do_nothing(), parked)
    if dirty:
        await conn.execute(
            _UPDATE_STATUS,
            [
                {"b_id": r["id"], "b_status": r["status"], "b_history": r["status_history"],
                 "b_updated_at": r["updated_at"], "b_error": r["error"]}
                for r in dirty.values()
            ],
        )
    return changed


_ATTACH = (
    messages.update()
    .where(messages.c.id == sa.bindparam("b_id"), messages.c.external_id.is_(None))
    .values(external_id=sa.bindparam("b_wamid"), updated_at=sa.bindparam("b_now"))
)


async def attach_external_ids(
    conn: AsyncConnection,
    items: list[tuple[str, str, str]],
    now: int,
    attached_rows: list[dict[str, Any]] | None = None,
) -> list[sa.RowMapping]:
    """`attach_external_id` for many sent messages, (message id, account id, wamid) each, in a
    few statements: the rows that have no provider id yet take theirs, then the statuses parked
    for those wamids are applied. Returns the rows after each applied status; `attached_rows`,
    if given, receives each row that took its wamid, as it is after that."""
    if not items:
        return []
    ids = [mid for mid, _, _ in items]
    without: dict[str, dict[str, Any]] = {}
    for start in range(0, len(ids), _IN_CHUNK):
        query = sa.select(messages).where(
            messages.c.id.in_(ids[start : start + _IN_CHUNK]), messages.c.external_id.is_(None)
        )
        without.update({row["id"]: dict(row) for row in (await conn.execute(query)).mappings()})
    attached = [(mid, account, wamid) for mid, account, wamid in items if mid in without]
    if not attached:
        return []
    if attached_rows is not None:
        attached_rows += [{**without[mid], "external_id": wamid, "updated_at": now} for mid, _, wamid in attached]
    await conn.execute(_ATTACH, [{"b_id": mid, "b_wamid": wamid, "b_now": now} for mid, _, wamid in attached])
    by_key = {(account, wamid): mid for mid, account, wamid in attached}
    parked: list[Any] = []
    keys = list(by_key)
    for start in range(0, len(keys), _IN_CHUNK):
        parked += (
            await conn.execute(
                sa.delete(unmatched_statuses)
                .where(
                    sa.tuple_(unmatched_statuses.c.channel_account_id, unmatched_statuses.c.external_id).in_(
                        keys[start : start + _IN_CHUNK]
                    )
                )
                .returning(
                    unmatched_statuses.c.channel_account_id, unmatched_statuses.c.external_id,
                    unmatched_statuses.c.status, unmatched_statuses.c.timestamp, unmatched_statuses.c.error,
                )
            )
        ).all()
    position = {mid: i for i, mid in enumerate(ids)}
    changed = []
    for account, wamid, status, timestamp, error in sorted(parked, key=lambda p: (position[by_key[(p[0], p[1])]], p[3])):
        row = await set_status(conn, by_key[(account, wamid)], status, timestamp, error, now)
        if row is not None:
            changed.append(row)
    return changed


async def apply_parked_statuses(conn: AsyncConnection, now: int, limit: int = 500) -> list[sa.RowMapping]:
    """Apply statuses still parked for a wamid that a message has by now. On PostgreSQL a status
    can be parked by one transaction while another (the send's record) stores the wamid and
    looks for parked statuses: neither sees the other's uncommitted row, and the status would
    wait forever (found by the benchmark: 9 of 1,819 messages never read with two API
    processes). The inbound workers run this every few seconds. Returns the changed rows."""
    query = (
        sa.select(unmatched_statuses, messages.c.id.label("message_id"))
        .join(
            messages,
            sa.and_(
                messages.c.channel_account_id == unmatched_statuses.c.channel_account_id,
                messages.c.external_id == unmatched_statuses.c.external_id,
            ),
        )
        .order_by(messages.c.id, unmatched_statuses.c.timestamp)  # rows locked in id order, as everywhere
        .limit(limit)
    )
    changed = []
    for parked in (await conn.execute(query)).mappings().all():
        taken = await conn.execute(
            sa.delete(unmatched_statuses).where(
                unmatched_statuses.c.channel_account_id == parked["channel_account_id"],
                unmatched_statuses.c.external_id == parked["external_id"],
                unmatched_statuses.c.status == parked["status"],
            )
        )
        if taken.rowcount != 1:
            continue  # another process applied it
        row = await set_status(conn, parked["message_id"], parked["status"], parked["timestamp"], parked["error"], now)
        if row is not None:
            changed.append(row)
    return changed
