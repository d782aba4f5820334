"""The web inbox in a real browser against a started `inboxd serve` with its simulator: the
"Done when" list of issue 13. Every test writes as its own sandbox contact (its own phone), so
the tests share one server without seeing each other's chats in their assertions."""

from __future__ import annotations

import re
import time
from typing import Any

import httpx
from playwright.sync_api import Page, expect

from tests.web.conftest import ADMIN, AGENT, API, RESOLUTION_MESSAGE, Inbox, screenshot, wait_for

FAST = 2_000  # ms: the "within 2 s"


def chat_item(page: Page, name: str) -> Any:
    return page.get_by_role("list", name="Chats").get_by_role("listitem").filter(has_text=name)


def open_chat(page: Page, name: str) -> Any:
    chat_item(page, name).get_by_role("button").click()
    conversation = page.get_by_role("region", name="Conversation")
    expect(conversation.get_by_role("heading", name=name)).to_be_visible()
    return conversation


def messages(page: Page) -> Any:
    return page.get_by_role("list", name="Messages").get_by_role("listitem")


def composer(page: Page) -> Any:
    return page.get_by_role("textbox", name="Message")


def test_wrong_password_is_refused(inbox: Inbox, context: Any) -> None:
    page = context.new_page()
    page.goto(inbox.url + "/")
    page.get_by_label("Email").fill(ADMIN[0])
    page.get_by_label("Password").fill("not-the-password")
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("alert")).to_have_text("Wrong email or password")
    expect(page.get_by_role("button", name="Sign out")).to_be_hidden()


