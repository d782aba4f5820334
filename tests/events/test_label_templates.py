"""The (SUB) Chat Labels Updated and Specific Label Added templates, end to end: real labels
changes through the API (add, remove, set, deleting a label) and inboxd's own `failed_message`
fire each subscription exactly once per change, with §10.2's eventData, in order; a change that
changes nothing fires nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd.store.db import Database
from tests.events.conftest import API, Receiver, subscribe
from tests.support.server import LiveServer
from tests.support.wa import WhatsAppRig, whatsapp_rig


@pytest.fixture
async def rig(live: LiveServer, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with whatsapp_rig(live, db) as wa:
        yield wa


def _by(receiver: Receiver, name: str) -> list[dict[str, Any]]:
    return [r.body for r in receiver.requests if r.path == f"/hooks/{name}"]


async def _labels(api: httpx.AsyncClient, chat_id: str, body: dict[str, Any]) -> None:
    r = await api.post(f"{API}/chats/{chat_id}/labels", json=body)
    assert r.status_code == 200 and r.json() == "OK", r.text


async def test_labels_templates_fire_once_per_change(api: httpx.AsyncClient, receiver: Receiver, rig: WhatsAppRig) -> None:
    for name in ("chat-labels-updated", "specific-label-added"):
        await subscribe(api, name, f"{receiver.url}/{name}", targetLabelId="vip")
    for label_id in ("vip", "lead", "promo"):
        assert (await api.post(f"{API}/labels", json={"id": label_id, "name": label_id.upper()})).status_code == 200
    dana = await rig.user_writes("972521000011", "hi", name="Dana")
    omer = await rig.user_writes("972521000012", "hi", name="Omer")

    await _labels(api, dana, {"add": ["lead"]})
    await _labels(api, dana, {"add": ["vip", "lead"]})
    await _labels(api, dana, {"add": ["vip"]})  # changes nothing: no event
    await _labels(api, dana, {"remove": ["promo"]})  # not on the chat: no event
    await _labels(api, omer, {"set": ["promo", "vip"]})
    await _labels(api, dana, {"set": ["promo"]})
    assert (await api.delete(f"{API}/labels/promo")).json() == "OK"  # off both chats
    await rig.fault(kind="graph_error", code=131026, http_status=400, count=1)
    r = await rig.send(omer, {"type": "text", "text": "Not delivered"})
    assert r.json()["messages"][0]["status"] == 4, r.text

    await receiver.wait_for(7, event_name="chatLabelsUpdated")
    await receiver.wait_for(2, event_name="chatSpecificLabelAdded")
    await receiver.settle()

    updates = _by(receiver, "chat-labels-updated")
    assert {u["eventName"] for u in updates} == {"chatLabelsUpdated"}
    for u in updates:
        assert set(u["eventData"]) == {"chat", "oldLabels", "addedLabels", "removedLabels"}
    seen = [(u["eventData"]["chat"]["_id"], u["eventData"]["oldLabels"], u["eventData"]["addedLabels"],
             u["eventData"]["removedLabels"], u["eventData"]["chat"]["labels"]) for u in updates]
    per_chat = {chat: [s[1:] for s in seen if s[0] == chat] for chat in (dana, omer)}
    assert per_chat[dana] == [
        ([], ["lead"], [], ["lead"]),
        (["lead"], ["vip"], [], ["lead", "vip"]),
        (["lead", "vip"], ["promo"], ["lead", "vip"], ["promo"]),
        (["promo"], [], ["promo"], []),  # the label was deleted
    ]
    assert per_chat[omer] == [
        ([], ["promo", "vip"], [], ["promo", "vip"]),
        (["promo", "vip"], [], ["promo"], ["vip"]),  # the label was deleted
        (["vip"], ["failed_message"], [], ["vip", "failed_message"]),
    ]
    assert len(updates) == 7

    specific = _by(receiver, "specific-label-added")
    assert [(s["eventName"], s["eventData"]["chat"]["_id"], s["eventData"]["addedLabels"]) for s in specific] == [
        ("chatSpecificLabelAdded", dana, ["vip"]), ("chatSpecificLabelAdded", omer, ["promo", "vip"])]
    assert set(specific[0]["eventData"]) == {"chat", "oldLabels", "addedLabels", "removedLabels"}
    assert specific[0]["eventData"]["oldLabels"] == ["lead"] and specific[0]["eventData"]["removedLabels"] == []
