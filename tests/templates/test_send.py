"""Send Template Message end to end: inboxd → the simulator (playing Meta, approval included) →
webhooks back. The issue's "Done when" points are the first tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import sqlalchemy as sa

from inboxd.domain.scopes import Scope
from inboxd.domain_events import CHAT_SUBSCRIBED, CHAT_UNSUBSCRIBED
from inboxd.store.tables import chats, messages
from tests.support.filestores import both_stores
from tests.support.wa import API, WhatsAppRig
from tests.support.webhooks import post_webhook, text_webhook, wait_processed
from tests.templates.conftest import approved_template, create, localize, send_template, submit, templates_path

USER = "972521234567"


async def chat_row(rig: WhatsAppRig, contact: str = USER) -> dict[str, Any] | None:
    async with rig.db.read() as conn:
        row = (await conn.execute(sa.select(chats).where(chats.c.contact_id == contact))).mappings().first()
    return dict(row) if row else None


async def chat_history(rig: WhatsAppRig, chat_id: str) -> list[dict[str, Any]]:
    r = await rig.client.get(f"{API}/messages/chat/{chat_id}", params={"beforeTime": "9999999999999", "beforeId": "z"})
    assert r.status_code == 200, r.text
    return r.json()["messages"]


async def chat_messages(rig: WhatsAppRig, chat_id: str) -> list[dict[str, Any]]:
    """The conversation: the chat's history without its system messages (lifecycle records)."""
    return [m for m in await chat_history(rig, chat_id) if not m.get("systemMessage")]


async def until(check, wait_s: float = 10.0):  # type: ignore[no-untyped-def]
    for _ in range(int(wait_s / 0.05)):
        result = await check()
        if result:
            return result
        await asyncio.sleep(0.05)
    raise AssertionError("condition not met in time")


# ----------------------------------------------------------------------------- Done when


async def test_create_localize_submit_approve_then_send_with_two_body_values(rig: WhatsAppRig) -> None:
    template = await create(rig, title="Order ready")
    name = template["name"]
    assert name == "inbox_utility_1"  # {usage}_{category}_{n}
    assert template["localizationDrafts"] == {} and template["provider_template"]["localizations"] == []
    drafted = await localize(rig, name, {"language": "en", "components": [
        {"type": "BODY", "text": "Hi {{1}}, your order {{2}} is ready", "example": {"body_text": [["Dana", "15033"]]}}]})
    assert drafted["localizationDrafts"]["en"]["components"][0]["text"] == "Hi {{1}}, your order {{2}} is ready"
    submitted = await submit(rig, name, "en")
    [loc] = submitted["provider_template"]["localizations"]
    assert loc["status"] in ("PENDING", "APPROVED") and submitted["localizationDrafts"] == {}
    # Meta (the simulator) approves it and says so in a message_template_status_update webhook.
    await until(lambda: _status(rig, name, "en", "APPROVED"))

    r = await send_template(rig, {"templateName": name, "to": "+972 52-123-4567", "body": ["Dana", "15033"]})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["sentAsSessionMessage"] is False
    assert body["text"] == "Hi Dana, your order 15033 is ready"
    [sent] = await rig.sent_to(USER)
    payload = sent["payload"]
    assert payload["type"] == "template"
    assert payload["template"]["name"] == name and payload["template"]["language"]["code"] == "en"
    [component] = payload["template"]["components"]
    assert component == {"type": "body", "parameters": [{"type": "text", "text": "Dana"}, {"type": "text", "text": "15033"}]}
    # The chat shows the message with the rendered text.
    # (the send's message id was made before the chat, so at the same millisecond it lists first)
    [message, opened] = await chat_history(rig, body["chatId"])
    # The business opened the chat: nobody needs to act until the contact answers (docs/chats.md).
    assert opened["systemMessage"] is True and opened["newChatStatus"] == 3 and opened["reason"] == "opened_by_business"
    assert message["_id"] == body["messageId"] and message["channelInfo"]["id"] == sent["id"]
    assert message["type"] == "special" and message["text"] == "Hi Dana, your order 15033 is ready"
    assert message["special"]["type"] == "template" and message["special"]["template"]["name"] == name


