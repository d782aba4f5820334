"""Quick replies over HTTP (reference §8): create, list (filters, sorting, paging), update by
operations (each changes exactly its field; one bad operation changes nothing), delete; the
examples of §8; contents checked by Send a Message's validator."""

from __future__ import annotations

import re
from typing import Any

import httpx
import pytest

from inboxd.domain.scopes import Scope
from inboxd.domain_events import QUICK_REPLY_CHANGED
from inboxd.store import chats as chats_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from tests.quick_replies.conftest import API, EXAMPLE_ACCOUNT, EXAMPLE_CREATE, EXAMPLE_PATCH, create, quick_reply
from tests.support.server import LiveServer


async def test_the_examples_of_section_8(api: httpx.AsyncClient) -> None:
    created = await create(api, EXAMPLE_CREATE)
    assert re.fullmatch(r"[0-9a-f]{24}", created["_id"])
    assert created["send"] == EXAMPLE_CREATE["send"]
    assert created["display"] == {"position": "top", "title": "Greeting", "departments": [], "users": []}
    assert created["metadata"]["created"] == created["metadata"]["updated"]
    assert isinstance(created["metadata"]["created"], int) and created["metadata"]["created"] > 1_700_000_000_000

    r = await api.patch(f"{API}/quick-replies/{created['_id']}", json=EXAMPLE_PATCH)
    assert r.status_code == 200, r.text
    patched = r.json()
    assert patched["metadata"]["client"] == {"aiQuickReply": True}
    assert patched["metadata"]["updated"] >= created["metadata"]["updated"]
    assert {k: v for k, v in patched.items() if k != "metadata"} == {k: v for k, v in created.items() if k != "metadata"}

    r = await api.get(f"{API}/quick-replies")
    assert r.status_code == 200
    assert r.json() == {"total": 1, "quickReplies": [patched]}