def test_a_customer_writes_the_agent_takes_and_answers(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    inbox.simulator("PATCH", "/config", json={"status_delays": {"sent": 0.7, "delivered": 0.9, "read": 0.9}})
    try:
        phone = inbox.phone()
        inbox.inbound(phone, name="Dana", text={"body": "Hi, is my order ready?"})
        item = chat_item(page, "Dana")  # Unassigned is the first view: the chat comes in live
        expect(item).to_contain_text("Hi, is my order ready?")
        expect(item.get_by_label("1 unread")).to_be_visible()
        conversation = open_chat(page, "Dana")
        expect(messages(page).filter(has_text="Hi, is my order ready?")).to_have_count(1)
        expect(conversation.get_by_role("timer")).to_contain_text("left")
        conversation.get_by_role("button", name="Take").click()
        expect(chat_item(page, "Dana")).to_have_count(0)  # taken: no longer unassigned
        composer(page).fill("Yes, it is ready!")
        composer(page).press("Enter")
        sent = messages(page).filter(has_text="Yes, it is ready!")
        expect(sent).to_have_count(1)
        for status in ("Sent", "Delivered", "Read"):
            expect(sent.get_by_role("img", name=status)).to_be_visible(timeout=10_000)
        with inbox.rest() as http:
            chat = http.get(f"/chats/{inbox.chat_of(phone)['_id']}").json()
            assert chat["agent"]["uid"] == inbox.admin_uid and chat["status"] == 2
            assert chat["unreadCount"] == 0  # opening it marked it read
        got = inbox.simulator("GET", f"/contacts/{phone}/sent")["data"]
        assert [d["payload"]["text"]["body"] for d in got] == ["Yes, it is ready!"]
        page.get_by_role("button", name="Mine").click()
        expect(chat_item(page, "Dana")).to_contain_text("Yes, it is ready!")
        screenshot(page, "inbox.png")
    finally:
        inbox.simulator("PATCH", "/config", json={"status_delays": {"sent": 0, "delivered": 0.2, "read": 1.0}})


def test_two_agents_see_each_others_changes_live(inbox: Inbox, browser: Any) -> None:
    # Tyler works the Support department, where Noa's chat waits (an agent sees their
    # departments' chats whoever has them, so he sees it leave Unassigned when Ada takes it).
    phone = inbox.phone()
    inbox.inbound(phone, name="Noa", text={"body": "first"})
    with inbox.rest() as http:
        dept = http.post("/departments", json={"id": "support", "name": "Support"})
        assert dept.status_code in (200, 201), dept.text
        dept_id = "support"
        assert http.patch(f"/agents/{inbox.agent_uid}", json={"departments": [dept_id]}).status_code == 200
        moved = http.post("/chats/assign", json={"chatId": inbox.chat_of(phone)["_id"], "departmentId": dept_id})
        assert moved.status_code == 200, moved.text
    admin_ctx, agent_ctx = browser.new_context(), browser.new_context()
    try:
        admin, agent = inbox.sign_in(admin_ctx, ADMIN), inbox.sign_in(agent_ctx, AGENT)
        for page in (admin, agent):
            expect(chat_item(page, "Noa")).to_be_visible()
        open_chat(admin, "Noa")
        open_chat(agent, "Noa")
        inbox.inbound(phone, name="Noa", text={"body": "are you there?"})
        for page in (admin, agent):
            expect(messages(page).filter(has_text="are you there?")).to_have_count(1, timeout=FAST)
        admin.get_by_role("region", name="Conversation").get_by_role("button", name="Take").click()
        expect(chat_item(agent, "Noa")).to_have_count(0, timeout=FAST)
    finally:
        admin_ctx.close()
        agent_ctx.close()


def test_an_agent_taken_out_of_a_department_stops_seeing_its_chats_live(inbox: Inbox, context: Any) -> None:
    phone = inbox.phone()
    inbox.inbound(phone, name="Quinn Audit", text={"body": "for the audit team"})
    with inbox.rest() as http:
        dept = http.post("/departments", json={"id": "audit", "name": "Audit"})
        assert dept.status_code in (200, 201), dept.text
        before = http.get(f"/agents/{inbox.agent_uid}").json()["departments"]
        assert http.patch(f"/agents/{inbox.agent_uid}", json={"departments": [*before, "audit"]}).status_code == 200
        moved = http.post("/chats/assign", json={"chatId": inbox.chat_of(phone)["_id"], "departmentId": "audit"})
        assert moved.status_code == 200, moved.text
    time.sleep(0.6)  # the session cache's TTL: the agent signs in with the new department
    page = inbox.sign_in(context, AGENT)
    expect(chat_item(page, "Quinn Audit")).to_have_count(1)
    with inbox.rest() as http:
        assert http.patch(f"/agents/{inbox.agent_uid}", json={"departments": before}).status_code == 200
    expect(chat_item(page, "Quinn Audit")).to_have_count(0, timeout=5_000)
    inbox.inbound(phone, name="Quinn Audit", text={"body": "still there?"})  # not his any more
    page.wait_for_timeout(1_500)
    expect(chat_item(page, "Quinn Audit")).to_have_count(0)


def test_offline_for_ten_seconds_then_every_message_once_in_order(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    phone = inbox.phone()
    inbox.inbound(phone, name="Offline Olga", text={"body": "hello"})
    open_chat(page, "Offline Olga")
    expect(messages(page).filter(has_text="hello")).to_have_count(1)
    context.set_offline(True)
    started = time.monotonic()
    texts = [f"while away {i}" for i in range(1, 6)]
    for text in texts:
        inbox.inbound(phone, text={"body": text})
    time.sleep(max(0.0, 10 - (time.monotonic() - started)))
    context.set_offline(False)
    incoming = page.get_by_role("list", name="Messages").locator("li[data-direction='incoming']")
    expect(incoming).to_have_count(6, timeout=15_000)
    seen = [re.split(r"\n", t)[0] for t in incoming.all_inner_texts()]
    assert seen == ["hello", *texts]


def test_window_closed_sends_a_template(inbox: Inbox, context: Any) -> None:
    phone = inbox.phone()
    with inbox.rest() as http:
        account = http.get("/channels").json()["channels"][0]["accountId"]
        made = http.post(f"/whatsapp/templates/{account}", json={
            "name": "order_ready", "title": "Order ready", "category": "UTILITY", "chatStatus": 1, "usage": "inbox"})
        assert made.status_code == 200, made.text
        draft = http.post(f"/whatsapp/templates/{account}/order_ready/localizations", json={
            "language": "en", "components": [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready",
                                               "example": {"body_text": [["Dana", "15033"]]}}]})
        assert draft.status_code == 200, draft.text
        assert http.post(f"/whatsapp/templates/{account}/order_ready/localizations/en/submit").status_code == 200

        def approved() -> bool:
            templates = http.get("/whatsapp/templates", params={"sync": "1", "accountId": account}).json()
            return any(loc["status"] == "APPROVED" for t in templates if t["name"] == "order_ready"
                       for loc in t["provider_template"]["localizations"])
        wait_for(approved, 20, "the template's approval")
        # the business writes first (a template opens a chat); the contact has not written: closed
        first = http.post("/whatsapp/templates/send", json={"templateName": "order_ready", "to": phone,
                                                            "body": ["Gil", "1"]})
        assert first.status_code == 200, first.text
        chat_id = first.json()["chatId"] if "chatId" in first.json() else inbox.chat_of(phone)["_id"]
        http.patch(f"/chats/{chat_id}", json={"displayName": "Gil Closed"})
    page = inbox.sign_in(context, ADMIN)
    page.get_by_role("button", name="All", exact=True).click()
    conversation = open_chat(page, "Gil Closed")
    notice = conversation.get_by_role("region", name="Window closed")
    expect(notice).to_contain_text("24-hour window is closed")
    expect(composer(page)).to_be_hidden()
    notice.get_by_role("button", name="Send template").click()
    dialog = page.get_by_role("dialog")
    expect(dialog.get_by_label("Template", exact=True)).to_contain_text("Order ready")
    dialog.get_by_label("{{1}}").fill("Gil")
    dialog.get_by_label("{{2}}").fill("77")
    expect(dialog.get_by_label("Template preview")).to_have_text("Hi Gil, order 77 is ready")
    dialog.get_by_role("button", name="Send template").click()
    expect(messages(page).filter(has_text="Hi Gil, order 77 is ready")).to_have_count(1)


def test_a_view_chosen_while_the_first_page_loads_shows_its_own_chats(inbox: Inbox, context: Any) -> None:
    """CI found it: on a loaded machine `All` was clicked while `Unassigned`'s first page was still
    on its way, and `All` stayed empty (its load waited for nothing; the old page was dropped)."""
    phone = inbox.phone()
    inbox.inbound(phone, name="Ezra Switch", text={"body": "switching views"})
    inbox.chat_of(phone)
    held: list[Any] = []

    def hold_the_first(route: Any) -> None:
        if not held:
            held.append(route)  # the first list page (Unassigned) waits until the test lets it go
        else:
            route.continue_()
    context.route(re.compile(r"/chats/search\?"), hold_the_first)
    page = inbox.sign_in(context, ADMIN)
    for _ in range(200):  # Playwright runs the route handler while the test waits in Playwright
        if held:
            break
        page.wait_for_timeout(50)
    assert held, "the first list page's request never came"
    page.get_by_role("button", name="All", exact=True).click()
    expect(chat_item(page, "Ezra Switch")).to_have_count(1)
    held[0].continue_()  # the Unassigned page arrives late: All keeps its own chats
    page.wait_for_timeout(300)
    expect(chat_item(page, "Ezra Switch")).to_have_count(1)
    expect(page.get_by_role("button", name="All", exact=True)).to_have_attribute("aria-pressed", "true")


def test_quick_reply_attachment_reply_labels_crm_assign_resolve(inbox: Inbox, context: Any, tmp_path: Any) -> None:
    phone = inbox.phone()
    with inbox.rest() as http:
        account = http.get("/channels").json()["channels"][0]["accountId"]
        qr = http.post("/quick-replies", json={
            "send": {"contents": [{"type": "text", "text": "We open at nine."}], "target": [{"name": "whatsapp", "accountId": account}]},
            "display": {"title": "Opening hours"}})
        assert qr.status_code == 200, qr.text
        label = http.post("/labels", json={"id": "vip", "name": "VIP"})
        assert label.status_code in (200, 201), label.text
        label_id = "vip"
        dept = http.post("/departments", json={"id": "sales", "name": "Sales"})
        assert dept.status_code in (200, 201), dept.text
    inbox.inbound(phone, name="Maya", text={"body": "when do you open?"})
    page = inbox.sign_in(context, ADMIN)
    conversation = open_chat(page, "Maya")

    # quick reply via "/" (a single text fills the box), then Enter sends it
    composer(page).fill("")
    composer(page).type("/open")
    page.get_by_role("listbox", name="Quick replies").get_by_role("option", name="Opening hours").click()
    expect(composer(page)).to_have_value("We open at nine.")
    composer(page).press("Enter")
    expect(messages(page).filter(has_text="We open at nine.")).to_have_count(1)

    # reply to the customer's message
    question = messages(page).filter(has_text="when do you open?")
    question.get_by_role("menuitem", name="Reply").click()
    composer(page).fill("At nine, as said")
    composer(page).press("Enter")
    expect(messages(page).filter(has_text="At nine, as said")).to_have_count(1)

    # attachment with a caption
    picture = tmp_path / "shop.png"
    picture.write_bytes(PNG)
    page.get_by_label("Attach file").set_input_files(str(picture))
    composer(page).fill("Our shop")
    page.get_by_role("button", name="Send").click()
    expect(messages(page).filter(has_text="Our shop")).to_have_count(1)

    # labels
    conversation.get_by_role("button", name="Labels").click()
    page.get_by_role("group", name="Chat labels").get_by_label("VIP").check()

    # details: display name and CRM data
    conversation.get_by_role("button", name="Details").click()
    details = page.get_by_role("complementary", name="Chat details")
    details.get_by_label("Display name").fill("Maya Levi")
    details.get_by_role("button", name="Add field").click()
    details.get_by_label("CRM key").last.fill("orderId")
    details.get_by_label("CRM value").last.fill("15033")
    details.get_by_role("button", name="Save details").click()
    expect(details.get_by_role("status")).to_have_text("Saved")
    expect(conversation.get_by_role("heading", name="Maya Levi")).to_be_visible()

    # the assignment dialog: the agent Tyler, department Sales
    conversation.get_by_role("button", name="Assign").click()
    dialog = page.get_by_role("dialog", name="Assign chat")
    dialog.get_by_label("Agent").select_option(label="Tyler")
    dialog.get_by_label("Department").select_option(label="Sales")
    dialog.get_by_role("button", name="Assign").click()
    expect(dialog).to_be_hidden()

    with inbox.rest() as http:
        def sent_texts() -> list[str]:
            return [d["payload"].get("text", {}).get("body") or d["payload"].get("image", {}).get("caption")
                    for d in inbox.simulator("GET", f"/contacts/{phone}/sent")["data"]]
        wait_for(lambda: len(sent_texts()) == 3, 10, "three messages at the simulator")
        sent = inbox.simulator("GET", f"/contacts/{phone}/sent")["data"]
        assert sent[0]["payload"]["text"]["body"] == "We open at nine."
        assert sent[1]["payload"]["context"]["message_id"].startswith("wamid.")  # a reply, quoting
        assert sent[2]["payload"]["type"] == "image" and sent[2]["payload"]["image"]["caption"] == "Our shop"
        chat = wait_for(lambda: (c := http.get("/chats/search", params={"search": phone}).json()["data"][0])
                        and c["agent"]["uid"] == inbox.agent_uid and c, 10, "the assignment")
        assert label_id in chat["labels"]
        assert chat["displayName"] == "Maya Levi" and chat["crmData"] == {"orderId": "15033"}
        assert chat["departmentId"] == "sales"

    # resolve, telling the customer
    conversation.get_by_role("button", name="Resolve").click()
    dialog = page.get_by_role("dialog", name="Resolve chat")
    dialog.get_by_label("Notify customer").check()
    dialog.get_by_role("button", name="Resolve").click()
    expect(dialog).to_be_hidden()
    with inbox.rest() as http:
        wait_for(lambda: http.get("/chats/search", params={"search": phone}).json()["data"][0]["status"] == 3,
                 10, "the chat resolved")
    notice = wait_for(lambda: (d := inbox.simulator("GET", f"/contacts/{phone}/sent")["data"])[3:] and d[3], 10,
                      "the resolution notice")
    assert notice["payload"]["text"]["body"] == RESOLUTION_MESSAGE


def test_customer_text_is_text_and_a_phone_screen_works(inbox: Inbox, browser: Any) -> None:
    xss = "<img src=x onerror=alert(1)>"
    phone = inbox.phone()
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    try:
        page = inbox.sign_in(context, ADMIN)
        inbox.inbound(phone, name=xss, text={"body": f"{xss} שלום"})
        item = chat_item(page, xss)
        expect(item).to_be_visible()
        expect(page.get_by_role("region", name="Conversation")).to_be_hidden()  # the list first
        item.get_by_role("button").click()
        conversation = page.get_by_role("region", name="Conversation")
        expect(conversation.get_by_role("heading", name=xss)).to_be_visible()
        bubble = messages(page).filter(has_text=f"{xss} שלום").locator("p.bubble")
        expect(bubble).to_have_attribute("dir", "auto")
        assert page.locator("img[src='x']").count() == 0 and page.js_errors == []
        expect(page.get_by_role("list", name="Chats")).to_be_hidden()
        box = conversation.bounding_box()
        assert box and box["width"] <= 390
        composer(page).fill("mobile answer")
        page.get_by_role("button", name="Send").click()
        expect(messages(page).filter(has_text="mobile answer")).to_have_count(1)
        screenshot(page, "phone.png")
        conversation.get_by_role("button", name="Back").click()
        expect(page.get_by_role("list", name="Chats")).to_be_visible()
    finally:
        context.close()


def test_an_agent_sees_no_settings_and_cannot_call_admin_endpoints(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, AGENT)
    expect(page.get_by_role("button", name="Settings")).to_have_count(0)
    for method, path in (("GET", "/agents"), ("GET", "/tokens"), ("POST", "/labels")):
        status = page.evaluate(
            """async ([method, path]) => {
                 const me = await (await fetch('/server/api/v2/auth/me')).json();
                 const r = await fetch('/server/api/v2' + path, {method, headers: {'X-CSRF-Token': me.csrfToken,
                   'Content-Type': 'application/json'}, body: method === 'GET' ? undefined : '{"name": "x"}'});
                 return r.status; }""", [method, path])
        assert status == 403, (method, path, status)
    admin = inbox.sign_in(context.browser.new_context(), ADMIN)
    expect(admin.get_by_role("button", name="Settings")).to_be_visible()
    admin.context.close()


def test_the_inbox_page_is_served_with_a_strict_policy(inbox: Inbox) -> None:
    r = httpx.get(inbox.url + "/")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/html")
    assert "script-src 'self'" in r.headers["content-security-policy"]
    assert httpx.get(inbox.url + "/web/app.js").headers["content-type"].startswith(("text/javascript", "application/javascript"))
    assert httpx.get(inbox.url + API + "/no-such-route").json()["code"] == "not_found"


# a 1×1 PNG
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8cfc0f01f0005000201e2"
    "21bc330000000049454e44ae426082"
)


