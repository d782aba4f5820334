"""Seeding a fresh database in bulk, through SQL (never through the API): accounts, a token,
chats with an open 24-hour window, and (scenario 4) history."""

from __future__ import annotations

import random
import secrets
import time
from dataclasses import dataclass
from typing import Any

import orjson
import sqlalchemy as sa

from bench.common import DbSpec
from inboxd.domain.ids import new_id
from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store import accounts as accounts_store
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.migrate import migrate
from inboxd.store.tables import chat_labels, chats, labels, messages

CHUNK = 5_000


@dataclass
class AccountSeed:
    id: str
    account_id: str
    phone_number_id: str
    app_secret: str


def database(spec: DbSpec) -> Database:
    return Database(spec.url, schema=spec.schema)


async def prepare(spec: DbSpec) -> Database:
    db = database(spec)
    await db.ensure_schema()
    await migrate(db)
    return db


async def add_account(
    db: Database,
    *,
    account_id: str,
    phone_number_id: str,
    access_token: str = "unused",
    app_secret: str | None = None,
    graph_url: str = "http://127.0.0.1:9/unreachable",
    mps: int = 1000,
) -> AccountSeed:
    secret = app_secret or secrets.token_hex(16)
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn, account_id=account_id, phone_number_id=phone_number_id, access_token=access_token,
            app_secret=secret, verify_token="bench", graph_url=graph_url, mps=mps,
        )
    return AccountSeed(account.id, account_id, phone_number_id, secret)


# The bench token's own rate limit: far above what the load reaches, so the limiter runs on
# every request (its cost is measured) and refuses none.
BENCH_RATE_PER_SECOND = 5_000


async def add_token(db: Database) -> str:
    async with db.write() as conn:
        secret, _ = await tokens_store.create_token(conn, "bench", list(ALL_SCOPES),
                                                     rate_per_second=BENCH_RATE_PER_SECOND)
    return secret


def contact(i: int) -> str:
    return f"9725{i:08d}"


async def add_chats(db: Database, account: AccountSeed, count: int, *, first: int = 0) -> list[str]:
    """`count` chats whose contact wrote a minute ago (the window is open)."""
    now = int(time.time() * 1000)
    ids: list[str] = []
    rows: list[dict[str, Any]] = []
    for i in range(first, first + count):
        chat_id = new_id()
        ids.append(chat_id)
        rows.append(
            {
                "id": chat_id, "channel_account_id": account.id, "contact_id": contact(i), "title": f"Contact {i}",
                "status": 1, "unread_count": 0, "labels": [], "last_message": {"type": "text", "text": "hi"},
                "last_message_at": now - 60_000 - i, "last_incoming_at": now - 60_000, "created_at": now - 60_000,
                "updated_at": now - 60_000, "last_seq": 0,
            }
        )
    for start in range(0, len(rows), CHUNK):
        async with db.write() as conn:
            await conn.execute(chats.insert(), rows[start : start + CHUNK])
    return ids


async def add_history(
    db: Database, account: AccountSeed, *, total: int, chat_ids: list[str], hot_chat_ids: list[str], now: int
) -> None:
    """`total` messages: half spread over every chat, half over the hot chats (the long
    histories a busy conversation builds), timestamps spread over the last 90 days."""
    rng = random.Random(7)
    span = 90 * 24 * 3600 * 1000
    text = orjson.dumps({"text": "A message of a typical length, about as long as people write."}).decode()
    history = orjson.dumps([{"status": 2, "timestamp": now}]).decode()
    # Plain driver executemany: the fastest bulk path on both databases.
    cols = ["id", "chat_id", "channel_account_id", "direction", "type", "content", "status", "status_history",
            "external_id", "timestamp", "updated_at"]
    batch: list[dict[str, Any]] = []
    stmt = messages.insert()

    async def flush() -> None:
        if not batch:
            return
        async with db.write() as conn:
            if db.is_postgres:
                await conn.execute(stmt, [dict(r, content=orjson.loads(r["content"]),
                                               status_history=orjson.loads(r["status_history"])) for r in batch])
            else:
                await conn.exec_driver_sql(
                    f"INSERT INTO messages ({', '.join(cols)}) VALUES ({', '.join('?' * len(cols))})",
                    [tuple(r[c] for c in cols) for r in batch],
                )
        batch.clear()

    for i in range(total):
        chat_id = chat_ids[i % len(chat_ids)] if i % 2 == 0 else hot_chat_ids[i % len(hot_chat_ids)]
        ts = now - span + rng.randrange(span)
        incoming = i % 3 != 0
        batch.append(
            {
                "id": new_id(), "chat_id": chat_id, "channel_account_id": account.id,
                "direction": "incoming" if incoming else "outgoing", "type": "text", "content": text,
                "status": 2 if incoming else 3, "status_history": history, "external_id": f"wamid.bench{i:09d}",
                "timestamp": ts, "updated_at": ts,
            }
        )
        if len(batch) >= 20_000:
            await flush()
    await flush()


