"""Manage Labels in Chat and Delete Label over HTTP on both databases: add / remove / set, the
events of each change (exactly one per change, none for a change that changes nothing), unknown
labels named, nothing half-written, and `chats.labels` always in step with `chat_labels`."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from inboxd.domain.ids import new_id
from inboxd.domain.scopes import Scope
from inboxd.store.chats import ensure_chat
from inboxd.store.db import Database
from inboxd.store.tables import chat_labels, chats
from tests.conftest import WhatsAppAccountSpec
from tests.labels.conftest import API, Published
from tests.support.seed import chat_with_messages, give_labels

NAMES = ("manager", "VIP", "holiday", "lead")


@pytest.fixture
async def chat(db: Database, wa_account: WhatsAppAccountSpec, client: httpx.AsyncClient, admin: dict[str, str]) -> str:
    for label_id in NAMES:
        r = await client.post(f"{API}/labels", json={"id": label_id, "name": label_id.title()}, headers=admin)
        assert r.status_code == 200, r.text
    return await chat_with_messages(db, wa_account.account, "972521234567", title="Dana", texts=[(1_000, "hi")])


async def change(client: httpx.AsyncClient, headers: dict[str, str], chat_id: str, body: Any) -> httpx.Response:
    return await client.post(f"{API}/chats/{chat_id}/labels", json=body, headers=headers)


async def stored(db: Database, chat_id: str) -> list[str]:
    """The chat's labels as rendered, after checking that the index rows say the same."""
    async with db.read() as conn:
        rendered = (await conn.execute(sa.select(chats.c.labels).where(chats.c.id == chat_id))).scalar_one()
        indexed = set((await conn.execute(sa.select(chat_labels.c.label_id).where(chat_labels.c.chat_id == chat_id))).scalars())
    assert set(rendered) == indexed and len(rendered) == len(indexed)
    return rendered


async def test_add_remove_set_each_one_event(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, db: Database, published: Published
) -> None:
    r = await change(client, admin, chat, {"add": ["manager", "VIP", "holiday"]})  # the reference's example
    assert r.status_code == 200 and r.json() == "OK"
    assert await stored(db, chat) == ["manager", "VIP", "holiday"]
    r = await change(client, admin, chat, {"remove": ["VIP"]})
    assert r.json() == "OK" and await stored(db, chat) == ["manager", "holiday"]
    r = await change(client, admin, chat, {"add": ["lead", "manager"]})
    assert await stored(db, chat) == ["manager", "holiday", "lead"]
    r = await change(client, admin, chat, {"set": ["VIP", "lead"]})
    assert await stored(db, chat) == ["VIP", "lead"]
    r = await change(client, admin, chat, {"set": []})
    assert r.json() == "OK" and await stored(db, chat) == []
    assert published.labels() == [
        (chat, [], ["manager", "VIP", "holiday"], []),
        (chat, ["manager", "VIP", "holiday"], [], ["VIP"]),
        (chat, ["manager", "holiday"], ["lead"], []),
        (chat, ["manager", "holiday", "lead"], ["VIP"], ["manager", "holiday"]),
        (chat, ["VIP", "lead"], [], ["VIP", "lead"]),
    ]
    assert published.updated("labels") == [chat] * 5

    item = (await client.get(f"{API}/chats/search", params={"labels[]": "VIP"}, headers=admin)).json()
    assert (item["data"], item["total"]) == ([], 0)


async def test_a_change_that_changes_nothing_raises_no_event(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, db: Database, published: Published
) -> None:
    assert (await change(client, admin, chat, {"add": ["VIP"]})).json() == "OK"
    for body in ({"add": ["VIP"]}, {"remove": ["holiday"]}, {"set": ["VIP"]}, {"add": ["VIP", "VIP"]}):
        r = await change(client, admin, chat, body)
        assert r.status_code == 200 and r.json() == "OK", body
    assert (await change(client, admin, chat, {"set": ["lead", "VIP"]})).json() == "OK"
    assert (await change(client, admin, chat, {"set": ["VIP", "lead"]})).json() == "OK"  # same labels, other order
    assert await stored(db, chat) == ["lead", "VIP"]
    assert published.labels() == [(chat, [], ["VIP"], []), (chat, ["VIP"], ["lead"], [])]
    assert len(published.updated("labels")) == 2


async def test_unknown_labels_are_400_naming_each_and_nothing_changes(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, db: Database, published: Published
) -> None:
    assert (await change(client, admin, chat, {"add": ["VIP"]})).json() == "OK"
    r = await change(client, admin, chat, {"add": ["lead", "nope", "VIP", "other"]})
    assert r.status_code == 400 and r.json()["code"] == "unknown_label"
    assert r.json()["details"] == [{"path": "body.add[1]", "reason": "unknown label 'nope'"},
                                   {"path": "body.add[3]", "reason": "unknown label 'other'"}]
    assert "nope" in r.json()["error"]
    r = await change(client, admin, chat, {"remove": ["ghost"]})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body.remove[0]"
    r = await change(client, admin, chat, {"set": ["lead", "ghost"]})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body.set[1]"
    assert await stored(db, chat) == ["VIP"]
    assert len(published.labels()) == 1


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["body"]),
        ({"add": ["VIP"], "remove": ["VIP"]}, ["body"]),
        ({"add": [], "set": [], "remove": []}, ["body", "body.add", "body.remove"]),
        ({"add": []}, ["body.add"]),
        ({"remove": []}, ["body.remove"]),
        ({"add": "VIP"}, ["body.add"]),
        ({"add": ["", 7, "a/b", "x" * 101]}, ["body.add[0]", "body.add[1]", "body.add[2]", "body.add[3]"]),
        ({"set": [f"l{i}" for i in range(101)]}, ["body.set"]),
        ({"labels": ["VIP"]}, ["body.labels", "body"]),
        (["VIP"], ["body"]),
    ],
)
async def test_a_bad_change_is_400_with_every_problem(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, body: Any, paths: list[str]
) -> None:
    r = await change(client, admin, chat, body)
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request" and [d["path"] for d in r.json()["details"]] == paths


