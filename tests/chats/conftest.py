"""Chat lifecycle tests: inboxd over loopback, wired to the WhatsApp simulator (contacts write
through signed webhooks), with helpers that make agents and departments through the API."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.store.db import Database
from inboxd.store.tables import chats, messages
from tests.events.conftest import events_settings, receiver  # noqa: F401  (fixtures)
from tests.support.server import LiveServer, start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

API = "/server/api/v2"


@pytest.fixture
async def live(events_settings: Settings, db: Database) -> AsyncIterator[LiveServer]:  # noqa: F811
    async with start_server(events_settings, db) as server:
        yield server


@pytest.fixture
async def rig(live: LiveServer, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with whatsapp_rig(live, db) as wa:
        yield wa


async def contact_writes(rig: WhatsAppRig, wa_id: str, text: str) -> str:
    """A contact writes `text` (their chat may exist already); returns once inboxd stored it."""
    import asyncio
    import time

    from tests.support.webhooks import wait_processed

    r = await rig.control.post("/simulator/inbound", json={"from": wa_id, "name": "Dana", "text": {"body": text}})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 20
    while True:
        async with rig.db.read() as conn:
            found = (await conn.execute(sa.select(messages.c.chat_id).where(
                messages.c.direction == "incoming", messages.c.content["text"].as_string() == text))).first()
        if found is not None:
            await wait_processed(rig.db)
            return str(found.chat_id)
        assert time.monotonic() < deadline, f"{text!r} from {wa_id} never arrived"
        await asyncio.sleep(0.02)


async def make_department(rig: WhatsAppRig, department_id: str, *, assignment: str = "manual", **more: Any) -> dict[str, Any]:
    r = await rig.client.post(f"{API}/departments", json={"id": department_id, "name": department_id.title(),
                                                          "assignment": assignment, **more})
    assert r.status_code == 201, r.text
    return r.json()


async def make_agent(rig: WhatsAppRig, email: str, name: str | None = None, **more: Any) -> dict[str, Any]:
    r = await rig.client.post(f"{API}/agents", json={"email": email, "displayName": name or email.split("@")[0].title(),
                                                     **more})
    assert r.status_code == 201, r.text
    return r.json()


async def set_presence(rig: WhatsAppRig, uid: str, presence: str) -> dict[str, Any]:
    r = await rig.client.put(f"{API}/agents/{uid}/presence", json={"presence": presence})
    assert r.status_code == 200, r.text
    return r.json()


async def use_department(rig: WhatsAppRig, department_id: str | None) -> None:
    """The sandbox account's default department (what `inboxd channels update --department` sets)."""
    from inboxd.store import accounts as accounts_store

    async with rig.db.write() as conn:
        await accounts_store.update_lifecycle_settings(conn, rig.account.id, {"default_department_id": department_id})


async def chat_row(rig: WhatsAppRig, chat_id: str) -> Any:
    async with rig.db.read() as conn:
        return (await conn.execute(sa.select(chats).where(chats.c.id == chat_id))).mappings().one()


async def system_messages(rig: WhatsAppRig, chat_id: str) -> list[dict[str, Any]]:
    """The chat's system messages, as Get Messages of a Chat shows them, in order."""
    r = await rig.client.get(f"{API}/messages/chat/{chat_id}", params={"beforeTime": "9999999999999", "beforeId": "z",
                                                                       "limit": "1000"})
    assert r.status_code == 200, r.text
    return [m for m in r.json()["messages"] if m.get("systemMessage")]


async def count_system_messages(db: Database) -> int:
    async with db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).where(messages.c.type == "system"))).scalar_one()


async def get_chat(rig: WhatsAppRig, chat_id: str) -> dict[str, Any]:
    """The full Chat (Search Chats' rendering), found by its contact."""
    row = await chat_row(rig, chat_id)
    r = await rig.client.get(f"{API}/chats/search", params={"search": row["contact_id"], "includeEmpty": "true"})
    assert r.status_code == 200, r.text
    [chat] = [c for c in r.json()["data"] if c["_id"] == chat_id]
    return chat


def error_paths(r: httpx.Response) -> set[str]:
    return {d["path"] for d in r.json()["details"]}
