"""One page of a listing and the total it is a page of, from one statement (`count(*) OVER ()`),
so the two agree: two statements could each see another commit on PostgreSQL (READ COMMITTED),
and answer a total of 0 beside a problem raised in between."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

_TOTAL = "_page_total"


async def page(
    conn: AsyncConnection,
    table: sa.Table,
    where: list[sa.ColumnElement[bool]],
    order: list[sa.ColumnElement[Any]],
    *,
    skip: int,
    limit: int,
) -> tuple[list[dict[str, Any]], int]:
    query = (
        sa.select(table, sa.func.count().over().label(_TOTAL))
        .where(*where)
        .order_by(*order)
        .offset(skip)
        .limit(limit)
    )
    rows = [dict(r) for r in (await conn.execute(query)).mappings()]
    if rows:
        total = rows[0][_TOTAL]
    elif skip == 0:
        total = 0
    else:  # past the end: the page has no row to carry the total
        total = (await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one()
    for row in rows:
        del row[_TOTAL]
    return rows, total