async def test_everything_a_quick_reply_holds_comes_back(api: httpx.AsyncClient, db: Database,
                                                         example_account: ChannelAccount) -> None:
    async with db.write() as conn:
        chat = await chats_store.ensure_chat(conn, chat_id="0" * 23 + "1", channel_account_id=example_account.id,
                                             contact_id="972521234567", title="Dana", now=1)
    body = {
        "send": {
            "contents": [
                {"type": "text", "text": "Here is our menu"},
                {"type": "media", "media": [{"mediaType": "image", "url": "https://example.com/menu.jpg", "caption": "Menu"}]},
                {"type": "buttons", "text": "Order now?", "buttons": [{"title": "Yes", "payload": "order"}]},
            ],
            "betweenMessagesDelay": 1500,
            "target": [{"name": "whatsapp", "accountId": "+972586640430"},
                       {"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT, "id": chat}],
        },
        "display": {"position": "main", "title": "Menu", "note": "For lunch questions",
                    "departments": ["sales", "support"], "users": ["4d170fc7-5cd6-4496-98e4-f4f03a11456e"]},
        "metadata": {"client": {"aiQuickReply": True, "source": "crm"}},
    }
    created = await create(api, body)
    assert created["send"]["contents"] == body["send"]["contents"]
    assert created["send"]["betweenMessagesDelay"] == 1500
    assert created["send"]["target"] == [{"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT},
                                         {"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT, "id": chat}]
    assert created["display"] == body["display"]
    assert created["metadata"]["client"] == {"aiQuickReply": True, "source": "crm"}


OPERATIONS: list[tuple[dict[str, Any], tuple[str, str], Any]] = [
    ({"updateSendContents": [{"type": "location", "location": {"latitude": 32, "longitude": 34.8}}]},
     ("send", "contents"), [{"type": "location", "location": {"latitude": 32.0, "longitude": 34.8}}]),
    ({"updateSendTarget": [{"name": "whatsapp", "accountId": "15550783881"}]},
     ("send", "target"), [{"name": "whatsapp", "accountId": "15550783881"}]),
    ({"updateBetweenMessagesDelay": 2500}, ("send", "betweenMessagesDelay"), 2500),
    ({"updateDisplayTitle": "Welcome"}, ("display", "title"), "Welcome"),
    ({"updateDisplayNote": "Use on Mondays"}, ("display", "note"), "Use on Mondays"),
    ({"updateDisplayPosition": "main"}, ("display", "position"), "main"),
    ({"updateDisplayDepartments": ["billing"]}, ("display", "departments"), ["billing"]),
    ({"updateDisplayUsers": ["u-1", "u-2"]}, ("display", "users"), ["u-1", "u-2"]),
    ({"updateClientMetadata": {"aiQuickReply": False}}, ("metadata", "client"), {"aiQuickReply": False}),
]


@pytest.mark.parametrize(("operation", "where", "value"), OPERATIONS, ids=[next(iter(o[0])) for o in OPERATIONS])
async def test_each_operation_changes_exactly_its_field(
    api: httpx.AsyncClient, wa_account: Any, operation: dict[str, Any], where: tuple[str, str], value: Any
) -> None:
    before = await create(api, {**EXAMPLE_CREATE, "send": {**EXAMPLE_CREATE["send"], "betweenMessagesDelay": 500},
                                "display": {"position": "top", "title": "Greeting", "note": "n",
                                            "departments": ["d"], "users": ["u"]},
                                "metadata": {"client": {"k": 1}}})
    r = await api.patch(f"{API}/quick-replies/{before['_id']}", json=[operation])
    assert r.status_code == 200, r.text
    after = r.json()
    expected = {section: dict(fields) for section, fields in before.items() if isinstance(fields, dict)}
    expected[where[0]][where[1]] = value
    expected["metadata"]["updated"] = after["metadata"]["updated"]
    assert after == {"_id": before["_id"], **expected}
    r = await api.get(f"{API}/quick-replies")
    assert r.json()["quickReplies"] == [after]


async def test_null_clears_what_may_be_cleared(api: httpx.AsyncClient) -> None:
    before = await create(api, {**EXAMPLE_CREATE, "send": {**EXAMPLE_CREATE["send"], "betweenMessagesDelay": 500},
                                "display": {"title": "Greeting", "note": "n"}, "metadata": {"client": {"k": 1}}})
    ops = [{"updateBetweenMessagesDelay": None}, {"updateDisplayTitle": None}, {"updateDisplayNote": None},
           {"updateClientMetadata": None}]
    after = (await api.patch(f"{API}/quick-replies/{before['_id']}", json=ops)).json()
    assert "betweenMessagesDelay" not in after["send"] and "title" not in after["display"]
    assert "note" not in after["display"] and "client" not in after["metadata"]


async def test_operations_apply_in_order(api: httpx.AsyncClient) -> None:
    before = await create(api, EXAMPLE_CREATE)
    ops = [{"updateDisplayTitle": "first"}, {"updateDisplayPosition": "main"}, {"updateDisplayTitle": "last"}]
    after = (await api.patch(f"{API}/quick-replies/{before['_id']}", json=ops)).json()
    assert after["display"]["title"] == "last" and after["display"]["position"] == "main"


@pytest.mark.parametrize(
    ("bad", "path", "reason"),
    [
        ({"updateDisplayPosition": "bottom"}, "body[1].updateDisplayPosition", "must be one of: top, main"),
        ({"updateBetweenMessagesDelay": -1}, "body[1].updateBetweenMessagesDelay", "must be between 0 and 60000"),
        ({"updateBetweenMessagesDelay": "1s"}, "body[1].updateBetweenMessagesDelay", "must be an integer"),
        ({"updateSendContents": [{"type": "text", "text": ""}]}, "body[1].updateSendContents[0].text",
         "must not be empty"),
        ({"updateSendContents": []}, "body[1].updateSendContents", "must have 1 to 10 items"),
        ({"updateSendTarget": [{"name": "whatsapp", "accountId": "972500000000"}]},
         "body[1].updateSendTarget[0].accountId", "is not a whatsapp channel account"),
        ({"updateDisplayDepartments": "sales"}, "body[1].updateDisplayDepartments", "must be an array"),
        ({"updateClientMetadata": [1]}, "body[1].updateClientMetadata", "must be an object"),
        ({"updateSomethingElse": 1}, "body[1].updateSomethingElse", "is not a known operation"),
        ({"updateDisplayTitle": "a", "updateDisplayNote": "b"}, "body[1]", "exactly one operation"),
    ],
)
async def test_one_bad_operation_changes_nothing(api: httpx.AsyncClient, bad: dict[str, Any], path: str,
                                                 reason: str) -> None:
    before = await create(api, EXAMPLE_CREATE)
    ops = [{"updateDisplayTitle": "changed"}, bad, {"updateDisplayNote": "changed too"}]
    r = await api.patch(f"{API}/quick-replies/{before['_id']}", json=ops)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["code"] == "invalid_request" and body["details"][0]["path"] == path
    assert reason in body["details"][0]["reason"] and path in body["error"]
    r = await api.get(f"{API}/quick-replies")
    assert r.json()["quickReplies"] == [before]


@pytest.mark.parametrize("body", [[], {"updateDisplayTitle": "x"}, [{"updateDisplayTitle": "x"}] * 1001])
async def test_the_update_is_an_array_of_1_to_1000(api: httpx.AsyncClient, body: Any) -> None:
    before = await create(api, EXAMPLE_CREATE)
    r = await api.patch(f"{API}/quick-replies/{before['_id']}", json=body)
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body"


async def test_1000_operations_are_fine(api: httpx.AsyncClient) -> None:
    before = await create(api, EXAMPLE_CREATE)
    ops = [{"updateDisplayNote": f"note {i}"} for i in range(1000)]
    r = await api.patch(f"{API}/quick-replies/{before['_id']}", json=ops)
    assert r.status_code == 200 and r.json()["display"]["note"] == "note 999"


@pytest.mark.parametrize(
    ("body", "path", "reason"),
    [
        ({}, "body.send", "is required"),
        ({"send": {"target": [{"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT}]}}, "body.send.contents", "is required"),
        ({"send": {"contents": [{"type": "text", "text": "x"}]}}, "body.send.target", "is required"),
        (quick_reply({"type": "text", "text": "x" * 4097}), "body.send.contents[0].text", "at most 4096"),
        (quick_reply({"type": "buttons", "text": "Pick", "buttons": [{"title": "t" * 21, "payload": "p"}]}),
         "body.send.contents[0].buttons[0].title", "at most 20"),
        (quick_reply({"type": "sticker"}), "body.send.contents[0].type", "must be one of"),
        (quick_reply({"type": "text", "text": "hi", "context": "wamid.X"}), "body.send.contents[0].context",
         "not allowed in a quick reply"),
        (quick_reply({"type": "text", "text": "hi", "tmpSendId": "k"}), "body.send.contents[0].tmpSendId",
         "not allowed in a quick reply"),
        (quick_reply(*[{"type": "text", "text": "hi"}] * 11), "body.send.contents", "must have 1 to 10 items"),
        (quick_reply(account="972500000000"), "body.send.target[0].accountId", "is not a whatsapp channel account"),
        (quick_reply(account="abc"), "body.send.target[0].accountId", "in digits"),
        ({"send": {"contents": [{"type": "text", "text": "x"}], "target": [{"name": "fax", "accountId": "1"}]}},
         "body.send.target[0].name", "must be one of"),
        ({"send": {"contents": [{"type": "text", "text": "x"}], "target": [{"name": "messenger", "accountId": "1"}]}},
         "body.send.target[0].name", "not a channel inboxd connects"),
        ({"send": {"contents": [{"type": "text", "text": "x"}],
                   "target": [{"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT, "id": "0" * 24}]}},
         "body.send.target[0].id", "is not a chat of the account"),
        ({"send": {"contents": [{"type": "text", "text": "x"}], "target": []}}, "body.send.target", "1 to 100"),
        (quick_reply(position="bottom"), "body.display.position", "must be one of: top, main"),
        (quick_reply(title="t" * 256), "body.display.title", "at most 255"),
        (quick_reply(users=[""]), "body.display.users[0]", "non-empty string"),
        (quick_reply(colour="red"), "body.display.colour", "is not a known field"),
        ({**quick_reply(), "metadata": {"created": 1}}, "body.metadata.created", "is not a known field"),
        ({**quick_reply(), "send": {**quick_reply()["send"], "betweenMessagesDelay": 60001}},
         "body.send.betweenMessagesDelay", "between 0 and 60000"),
    ],
)
async def test_bad_quick_replies_are_400_naming_the_path(api: httpx.AsyncClient, body: dict[str, Any], path: str,
                                                         reason: str) -> None:
    r = await api.post(f"{API}/quick-replies", json=body)
    assert r.status_code == 400, r.text
    details = r.json()["details"]
    assert any(d["path"] == path and reason in d["reason"] for d in details), details
    assert (await api.get(f"{API}/quick-replies")).json()["total"] == 0


async def test_every_problem_is_reported_at_once(api: httpx.AsyncClient) -> None:
    body = {"send": {"contents": [{"type": "text", "text": ""}, {"type": "list"}],
                     "target": [{"name": "whatsapp", "accountId": "x"}]},
            "display": {"position": "side"}}
    r = await api.post(f"{API}/quick-replies", json=body)
    paths = {d["path"] for d in r.json()["details"]}
    assert {"body.send.contents[0].text", "body.send.contents[1].text", "body.send.contents[1].list",
            "body.send.target[0].accountId", "body.display.position"} <= paths


async def test_not_json_is_400(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/quick-replies", content=b"{", headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


async def test_scopes(server: LiveServer, make_token, example_account: ChannelAccount) -> None:  # type: ignore[no-untyped-def]
    viewer = await make_token(Scope.VIEW_QUICK_REPLIES)
    manager = await make_token(Scope.MANAGE_QUICK_REPLIES)
    async with httpx.AsyncClient(base_url=server.url, timeout=30) as http:
        def auth(token: str) -> dict[str, str]:
            return {"Authorization": f"Bearer {token}"}

        r = await http.post(f"{API}/quick-replies", json=EXAMPLE_CREATE, headers=auth(viewer))
        assert r.status_code == 403 and r.json()["details"][0]["scope"] == "Manage quick replies"
        r = await http.post(f"{API}/quick-replies", json=EXAMPLE_CREATE, headers=auth(manager))
        assert r.status_code == 200
        qr = r.json()["_id"]
        r = await http.get(f"{API}/quick-replies", headers=auth(manager))
        assert r.status_code == 403 and r.json()["details"][0]["scope"] == "View quick replies"
        assert (await http.get(f"{API}/quick-replies", headers=auth(viewer))).status_code == 200
        r = await http.patch(f"{API}/quick-replies/{qr}", json=EXAMPLE_PATCH, headers=auth(viewer))
        assert r.status_code == 403
        assert (await http.delete(f"{API}/quick-replies/{qr}", headers=auth(viewer))).status_code == 403
        assert (await http.get(f"{API}/quick-replies")).status_code == 401


async def test_delete(api: httpx.AsyncClient) -> None:
    one, two = await create(api, EXAMPLE_CREATE), await create(api, EXAMPLE_CREATE)
    r = await api.delete(f"{API}/quick-replies/{one['_id']}")
    assert r.status_code == 200 and r.json() == {"success": True}
    assert [q["_id"] for q in (await api.get(f"{API}/quick-replies")).json()["quickReplies"]] == [two["_id"]]
    for method, path in (("DELETE", one["_id"]), ("PATCH", one["_id"]), ("DELETE", "nope")):
        r = await api.request(method, f"{API}/quick-replies/{path}", json=EXAMPLE_PATCH)
        assert r.status_code == 404 and r.json()["code"] == "quick_reply_not_found"


async def test_changes_publish_a_notice(api: httpx.AsyncClient, server: LiveServer) -> None:
    seen: list[tuple[str, bool]] = []

    async def on_change(_conn: Any, quick_reply_id: str, deleted: bool) -> None:
        seen.append((quick_reply_id, deleted))

    assert server.services is not None
    server.services.events.subscribe(QUICK_REPLY_CHANGED, on_change)
    qr = await create(api, EXAMPLE_CREATE)
    await api.patch(f"{API}/quick-replies/{qr['_id']}", json=EXAMPLE_PATCH)
    await api.patch(f"{API}/quick-replies/{qr['_id']}", json=[{"updateDisplayPosition": "nowhere"}])  # refused
    await api.delete(f"{API}/quick-replies/{qr['_id']}")
    assert seen == [(qr["_id"], False), (qr["_id"], False), (qr["_id"], True)]


# --- listing ----------------------------------------------------------------------------------


async def _titles(api: httpx.AsyncClient, **params: Any) -> list[str | None]:
    r = await api.get(f"{API}/quick-replies", params=params)
    assert r.status_code == 200, r.text
    body = r.json()
    return [q["display"].get("title") for q in body["quickReplies"]]


async def test_sorting_and_paging(api: httpx.AsyncClient) -> None:
    for title in ("beta", "Alpha", "gamma"):
        await create(api, quick_reply(title=title))
    untitled = await create(api, quick_reply())
    await api.patch(f"{API}/quick-replies/{untitled['_id']}", json=[{"updateDisplayNote": "touched last"}])
    assert await _titles(api) == [None, "gamma", "Alpha", "beta"]  # default: newest first
    assert await _titles(api, sortCreated="asc") == ["beta", "Alpha", "gamma", None]
    assert await _titles(api, sortTitle="asc") == ["Alpha", "beta", "gamma", None]
    assert await _titles(api, sortTitle="desc") == ["gamma", "beta", "Alpha", None]
    assert (await _titles(api, sortUpdated="desc"))[0] is None
    r = await api.get(f"{API}/quick-replies", params={"sortTitle": "asc", "skip": 1, "limit": 2})
    assert r.json()["total"] == 4 and [q["display"]["title"] for q in r.json()["quickReplies"]] == ["beta", "gamma"]
    r = await api.get(f"{API}/quick-replies", params={"skip": 10})
    assert r.json() == {"total": 4, "quickReplies": []}


@pytest.mark.parametrize(
    ("params", "path"),
    [({"sortTitle": "up"}, "query.sortTitle"), ({"limit": 0}, "query.limit"), ({"limit": 10001}, "query.limit"),
     ({"skip": 100001}, "query.skip"), ({"position": "side"}, "query.position"),
     ({"forChat[name]": "whatsapp"}, "query.forChat"), ({"forChat[id]": "x"}, "query.forChat[id]"),
     ({"hasContentsType[]": "postback"}, "query.hasContentsType[][0]")],
)
async def test_bad_queries_are_400(api: httpx.AsyncClient, params: dict[str, Any], path: str) -> None:
    r = await api.get(f"{API}/quick-replies", params=params)
    assert r.status_code == 400, r.text
    assert r.json()["details"][0]["path"] == path


async def test_filters(api: httpx.AsyncClient, db: Database, example_account: ChannelAccount, wa_account: Any) -> None:
    async with db.write() as conn:
        chat = await chats_store.ensure_chat(conn, chat_id="0" * 23 + "2", channel_account_id=example_account.id,
                                             contact_id="972521234567", title="Dana", now=1)
        other_chat = await chats_store.ensure_chat(conn, chat_id="0" * 23 + "3", channel_account_id=example_account.id,
                                                   contact_id="972521234568", title="Omer", now=1)
    await create(api, quick_reply({"type": "text", "text": "general"}, title="general", position="top"))
    await create(api, {"send": {"contents": [{"type": "media", "media": [{"mediaType": "image", "url": "https://e.x/a.png"}]}],
                                "target": [{"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT, "id": chat}]},
                       "display": {"title": "for Dana"}})
    await create(api, {"send": {"contents": [{"type": "text", "text": "o"}],
                                "target": [{"name": "whatsapp", "accountId": EXAMPLE_ACCOUNT, "id": other_chat}]},
                       "display": {"title": "for Omer"}})
    await create(api, quick_reply({"type": "location", "location": {"latitude": 1, "longitude": 2}},
                                  {"type": "text", "text": "t"}, account="15550783881", title="other number"))
    for_chat = {"forChat[name]": "whatsapp", "forChat[accountId]": EXAMPLE_ACCOUNT}
    assert sorted(await _titles(api, **for_chat)) == ["general"]
    assert sorted(await _titles(api, **for_chat, **{"forChat[id]": chat})) == ["for Dana", "general"]
    assert sorted(await _titles(api, **{**for_chat, "forChat[accountId]": "+15550783881"})) == ["other number"]
    assert await _titles(api, **{**for_chat, "forChat[accountId]": "1"}) == []
    assert await _titles(api, position="top") == ["general"]
    assert sorted(await _titles(api, position="main")) == ["for Dana", "for Omer", "other number"]
    assert await _titles(api, **{"hasContentsType[]": "media"}) == ["for Dana"]
    assert await _titles(api, **{"hasContentsType[]": "location"}) == ["other number"]
    r = await api.get(f"{API}/quick-replies", params=[("hasContentsType[]", "media"), ("hasContentsType[]", "location")])
    assert r.json()["total"] == 2
    assert sorted(await _titles(api, **{"hasContentsType[]": "text"})) == ["for Omer", "general", "other number"]