async def _status(rig: WhatsAppRig, name: str, language: str, status: str) -> bool:
    r = await rig.client.get(f"{API}/whatsapp/templates", params={"includeAll": "true"})
    found = next(t for t in r.json() if t["name"] == name)
    return any(loc["language"] == language and loc["status"] == status for loc in found["provider_template"]["localizations"])


async def test_a_contact_without_a_chat_gets_a_template_and_their_reply_opens_the_window(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, chatStatus=2, replyText="Thanks! An agent will be with you shortly.")
    assert await chat_row(rig) is None
    r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"]})
    assert r.status_code == 200, r.text
    chat = await chat_row(rig)
    assert chat is not None and chat["id"] == r.json()["chatId"]  # the chat now exists
    assert chat["reply_action"]["chatStatus"] == 2 and chat["reply_action"]["replyText"].startswith("Thanks")
    # Before the contact writes, the window is closed: only templates may go.
    closed = await rig.send(chat["id"], {"type": "text", "text": "Hello?"})
    assert closed.status_code == 422 and closed.json()["code"] == "session_window_closed"

    await rig.user_writes(USER, "Sure, I'll come by")
    after = await chat_row(rig)
    # The template's chatStatus is ASSIGNED, but without a responsibleAgent nobody has taken the
    # chat: it waits PENDING (an ASSIGNED chat always has its agent; docs/chats.md).
    assert after is not None and after["status"] == 1 and after["agent_uid"] is None
    assert after["reply_action"] is None  # used up
    ok = await rig.send(chat["id"], {"type": "text", "text": "See you!"})
    assert ok.status_code == 200, ok.text
    sent = [s["payload"] for s in await rig.sent_to(USER)]
    assert [p["type"] for p in sent] == ["template", "text", "text"]
    assert sent[1]["text"]["body"] == "Thanks! An agent will be with you shortly."  # the replyText
    assert sent[2]["text"]["body"] == "See you!"


async def test_a_template_not_yet_approved_is_422_with_a_clear_code(rig: WhatsAppRig) -> None:
    r = await rig.control.patch("/simulator/config", json={"template_approval_delay": -1})
    assert r.status_code == 200, r.text
    template = await create(rig)
    name = template["name"]
    await localize(rig, name, {"language": "en", "components": [{"type": "BODY", "text": "Hello there"}]})
    draft_only = await send_template(rig, {"templateName": name, "to": USER})
    assert draft_only.status_code == 422, draft_only.text
    assert draft_only.json()["code"] == "template_not_approved"
    await submit(rig, name)
    for body in ({"templateName": name, "to": USER}, {"templateName": name, "to": USER, "language": "en"}):
        pending = await send_template(rig, body)
        assert pending.status_code == 422, pending.text
        assert pending.json()["code"] == "template_not_approved" and "PENDING" in pending.json()["error"]
    assert await rig.sent_to(USER) == [] and await chat_row(rig) is None


async def test_wrong_number_of_body_values_is_400(rig: WhatsAppRig) -> None:
    template = await approved_template(rig)
    for values in ([], ["Dana"], ["Dana", "15033", "extra"]):
        r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": values})
        assert r.status_code == 400, r.text
        [detail] = r.json()["details"]
        assert detail["path"] == "body.body" and "2 variables" in detail["reason"]
    missing = await send_template(rig, {"templateName": template["name"], "to": USER})
    assert missing.status_code == 400 and missing.json()["details"][0]["path"] == "body.body"
    assert await rig.sent_to(USER) == []


