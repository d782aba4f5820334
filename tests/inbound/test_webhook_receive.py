"""The WhatsApp webhook end to end over HTTP: verification, signatures, persistence first,
processing, dedup, concurrency, statuses, retries."""

from __future__ import annotations

import asyncio

import httpx
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from inboxd.store.tables import chats, messages, webhook_events
from tests.conftest import WhatsAppAccountSpec
from tests.support.meta import webhook_examples
from tests.support.server import start_server
from tests.support.webhooks import post_webhook, status_webhook, text_webhook, wait_processed

API = "/server/api/v2"


async def count(db: Database, table: sa.Table) -> int:
    async with db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(table))).scalar_one()


async def count_conversation(db: Database) -> int:
    """Messages other than system messages (the chat lifecycle's records, docs/chats.md)."""
    async with db.read() as conn:
        query = sa.select(sa.func.count()).select_from(messages).where(messages.c.type != "system")
        return (await conn.execute(query)).scalar_one()


async def test_verification_handshake(client: httpx.AsyncClient, wa_account: WhatsAppAccountSpec) -> None:
    params = {"hub.mode": "subscribe", "hub.verify_token": wa_account.verify_token, "hub.challenge": "1158201444"}
    r = await client.get("/webhooks/whatsapp", params=params)
    assert r.status_code == 200 and r.text == "1158201444"
    r = await client.get("/webhooks/whatsapp", params={**params, "hub.verify_token": "wrong"})
    assert r.status_code == 403 and r.json()["code"] == "verification_failed"


async def test_meta_example_makes_a_chat_with_its_message_once(  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec, make_token
) -> None:
    payload = webhook_examples()["Text Message"]
    r = await post_webhook(client, payload, wa_account.app_secret)
    assert r.status_code == 200, r.text
    await wait_processed(db)
    headers = {"Authorization": f"Bearer {await make_token(Scope.LIST_ALL_CHATS, Scope.VIEW_ALL_CHATS)}"}

    found = (await client.get(f"{API}/chats/search", params={"search": "16505551234"}, headers=headers)).json()
    assert found["total"] == 1
    chat = found["data"][0]
    assert chat["title"] == "Sheena Nelson"
    assert chat["channelInfo"] == {"name": "whatsapp", "id": "16505551234", "accountId": "15550783881"}
    assert chat["lastIncomingMessageTimestamp"] == 1749416383000
    assert chat["unreadCount"] == 1 and "lastMessage" not in chat

    page = (
        await client.get(
            f"{API}/messages/chat/{chat['_id']}",
            params={"beforeTime": 9_999_999_999_999, "beforeId": "z"},
            headers=headers,
        )
    ).json()
    assert page["minTime"] == 1749416383000
    # the message, then the record of the chat it opened: PENDING (its system message is written
    # when inboxd processes the webhook, later than WhatsApp's timestamp of the message)
    [message, opened] = page["messages"]
    assert opened["systemMessage"] is True and opened["newChatStatus"] == 1 and opened["reason"] == "new_chat"
    assert opened["type"] == "system" and "text" not in opened
    assert "direction" not in opened and "status" not in opened and page["maxTime"] == opened["timestamp"]
    assert message["text"] == "Does it come in another color?"
    assert message["type"] == "text" and message["direction"] == "incoming"
    assert message["channelInfo"] == {"id": "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQTRBNjU5OUFFRTAzODEwMTQ0RgA="}
    assert message["chatChannelInfo"] == chat["channelInfo"]
    assert message["parent_chat"] == chat["_id"]
    assert message["status"] == 2 and message["statusHistory"] == [{"status": 2, "timestamp": 1749416383000}]
    assert message["timestamp"] == 1749416383000 and message["updatedAt"].endswith("Z")

    # Meta delivers it again: nothing changes.
    assert (await post_webhook(client, payload, wa_account.app_secret)).status_code == 200
    await wait_processed(db)
    assert await count_conversation(db) == 1 and await count(db, messages) == 2
    again = (await client.get(f"{API}/chats/search", params={"search": "Sheena"}, headers=headers)).json()
    assert again["data"][0]["unreadCount"] == 1