def test_settings_create_an_agent_and_a_token_then_revoke_it(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    page.get_by_role("button", name="Settings").click()
    settings = page.get_by_role("dialog", name="Settings")
    agents = settings.get_by_role("region", name="Agents")
    new_agent = agents.get_by_role("form", name="New agent")
    new_agent.get_by_label("Email").fill("rina@example.com")
    new_agent.get_by_label("Name").fill("Rina")
    new_agent.get_by_label("Password").fill("rina-password-1")
    new_agent.get_by_role("button", name="Create agent").click()
    expect(agents.get_by_role("cell", name="Rina <rina@example.com>")).to_be_visible()

    settings.get_by_role("button", name="API tokens").click()
    section = settings.get_by_role("region", name="API tokens")
    section.get_by_label("Token name").fill("crm sync")
    section.get_by_role("button", name="Create token").click()
    secret = section.get_by_label("New token secret").inner_text().strip()
    check = httpx.get(inbox.url + API + "/chats/search", headers={"Authorization": f"Bearer {secret}"})
    assert check.status_code == 200, check.text
    section.get_by_role("button", name="Revoke crm sync").click()
    expect(section.get_by_role("cell", name="revoked")).to_be_visible()
    assert "crm sync" in section.inner_text() and secret not in section.inner_text()  # shown once
    wait_for(lambda: httpx.get(inbox.url + API + "/chats/search",
                               headers={"Authorization": f"Bearer {secret}"}).status_code == 401, 5, "the revocation")

    settings.get_by_role("button", name="Channels").click()
    expect(settings.get_by_role("region", name="Channels")).to_contain_text("+15550001234")
    settings.get_by_role("button", name="Close settings").click()
    with inbox.rest() as http:
        assert any(a["email"] == "rina@example.com" for a in http.get("/agents").json()["agents"])


def test_a_new_label_reaches_an_open_page_live(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    with inbox.rest() as http:
        assert http.post("/labels", json={"id": "late", "name": "Late arrival"}).status_code in (200, 201)
    expect(page.get_by_label("Label", exact=True).locator("option", has_text="Late arrival")).to_have_count(1)


def test_keyboard_and_a_refused_send_with_retry(inbox: Inbox, context: Any) -> None:
    page = inbox.sign_in(context, ADMIN)
    first, second = inbox.phone(), inbox.phone()
    inbox.inbound(first, name="Key One", text={"body": "one"})
    time.sleep(1.05)  # WhatsApp's timestamps are whole seconds: Key Two's is the later one
    inbox.inbound(second, name="Key Two", text={"body": "two"})
    expect(chat_item(page, "Key One")).to_be_visible()
    open_chat(page, "Key Two")  # the newest, at the top
    page.get_by_role("list", name="Messages").click()
    page.keyboard.press("j")
    expect(page.get_by_role("region", name="Conversation").get_by_role("heading", name="Key One")).to_be_visible()
    page.keyboard.press("k")
    expect(page.get_by_role("region", name="Conversation").get_by_role("heading", name="Key Two")).to_be_visible()
    page.keyboard.press("e")
    expect(page.get_by_role("dialog", name="Resolve chat")).to_be_visible()
    page.keyboard.press("Escape")
    expect(page.get_by_role("dialog", name="Resolve chat")).to_be_hidden()  # (a "/" into the closing dialog is lost)
    page.get_by_role("list", name="Messages").click()  # (focus back on the page, wherever the dialog left it)
    page.keyboard.press("/")
    expect(composer(page)).to_be_focused()
    composer(page).fill("x" * 5000)  # over WhatsApp's 4096 characters: the API refuses it
    composer(page).press("Enter")
    refused = messages(page).filter(has=page.get_by_role("button", name="Retry"))
    expect(refused).to_have_count(1)
    expect(refused.get_by_role("note")).to_contain_text("not valid")
    assert inbox.simulator("GET", f"/contacts/{second}/sent")["data"] == []
