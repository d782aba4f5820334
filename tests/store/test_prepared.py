"""`store.prepared.Prepared`: a statement compiled once per dialect, run as the driver's
executemany, stores exactly what SQLAlchemy's own executemany stores (JSON columns, JSONB on
PostgreSQL, NULLs) and refuses rows that would leave a parameter unset."""

from __future__ import annotations

from typing import Any

import pytest
import sqlalchemy as sa

from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store.db import Database
from inboxd.store.prepared import Prepared
from inboxd.store.tables import chats, messages

_INSERT = Prepared(messages.insert())


def _row(i: int, chat_id: str, account_id: str, **extra: Any) -> dict[str, Any]:
    return {
        "id": f"{i:024x}", "chat_id": chat_id, "channel_account_id": account_id, "direction": "outgoing",
        "type": "text", "content": {"text": f"héllo {i}", "n": [i, 1.5, None, True]},
        "status": 0, "status_history": [{"status": 0, "timestamp": i}], "timestamp": i, "updated_at": i,
        "seq": i, "tmp_send_id": None, "context": None, **extra,
    }


async def _chat(db: Database) -> tuple[str, str]:
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn, account_id="1557", phone_number_id="p3", access_token="t", app_secret="s", verify_token="v"
        )
        chat_id = await chats_store.ensure_chat(
            conn, chat_id="c" * 24, channel_account_id=account.id, contact_id="972520000000", title="t", now=1
        )
    return chat_id, account.id


async def test_prepared_executemany_stores_what_sqlalchemy_stores(db: Database) -> None:
    chat_id, account_id = await _chat(db)
    prepared = [_row(i, chat_id, account_id) for i in range(1, 4)]
    core = [_row(i, chat_id, account_id) for i in range(11, 14)]
    async with db.write() as conn:
        await _INSERT.executemany(conn, prepared)
        await _INSERT.executemany(conn, [_row(4, chat_id, account_id, meta={"k": "v"})])  # other columns: compiled anew
        await conn.execute(messages.insert(), core)
    async with db.read() as conn:
        stored = {r["id"]: dict(r) for r in (await conn.execute(sa.select(messages))).mappings()}
        if db.is_postgres:  # JSONB, not text holding JSON
            kinds = (await conn.execute(sa.text("SELECT jsonb_typeof(content) FROM messages"))).scalars().all()
            assert set(kinds) == {"object"}
    assert len(stored) == 7
    for ours, theirs in zip(prepared, core, strict=True):
        a, b = stored[ours["id"]], stored[theirs["id"]]
        assert (a["content"], a["status_history"]) == (ours["content"], ours["status_history"])
        assert (b["content"], b["status_history"]) == (theirs["content"], theirs["status_history"])
        for column in ("meta", "error", "agent", "tmp_send_id", "context", "external_id"):
            assert a[column] == b[column], column
    assert stored[f"{4:024x}"]["meta"] == {"k": "v"}


async def test_prepared_update_with_repeated_parameter(db: Database) -> None:
    chat_id, _ = await _chat(db)
    advance = Prepared(
        chats.update().where(chats.c.id == sa.bindparam("b_id")).values(
            last_seq=chats.c.last_seq + sa.bindparam("b_n", type_=sa.BigInteger),
            last_message=sa.bindparam("b_preview", type_=chats.c.last_message.type),
            last_message_at=sa.bindparam("b_ts", type_=sa.BigInteger),
            updated_at=sa.bindparam("b_ts", type_=sa.BigInteger),
        )
    )
    async with db.write() as conn:
        await advance.executemany(conn, [{"b_id": chat_id, "b_n": 2, "b_preview": {"text": "a"}, "b_ts": 7},
                                         {"b_id": chat_id, "b_n": 3, "b_preview": {"text": "b"}, "b_ts": 9}])
    async with db.read() as conn:
        row = (await conn.execute(sa.select(chats).where(chats.c.id == chat_id))).mappings().one()
    assert (row["last_seq"], row["last_message"], row["last_message_at"], row["updated_at"]) == (5, {"text": "b"}, 9, 9)


async def test_prepared_refuses_rows_without_a_parameter(db: Database) -> None:
    chat_id, _ = await _chat(db)
    update = Prepared(chats.update().where(chats.c.id == sa.bindparam("b_id")).values(title=sa.bindparam("b_title")))
    async with db.write() as conn:
        with pytest.raises(ValueError, match="b_title"):
            await update.executemany(conn, [{"b_id": chat_id}])