async def test_unsubscribed_contact_gets_success_false_and_nothing_is_sent_until_resubscribed(rig: WhatsAppRig) -> None:
    published: list[tuple[str, str]] = []

    def recorder(name: str):  # type: ignore[no-untyped-def]
        async def record(_conn, *, chat_id: str) -> None:  # type: ignore[no-untyped-def]
            published.append((name, chat_id))
        return record

    assert rig.server.services is not None
    rig.server.services.events.subscribe(CHAT_UNSUBSCRIBED, recorder("unsubscribed"))
    rig.server.services.events.subscribe(CHAT_SUBSCRIBED, recorder("subscribed"))
    template = await approved_template(rig)
    send = {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"]}

    r = await rig.client.post(f"{API}/whatsapp/templates/unsubscribe", json={"phone": "052-123-4567"})
    assert r.status_code == 200 and r.json() == {"success": True}
    refused = await send_template(rig, send)
    assert refused.status_code == 200, refused.text
    body = refused.json()
    assert body["success"] is False and body["code"] == "recipient_unsubscribed"
    assert body["error"].startswith("Recipient unsubscribed from template messages on ")
    assert await rig.sent_to(USER) == []
    chat = await chat_row(rig)
    assert chat is not None
    assert await chat_messages(rig, chat["id"]) == []

    r = await rig.client.post(f"{API}/whatsapp/templates/subscribe", json={"phone": "+972521234567"})
    assert r.status_code == 200 and r.json() == {"success": True}
    again = await send_template(rig, send)
    assert again.status_code == 200 and again.json()["success"] is True, again.text
    assert len(await rig.sent_to(USER)) == 1
    assert published == [("unsubscribed", chat["id"]), ("subscribed", chat["id"])]


# ----------------------------------------------------------------------------- stop words and reply actions


async def test_a_contact_writing_the_stop_word_is_unsubscribed(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, replyText="Glad you answered")
    send = {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"]}
    assert (await send_template(rig, send)).json()["success"] is True
    await rig.user_writes(USER, "  stop! ")
    chat = await chat_row(rig)
    assert chat is not None and chat["unsubscribed_at"] is not None
    assert chat["reply_action"] is None  # dropped, and its replyText not sent
    assert [s["payload"]["type"] for s in await rig.sent_to(USER)] == ["template"]
    refused = await send_template(rig, send)
    assert refused.json()["success"] is False
    r = await rig.client.get(f"{API}/chats/search", params={"search": USER})
    assert r.json()["data"][0]["unsubscribed"]["date"].endswith("Z")


async def test_the_hebrew_stop_word_and_a_template_button_unsubscribe_too(rig: WhatsAppRig) -> None:
    await rig.user_writes(USER, "הסר")
    first = await chat_row(rig)
    assert first is not None and first["unsubscribed_at"] is not None
    other = "972521234568"
    r = await rig.control.post("/simulator/inbound", json={"from": other, "name": "Eli", "button": {"payload": "STOP"}})
    assert r.status_code == 200, r.text
    await rig.chat_id(other)
    second = await chat_row(rig, other)
    assert second is not None and second["unsubscribed_at"] is not None


async def test_reply_action_of_the_send_overrides_the_template(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, chatStatus=2, replyText="template reply")
    r = await send_template(rig, {
        "templateName": template["name"], "to": USER, "body": ["Dana", "15033"],
        "replyAction": {"chatStatus": 3, "replyText": "send reply", "responsibleDepartment": "sales", "bot": "b1"},
        "setChat": {"displayName": "Dana from the shop", "crmData": {"orderId": 15033}, "crmDeepLink": "https://crm/1"},
    })
    assert r.status_code == 200, r.text
    chat = await chat_row(rig)
    assert chat is not None
    assert chat["display_name"] == "Dana from the shop" and chat["crm_data"] == {"orderId": 15033}
    action = chat["reply_action"]
    assert action["chatStatus"] == 3 and action["replyText"] == "send reply" and action["bot"] == "b1"
    assert action["expirationTime"] == 259200 and action["templateName"] == template["name"]
    await rig.user_writes(USER, "ok")
    after = await chat_row(rig)
    assert after is not None and after["status"] == 3 and after["resolved_update_time"] is not None
    assert after["department_id"] == "sales"
    await until(lambda: _sent_count(rig, 2))
    assert (await rig.sent_to(USER))[1]["payload"]["text"]["body"] == "send reply"


async def _sent_count(rig: WhatsAppRig, n: int) -> bool:
    return len(await rig.sent_to(USER)) >= n


async def test_an_expired_reply_action_does_nothing(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, chatStatus=3, replyText="too late")
    r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": ["Dana", "1"]})
    chat_id = r.json()["chatId"]
    async with rig.db.write() as conn:
        action = (await conn.execute(sa.select(chats.c.reply_action).where(chats.c.id == chat_id))).scalar_one()
        action["created"] -= action["expirationTime"] + 10
        await conn.execute(chats.update().where(chats.c.id == chat_id).values(reply_action=action))
    await rig.user_writes(USER, "hi")
    chat = await chat_row(rig)
    assert chat is not None and chat["status"] == 1 and chat["reply_action"] is None
    assert len(await rig.sent_to(USER)) == 1


# ----------------------------------------------------------------------------- session message instead


async def test_session_message_goes_instead_while_the_window_is_open(rig: WhatsAppRig) -> None:
    template = await approved_template(rig)
    send = {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"], "sessionMessage": {}}
    closed = await send_template(rig, send)  # no chat yet: a template
    assert closed.json()["sentAsSessionMessage"] is False
    await rig.user_writes(USER, "hello")
    rendered = await send_template(rig, send)
    assert rendered.status_code == 200, rendered.text
    assert rendered.json()["sentAsSessionMessage"] is True and rendered.json()["text"] == "Hi Dana, your order 15033 is ready"
    custom = await send_template(rig, {**send, "sessionMessage": {"type": "buttons", "text": "Ready! Pick one", "buttons": [
        {"title": "Coming", "payload": "coming"}, {"title": "Tomorrow", "payload": "tomorrow"}]}})
    assert custom.json()["sentAsSessionMessage"] is True and custom.json()["text"] == "Ready! Pick one"
    sent = [s["payload"] for s in await rig.sent_to(USER)]
    assert [p["type"] for p in sent] == ["template", "text", "interactive"]
    assert sent[1]["text"]["body"] == "Hi Dana, your order 15033 is ready"


# ----------------------------------------------------------------------------- idempotency and ordering


async def test_a_repeated_tmp_send_id_sends_once_and_answers_the_same(rig: WhatsAppRig) -> None:
    template = await approved_template(rig)
    await rig.user_writes(USER, "hi")  # the chat exists: concurrent requests share its key space
    send = {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"], "tmpSendId": "crm-42"}
    answers = await asyncio.gather(*(send_template(rig, send) for _ in range(10)))
    assert {r.status_code for r in answers} == {200}
    assert len({r.json()["messageId"] for r in answers}) == 1
    assert len(await rig.sent_to(USER)) == 1
    replay = await send_template(rig, send)
    assert replay.headers.get("Idempotent-Replay") == "true" and replay.json()["text"] == answers[0].json()["text"]
    reused = await send_template(rig, {**send, "body": ["Eli", "1"]})
    assert reused.status_code == 409 and reused.json()["code"] == "idempotency_key_reused"
    header = await send_template(rig, {**send, "tmpSendId": None}, headers={"Idempotency-Key": "k-1"})
    again = await send_template(rig, {**send, "tmpSendId": None}, headers={"Idempotency-Key": "k-1"})
    assert header.json()["messageId"] == again.json()["messageId"]
    assert len(await rig.sent_to(USER)) == 2


async def test_a_new_contact_with_a_repeated_key_gets_one_chat_and_one_message(rig: WhatsAppRig) -> None:
    template = await approved_template(rig)
    send = {"templateName": template["name"], "to": USER, "body": ["Dana", "15033"], "tmpSendId": "first"}
    answers = await asyncio.gather(*(send_template(rig, send) for _ in range(5)))
    assert {r.status_code for r in answers} == {200}, [r.text for r in answers]
    assert len({r.json()["chatId"] for r in answers}) == 1 and len({r.json()["messageId"] for r in answers}) == 1
    assert len(await rig.sent_to(USER)) == 1


async def test_templates_and_session_messages_keep_their_order_in_the_chat(rig: WhatsAppRig) -> None:
    template = await approved_template(rig)
    chat_id = await rig.user_writes(USER, "hi")
    bodies = [["A", "1"], ["B", "2"], ["C", "3"]]
    for values in bodies:
        r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": values},
                                headers={"Prefer": "respond-async"})
        assert r.status_code == 202, r.text
        await rig.send(chat_id, {"type": "text", "text": f"after {values[0]}"}, headers={"Prefer": "respond-async"})
    await until(lambda: _sent_count(rig, 6))
    sent = [s["payload"] for s in await rig.sent_to(USER)]
    got = [p["template"]["components"][0]["parameters"][0]["text"] if p["type"] == "template" else p["text"]["body"] for p in sent]
    assert got == ["A", "after A", "B", "after B", "C", "after C"]
    async with rig.db.read() as conn:
        seqs = [r.seq for r in await conn.execute(sa.select(messages.c.seq).where(messages.c.direction == "outgoing")
                                                  .order_by(messages.c.timestamp, messages.c.seq))]
    assert seqs == sorted(seqs)


# ----------------------------------------------------------------------------- the other fields


@both_stores
async def test_media_header_url_and_file_id_go_by_uploaded_media_id(rig: WhatsAppRig, origin: str) -> None:
    components = [
        {"type": "HEADER", "format": "IMAGE", "example": {"header_handle": ["4::aW1hZ2UvcG5n:ARb"]}},
        {"type": "BODY", "text": "Your photo is ready"},
    ]
    image = await approved_template(rig, components=components)
    r = await send_template(rig, {"templateName": image["name"], "to": USER, "header": {"url": f"{origin}/pic.png"}})
    assert r.status_code == 200, r.text
    stored = r.json()["messages"][0]["special"]["template"]["components"][0]["parameters"][0]
    assert stored["type"] == "image" and stored["image"]["contentType"] == "image/png"
    again = await send_template(rig, {"templateName": image["name"], "to": USER,
                                      "header": {"fileId": stored["image"]["fileId"], "type": "image"}})
    assert again.status_code == 200, again.text
    first, second = [s["payload"]["template"]["components"][0] for s in await rig.sent_to(USER)]
    assert first["type"] == "header" and set(first["parameters"][0]["image"]) == {"id"}
    assert first["parameters"][0]["image"]["id"] == second["parameters"][0]["image"]["id"]  # uploaded once

    pdf = await approved_template(rig, components=[
        {"type": "HEADER", "format": "DOCUMENT", "example": {"header_handle": ["4::YXBwbGljYXRpb24vcGRm:ARZ"]}},
        {"type": "BODY", "text": "Your receipt"}],
        defaults={"header": {"url": f"{origin}/receipt.pdf", "filename": "receipt.pdf"}})
    assert pdf["defaults"]["en"]["header"]["fileId"]  # fetched once, when the draft was saved
    r = await send_template(rig, {"templateName": pdf["name"], "to": USER})
    assert r.status_code == 200, r.text
    document = (await rig.sent_to(USER))[-1]["payload"]["template"]["components"][0]["parameters"][0]["document"]
    assert document["filename"] == "receipt.pdf" and document["id"]
    wrong = await send_template(rig, {"templateName": pdf["name"], "to": USER, "header": {"url": f"{origin}/pic.png"}})
    assert wrong.status_code == 415, wrong.text
    no_header = await send_template(rig, {"templateName": image["name"], "to": USER})
    assert no_header.status_code == 400 and no_header.json()["details"][0]["path"] == "body.header"


async def test_text_header_variable_url_button_and_quick_reply_payload(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, components=[
        {"type": "HEADER", "format": "TEXT", "text": "Order {{1}}", "example": {"header_text": ["15033"]}},
        {"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["Dana"]]}},
        {"type": "FOOTER", "text": "Lucky Shrub"},
        {"type": "BUTTONS", "buttons": [
            {"type": "URL", "text": "Track", "url": "https://shop.example/track/{{1}}", "example": {"url": "https://shop.example/track/1"}},
            {"type": "PHONE_NUMBER", "text": "Call us", "phone_number": "+15550051310"}]},
    ])
    r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": ["Dana"],
                                  "header": {"text": "15033"}, "buttons": [{"index": 0, "text": "15033"}]})
    assert r.status_code == 200, r.text
    [sent] = await rig.sent_to(USER)
    components = sent["payload"]["template"]["components"]
    assert components == [
        {"type": "header", "parameters": [{"type": "text", "text": "15033"}]},
        {"type": "body", "parameters": [{"type": "text", "text": "Dana"}]},
        {"type": "button", "sub_type": "url", "index": "0", "parameters": [{"type": "text", "text": "15033"}]},
    ]
    missing = await send_template(rig, {"templateName": template["name"], "to": USER, "body": ["Dana"], "header": {"text": "1"}})
    assert missing.status_code == 400 and "URL button 0" in missing.json()["details"][0]["reason"]

    quick = await approved_template(rig, components=[
        {"type": "BODY", "text": "Still interested?"},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "QUICK_REPLY", "text": "STOP"}]}])
    r = await send_template(rig, {"templateName": quick["name"], "to": USER, "buttons": [{"payload": "yes-15033"}]})
    assert r.status_code == 200, r.text
    assert (await rig.sent_to(USER))[-1]["payload"]["template"]["components"] == [
        {"type": "button", "sub_type": "quick_reply", "index": "0", "parameters": [{"type": "payload", "payload": "yes-15033"}]}]


