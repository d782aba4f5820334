"""Send a Message to Chat end to end: inboxd → the simulator over loopback → status webhooks back."""

from __future__ import annotations

import asyncio

import pytest
import sqlalchemy as sa

from inboxd.store.tables import messages
from tests.support.filestores import both_stores
from tests.support.wa import WhatsAppRig

USER = "972521234567"


async def stored(rig: WhatsAppRig) -> list[dict]:  # type: ignore[type-arg]
    async with rig.db.read() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(messages).where(messages.c.direction == "outgoing")
                                                     .order_by(messages.c.seq))).mappings()]


async def test_text_reaches_whatsapp_and_the_response_has_the_wamid(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "text", "text": "Hey there!"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True
    [message] = body["messages"]
    assert message["channelInfo"]["id"].startswith("wamid.")
    assert message["type"] == "text" and message["text"] == "Hey there!" and message["direction"] == "outgoing"
    assert message["status"] == 0 and message["statusHistory"][0]["status"] == 0
    assert message["parent_chat"] == chat
    assert message["chatChannelInfo"] == {"name": "whatsapp", "id": USER, "accountId": rig.account.account_id}
    [sent] = await rig.sent_to(USER)
    assert sent["id"] == message["channelInfo"]["id"]
    assert sent["payload"]["text"] == {"body": "Hey there!", "preview_url": False}
    assert sent["payload"]["to"] == USER and sent["payload"]["biz_opaque_callback_data"] == message["_id"]


async def test_buttons_list_contacts_location_and_reply_payloads(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    async with rig.db.read() as conn:
        incoming = (await conn.execute(sa.select(messages.c.external_id).where(messages.c.direction == "incoming"))).scalar_one()
    bodies = [
        {"type": "buttons", "text": "Pick one", "buttons": [
            {"title": "Get my text messages", "payload": "get_session_messages"},
            {"title": "Send random image", "payload": "random_image"}]},
        {"type": "list", "text": "Please select an option below.", "list": {"button": "Menu", "sections": [
            {"title": "Something from this bot", "rows": [
                {"title": "Get my text messages", "payload": "get_session_messages"},
                {"title": "Send random image", "payload": "random_image"}]},
            {"title": "Return back", "rows": [
                {"title": "Back to texter bot", "payload": "back_to_texter_bot"},
                {"title": "Resolve chat", "payload": "resolve", "description": "Close it"}]}]}},
        {"type": "contacts", "contacts": [{"name": {"formatted_name": "Barbara J. Johnson", "first_name": "Barbara"},
                                           "phones": [{"phone": "+16505551234", "type": "WORK"}]}]},
        {"type": "location", "location": {"latitude": 32.0853, "longitude": 34.7818, "name": "Office", "address": "Rothschild 1"}},
        {"type": "text", "text": "Replying", "context": incoming},
    ]
    for body in bodies:
        r = await rig.send(chat, body)
        assert r.status_code == 200, (body["type"], r.text)
    sent = [s["payload"] for s in await rig.sent_to(USER)]
    buttons, list_, contacts, location, reply = sent
    assert buttons["interactive"]["type"] == "button"
    assert buttons["interactive"]["body"] == {"text": "Pick one"}
    assert [b["reply"] for b in buttons["interactive"]["action"]["buttons"]] == [
        {"id": "get_session_messages", "title": "Get my text messages"}, {"id": "random_image", "title": "Send random image"}]
    assert list_["interactive"]["type"] == "list" and list_["interactive"]["action"]["button"] == "Menu"
    rows = [row for s in list_["interactive"]["action"]["sections"] for row in s["rows"]]
    assert [row["id"] for row in rows] == ["get_session_messages", "random_image", "back_to_texter_bot", "resolve"]
    assert rows[3]["description"] == "Close it"
    assert contacts["contacts"][0]["name"]["formatted_name"] == "Barbara J. Johnson"
    assert float(location["location"]["latitude"]) == 32.0853 and location["location"]["name"] == "Office"
    assert reply["context"] == {"message_id": incoming}
    [stored_reply] = [m for m in await stored(rig) if m["type"] == "text"]
    assert stored_reply["context"] == incoming


@both_stores
async def test_media_by_url_and_by_file_id_go_by_uploaded_media_id(rig: WhatsAppRig, origin: str) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "media", "media": [
        {"mediaType": "image", "url": f"{origin}/pic.png", "caption": "Look"},
        {"mediaType": "document", "url": f"{origin}/offer.pdf", "filename": "offer.pdf"}]})
    assert r.status_code == 200, r.text
    image, document = r.json()["messages"]
    assert image["media"][0]["mediaType"] == "image" and image["media"][0]["contentType"] == "image/png"
    assert document["media"][0]["filename"] == "offer.pdf" and document["media"][0]["contentType"] == "application/pdf"
    again = await rig.send(chat, {"type": "media", "media": [{"mediaType": "image", "fileId": image["media"][0]["fileId"]}]})
    assert again.status_code == 200, again.text
    sent = [s["payload"] for s in await rig.sent_to(USER)]
    assert [p["type"] for p in sent] == ["image", "document", "image"]
    assert sent[0]["image"]["caption"] == "Look" and "link" not in sent[0]["image"]
    assert sent[1]["document"]["filename"] == "offer.pdf"
    assert sent[0]["image"]["id"] == sent[2]["image"]["id"]  # uploaded once, reused by its hash
    media = await rig.control.get(f"/v23.0/{sent[1]['document']['id']}",
                                  headers={"Authorization": f"Bearer {rig.sim.config.access_token}"})
    assert media.status_code == 200 and media.json()["mime_type"] == "application/pdf"


