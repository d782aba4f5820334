"""Presence from live streams (agents/presence.py): an agent with an open stream is online unless
away; their last stream closing makes them offline after the grace period; round robin follows."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest

from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.store import presence as presence_store
from inboxd.store.db import Database
from tests.auth.conftest import PASSWORD, Browser, sign_in
from tests.auth.test_visibility import SessionReader
from tests.chats.conftest import API, contact_writes, make_agent, make_department, use_department
from tests.support.live import LiveReader
from tests.support.server import start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

GRACE = 1.5


@pytest.fixture
async def rig(events_settings: Settings, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with start_server(events_settings.model_copy(update={"presence_grace_seconds": GRACE}), db) as live, \
            whatsapp_rig(live, db) as wa:
        yield wa


async def _presence(rig: WhatsAppRig, uid: str) -> str:
    return str((await rig.client.get(f"{API}/agents/{uid}")).json()["presence"])


async def _until(rig: WhatsAppRig, uid: str, presence: str, timeout: float = 10) -> float:  # noqa: ASYNC109
    start = time.monotonic()
    while (now := await _presence(rig, uid)) != presence:
        assert time.monotonic() - start < timeout, f"still {now}"
        await asyncio.sleep(0.05)
    return time.monotonic() - start


async def test_streams_make_an_agent_online_and_the_last_one_closing_offline_after_the_grace(rig: WhatsAppRig) -> None:
    noa = await make_agent(rig, "noa@example.com", roles=["agent"], password=PASSWORD)
    uid = noa["uid"]
    browser: Browser = await sign_in(rig.server.url, "noa@example.com")
    try:
        assert await _presence(rig, uid) == "offline"
        first = SessionReader(rig.server.url, browser)
        await first.__aenter__()
        assert await _presence(rig, uid) == "online"  # set before the stream answered
        async with SessionReader(rig.server.url, browser):  # a second tab
            await first.close()
            await asyncio.sleep(GRACE + 0.5)
            assert await _presence(rig, uid) == "online"  # the other tab keeps them online
        closed = time.monotonic()
        assert await _presence(rig, uid) == "online"  # within the grace period
        await _until(rig, uid, "offline")
        assert time.monotonic() - closed >= GRACE - 0.3

        # Away is kept while streaming; the last stream closing still makes them offline.
        async with SessionReader(rig.server.url, browser) as stream:
            await _until(rig, uid, "online", timeout=2)
            r = await browser.unsafe("PUT", f"{API}/auth/me/presence", json={"presence": "away"})
            assert r.status_code == 200 and r.json()["presence"] == "away"
            async with SessionReader(rig.server.url, browser):
                assert await _presence(rig, uid) == "away"
            changes = [e for e in stream.events if e.type == "agent.updated" and e.data["uid"] == uid]
            assert changes and changes[-1].data["presence"] == "away"  # the Agent object, as it became
        await _until(rig, uid, "offline")
        # A token's stream is not an agent's: it changes nobody's presence.
        token = rig.client.headers["Authorization"].removeprefix("Bearer ")
        async with LiveReader(rig.server.url, token):
            assert await _presence(rig, uid) == "offline"
    finally:
        await browser.http.aclose()


async def test_an_agent_opening_the_inbox_gets_the_waiting_chats_by_round_robin(rig: WhatsAppRig) -> None:
    await make_department(rig, "support", assignment="round_robin")
    noa = await make_agent(rig, "noa@example.com", roles=["agent"], departments=["support"], password=PASSWORD)
    await use_department(rig, "support")
    chat_id = await contact_writes(rig, "15550000001", "anyone there?")
    chat = (await rig.client.get(f"{API}/chats/{chat_id}")).json()
    assert chat["agent"]["uid"] is None  # nobody online: it waits
    browser = await sign_in(rig.server.url, "noa@example.com")
    try:
        async with SessionReader(rig.server.url, browser):
            deadline = time.monotonic() + 10
            while (await rig.client.get(f"{API}/chats/{chat_id}")).json()["agent"]["uid"] != noa["uid"]:
                assert time.monotonic() < deadline, "the waiting chat was not handed to the agent who came online"
                await asyncio.sleep(0.05)
    finally:
        await browser.http.aclose()


async def test_a_dead_processs_streams_go_stale_and_are_swept(rig: WhatsAppRig, db: Database) -> None:
    noa = await make_agent(rig, "noa@example.com", roles=["agent"], password=PASSWORD, presence="online")
    presence = rig.server.services.presence if rig.server.services else None
    assert presence is not None
    async with db.write() as conn:  # a stream another process held, last heard of a minute ago
        stream_id = await presence_store.open_stream(conn, noa["uid"], now_ms() - 60_000)
    assert stream_id and await presence.sweep() == [noa["uid"]]
    assert await _presence(rig, noa["uid"]) == "offline"
    assert await presence.sweep() == []  # its rows are gone
