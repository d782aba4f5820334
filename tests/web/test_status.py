"""The conversation's status signs in a real browser (issue 13): an outgoing message that
WhatsApp refuses shows `Failed` and why; the header's window counts down by itself and closes."""

from __future__ import annotations

import re
from typing import Any

from playwright.sync_api import expect

from tests.web.conftest import ADMIN, Inbox

MINUTE = 60


def minutes_left(text: str) -> int:
    found = re.fullmatch(r"Window open: (\d+) h (\d+) min left", text)
    assert found, text
    return int(found[1]) * 60 + int(found[2])


def test_a_refused_message_shows_failed_and_why_and_the_window_counts_down(inbox: Inbox, context: Any) -> None:
    # the page's clock is Playwright's: it runs as usual until the test moves it forward
    context.clock.install()
    page = inbox.sign_in(context, ADMIN)
    phone = inbox.phone()
    inbox.inbound(phone, name="Status Sivan", text={"body": "hello"})
    page.get_by_role("list", name="Chats").get_by_role("listitem").filter(has_text="Status Sivan").get_by_role("button").click()
    conversation = page.get_by_role("region", name="Conversation")
    window = conversation.get_by_role("timer")
    expect(window).to_have_text(re.compile(r"Window open: 23 h 5\d min left"))
    before = minutes_left(window.inner_text())

    # WhatsApp refuses the message for good (Graph error 131026): Failed, with WhatsApp's reason
    inbox.simulator("POST", "/faults", json={"kind": "graph_error", "code": 131026, "recipient": phone,
                                              "message": "Message undeliverable"})
    box = page.get_by_role("textbox", name="Message")
    box.fill("this one will not arrive")
    box.press("Enter")
    sent = page.get_by_role("list", name="Messages").get_by_role("listitem").filter(has_text="this one will not arrive")
    expect(sent.get_by_role("img", name="Failed")).to_be_visible(timeout=10_000)
    expect(sent.get_by_role("note")).to_contain_text("Message undeliverable")
    assert inbox.simulator("GET", f"/contacts/{phone}/sent")["data"] == []

    # an hour later the header says an hour less, without a reload or a click
    context.clock.fast_forward(60 * MINUTE * 1000)
    expect(window).to_have_text(re.compile(r"Window open: 22 h \d+ min left"))
    assert before - 61 <= minutes_left(window.inner_text()) <= before - 59
    # past 24 hours the window closes: the composer gives way to templates
    context.clock.fast_forward(23 * 60 * MINUTE * 1000)
    expect(window).to_have_text("Window closed")
    expect(box).to_be_hidden()
    expect(conversation.get_by_role("region", name="Window closed")).to_be_visible()