async def test_language_is_automatic_only_with_one_approved_localization(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    name = template["name"]
    await localize(rig, name, {"language": "he", "components": [{"type": "BODY", "text": "שלום"}]})
    await submit(rig, name, "he")
    await until(lambda: _status(rig, name, "he", "APPROVED"))
    ambiguous = await send_template(rig, {"templateName": name, "to": USER})
    assert ambiguous.status_code == 400 and ambiguous.json()["code"] == "language_required"
    r = await send_template(rig, {"templateName": name, "to": USER, "language": "he"})
    assert r.status_code == 200 and r.json()["text"] == "שלום"
    assert (await rig.sent_to(USER))[0]["payload"]["template"]["language"] == {"code": "he"}


async def test_template_and_account_lookup(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    unknown = await send_template(rig, {"templateName": "no_such_template", "to": USER})
    assert unknown.status_code == 404 and unknown.json()["code"] == "template_not_found"
    by_case = await send_template(rig, {"templateName": template["name"].upper(), "to": USER})
    assert by_case.status_code == 200, by_case.text
    wrong_from = await send_template(rig, {"templateName": template["name"], "to": USER, "from": "+1 555 000 9999"})
    assert wrong_from.status_code == 404 and wrong_from.json()["code"] == "account_not_found"
    right_from = await send_template(rig, {"templateName": template["name"], "to": USER,
                                           "from": "+" + rig.account.account_id})
    assert right_from.status_code == 200, right_from.text


async def test_a_national_number_uses_the_default_country(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    r = await send_template(rig, {"templateName": template["name"], "to": "052-123-4567"})
    assert r.status_code == 200, r.text
    assert (await rig.sent_to(USER))[0]["payload"]["to"] == USER
    assert rig.server.services is not None
    rig.server.services.settings.default_country_code = None
    r = await send_template(rig, {"templateName": template["name"], "to": "052-123-4567"})
    assert r.status_code == 400 and "INBOXD_DEFAULT_COUNTRY_CODE" in r.json()["details"][0]["reason"]


async def test_meta_refusing_the_template_is_422(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    # Meta no longer has it (deleted behind inboxd's back): WhatsApp answers 132001.
    r = await rig.control.delete(f"/v23.0/{rig.sim.config.waba_id}/message_templates", params={"name": template["name"]},
                                 headers={"Authorization": f"Bearer {rig.sim.config.access_token}"})
    assert r.status_code == 200, r.text
    refused = await send_template(rig, {"templateName": template["name"], "to": USER})
    assert refused.status_code == 422, refused.text
    body = refused.json()
    assert body["code"] == "template_not_approved" and body["channelError"]["code"] == 132001
    assert body["messages"][0]["status"] == 4


async def test_bulk_template_creates_chats_in_bulk_status(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Sale!", usage="bulk", category="MARKETING")
    assert template["name"] == "bulk_marketing_1"
    r = await send_template(rig, {"templateName": template["name"], "to": USER})
    assert r.status_code == 200, r.text
    chat = await chat_row(rig)
    assert chat is not None and chat["status"] == 4


async def test_every_problem_of_a_send_is_reported(rig: WhatsAppRig) -> None:
    r = await send_template(rig, {"templateName": "bad name!", "to": "not a phone", "body": ["a\nb", "x     y", 3],
                                  "replyAction": {"chatStatus": 9}, "unknown": 1})
    assert r.status_code == 400
    paths = {d["path"] for d in r.json()["details"]}
    assert paths == {"body.templateName", "body.to", "body.body[0]", "body.body[1]", "body.body[2]",
                     "body.replyAction.chatStatus", "body.unknown"}
    r = await rig.client.post(f"{API}/whatsapp/templates/send", content=b"{nope", headers={"Content-Type": "application/json"})
    assert r.status_code == 400


async def test_scopes(rig: WhatsAppRig, make_token) -> None:  # type: ignore[no-untyped-def]
    token = await make_token(Scope.VIEW_TEMPLATE_MESSAGES)
    headers = {"Authorization": f"Bearer {token}"}
    checks = [
        ("POST", f"{API}/whatsapp/templates/send", "Send template messages"),
        ("POST", templates_path(rig), "Manage WhatsApp templates"),
        ("POST", f"{API}/whatsapp/templates/unsubscribe", "Manage all chats"),
        ("GET", f"{API}/whatsapp/templates/unsubscribed", "List all chats"),
    ]
    for method, path, scope in checks:
        r = await rig.client.request(method, path, json={}, headers=headers)
        assert r.status_code == 403, (path, r.text)
        assert r.json()["details"] == [{"scope": scope, "reason": "missing scope"}]
    assert (await rig.client.get(f"{API}/whatsapp/templates", headers=headers)).status_code == 200


async def test_a_late_reply_applies_the_status_but_does_not_answer_outside_the_window(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, chatStatus=3, replyText="too late to say")
    r = await send_template(rig, {"templateName": template["name"], "to": USER, "body": ["Dana", "1"]})
    assert r.status_code == 200, r.text
    two_days_ago = int(time.time()) - 2 * 86400
    webhook = text_webhook(phone_number_id=rig.account.phone_number_id, wa_id=USER, wamid="wamid.LATE", text="ok",
                           timestamp=two_days_ago)
    async with httpx.AsyncClient(base_url=rig.server.url) as http:
        assert (await post_webhook(http, webhook, rig.account.app_secret)).status_code == 200
    await wait_processed(rig.db)
    chat = await chat_row(rig)
    assert chat is not None and chat["status"] == 3 and chat["reply_action"] is None
    assert len(await rig.sent_to(USER)) == 1


async def test_a_location_header_template_is_not_sendable_yet(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, components=[{"type": "HEADER", "format": "LOCATION"},
                                                        {"type": "BODY", "text": "Your order is on its way"}])
    r = await send_template(rig, {"templateName": template["name"], "to": USER})
    assert r.status_code == 422 and r.json()["code"] == "template_not_sendable"
    assert await rig.sent_to(USER) == []
