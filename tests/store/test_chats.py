"""Chat creation under concurrency: separate transactions racing for one contact make one chat."""

from __future__ import annotations

import asyncio

import sqlalchemy as sa

from inboxd.domain.ids import new_id
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store.db import Database
from inboxd.store.tables import chats


async def test_concurrent_ensure_chat_makes_one_chat(db: Database) -> None:
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn, account_id="1555", phone_number_id="p1", access_token="t", app_secret="s", verify_token="v"
        )

    async def one(i: int) -> str:
        async with db.write() as conn:
            chat_id = await chats_store.ensure_chat(
                conn, chat_id=new_id(), channel_account_id=account.id, contact_id="972521234567", title=f"t{i}", now=i
            )
            await asyncio.sleep(0.01)  # hold the transaction open while others try
            return chat_id

    ids = await asyncio.gather(*(one(i) for i in range(30)))
    assert len(set(ids)) == 1
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(chats))).scalar_one() == 1


async def test_next_seq_is_gapless_per_chat(db: Database) -> None:
    async with db.write() as conn:
        account = await accounts_store.add_whatsapp_account(
            conn, account_id="1556", phone_number_id="p2", access_token="t", app_secret="s", verify_token="v"
        )
        chat_id = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=account.id, contact_id="1", title=None, now=1
        )

    async def take(n: int) -> int:
        async with db.write() as conn:
            return await chats_store.next_seq(conn, chat_id, n)

    firsts = await asyncio.gather(*(take(2) for _ in range(10)))
    assert sorted(firsts) == list(range(1, 21, 2))