async def test_unsigned_or_wrongly_signed_is_401_and_stores_nothing(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    payload = webhook_examples()["Text Message"]
    for secret in (None, "not-the-app-secret"):
        r = await post_webhook(client, payload, secret)
        assert r.status_code == 401 and r.json()["code"] == "invalid_signature"
    r = await client.post(
        "/webhooks/whatsapp", json=payload, headers={"X-Hub-Signature-256": "sha256=" + "0" * 64}
    )
    assert r.status_code == 401
    assert await count(db, webhook_events) == 0
    assert await count(db, chats) == 0


async def test_fifty_concurrent_webhooks_for_one_new_contact_make_one_chat(
    settings: Settings, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    """Eight workers taking one event at a time process the fifty webhooks concurrently: the
    unique key on (account, contact) makes the chat creation race harmless."""
    pnid = wa_account.account.phone_number_id
    payloads = [
        text_webhook(phone_number_id=pnid, wa_id="972521234567", wamid=f"wamid.C{i}", text=f"m{i}", timestamp=1_760_000_000 + i)
        for i in range(50)
    ]
    async with start_server(settings.model_copy(update={"workers": 8}), db) as live:
        assert live.services is not None
        live.services.inbound.BATCH = 1
        async with httpx.AsyncClient(base_url=live.url) as http:
            responses = await asyncio.gather(*(post_webhook(http, p, wa_account.app_secret) for p in payloads))
            assert all(r.status_code == 200 for r in responses)
            await wait_processed(db)
    assert await count(db, chats) == 1
    assert await count_conversation(db) == 50
    assert await count(db, messages) == 51  # and the one record of the chat's opening
    async with db.read() as conn:
        row = (await conn.execute(sa.select(chats))).mappings().one()
    assert row["unread_count"] == 50 and row["last_incoming_at"] == (1_760_000_000 + 49) * 1000


async def test_inbound_order_and_window_follow_whatsapp_time_not_arrival(  # type: ignore[no-untyped-def]
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec, make_token
) -> None:
    pnid = wa_account.account.phone_number_id
    newer = text_webhook(phone_number_id=pnid, wa_id="972500000001", wamid="wamid.NEW", text="second", timestamp=1_760_000_100)
    older = text_webhook(phone_number_id=pnid, wa_id="972500000001", wamid="wamid.OLD", text="first", timestamp=1_760_000_000)
    for payload in (newer, older):  # the older one arrives last
        assert (await post_webhook(client, payload, wa_account.app_secret)).status_code == 200
        await wait_processed(db)
    headers = {"Authorization": f"Bearer {await make_token(Scope.LIST_ALL_CHATS, Scope.VIEW_ALL_CHATS, Scope.SEND_SESSION_MESSAGE)}"}
    chat = (await client.get(f"{API}/chats/search", params={"search": "972500000001"}, headers=headers)).json()["data"][0]
    assert chat["lastIncomingMessageTimestamp"] == 1_760_000_100_000
    public = (await client.get(f"{API}/chats/{chat['_id']}", headers=headers)).json()
    assert public["lastMessage"] == {"type": "text", "text": "second"}
    page = (await client.get(f"{API}/messages/chat/{chat['_id']}", params={"beforeTime": 9_999_999_999_999, "beforeId": "z"},
                             headers=headers)).json()
    assert [m["text"] for m in page["messages"] if not m.get("systemMessage")] == ["first", "second"]


async def _outgoing_message(db: Database, wa: WhatsAppAccountSpec, wamid: str) -> str:
    from inboxd.domain.ids import new_id
    from inboxd.store import chats as chats_store
    from inboxd.store import messages as messages_store

    async with db.write() as conn:
        chat_id = await chats_store.ensure_chat(
            conn, chat_id=new_id(), channel_account_id=wa.account.id, contact_id="16505551234", title=None, now=1
        )
        message_id = new_id()
        await messages_store.insert_message(
            conn,
            {
                "id": message_id, "chat_id": chat_id, "channel_account_id": wa.account.id, "direction": "outgoing",
                "type": "text", "content": {"text": "hi"}, "status": 0,
                "status_history": [{"status": 0, "timestamp": 1_750_030_000_000}], "external_id": wamid,
                "timestamp": 1_750_030_000_000, "updated_at": 1,
            },
        )
    return message_id


async def test_statuses_out_of_order_leave_read_with_both_entries(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    message_id = await _outgoing_message(db, wa_account, "wamid.OUT1")
    pnid = wa_account.account.phone_number_id
    for status, ts in (("read", 1_750_030_075), ("delivered", 1_750_030_074), ("read", 1_750_030_075)):
        payload = status_webhook(phone_number_id=pnid, wamid="wamid.OUT1", status=status, timestamp=ts, recipient="16505551234")
        assert (await post_webhook(client, payload, wa_account.app_secret)).status_code == 200
        await wait_processed(db)
    async with db.read() as conn:
        row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).mappings().one()
    assert row["status"] == 3
    assert row["status_history"] == [
        {"status": 0, "timestamp": 1_750_030_000_000},
        {"status": 2, "timestamp": 1_750_030_074_000},
        {"status": 3, "timestamp": 1_750_030_075_000},
    ]


async def test_failed_status_keeps_the_providers_error(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    message_id = await _outgoing_message(db, wa_account, "wamid.OUT2")
    payload = status_webhook(
        phone_number_id=wa_account.account.phone_number_id, wamid="wamid.OUT2", status="failed", timestamp=1_750_030_080,
        recipient="16505551234",
        errors=[{"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                 "error_data": {"details": "not a WhatsApp user"}}],
    )
    await post_webhook(client, payload, wa_account.app_secret)
    await wait_processed(db)
    async with db.read() as conn:
        row = (await conn.execute(sa.select(messages).where(messages.c.id == message_id))).mappings().one()
    assert row["status"] == 4
    assert row["error"] == {"code": 131026, "title": "Message undeliverable", "message": "Message undeliverable",
                            "details": "not a WhatsApp user"}


async def test_a_failing_event_stays_for_retry_and_nothing_is_half_stored(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    """The account's Graph URL points at a closed port: the image cannot be fetched yet."""
    image = webhook_examples()["Image Message"]
    text = webhook_examples()["Text Message"]
    text_message = text["entry"][0]["changes"][0]["value"]["messages"][0]
    text_message["id"] = "wamid.TEXT-BESIDE-THE-IMAGE"  # Meta's examples share one wamid
    image["entry"][0]["changes"][0]["value"]["messages"].append(text_message)
    assert (await post_webhook(client, image, wa_account.app_secret)).status_code == 200
    for _ in range(200):
        async with db.read() as conn:
            event = (await conn.execute(sa.select(webhook_events))).mappings().one()
        if event["last_error"]:
            break
        await asyncio.sleep(0.05)
    assert event["state"] == "pending" and event["attempts"] >= 1 and event["next_attempt_at"] > event["received_at"]
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(messages.c.type).where(messages.c.type != "system"))).scalars().all()
    assert stored == ["text"]  # the text of the same webhook is in; the image waits for its file


async def test_unknown_phone_number_is_ignored_not_retried(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    payload = text_webhook(phone_number_id="999", wa_id="1", wamid="wamid.X", text="x", timestamp=1_760_000_000)
    assert (await post_webhook(client, payload, wa_account.app_secret)).status_code == 200
    await wait_processed(db)
    assert await count(db, messages) == 0


async def test_reaction_lands_on_its_target(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    target_id = await _outgoing_message(db, wa_account, "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUZCMTY0MDc2MUYwNzBDNTY5MAA=")
    example = webhook_examples()["Reaction Message"]
    msg = example["entry"][0]["changes"][0]["value"]["messages"][0]
    msg["reaction"]["message_id"] = "wamid.HBgLMTY1MDM4Nzk0MzkVAgASGBQzQUZCMTY0MDc2MUYwNzBDNTY5MAA="
    await post_webhook(client, example, wa_account.app_secret)
    await wait_processed(db)
    async with db.read() as conn:
        target = (await conn.execute(sa.select(messages).where(messages.c.id == target_id))).mappings().one()
        special = (await conn.execute(sa.select(messages).where(messages.c.type == "special"))).mappings().one()
    [reaction] = target["content"]["reactions"]
    assert reaction["emoji"] == msg["reaction"]["emoji"] and reaction["from"] == msg["from"]
    assert special["content"]["special"]["type"] == "reaction"


async def test_a_body_that_is_not_json_is_kept_but_not_retried(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    r = await post_webhook(client, b"{not json", wa_account.app_secret)
    assert r.status_code == 200
    for _ in range(100):
        async with db.read() as conn:
            state = (await conn.execute(sa.select(webhook_events.c.state))).scalar_one()
        if state != "pending":
            break
        await asyncio.sleep(0.05)
    assert state == "failed"


async def test_a_late_status_announces_no_change(
    client: httpx.AsyncClient, db: Database, wa_account: WhatsAppAccountSpec, server
) -> None:
    """`read` then a late `delivered`: one status-changed event each for sent→read, none for the
    late one (it only joins the history)."""
    from inboxd.domain_events import MESSAGE_STATUS_CHANGED

    seen: list[int] = []

    async def listener(_conn, message) -> None:  # type: ignore[no-untyped-def]
        seen.append(message["status"])

    server.services.events.subscribe(MESSAGE_STATUS_CHANGED, listener)
    await _outgoing_message(db, wa_account, "wamid.LATE")
    pnid = wa_account.account.phone_number_id
    for status, ts in (("read", 1_750_030_075), ("delivered", 1_750_030_074)):
        payload = status_webhook(phone_number_id=pnid, wamid="wamid.LATE", status=status, timestamp=ts, recipient="1")
        await post_webhook(client, payload, wa_account.app_secret)
        await wait_processed(db)
    assert seen == [3]