async def count(db: Database, table: sa.Table, *where: Any) -> int:
    async with db.read() as conn:
        return int((await conn.execute(sa.select(sa.func.count()).select_from(table).where(*where))).scalar_one())


@dataclass
class InboxMix:
    """What `add_inbox_chats` gave the chats, for the scenario to build its queries from."""

    labels: list[str]
    agents: list[str]
    departments: list[str]
    counts: dict[str, int]


LABEL_COUNT, AGENT_COUNT, DEPARTMENT_COUNT = 20, 50, 5


async def add_inbox_chats(db: Database, account: AccountSeed, count: int, *, seed: int = 5) -> InboxMix:
    """`count` chats of an inbox that has worked a while (scenario 4's chat scale), with
    messages in the last 90 days. The active part is a backlog that does not grow with the
    history: min(5 %, 500) PENDING and min(10 %, 2,000) ASSIGNED chats, min(2 %, 200) BOT, 1 %
    BULK, the rest RESOLVED; placed at random in time. Assigned chats belong to one of 50 agents
    and 5 departments, as do 30 % of the pending ones; resolved chats keep their last agent and
    department. Labels: 20, used Zipf-like (the first on ~28 % of the labelled chats); a chat has
    0 (50 %), 1 (30 %), 2 (15 %) or 3 (5 %) of them."""
    rng = random.Random(seed)
    now = int(time.time() * 1000)
    span = 90 * 24 * 3600 * 1000
    label_ids = [f"label{i:02d}" for i in range(LABEL_COUNT)]
    weights = [1 / (i + 1) for i in range(LABEL_COUNT)]
    agents = [f"00000000-0000-4000-8000-{i:012d}" for i in range(AGENT_COUNT)]
    departments = [f"department_{i}" for i in range(DEPARTMENT_COUNT)]
    quota = {1: min(count // 20, 500), 2: min(count // 10, 2_000), 0: min(count // 50, 200), 4: count // 100}
    statuses = [s for s, n in quota.items() for _ in range(n)]
    statuses += [3] * (count - len(statuses))
    rng.shuffle(statuses)
    async with db.write() as conn:
        await conn.execute(labels.insert(), [
            {"id": i, "name": i.title(), "color": "#555555", "system": False, "created_at": now, "updated_at": now}
            for i in label_ids])
    counts: dict[str, int] = {}
    rows: list[dict[str, Any]] = []
    pairs: list[dict[str, str]] = []

    async def flush() -> None:
        async with db.write() as conn:
            await conn.execute(chats.insert(), rows)
            if pairs:
                await conn.execute(chat_labels.insert(), pairs)
        rows.clear()
        pairs.clear()

    for i in range(count):
        chat_id = new_id()
        status = statuses[i]
        staffed = status in (2, 3) or (status == 1 and rng.random() < 0.3)
        chosen: list[str] = []
        for _ in range(rng.choices([0, 1, 2, 3], [50, 30, 15, 5])[0]):
            label_id = rng.choices(label_ids, weights)[0]
            if label_id not in chosen:
                chosen.append(label_id)
        at = now - rng.randrange(span)
        rows.append({
            "id": chat_id, "channel_account_id": account.id, "contact_id": contact(i), "title": f"Contact {i}",
            "status": status, "unread_count": 0, "labels": chosen, "last_message": {"type": "text", "text": "hi"},
            "last_message_at": at, "last_incoming_at": at, "created_at": at, "updated_at": at, "last_seq": 0,
            "agent_uid": rng.choice(agents) if staffed else None,
            "department_id": rng.choice(departments) if staffed else None,
        })
        pairs += [{"label_id": label_id, "chat_id": chat_id} for label_id in chosen]
        counts[str(status)] = counts.get(str(status), 0) + 1
        if len(rows) >= CHUNK:
            await flush()
    if rows:
        await flush()
    return InboxMix(label_ids, agents, departments, counts)