@both_stores
@pytest.mark.parametrize(
    ("path", "status", "code"),
    [("/big.png", 413, "payload_too_large"), ("/page.png", 415, "unsupported_media_type")],
)
async def test_media_too_large_or_of_the_wrong_type(rig: WhatsAppRig, origin: str, path: str, status: int, code: str) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "media", "media": [{"mediaType": "image", "url": origin + path}]})
    assert r.status_code == status, r.text
    assert r.json()["code"] == code and r.json()["details"][0]["path"] == "body.media[0].url"
    assert await rig.sent_to(USER) == [] and await stored(rig) == []


async def test_statuses_move_the_message_to_read(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "text", "text": "hello"})
    message_id = r.json()["messages"][0]["_id"]
    for _ in range(200):
        [row] = [m for m in await stored(rig) if m["id"] == message_id]
        if row["status"] == 3:
            break
        await asyncio.sleep(0.05)
    assert row["status"] == 3
    assert [e["status"] for e in row["status_history"]] == [0, 1, 2, 3]


async def test_outside_the_window_is_422_and_nothing_is_sent(rig: WhatsAppRig) -> None:
    old = {"timestamp": 1_700_000_000}  # years ago on WhatsApp's clock
    chat = await rig.user_writes(USER, **old)
    r = await rig.send(chat, {"type": "text", "text": "too late"})
    assert r.status_code == 422
    body = r.json()
    assert body["success"] is False and body["code"] == "session_window_closed"
    assert body["lastIncomingMessageTimestamp"] == 1_700_000_000_000
    assert "template" in body["hint"].lower()
    assert await rig.sent_to(USER) == [] and await stored(rig) == []


async def test_unknown_chat_is_404(rig: WhatsAppRig) -> None:
    r = await rig.send("0123456789abcdef01234567", {"type": "text", "text": "x"})
    assert r.status_code == 404 and r.json()["code"] == "chat_not_found"


async def test_context_must_be_a_message_of_this_chat(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "text", "text": "x", "context": "wamid.NOT-IN-THIS-CHAT"})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body.context"


