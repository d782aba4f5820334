"""The simulator against inboxd's real webhook receiver and inbound processing: its signatures are
accepted (and a wrong app secret is refused), its inbound messages become chats, and inbound media
is downloaded through the media id into inboxd's file store. Runs on SQLite and PostgreSQL."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx
import orjson
import pytest
import sqlalchemy as sa

from inboxd.domain.scopes import Scope
from inboxd.store import accounts as accounts_store
from inboxd.store import files as files_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from inboxd.store.tables import chats, webhook_events
from tests.simulator.support import PNG, RunningSimulator, eventually, quick_config, running_simulator
from tests.simulator.test_graph_routes import DANA, text
from tests.support.filestores import both_stores, read_blob
from tests.support.server import LiveServer
from tests.support.webhooks import wait_processed

API = "/server/api/v2"


@dataclass
class Linked:
    simulator: RunningSimulator
    account: ChannelAccount


@pytest.fixture
async def linked(server: LiveServer, db: Database) -> AsyncIterator[Linked]:
    """A standalone simulator whose webhooks go to inboxd, and an inboxd account for its number
    (same app secret, Graph URL = the simulator)."""
    config = quick_config(callback_url=f"{server.url}/webhooks/whatsapp")
    async with running_simulator(config) as simulator:
        async with db.write() as conn:
            account = await accounts_store.add_whatsapp_account(
                conn,
                account_id=config.display_phone_number,
                phone_number_id=config.phone_number_id,
                access_token=config.access_token,
                app_secret=config.app_secret,
                verify_token="verify",
                graph_url=simulator.url,
                waba_id=config.waba_id,
            )
        yield Linked(simulator, account)


def deliveries(simulator: RunningSimulator) -> list[dict]:  # type: ignore[type-arg]
    return simulator.sim.webhooks.stats()["recent"]


async def chat_rows(db: Database) -> list[sa.RowMapping]:
    async with db.read() as conn:
        return list((await conn.execute(sa.select(chats))).mappings())


async def test_inbound_and_status_webhooks_are_accepted_by_inboxd(linked: Linked, db: Database) -> None:
    simulator = linked.simulator
    await simulator.user_writes(DANA, text="Hi from the simulator", name="Dana")
    await eventually(lambda: deliveries(simulator))
    wamid = (await simulator.send(text())).json()["messages"][0]["id"]
    await eventually(lambda: len([s for s in simulator.sim.contacts.sent_index[wamid].statuses]) == 3)
    assert deliveries(simulator) and all(d["http_status"] == 200 for d in deliveries(simulator))
    await wait_processed(db)
    [chat] = await chat_rows(db)
    assert chat["contact_id"] == DANA and chat["title"] == "Dana"
    async with db.read() as conn:
        bodies = [orjson.loads(b) for b in (await conn.execute(sa.select(webhook_events.c.body))).scalars()]
    statuses = [s["status"] for b in bodies for e in b["entry"] for c in e["changes"]
                for s in c["value"].get("statuses", []) if s["id"] == wamid]
    assert sorted(statuses) == ["delivered", "read", "sent"]


async def test_a_wrong_app_secret_is_refused_and_the_retry_gets_through(linked: Linked, db: Database) -> None:
    simulator = linked.simulator
    right = simulator.config.app_secret
    simulator.config.app_secret = "not-the-app-secret"
    simulator.sim.reconfigure(webhook_max_backoff=0.5)
    await simulator.user_writes(DANA)
    await eventually(lambda: len(deliveries(simulator)) >= 2)
    assert {d["http_status"] for d in deliveries(simulator)} == {401}
    assert await chat_rows(db) == []
    simulator.config.app_secret = right  # the next retry is signed right
    await eventually(lambda: deliveries(simulator)[-1]["http_status"] == 200, within=10)
    await wait_processed(db)
    assert [c["contact_id"] for c in await chat_rows(db)] == [DANA]


@both_stores
async def test_an_inbound_image_lands_in_inboxd_as_a_file(  # type: ignore[no-untyped-def]
    linked: Linked, db: Database, server: LiveServer, client: httpx.AsyncClient, make_token
) -> None:
    simulator = linked.simulator
    result = await simulator.inbound(**{"from": DANA, "name": "Dana",
                                        "image": {"data": base64.b64encode(PNG).decode(), "caption": "a dot"}})
    await eventually(lambda: deliveries(simulator))
    await wait_processed(db)
    [chat] = await chat_rows(db)
    token = await make_token(Scope.VIEW_ALL_CHATS)
    r = await client.get(f"{API}/messages/chat/{chat['id']}", params={"beforeTime": 9_999_999_999_999, "beforeId": "z"},
                         headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 200, r.text
    [message, opened] = r.json()["messages"]  # the image, then the record of the chat it opened
    assert opened["systemMessage"] is True and opened["newChatStatus"] == 1
    assert message["type"] == "media" and message["channelInfo"]["id"] == result["id"]
    [media] = message["media"]
    assert media["caption"] == "a dot" and media["contentType"] == "image/png"
    async with db.read() as conn:
        stored = await files_store.get_file(conn, media["fileId"])
    assert stored is not None
    assert server.services is not None
    assert await read_blob(server.services.files, stored["sha256"]) == PNG
    assert result["media_id"]
