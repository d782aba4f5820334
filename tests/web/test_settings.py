"""Settings in a real browser (issue 13: "Settings (admins only)"): departments, labels, quick
replies, agents (role, departments, reset password, presence, deactivation), channels with their
health problems, event subscriptions with their runs. Each check goes through the page and is
confirmed through the REST API; the tests share the run's one server, so everything they create
has its own name."""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN, API, Inbox, screenshot, wait_for

FAST = 2_000  # ms: live changes arrive within 2 s


def settings_section(page: Page, name: str) -> Any:
    """Settings' section `name` (opening Settings if it is closed)."""
    settings = page.get_by_role("dialog", name="Settings")
    if not settings.is_visible():
        page.get_by_role("button", name="Settings").click()
    settings.get_by_role("group", name="Settings sections").get_by_role("button", name=name, exact=True).click()
    section = settings.get_by_role("region", name=name, exact=True)
    expect(section.get_by_role("heading", name=name)).to_be_visible()
    return section


def row(section: Any, text: str) -> Any:
    return section.get_by_role("row").filter(has_text=text)


def test_departments_labels_and_quick_replies(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    http = inbox.rest()

    # a department with an assignment policy, changed afterwards, and a member
    section = settings_section(page, "Departments")
    form = section.get_by_role("form", name="New department")
    form.get_by_label("Department id").fill("billing")
    form.get_by_label("Department name").fill("Billing")
    form.get_by_label("Assignment policy").select_option(label="round robin")
    form.get_by_role("button", name="Create department").click()
    policy = section.get_by_label("Assignment policy of Billing")
    expect(policy).to_have_value("round_robin")  # as the server answered it
    policy.select_option(label="manual")
    section.get_by_label("Members of Billing").select_option(label="Tyler")

    def billing() -> Any:
        d = next(d for d in http.get("/departments").json()["departments"] if d["id"] == "billing")
        return d if d["assignment"] == "manual" and d["members"] == [inbox.agent_uid] else None
    wait_for(billing, 5, "Billing: manual, with Tyler")
    assert "billing" in http.get(f"/agents/{inbox.agent_uid}").json()["departments"]

    # a label: created, renamed, deleted
    section = settings_section(page, "Labels")
    form = section.get_by_role("form", name="New label")
    form.get_by_label("Label id").fill("refund")
    form.get_by_label("Label name").fill("Refund")
    form.get_by_role("button", name="Create label").click()
    name = section.get_by_label("Name of Refund", exact=True)
    name.fill("Refund asked")
    name.press("Tab")  # the change is saved when the field is left
    expect(section.get_by_label("Name of Refund asked")).to_have_value("Refund asked")
    assert http.get("/labels/refund").json()["name"] == "Refund asked"
    section.get_by_role("button", name="Delete Refund asked").click()
    expect(section.get_by_label("Name of Refund asked")).to_have_count(0)
    assert http.get("/labels/refund").status_code == 404

    # a quick reply: created, edited, deleted
    section = settings_section(page, "Quick replies")
    form = section.get_by_role("form", name="New quick reply")
    form.get_by_label("Title").fill("Returns")
    form.get_by_label("Text").fill("Send it back within 30 days.")
    form.get_by_role("button", name="Create quick reply").click()
    edit = section.get_by_role("form", name="Edit Returns")
    edit.get_by_label("Title of Returns").fill("Returns policy")
    edit.get_by_label("Text of Returns").fill("Send it back within 60 days.")
    edit.get_by_role("button", name="Save Returns").click()
    expect(section.get_by_role("form", name="Edit Returns policy")).to_be_visible()

    def titled(title: str) -> list[dict[str, Any]]:
        return [q for q in http.get("/quick-replies").json()["quickReplies"] if (q.get("display") or {}).get("title") == title]
    [saved] = titled("Returns policy")
    assert saved["send"]["contents"] == [{"type": "text", "text": "Send it back within 60 days."}]
    section.get_by_role("button", name="Delete Returns policy").click()
    expect(section.get_by_role("form", name="Edit Returns policy")).to_have_count(0)
    assert titled("Returns policy") == [] and titled("Returns") == []
    http.close()


def test_agents_role_departments_password_presence_and_deactivation(inbox: Inbox, context: Any, browser: Any) -> None:
    sam = ("sam@example.com", "sam-password-1")
    with inbox.rest() as http:
        made = http.post("/agents", json={"email": sam[0], "displayName": "Sam", "roles": ["agent"], "password": sam[1]})
        assert made.status_code == 201, made.text
        sam_uid = made.json()["uid"]
        assert http.post("/departments", json={"id": "returns", "name": "Returns"}).status_code == 201
    sam_context = browser.new_context()
    try:
        sam_page = inbox.sign_in(sam_context, sam)
        admin = inbox.sign_in(context, ADMIN)
        section = settings_section(admin, "Agents")
        presence = row(section, sam[0]).get_by_role("cell").nth(3)
        expect(presence).to_have_text("online")  # Sam's page is open

        # Sam turns Away: the admin's open Settings shows it live, the API too
        sam_page.get_by_role("switch", name="Online").click()
        expect(sam_page.get_by_role("switch", name="Away")).not_to_be_checked()
        expect(presence).to_have_text("away", timeout=FAST)
        with inbox.rest() as http:
            assert http.get(f"/agents/{sam_uid}").json()["presence"] == "away"

        section.get_by_label(f"Role of {sam[0]}").select_option("admin")
        expect(section.get_by_label(f"Role of {sam[0]}")).to_have_value("admin")  # redrawn from the server
        section.get_by_label(f"Departments of {sam[0]}").select_option(label="Returns")
        with inbox.rest() as http:
            wait_for(lambda: http.get(f"/agents/{sam_uid}").json()["departments"] == ["returns"], 5, "Sam in Returns")
            assert http.get(f"/agents/{sam_uid}").json()["roles"] == ["admin"]

        # a new password, shown once; the old one no longer signs in, and the session signed in
        # with it has ended (Sam's open page is signed out at its next call or ping)
        old_session = next(c["value"] for c in sam_context.cookies() if c["name"] == "inboxd_session")
        section.get_by_role("button", name=f"Reset password of {sam[0]}").click()
        secret = section.get_by_label("New password").inner_text().strip()
        assert len(secret) >= 16
        login = inbox.url + API + "/auth/login"
        assert httpx.post(login, json={"email": sam[0], "password": sam[1]}).status_code == 401
        assert httpx.post(login, json={"email": sam[0], "password": secret}).status_code == 200
        me = wait_for(lambda: (r := httpx.get(inbox.url + API + "/auth/me", cookies={"inboxd_session": old_session}))
                      .status_code == 401 and r, 2, "the old session ended (within the cache's 0.5 s)")
        assert me.json()["code"] == "session_ended"
        sam_page.reload()
        expect(sam_page.get_by_role("button", name="Sign in")).to_be_visible()
        sam_page.close()
        sam_page = inbox.sign_in(sam_context, (sam[0], secret))
        section = settings_section(admin, "Agents")
        assert secret not in section.inner_text()

        # deactivated: Sam's open page is signed out, and the session no longer works
        session = next(c["value"] for c in sam_context.cookies() if c["name"] == "inboxd_session")
        section.get_by_role("button", name=f"Deactivate {sam[0]}").click()
        expect(section.get_by_role("button", name=f"Activate {sam[0]}")).to_be_visible()
        expect(row(section, sam[0]).get_by_role("cell").nth(3)).to_have_text("inactive")
        expect(sam_page.get_by_role("alert")).to_have_text("Your session has ended: sign in again.", timeout=FAST)
        expect(sam_page.get_by_role("button", name="Sign in")).to_be_visible()
        me = wait_for(lambda: (r := httpx.get(inbox.url + API + "/auth/me", cookies={"inboxd_session": session}))
                      .status_code == 401 and r, 2, "the session ended (within the cache's 0.5 s)")
        assert me.json()["code"] == "session_ended"
    finally:
        sam_context.close()


def test_a_channel_health_problem_is_listed_and_resolved(inbox: Inbox, context: Any) -> None:
    phone = inbox.phone()
    inbox.inbound(phone, name="Health Hila", text={"body": "hello"})
    chat_id = inbox.chat_of(phone)["_id"]
    # WhatsApp locked the account (Graph error 131031): the send fails and raises the problem
    inbox.simulator("POST", "/faults", json={"kind": "graph_error", "code": 131031, "recipient": phone})
    with inbox.rest() as http:
        http.post(f"/messages/send/{chat_id}", json={"type": "text", "text": "are you still there?"})
        problem = wait_for(lambda: next((p for p in http.get("/channels/problems").json()["problems"]
                                         if p["name"] == "whatsapp_account_locked"), None), 10, "the problem")
    page = inbox.sign_in(context, ADMIN)
    section = settings_section(page, "Channels")
    expect(row(section, "+15550001234").first.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^error \(1 errors"))
    listed = row(section, "whatsapp_account_locked")
    expect(listed).to_contain_text(problem["message"])
    screenshot(page, "settings.png")
    listed.get_by_role("button", name="Resolve").click()
    expect(section.get_by_text("No open problems.")).to_be_visible()
    expect(row(section, "+15550001234").first.get_by_role("cell").nth(1)).to_have_text(re.compile(r"^ok\b"))
    with inbox.rest() as http:
        active = [p["_id"] for p in http.get("/channels/problems").json()["problems"]]
        assert problem["_id"] not in active
        [resolved] = [p for p in http.get("/channels/problems", params={"includeResolved": 1}).json()["problems"]
                      if p["_id"] == problem["_id"]]
        assert resolved["resolvedBy"] == "operator"


class _Receiver(BaseHTTPRequestHandler):
    got: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        self.got.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def receiver() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Receiver)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/inboxd"
    finally:
        server.shutdown()


def test_an_event_subscription_and_its_runs(inbox: Inbox, context: Any, receiver: str) -> None:
    name = "(SUB) Incoming for the web test"
    with inbox.rest() as http:
        made = http.post("/scenarios/manage/import", json={"asStatus": "active", "data": {
            "version": "v1", "name": name, "triggerEvents": ["domain.message.created"],
            "conditions": [[{"name": "filtrex", "params": {"expression": "direction == \"incoming\"",
                                                          "value": {"##provide": {"provider": "message", "key": "message"}}}}]],
            "actions": [{"name": "request", "params": {"url": receiver, "method": "post", "json": True, "data": {
                "eventName": "newIncomingMessage",
                "eventData": {"message": {"##provide": {"provider": "message", "key": "message"}}}}}}]}})
        assert made.status_code == 201, made.text
        scenario = made.json()["_id"]
        inbox.inbound(inbox.phone(), name="Event Eli", text={"body": "subscribed?"})
        wait_for(lambda: [r for r in http.get(f"/scenarios/manage/{scenario}/runs").json()["runs"]
                          if r["status"] == "delivered"], 15, "a delivered run")
    assert any(e["eventData"]["message"]["text"] == "subscribed?" for e in _Receiver.got)
    page = inbox.sign_in(context, ADMIN)
    section = settings_section(page, "Event subscriptions")
    listed = row(section, name).first
    expect(listed).to_contain_text("active")
    listed.get_by_role("button", name=f"Runs of {name}").click()
    runs = section.get_by_role("region", name=f"Runs of {name}")
    expect(row(runs, "domain.message.created")).to_contain_text("delivered")
