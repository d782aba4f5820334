"""Channel health problems in the database, and their Texter shape (reference §9).

Raising is one `INSERT … ON CONFLICT DO NOTHING` on the partial unique index of active problems
(name, caseId): however many processes see the same signal at once, one row is created and
Channel Health Problem Created fires once, in the transaction that created it. Resolving is one
`UPDATE … WHERE resolved_at IS NULL RETURNING`: the Resolved event fires once, in the
transaction whose update took the row.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.domain_events import CHANNEL_PROBLEM_CREATED, CHANNEL_PROBLEM_RESOLVED, PROBLEM_CHANGED, DomainEvents
from inboxd.health.kinds import Clears, Raise, case_id, render
from inboxd.store.accounts import ChannelAccount
from inboxd.store.paging import page
from inboxd.store.tables import channel_problems as P
from inboxd.store.upsert import insert_for

ACTIVE = P.c.resolved_at.is_(None)


def shape(row: Mapping[str, Any]) -> dict[str, Any]:
    """The Problem object (§9): `resolvedAt` absent while active. `source` (what raised it) and
    `resolvedBy` (`signal` | `operator`) are inboxd's additions."""
    out: dict[str, Any] = {
        "_id": row["id"],
        "channel": row["channel"],
        "accountId": row["account_id"],
        "name": row["name"],
        "caseId": row["case_id"],
        "severity": row["severity"],
        "impairedFunctionality": row["impaired"],
        "message": row["message"],
    }
    if row["instruction"]:
        out["instruction"] = row["instruction"]
    out["createdAt"] = row["created_at"]
    out["startedAt"] = row["started_at"]
    if row["resolved_at"] is not None:
        out["resolvedAt"] = row["resolved_at"]
        out["resolvedBy"] = row["resolved_by"]
    out["source"] = row["source"]
    return out


def _case_of(account: ChannelAccount, signal: Raise) -> str:
    return case_id(account.channel, account.account_id, signal.kind.name, signal.case)


async def is_active(conn: AsyncConnection, account: ChannelAccount, signal: Raise) -> bool:
    query = sa.select(P.c.id).where(P.c.name == signal.kind.name, P.c.case_id == _case_of(account, signal), ACTIVE)
    return (await conn.execute(query.limit(1))).first() is not None


async def raise_problem(
    conn: AsyncConnection, events: DomainEvents, account: ChannelAccount, signal: Raise, now: int
) -> dict[str, Any] | None:
    """The new problem, or None when this incident is already active."""
    kind = signal.kind
    fields = {"account": account.account_id, **signal.fields}
    stmt = (
        insert_for(conn, P)
        .values(
            id=new_id(),
            channel=account.channel,
            channel_account_id=account.id,
            account_id=account.account_id,
            name=kind.name,
            case_id=_case_of(account, signal),
            severity=kind.severity,
            impaired=kind.impaired,
            message=render(kind.message, fields),
            instruction=render(kind.instruction, fields),
            source=signal.source,
            clears_on=str(kind.clears),
            operation_class=signal.operation_class,
            created_at=now,
            started_at=signal.started_at or now,
        )
        .on_conflict_do_nothing(index_elements=["name", "case_id"], index_where=ACTIVE)
        .returning(*P.c)
    )
    row = (await conn.execute(stmt)).mappings().first()
    if row is None:
        return None
    problem = shape(row)
    await events.publish(conn, CHANNEL_PROBLEM_CREATED, problem=problem)
    await events.publish(conn, PROBLEM_CHANGED, problem_id=problem["_id"])
    return problem


async def _resolve_where(
    conn: AsyncConnection, events: DomainEvents, where: sa.ColumnElement[bool], now: int, by: str
) -> list[dict[str, Any]]:
    rows = (
        await conn.execute(
            P.update().where(where, ACTIVE).values(resolved_at=now, resolved_by=by).returning(*P.c)
        )
    ).mappings().all()
    resolved = [shape(r) for r in sorted(rows, key=lambda r: r["id"])]
    for problem in resolved:
        await events.publish(conn, CHANNEL_PROBLEM_RESOLVED, problem=problem)
        await events.publish(conn, PROBLEM_CHANGED, problem_id=problem["_id"])
    return resolved