async def test_unknown_chat_scope_and_empty_body(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, make_token  # type: ignore[no-untyped-def]
) -> None:
    for chat_id in ("0123456789abcdef01234567", "not-an-id"):
        r = await change(client, admin, chat_id, {"add": ["VIP"]})
        assert r.status_code == 404 and r.json()["code"] == "chat_not_found"
    r = await client.post(f"{API}/chats/{chat}/labels", headers=admin)
    assert r.status_code == 400
    labeller = {"Authorization": f"Bearer {await make_token(Scope.MANAGE_LABELS)}"}
    r = await change(client, labeller, chat, {"add": ["VIP"]})
    assert r.status_code == 403 and r.json()["details"] == [{"scope": "Manage all chats", "reason": "missing scope"}]


async def test_delete_takes_the_label_off_every_chat_each_with_its_event(
    client: httpx.AsyncClient, admin: dict[str, str], chat: str, db: Database, published: Published,
    wa_account: WhatsAppAccountSpec,
) -> None:
    other = await chat_with_messages(db, wa_account.account, "972541111111", title="Omer", texts=[(2_000, "yo")])
    untouched = await chat_with_messages(db, wa_account.account, "972549999999", title="Noa", texts=[(3_000, "hey")])
    await change(client, admin, chat, {"add": ["VIP", "lead"]})
    await change(client, admin, other, {"add": ["VIP"]})
    await change(client, admin, untouched, {"add": ["lead"]})
    published.items.clear()

    r = await client.delete(f"{API}/labels/VIP", headers=admin)
    assert r.status_code == 200 and r.json() == "OK"
    assert await stored(db, chat) == ["lead"] and await stored(db, other) == [] and await stored(db, untouched) == ["lead"]
    assert sorted(published.labels()) == sorted([(chat, ["VIP", "lead"], [], ["VIP"]), (other, ["VIP"], [], ["VIP"])])
    assert sorted(published.updated("labels")) == sorted([chat, other])
    r = await change(client, admin, chat, {"add": ["VIP"]})
    assert r.status_code == 400 and r.json()["code"] == "unknown_label"
    found = (await client.get(f"{API}/chats/search", params={"labels[]": "lead"}, headers=admin)).json()
    assert sorted(c["_id"] for c in found["data"]) == sorted([chat, untouched])
    assert {c["_id"]: c["labels"] for c in found["data"]} == {chat: ["lead"], untouched: ["lead"]}


async def test_deleting_a_label_on_many_chats_while_others_add_it(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database, published: Published,
    wa_account: WhatsAppAccountSpec,
) -> None:
    """More chats than one statement takes (the label's chats are read and locked in chunks), and
    adds racing the delete: each add either commits before the delete (which then takes it off)
    or finds the label gone (400); nothing fails and no chat keeps it."""
    assert (await client.post(f"{API}/labels", json={"id": "sale", "name": "Sale"}, headers=admin)).status_code == 200
    many = []
    async with db.write() as conn:
        for i in range(620):
            chat_id = await ensure_chat(conn, chat_id=new_id(), channel_account_id=wa_account.account.id,
                                        contact_id=f"97250{i:07d}", title=None, now=1)
            await give_labels(conn, chat_id, ["sale"])
            many.append(chat_id)
    racers = [await chat_with_messages(db, wa_account.account, f"97259{i:07d}", texts=[(5, "x")]) for i in range(12)]
    published.items.clear()

    adds = [change(client, admin, chat_id, {"add": ["sale"]}) for chat_id in racers]
    results = await asyncio.gather(*adds[:6], client.delete(f"{API}/labels/sale", headers=admin), *adds[6:])
    assert all(r.status_code in (200, 400) for r in results), [r.text for r in results if r.status_code not in (200, 400)]
    assert results[6].json() == "OK"
    assert {r.json()["code"] for r in results if r.status_code == 400} <= {"unknown_label"}
    async with db.read() as conn:
        assert (await conn.execute(sa.select(sa.func.count()).select_from(chat_labels))).scalar_one() == 0
        left = [chat_id for chat_id, value in (await conn.execute(sa.select(chats.c.id, chats.c.labels))).all() if value]
    assert left == []
    removed = [c for c, _, _, gone in published.labels() if gone == ["sale"]]
    assert set(many) <= set(removed) and len(removed) == len(set(removed))