async def test_every_problem_is_reported(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "buttons", "text": "", "buttons": [{"title": "x" * 21, "payload": "a"}] * 4,
                              "media": [], "extra": 1})
    assert r.status_code == 400
    paths = {d["path"] for d in r.json()["details"]}
    assert {"body.text", "body.buttons", "body.media", "body.extra"} <= paths
    assert any(p.startswith("body.buttons[0].title") for p in paths)


async def test_a_body_over_one_mib_is_413(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.client.post(f"/server/api/v2/messages/send/{chat}", content=b'{"type":"text","text":"' + b"a" * (1 << 20) + b'"}',
                              headers={"Content-Type": "application/json"})
    assert r.status_code == 413 and r.json()["code"] == "payload_too_large"


async def test_respond_async_is_202_right_after_the_commit(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.send(chat, {"type": "text", "text": "later"}, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    assert r.json()["success"] is True and r.json()["messages"][0]["status"] == 0
    for _ in range(200):
        if await rig.sent_to(USER):
            break
        await asyncio.sleep(0.02)
    assert len(await rig.sent_to(USER)) == 1


async def test_twenty_concurrent_sends_with_one_tmp_send_id_make_one_message(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    body = {"type": "text", "text": "once", "tmpSendId": "crm-1"}
    responses = await asyncio.gather(*(rig.send(chat, body) for _ in range(20)))
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    ids = {r.json()["messages"][0]["_id"] for r in responses}
    assert len(ids) == 1
    assert sum(r.headers.get("Idempotent-Replay") == "true" for r in responses) == 19
    assert responses[0].json()["messages"][0]["tmpSendId"] == "crm-1"
    await asyncio.sleep(0.2)
    assert len(await rig.sent_to(USER)) == 1 and len(await stored(rig)) == 1
    conflict = await rig.send(chat, {"type": "text", "text": "different", "tmpSendId": "crm-1"})
    assert conflict.status_code == 409 and conflict.json()["code"] == "idempotency_key_reused"


async def test_idempotency_key_header(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    headers = {"Idempotency-Key": "k-1"}
    first = await rig.send(chat, {"type": "text", "text": "a"}, headers=headers)
    second = await rig.send(chat, {"type": "text", "text": "a"}, headers=headers)
    assert first.status_code == second.status_code == 200
    assert second.headers["Idempotent-Replay"] == "true"
    assert second.json()["messages"][0]["_id"] == first.json()["messages"][0]["_id"]
    other_chat = await rig.user_writes("972500000002")
    elsewhere = await rig.send(other_chat, {"type": "text", "text": "a"}, headers=headers)  # keys are per chat
    assert elsewhere.status_code == 200 and "Idempotent-Replay" not in elsewhere.headers


async def test_transient_errors_are_retried_and_the_message_arrives_once(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    await rig.fault(kind="http_500", count=1)
    await rig.fault(kind="graph_error", code=130429, count=1)
    r = await rig.send(chat, {"type": "text", "text": "persist"})
    assert r.status_code == 200, r.text
    assert r.json()["messages"][0]["channelInfo"]["id"].startswith("wamid.")
    assert len(await rig.sent_to(USER)) == 1


async def test_a_refused_message_is_502_with_the_stored_failed_message(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    await rig.fault(kind="graph_error", code=131009, count=1, message="Parameter value is not valid")
    r = await rig.send(chat, {"type": "text", "text": "bad"})
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "channel_rejected"
    [message] = body["messages"]
    assert message["status"] == 4 and message["error"]["code"] == 131009


async def test_whatsapp_refusing_for_the_window_is_422(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes(USER)
    r = await rig.control.put(f"/simulator/contacts/{USER}/window", json={"open": False})
    assert r.status_code == 200
    r = await rig.send(chat, {"type": "text", "text": "x"})
    assert r.status_code == 422 and r.json()["code"] == "session_window_closed"
    assert r.json()["messages"][0]["status"] == 4