async def resolve_case(
    conn: AsyncConnection, events: DomainEvents, account: ChannelAccount, name: str, case: str, now: int
) -> list[dict[str, Any]]:
    """The signal that ends this incident came."""
    where = sa.and_(P.c.name == name, P.c.case_id == case_id(account.channel, account.account_id, name, case))
    return await _resolve_where(conn, events, where, now, "signal")


async def resolve_named(
    conn: AsyncConnection, events: DomainEvents, channel_account_ids: list[str], name: str, now: int
) -> list[dict[str, Any]]:
    """Every active problem of this name on these accounts is over."""
    where = sa.and_(P.c.name == name, P.c.channel_account_id.in_(channel_account_ids))
    return await _resolve_where(conn, events, where, now, "signal")


async def resolve_cleared_by_send(
    conn: AsyncConnection, events: DomainEvents, channel_account_ids: list[str], now: int
) -> list[dict[str, Any]]:
    """Sends of these accounts succeeded: the problems a successful send disproves are over."""
    clears = sa.or_(
        P.c.clears_on.in_([str(Clears.ANY_CALL), str(Clears.SEND)]),
        sa.and_(P.c.clears_on == str(Clears.SAME_CLASS), P.c.operation_class == "messaging"),
    )
    return await _resolve_where(conn, events, sa.and_(P.c.channel_account_id.in_(channel_account_ids), clears), now,
                                "signal")


def _cleared_by_call(channel_account_id: str, operation_class: str) -> sa.ColumnElement[bool]:
    return sa.and_(
        P.c.channel_account_id == channel_account_id,
        sa.or_(
            P.c.clears_on == str(Clears.ANY_CALL),
            sa.and_(P.c.clears_on == str(Clears.SAME_CLASS), P.c.operation_class == operation_class),
        ),
    )


async def any_cleared_by_call(conn: AsyncConnection, channel_account_id: str, operation_class: str) -> bool:
    query = sa.select(P.c.id).where(_cleared_by_call(channel_account_id, operation_class), ACTIVE).limit(1)
    return (await conn.execute(query)).first() is not None


async def resolve_cleared_by_call(
    conn: AsyncConnection, events: DomainEvents, channel_account_id: str, operation_class: str, now: int
) -> list[dict[str, Any]]:
    """A Graph call of this class (not a send) succeeded."""
    return await _resolve_where(conn, events, _cleared_by_call(channel_account_id, operation_class), now, "signal")


async def resolve_by_operator(
    conn: AsyncConnection, events: DomainEvents, problem_id: str, now: int
) -> dict[str, Any] | None:
    """The problem after an operator resolved it (as it was when it was resolved already); None
    when there is no such problem."""
    resolved = await _resolve_where(conn, events, P.c.id == problem_id, now, "operator")
    if resolved:
        return resolved[0]
    row = (await conn.execute(sa.select(P).where(P.c.id == problem_id))).mappings().first()
    return None if row is None else shape(row)


@dataclass(frozen=True)
class ProblemQuery:
    severity: str | None = None
    account_id: str | None = None
    channel: str | None = None
    include_resolved: bool = False
    skip: int = 0
    limit: int = 100


async def list_problems(conn: AsyncConnection, query: ProblemQuery) -> tuple[list[dict[str, Any]], int]:
    """Newest first; only active ones unless `include_resolved`."""
    where: list[sa.ColumnElement[bool]] = []
    if not query.include_resolved:
        where.append(ACTIVE)
    if query.severity:
        where.append(P.c.severity == query.severity)
    if query.account_id:
        where.append(P.c.account_id == query.account_id)
    if query.channel:
        where.append(P.c.channel == query.channel)
    rows, total = await page(conn, P, where, [P.c.created_at.desc(), P.c.id.desc()], skip=query.skip,
                             limit=query.limit)
    return [shape(r) for r in rows], total


async def active_counts(conn: AsyncConnection) -> list[tuple[str, str, str, int]]:
    """(channel, accountId, severity, count) of the active problems."""
    query = (
        sa.select(P.c.channel, P.c.account_id, P.c.severity, sa.func.count())
        .where(ACTIVE)
        .group_by(P.c.channel, P.c.account_id, P.c.severity)
    )
    return [(r[0], r[1], r[2], r[3]) for r in await conn.execute(query)]
