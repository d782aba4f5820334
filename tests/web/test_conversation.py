"""The conversation shows every kind of message as the customer saw it (issue 13's
"Conversation"): in a real browser, from a sandbox customer's messages through the simulator."""

from __future__ import annotations

import base64
import time
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import Inbox, screenshot, wait_for
from tests.web.test_inbox import PNG, messages, open_chat

B64 = base64.b64encode(PNG).decode()


def test_every_kind_of_message_renders_as_the_customer_saw_it(inbox: Inbox, context: Any) -> None:
    phone = inbox.phone()
    inbox.inbound(phone, name="Kinds Karin", text={"body": "hello"})
    chat_id = inbox.chat_of(phone)["_id"]
    with inbox.rest() as http:
        r = http.post(f"/messages/send/{chat_id}", json={"type": "buttons", "text": "Which size?", "buttons": [
            {"title": "Medium", "payload": "size_m"}, {"title": "Large", "payload": "size_l"}]})
        assert r.status_code == 200, r.text
    wamid = wait_for(lambda: next(iter(inbox.simulator("GET", f"/contacts/{phone}/sent")["data"]), None),
                     10, "the buttons at the simulator")["id"]
    # (WhatsApp's timestamps are whole seconds: the customer answers in a later second than the
    # buttons', as a person does, so the answer sorts after them)
    time.sleep(1.05)
    # the customer's choice (a reply to the buttons), a reaction to them, and each other kind
    inbox.inbound(phone, context={"id": wamid}, interactive={"type": "button_reply", "button_reply": {"id": "size_m"}})
    inbox.inbound(phone, reaction={"message_id": wamid, "emoji": "👍"})
    inbox.inbound(phone, location={"latitude": 32.0853, "longitude": 34.7818, "name": "Home", "address": "Rothschild 1"})
    inbox.inbound(phone, contacts=[{"name": {"formatted_name": "Barbara J. Johnson"}, "phones": [{"phone": "+16505551234"}]}])
    inbox.inbound(phone, image={"data": B64, "caption": "my receipt"})
    inbox.inbound(phone, document={"data": B64, "filename": "invoice.pdf", "mime_type": "application/pdf"})
    inbox.inbound(phone, audio={"data": B64, "mime_type": "audio/ogg; codecs=opus", "voice": True})
    inbox.inbound(phone, text={"body": "that's all"})

    page = inbox.sign_in(context)
    conversation = open_chat(page, "Kinds Karin")
    expect(messages(page).filter(has_text="that's all")).to_have_count(1, timeout=20_000)  # (all stored, shown)
    texts = messages(page).all_inner_texts()
    assert texts.index(next(t for t in texts if "Which size?" in t)) < texts.index(next(t for t in texts if "↩ Medium" in t))

    buttons = messages(page).filter(has_text="Which size?")
    expect(buttons.locator(".button")).to_have_text(["Medium", "Large"])  # the buttons as sent
    expect(buttons.get_by_label("Reactions")).to_have_text("👍")  # the customer's reaction on them
    # the reaction's own message: a quiet line (the emoji shows on the buttons above)
    expect(messages(page).filter(has_text="Reacted 👍")).to_have_count(1)
    choice = messages(page).filter(has_text="↩ Medium")  # the customer's choice …
    expect(choice.get_by_label("Quoted message")).to_have_text("Which size?")  # … quoting the buttons
    location = conversation.get_by_role("link", name="Home")
    expect(location).to_have_attribute("href", "https://www.openstreetmap.org/?mlat=32.0853&mlon=34.7818")
    expect(messages(page).filter(has_text="Rothschild 1")).to_have_count(1)
    expect(messages(page).filter(has_text="👤 Barbara J. Johnson (+16505551234)")).to_have_count(1)
    image = conversation.get_by_role("img", name="my receipt")  # inline, loaded through a share link
    expect(image).to_be_visible()
    wait_for(lambda: image.evaluate("i => i.complete && i.naturalWidth") == 1, 10, "the image loaded")
    expect(messages(page).filter(has_text="my receipt").locator(".caption")).to_have_text("my receipt")
    document = conversation.get_by_role("link", name="📄 invoice.pdf")
    wait_for(lambda: (document.get_attribute("href") or "").startswith("/"), 10, "the document's link")
    expect(conversation.locator("audio[controls]")).to_have_count(1)

    # a system message: the assignment, as a quiet line
    conversation.get_by_role("button", name="Take").click()
    expect(conversation.locator(".system").filter(has_text="Assigned to")).to_have_count(1, timeout=5_000)
    screenshot(page, "conversation.png")
    assert page.js_errors == []  # type: ignore[attr-defined]
