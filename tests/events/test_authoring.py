"""Writing scenarios step by step: Copy Scenario, Create Empty Scenario, Update Draft, Create
Revision, Delete Revision (and discarding a draft). The end-to-end path runs real events: signed
WhatsApp webhooks in, signed deliveries out to a receiver."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from inboxd.config import Settings
from inboxd.domain.scopes import Scope
from inboxd.events.operations import OPERATIONS
from inboxd.events.signing import verify
from inboxd.store.db import Database
from tests.conftest import WhatsAppAccountSpec
from tests.events.conftest import API, Receiver, runs, subscribe, template, token
from tests.events.test_delivery import incoming, text_of
from tests.support.server import LiveServer, start_server
from tests.support.webhooks import wait_processed

MANAGE = f"{API}/scenarios/manage"
PROVIDE_MESSAGE = {"##provide": {"provider": "message", "key": "message"}}
HELP_ONLY = {"name": "filtrex", "params": {"expression": 'text == "help"', "value": PROVIDE_MESSAGE}}


async def scenario_of(api: httpx.AsyncClient, scenario_id: str) -> dict[str, Any]:
    listed = (await api.get(MANAGE, params={"limit": 1000})).json()["scenarios"]
    return next(s for s in listed if s["_id"] == scenario_id)


def request_action(url: str, event_name: str = "newMessage") -> dict[str, Any]:
    return {"name": "request", "params": {"url": url, "data": {"eventName": event_name,
                                                               "eventData": {"message": PROVIDE_MESSAGE}}}}


async def test_import_copy_edit_revise_activate_then_only_what_it_now_matches_is_delivered(
    live: LiveServer, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec, db: Database
) -> None:
    original = await subscribe(api, "new-incoming-messages", receiver.url)

    r = await api.post(f"{MANAGE}/{original['_id']}/copy", json={"fromVersion": 1, "newName": "Help desk"})
    assert r.status_code == 201, r.text
    copied = r.json()
    copy_id = copied["_id"]
    assert copy_id != original["_id"] and "activeRevision" not in copied and copied["drafts"] == []
    [first] = copied["inactiveRevisions"]
    assert first["version"] == 1 and first["name"] == "Help desk" and first["status"] == "inactive"
    assert first["scenarioId"] == copy_id and first["_id"] != original["activeRevision"]["_id"]
    assert first["conditions"] == original["activeRevision"]["conditions"]
    assert first["actions"] == original["activeRevision"]["actions"]
    assert first["metadata"]["activations"] == [] and first["metadata"]["activated"] is None
    assert copied["signingSecret"] != original["signingSecret"]

    r = await api.patch(f"{MANAGE}/{copy_id}/draft", json=[
        {"op": "addCondition", "group": 0, "condition": HELP_ONLY},
        {"op": "rename", "name": "Help desk: help only"},
    ])
    assert r.status_code == 200, r.text
    [draft] = r.json()["drafts"]
    assert draft["name"] == "Help desk: help only" and draft["parentVersion"] == 1
    assert "version" not in draft and "status" not in draft
    assert [c["params"]["expression"] for c in draft["conditions"][0]] == ['direction == "incoming"', 'text == "help"']
    assert r.json()["inactiveRevisions"] == [first]  # the revision itself did not change

    r = await api.post(f"{MANAGE}/{copy_id}/revisions", json={"revisionComment": "only help requests",
                                                              "authorUid": "ops-7"})
    assert r.status_code == 201, r.text
    revised = r.json()
    assert revised["drafts"] == []
    assert [v["version"] for v in revised["inactiveRevisions"]] == [1, 2]
    second = revised["inactiveRevisions"][1]
    assert second["parentVersion"] == 1 and second["revisionComment"] == "only help requests"
    assert second["name"] == "Help desk: help only" and second["metadata"]["authorUid"] == "ops-7"

    # Inactive, the copy gets nothing; the original gets everything incoming.
    await incoming(live.url, wa_account, "972500000201", "hello")
    await receiver.wait_for(1)

    r = await api.post(f"{MANAGE}/{copy_id}/activate", json={"version": 2})
    assert r.status_code == 200, r.text
    assert r.json()["activeRevision"]["version"] == 2
    for text in ("help", "hello again", "help"):
        await incoming(live.url, wa_account, "972500000201", text)
    await wait_processed(db)
    await receiver.wait_for(4 + 2)
    await receiver.settle()

    def delivered_to(scenario: dict[str, Any]) -> list[str]:
        return [text_of(s) for s in receiver.requests if s.headers["x-inboxd-scenario-id"] == scenario["_id"]]

    assert delivered_to(original) == ["hello", "help", "hello again", "help"]
    assert delivered_to(copied) == ["help", "help"]
    for item in receiver.requests:
        if item.headers["x-inboxd-scenario-id"] == copy_id:
            assert verify(copied["signingSecret"], item.raw, item.signature)
    assert {run["revisionId"] for run in await runs(api, copy_id)} == {second["_id"]}

    # Revision 1 can go; the active revision 2 cannot while the scenario is active.
    r = await api.delete(f"{MANAGE}/{copy_id}/revisions/1")
    assert r.status_code == 200, r.text
    assert r.json()["inactiveRevisions"] == [] and r.json()["activeRevision"]["version"] == 2
    r = await api.delete(f"{MANAGE}/{copy_id}/revisions/2")
    assert r.status_code == 409 and r.json()["code"] == "revision_active", r.text
    assert "revision 2" in r.json()["error"].lower()
    await incoming(live.url, wa_account, "972500000201", "help")
    await receiver.wait_for(6 + 2)
    assert delivered_to(copied) == ["help", "help", "help"]


async def test_an_empty_scenario_is_built_step_by_step(
    live: LiveServer, api: httpx.AsyncClient, receiver: Receiver, wa_account: WhatsAppAccountSpec, db: Database
) -> None:
    r = await api.post(f"{MANAGE}/create", json={"name": "Built by hand", "authorUid": "author-1"})
    assert r.status_code == 201, r.text
    created = r.json()
    scenario_id = created["_id"]
    assert created["signingSecret"].startswith("whsec_")
    assert "activeRevision" not in created and created["inactiveRevisions"] == []
    [draft] = created["drafts"]
    assert draft["name"] == "Built by hand" and draft["triggerEvents"] == [] and draft["actions"] == []
    assert draft["conditions"] == [] and draft["loaders"] == {"beforeConditions": [], "afterConditions": []}
    assert draft["parentVersion"] is None and draft["metadata"]["authorUid"] == "author-1"

    # An empty draft is not a scenario yet: Create Revision names what is missing.
    r = await api.post(f"{MANAGE}/{scenario_id}/revisions")
    assert r.status_code == 400 and r.json()["code"] == "invalid_scenario", r.text
    assert {d["path"] for d in r.json()["details"]} == {"draft.triggerEvents", "draft.actions"}

    r = await api.patch(f"{MANAGE}/{scenario_id}/draft", json={"authorUid": "author-2", "operations": [
        {"op": "addTriggerEvent", "event": "domain.message.created"},
        {"op": "addLoader", "stage": "afterConditions", "loader": {
            "name": "chat", "alias": "conversation", "params": {"id": {"##provide": {"provider": "message", "key": "parent_chat"}}}}},
        {"op": "addCondition", "condition": HELP_ONLY},
        {"op": "addCondition", "condition": {"name": "compare", "params": {
            "comparison": "Equal", "value": {"##provide": {"provider": "message", "key": "text"}}, "compareTo": "stop"}}},
        {"op": "addAction", "action": {"name": "request", "params": {"url": receiver.url, "data": {
            "eventName": "keyword", "eventData": {"text": "%message:text%", "chat": {"##provide": {
                "provider": "conversation", "key": "conversation"}}}}}}},
        {"op": "setUnorderedActions", "value": True},
        {"op": "setDescription", "description": "help or stop"},
    ]})
    assert r.status_code == 200, r.text
    [draft] = r.json()["drafts"]
    assert draft["metadata"]["authorUid"] == "author-2"
    assert len(draft["conditions"]) == 2  # two groups: help OR stop
    assert draft["options"] == {"unorderedActions": True} and draft["description"] == "help or stop"
    assert draft["actions"][0]["params"]["method"] == "post"  # normalized as Import stores it

    r = await api.post(f"{MANAGE}/{scenario_id}/revisions")
    assert r.status_code == 201, r.text
    [revision] = r.json()["inactiveRevisions"]
    assert revision["version"] == 1 and revision["parentVersion"] is None
    assert revision["metadata"]["authorUid"] == "author-2"  # the draft's author (the body named none)
    assert revision["metadata"]["created"] >= draft["metadata"]["modified"]  # made a revision just now
    r = await api.post(f"{MANAGE}/{scenario_id}/activate")
    assert r.json()["activeRevision"]["version"] == 1

    for text in ("hi", "help", "stop", "later"):
        await incoming(live.url, wa_account, "972500000202", text)
    await wait_processed(db)
    await receiver.wait_for(2)
    await receiver.settle()
    assert [r.body["eventData"]["text"] for r in receiver.requests] == ["help", "stop"]
    assert receiver.requests[0].body["eventData"]["chat"]["channelInfo"]["id"] == "972500000202"


async def make_revision(api: httpx.AsyncClient, scenario_id: str, *ops: dict[str, Any]) -> dict[str, Any]:
    r = await api.patch(f"{MANAGE}/{scenario_id}/draft", json=list(ops) or [{"op": "setUnorderedActions", "value": False}])
    assert r.status_code == 200, r.text
    r = await api.post(f"{MANAGE}/{scenario_id}/revisions")
    assert r.status_code == 201, r.text
    return r.json()


async def test_remove_and_replace_operations(api: httpx.AsyncClient, receiver: Receiver) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url, as_status="inactive")
    sid = scenario["_id"]
    other = f"{receiver.url}/other"
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[
        {"op": "addCondition", "group": 0, "index": 0, "condition": HELP_ONLY},
        {"op": "replaceCondition", "group": 0, "index": 1, "condition": {"name": "filtrex", "params": {
            "expression": "exists(message.text)"}}},
        {"op": "addCondition", "condition": HELP_ONLY},
        {"op": "removeCondition", "group": 1, "index": 0},  # the group's last: the group goes
        {"op": "addAction", "action": request_action(other, "second")},
        {"op": "replaceAction", "index": 0, "action": request_action(other, "first")},
        {"op": "removeAction", "index": 1},
        {"op": "addLoader", "stage": "beforeConditions", "loader": {"name": "chat", "alias": "early", "params": {
            "id": {"##provide": {"provider": "message", "key": "parent_chat"}}}}},
        {"op": "replaceLoader", "stage": "beforeConditions", "index": 0, "loader": {"name": "chat", "alias": "first",
         "params": {"id": {"##provide": {"provider": "message", "key": "parent_chat"}}}}},
        {"op": "removeLoader", "stage": "afterConditions", "index": 0},
        # Without triggers for a moment: a draft may be incomplete.
        {"op": "removeTriggerEvent", "event": "domain.message.created"},
        {"op": "addTriggerEvent", "event": "domain.message.created"},
    ])
    assert r.status_code == 200, r.text
    [draft] = r.json()["drafts"]
    assert [[c["params"]["expression"] for c in g] for g in draft["conditions"]] == [
        ['text == "help"', "exists(message.text)"]]
    assert [a["params"]["data"]["eventName"] for a in draft["actions"]] == ["first"]
    assert draft["actions"][0]["params"]["url"] == other
    assert [lo["alias"] for lo in draft["loaders"]["beforeConditions"]] == ["first"]
    assert draft["loaders"]["afterConditions"] == []
    assert draft["triggerEvents"] == ["domain.message.created"]

    # A second request edits the same draft.
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[{"op": "rename", "name": "second edit"}])
    assert r.status_code == 200 and len(r.json()["drafts"]) == 1
    assert r.json()["drafts"][0]["conditions"] == draft["conditions"]


def _draft_ops_cases() -> list[tuple[str, Any, str, str]]:
    """(what, body, path, reason) — each against a scenario imported from new-incoming-messages."""
    return [
        ("not an array", {"op": "rename"}, "body.operations", "missing"),
        ("empty", [], "body", "non-empty array"),
        ("not an object", ["rename"], "body[0]", "operation object"),
        ("the object form", {"operations": [{"op": "removeAction", "index": 3}]}, "body.operations[0].index",
         "there is no action 3"),
        ("unknown op", [{"op": "addLoop"}], "body[0].op", "must be one of rename"),
        ("unknown field", [{"op": "rename", "name": "x", "title": "y"}], "body[0].title", "unknown field of rename"),
        ("missing field", [{"op": "addCondition"}], "body[0].condition", "missing"),
        ("bad stage", [{"op": "removeLoader", "stage": "later", "index": 0}], "body[0].stage", "beforeConditions"),
        ("index not a position", [{"op": "removeAction", "index": -1}], "body[0].index", "position"),
        ("index a bool", [{"op": "removeAction", "index": True}], "body[0].index", "position"),
        ("no such action", [{"op": "removeAction", "index": 1}], "body[0].index", "there is no action 1"),
        ("no such group", [{"op": "addCondition", "group": 3, "condition": HELP_ONLY}], "body[0].group",
         "there is no condition group 3"),
        ("insert past the end", [{"op": "addAction", "index": 5, "action": request_action("https://x.example/a")}],
         "body[0].index", "must be 0 to 1"),
        ("bad expression", [{"op": "addCondition", "group": 0, "condition": {"name": "filtrex", "params": {
            "expression": 'text = "help"'}}}], "body[0].condition.params.expression", "invalid expression"),
        ("unknown condition", [{"op": "addCondition", "condition": {"name": "regex", "params": {}}}],
         "body[0].condition.name", "unknown condition 'regex'"),
        ("condition provider not there yet", [{"op": "addCondition", "condition": {"name": "filtrex", "params": {
            "expression": "exists(x)", "value": {"##provide": {"provider": "chat", "key": "chat"}}}}}],
         "body[0].condition.params.value", "unknown provider 'chat' here (available: message)"),
        ("unknown trigger", [{"op": "addTriggerEvent", "event": "domain.message.deleted"}], "body[0].event",
         "unknown trigger event 'domain.message.deleted'"),
        ("trigger twice", [{"op": "addTriggerEvent", "event": "domain.message.created"}], "body[0].event",
         "already a trigger event"),
        ("trigger not there", [{"op": "removeTriggerEvent", "event": "domain.chat.pending"}], "body[0].event",
         "not a trigger event of the draft"),
        ("a trigger whose providers the draft does not read", [{"op": "addTriggerEvent", "event": "domain.chat.pending"}],
         "body[0]", "draft.conditions[0][0].params.value: unknown provider 'message' here"),
        ("loader still read", [{"op": "removeLoader", "stage": "afterConditions", "index": 0}], "body[0]",
         "draft.actions[0].params.data.eventData.chat: unknown provider 'chat'"),
        ("unknown loader param", [{"op": "replaceLoader", "stage": "afterConditions", "index": 0, "loader": {
            "name": "chat", "alias": "chat", "params": {"id": "x", "phone": "1"}}}],
         "body[0].loader.params.phone", "unknown parameter"),
        ("template URL", [{"op": "replaceAction", "index": 0, "action": request_action("{{yourWebhookURL}}")}],
         "body[0].action.params.url", "still has a template placeholder"),
        ("action method", [{"op": "addAction", "action": {"name": "request", "params": {
            "url": "https://x.example/a", "method": "get", "data": {}}}}], "body[0].action.params.method", "post, put"),
        ("unknown action", [{"op": "addAction", "action": {"name": "sendEmail", "params": {}}}],
         "body[0].action.name", "unknown action 'sendEmail' (available: request)"),
        ("empty name", [{"op": "rename", "name": "  "}], "body[0].name", "non-empty string"),
        ("name not a string", [{"op": "rename", "name": 7}], "body[0].name", "non-empty string"),
        ("unordered not a bool", [{"op": "setUnorderedActions", "value": "yes"}], "body[0].value", "true or false"),
        ("too many actions", [{"op": "addAction", "action": request_action("https://x.example/a")}] * 10,
         "body[9]", "draft.actions: at most 10 items"),
        ("NUL in a value", [{"op": "rename", "name": "a\x00b"}], "body[0].name", "NUL"),
        ("the second of two fails", [{"op": "rename", "name": "fine"},
                                     {"op": "removeCondition", "group": 0, "index": 4}],
         "body[1].index", "there is no condition 4"),
    ]


CASES = _draft_ops_cases()


@pytest.mark.parametrize(("what", "body", "path", "reason"), CASES, ids=[c[0] for c in CASES])
async def test_a_bad_operation_is_400_naming_it_and_nothing_changes(
    api: httpx.AsyncClient, receiver: Receiver, what: str, body: Any, path: str, reason: str
) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    before = await scenario_of(api, scenario["_id"])
    r = await api.patch(f"{MANAGE}/{scenario['_id']}/draft", json=body)
    assert r.status_code == 400, r.text
    error = r.json()
    assert error["success"] is False and error["code"] in ("invalid_scenario", "invalid_request")
    matching = [d for d in error["details"] if d["path"] == path]
    assert matching, error["details"]
    assert reason in matching[0]["reason"], matching[0]["reason"]
    assert path in error["error"]
    assert await scenario_of(api, scenario["_id"]) == before  # no draft was started, nothing changed


async def test_every_shape_problem_is_reported_at_once_and_a_failed_batch_leaves_the_draft(
    api: httpx.AsyncClient, receiver: Receiver
) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    sid = scenario["_id"]
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[{"op": "nope"}, {"op": "rename"}, {"op": "removeAction"}])
    assert [d["path"] for d in r.json()["details"]] == ["body[0].op", "body[1].name", "body[2].index"]
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[{"op": "rename", "name": "kept"}])
    assert r.status_code == 200
    kept = await scenario_of(api, sid)
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[
        {"op": "rename", "name": "lost"}, {"op": "addCondition", "condition": HELP_ONLY},
        {"op": "addCondition", "condition": {"name": "filtrex", "params": {"expression": "(("}}},
    ])
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "body[2].condition.params.expression"
    assert await scenario_of(api, sid) == kept


async def test_odd_bodies_never_500(api: httpx.AsyncClient, receiver: Receiver) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    sid = scenario["_id"]
    odd: list[Any] = [None, 1, "x", [], {}, {"##provide": 1}, [[]], [None], [{"op": None}], "😀" * 10]
    for op, operation in OPERATIONS.items():
        for field in operation.field_names:
            for value in odd:
                body = {"op": op, "stage": "afterConditions", "index": 0, "group": 0, field: value}
                r = await api.patch(f"{MANAGE}/{sid}/draft", json=[{k: v for k, v in body.items()
                                                                    if k in (*operation.field_names, "op")}])
                assert r.status_code in (200, 400), (op, field, value, r.text)
    for value in odd:  # json=None sends no body at all: 400, a body is required
        r = await api.patch(f"{MANAGE}/{sid}/draft", json=value)
        assert r.status_code == 400, (value, r.text)
        for path in ("copy", "revisions"):
            r = await api.post(f"{MANAGE}/{sid}/{path}", json=value)
            assert r.status_code in (201, 400, 409), (path, value, r.text)
        r = await api.post(f"{MANAGE}/create", json=value)
        assert r.status_code == 400, (value, r.text)
    for raw in (b"{not json", b"[" * 1000 + b"]" * 1000, b'{"operations": ' + b"[" * 300 + b"]" * 300 + b"}"):
        r = await api.patch(f"{MANAGE}/{sid}/draft", content=raw, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, r.text
    # The one rule (api/request_body.json_body): a JSON body not sent as JSON is 415, whatever it holds;
    # no body is 400 whatever its type; a body sent as JSON that does not parse is 400 (above).
    rename = b'[{"op": "rename", "name": "never"}]'
    for content_type in ("text/plain", "application/x-www-form-urlencoded", None):
        headers = {"Content-Type": content_type} if content_type else {}
        r = await api.patch(f"{MANAGE}/{sid}/draft", content=rename, headers=headers)
        assert r.status_code == 415 and r.json()["code"] == "unsupported_media_type", (content_type, r.text)
        r = await api.patch(f"{MANAGE}/{sid}/draft", content=b"", headers=headers)
        assert r.status_code == 400 and r.json()["details"] == [{"path": "body", "reason": "is required"}], r.text
    assert all(d["name"] != "never" for d in (await scenario_of(api, sid))["drafts"])


async def test_copy_refuses_unknown_versions_and_bad_bodies(api: httpx.AsyncClient, receiver: Receiver) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    sid = scenario["_id"]
    r = await api.post(f"{MANAGE}/{sid}/copy", json={"fromVersion": 2, "newName": "x"})
    assert r.status_code == 404 and r.json()["code"] == "revision_not_found", r.text
    assert "revision 2" in r.json()["error"]
    r = await api.post(f"{MANAGE}/000000000000000000000000/copy", json={})
    assert r.status_code == 404 and r.json()["code"] == "scenario_not_found"
    r = await api.post(f"{MANAGE}/{sid}/copy", json={"fromVersion": 0, "newName": "", "other": 1})
    assert r.status_code == 400
    assert [d["path"] for d in r.json()["details"]] == ["body.fromVersion", "body.newName", "body.other"]

    # Without a body: the latest revision, named after the source.
    await make_revision(api, sid, {"op": "addCondition", "group": 0, "condition": HELP_ONLY})
    r = await api.post(f"{MANAGE}/{sid}/copy")
    assert r.status_code == 201, r.text
    [only] = r.json()["inactiveRevisions"]
    assert only["version"] == 1 and only["name"] == "(SUB) New Incoming Messages (copy)"
    assert len(only["conditions"][0]) == 2  # from revision 2
    assert only["parentVersion"] is None and only["revisionComment"] is None

    draft_only = await subscribe(api, "chat-pending", receiver.url, as_status="draft")
    r = await api.post(f"{MANAGE}/{draft_only['_id']}/copy")
    assert r.status_code == 422 and r.json()["code"] == "scenario_has_no_revision"


async def test_revisions_numbers_drafts_and_deleting(api: httpx.AsyncClient, receiver: Receiver) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    sid = scenario["_id"]
    r = await api.post(f"{MANAGE}/{sid}/revisions")
    assert r.status_code == 409 and r.json()["code"] == "no_draft", r.text

    two = await make_revision(api, sid)
    assert [v["version"] for v in two["inactiveRevisions"]] == [2] and two["activeRevision"]["version"] == 1
    r = await api.delete(f"{MANAGE}/{sid}/revisions/2")
    assert r.status_code == 200
    three = await make_revision(api, sid)  # a deleted revision's number is not given again
    assert [v["version"] for v in three["inactiveRevisions"]] == [3]
    assert three["inactiveRevisions"][0]["parentVersion"] == 1

    for version, status, code in [(2, 404, "revision_not_found"), (1, 409, "revision_active")]:
        r = await api.delete(f"{MANAGE}/{sid}/revisions/{version}")
        assert r.status_code == status and r.json()["code"] == code, r.text
    for bad in ("0", "x", "-1", "99999999999"):  # names no revision: 404, as every path parameter (docs/api-contract.md)
        r = await api.delete(f"{MANAGE}/{sid}/revisions/{bad}")
        assert r.status_code == 404 and r.json()["code"] == "revision_not_found", (bad, r.text)

    # Inactive, the scenario's revisions may all go but the last.
    await api.post(f"{MANAGE}/{sid}/inactivate")
    assert (await api.delete(f"{MANAGE}/{sid}/revisions/1")).status_code == 200
    r = await api.delete(f"{MANAGE}/{sid}/revisions/3")
    assert r.status_code == 409 and r.json()["code"] == "scenario_would_be_empty", r.text

    # A draft can be discarded, unless it is all there is.
    r = await api.patch(f"{MANAGE}/{sid}/draft", json=[{"op": "rename", "name": "maybe"}])
    assert r.json()["drafts"][0]["parentVersion"] == 3
    r = await api.delete(f"{MANAGE}/{sid}/draft")
    assert r.status_code == 200 and r.json()["drafts"] == []
    r = await api.delete(f"{MANAGE}/{sid}/draft")
    assert r.status_code == 404 and r.json()["code"] == "draft_not_found"
    empty = (await api.post(f"{MANAGE}/create", json={"name": "only a draft"})).json()
    r = await api.delete(f"{MANAGE}/{empty['_id']}/draft")
    assert r.status_code == 409 and r.json()["code"] == "scenario_would_be_empty"
    for method, path, body in [("PATCH", "/draft", [{"op": "rename", "name": "x"}]), ("DELETE", "/draft", None),
                               ("POST", "/revisions", {}), ("DELETE", "/revisions/1", None), ("POST", "/copy", {})]:
        r = await api.request(method, f"{MANAGE}/not-an-id{path}", json=body)
        assert r.status_code == 404 and r.json()["code"] == "scenario_not_found", (path, r.text)


async def test_create_empty_scenario_refuses_bad_bodies(api: httpx.AsyncClient) -> None:
    for body, path in [({}, "body.name"), ({"name": ""}, "body.name"), ({"name": "x" * 201}, "body.name"),
                       ({"name": "x", "description": 1}, "body.description"), ({"name": "x", "data": {}}, "body.data"),
                       ({"name": "x", "authorUid": ""}, "body.authorUid"), ([], "body")]:
        r = await api.post(f"{MANAGE}/create", json=body)
        assert r.status_code == 400, (body, r.text)
        assert r.json()["details"][0]["path"] == path, (body, r.text)
    assert (await api.get(MANAGE)).json()["total"] == 0


async def test_receivers_on_private_addresses_are_refused_in_drafts_too(settings: Settings, db: Database) -> None:
    secret = await token(db)
    async with start_server(settings, db) as live, httpx.AsyncClient(
        base_url=live.url, headers={"Authorization": f"Bearer {secret}"}
    ) as api:
        created = (await api.post(f"{MANAGE}/create", json={"name": "private"})).json()
        r = await api.patch(f"{MANAGE}/{created['_id']}/draft", json=[
            {"op": "addTriggerEvent", "event": "domain.message.created"},
            {"op": "addAction", "action": request_action("http://10.1.2.3/hooks")},
        ])
        assert r.status_code == 400
        assert r.json()["details"][0]["path"] == "body[1].action.params.url"
        assert "INBOXD_EVENTS_ALLOW_PRIVATE_URLS" in r.json()["details"][0]["reason"]


async def test_copy_keeps_the_definition_exactly(api: httpx.AsyncClient, receiver: Receiver) -> None:
    body = template("messages-with-specific-text", receiver.url, word1="help", word2="stop")
    body["data"]["tags"] = ["support"]
    body["data"]["attachedData"] = {"team": "blue"}
    r = await api.post(f"{MANAGE}/import", json=body)
    source = r.json()["activeRevision"]
    copied = (await api.post(f"{MANAGE}/{source['scenarioId']}/copy", json={"newName": "same"})).json()
    [revision] = copied["inactiveRevisions"]
    skip = {"_id", "scenarioId", "name", "status", "metadata", "revisionComment"}
    assert {k: v for k, v in revision.items() if k not in skip} == {
        k: v for k, v in copy.deepcopy(source).items() if k not in skip | {"status"}}


ON_BEHALF = Scope.MANAGE_SCENARIOS_ON_BEHALF_OF_USER
EDIT = (Scope.EDIT_SCENARIOS, ON_BEHALF)
RENAME = [{"op": "rename", "name": "renamed"}]
# In an order in which each succeeds once its scopes are held.
ENDPOINTS: list[tuple[str, str, Any, tuple[Scope, ...]]] = [
    ("GET", "/components", None, (Scope.VIEW_SCENARIOS, ON_BEHALF)),
    ("POST", "/create", {"name": "empty"}, (Scope.CREATE_SCENARIOS, ON_BEHALF)),
    ("POST", "/{id}/copy", {"fromVersion": 1, "newName": "copy"}, (Scope.CREATE_SCENARIOS, ON_BEHALF)),
    ("PATCH", "/{id}/draft", RENAME, EDIT),
    ("POST", "/{id}/revisions", {}, EDIT),
    ("PATCH", "/{id}/draft", RENAME, EDIT),
    ("DELETE", "/{id}/draft", None, EDIT),
    ("DELETE", "/{id}/revisions/2", None, EDIT),
]


async def test_each_authoring_endpoint_demands_its_scopes(
    live: LiveServer, db: Database, api: httpx.AsyncClient, receiver: Receiver
) -> None:
    scenario = await subscribe(api, "new-incoming-messages", receiver.url)
    async with httpx.AsyncClient(base_url=live.url) as http:
        for method, path, body, scopes in ENDPOINTS:
            url = MANAGE + path.replace("{id}", scenario["_id"])
            assert (await http.request(method, url, json=body)).status_code == 401
            for missing in scopes:
                secret = await token(db, *[s for s in Scope if s != missing])
                r = await http.request(method, url, json=body, headers={"Authorization": f"Bearer {secret}"})
                assert r.status_code == 403, (method, path, missing)
                assert r.json()["details"] == [{"scope": missing.value, "reason": "missing scope"}]
            secret = await token(db, *scopes)
            r = await http.request(method, url, json=body, headers={"Authorization": f"Bearer {secret}"})
            assert r.status_code in (200, 201), (method, path, r.text)
        paths = (await http.get(f"{API}/openapi.json")).json()["paths"]
    for method, path, _body, scopes in ENDPOINTS:
        documented = paths[MANAGE + path.replace("{id}", "{scenarioId}").replace("/2", "/{version}")][method.lower()]
        assert set(documented["x-required-scopes"]) == {s.value for s in scopes}
