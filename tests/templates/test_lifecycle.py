"""Template management over HTTP: create, localizations, submit to the simulator (as Meta), PATCH,
DELETE, and List All Templates with its filters and sync."""

from __future__ import annotations

import asyncio

import pytest

from inboxd.store.tables import channel_accounts, template_localizations
from tests.support.wa import API, WhatsAppRig
from tests.templates.conftest import approved_template, create, localize, submit, templates_path, wait_status

BODY_ONLY = {"language": "en", "components": [{"type": "BODY", "text": "Hello"}]}


async def sim_templates(rig: WhatsAppRig) -> list[dict]:  # type: ignore[type-arg]
    r = await rig.control.get("/simulator/templates")
    return [t for t in r.json()["data"] if t["name"] != "hello_world"]


async def listing(rig: WhatsAppRig, **params: str) -> list[dict]:  # type: ignore[type-arg]
    r = await rig.client.get(f"{API}/whatsapp/templates", params=params)
    assert r.status_code == 200, r.text
    return r.json()


# ----------------------------------------------------------------------------- create


async def test_create_answers_the_template_object(rig: WhatsAppRig) -> None:
    template = await create(rig, title="Order ready", chatStatus=0, setBotNode="start", departments=["sales"],
                            replyText="Thanks!", bot="helper", isDefault=True)
    assert template["name"] == "inbox_utility_1" and template["title"] == "Order ready"
    assert template["usage"] == "inbox" and template["chatStatus"] == 0 and template["isDefault"] is True
    assert template["departments"] == ["sales"] and template["channelInfo"] == {"name": "whatsapp",
                                                                                "accountId": rig.account.account_id}
    # Bot fields are stored and returned (inboxd has no bot engine acting on them).
    assert template["setBotNode"] == "start" and template["bot"] == "helper" and template["replyText"] == "Thanks!"
    assert template["localizationDrafts"] == {} and template["defaults"] == {}
    assert template["provider_template"] == {"name": "inbox_utility_1", "category": "UTILITY", "localizations": [],
                                             "metadata": {}}
    assert isinstance(template["created"], int) and template["updatedAt"].endswith("Z")


async def test_generated_names_count_per_usage_and_category(rig: WhatsAppRig) -> None:
    names = [(await create(rig))["name"] for _ in range(3)]
    assert names == ["inbox_utility_1", "inbox_utility_2", "inbox_utility_3"]
    assert (await create(rig, usage="bulk", category="MARKETING"))["name"] == "bulk_marketing_1"
    concurrent = await asyncio.gather(*(rig.client.post(templates_path(rig), json={
        "title": "t", "category": "UTILITY", "chatStatus": 1, "usage": "inbox"}) for _ in range(5)))
    assert {r.status_code for r in concurrent} == {200}
    assert len({r.json()["name"] for r in concurrent}) == 5


async def test_names_are_unique_per_account_ignoring_case(rig: WhatsAppRig) -> None:
    await create(rig, name="Order_Ready")
    for name in ("Order_Ready", "order_ready"):
        r = await rig.client.post(templates_path(rig), json={"title": "t", "category": "UTILITY", "chatStatus": 1,
                                                             "usage": "inbox", "name": name})
        assert r.status_code == 409 and r.json()["code"] == "template_name_taken"
    only_default = await create(rig, isDefault=True)
    await create(rig, isDefault=True)
    found = await listing(rig, includeAll="true")
    assert [t["name"] for t in found if t["isDefault"]] != [only_default["name"]]
    assert sum(t["isDefault"] for t in found) == 1


async def test_create_reports_every_problem(rig: WhatsAppRig) -> None:
    r = await rig.client.post(templates_path(rig), json={"category": "AUTH", "chatStatus": 4, "usage": "x",
                                                         "name": "bad name", "setBotNode": "n",
                                                         "responsibleAgent": "a@x", "responsibleDepartment": "d",
                                                         "color": "red"})
    assert r.status_code == 400
    paths = sorted(d["path"] for d in r.json()["details"])
    assert paths == ["body.category", "body.chatStatus", "body.color", "body.name", "body.responsibleAgent",
                     "body.title", "body.usage"]
    unknown = await rig.client.post(f"{API}/whatsapp/templates/15550000000", json={"title": "t", "category": "UTILITY",
                                                                                  "chatStatus": 1, "usage": "inbox"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "account_not_found"
    for bad in (b"", b"[1]", b"{"):
        r = await rig.client.post(templates_path(rig), content=bad, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, bad


# ----------------------------------------------------------------------------- localizations


async def test_localization_draft_then_update_then_submitted_is_locked(rig: WhatsAppRig) -> None:
    name = (await create(rig))["name"]
    first = await localize(rig, name, BODY_ONLY)
    assert first["localizationDrafts"]["en"]["components"] == [{"type": "BODY", "text": "Hello"}]
    second = await localize(rig, name, {"language": "en", "components": [
        {"type": "body", "text": "Hi {{1}}"}, {"type": "footer", "text": "Lucky Shrub"}], "defaults": {"body": ["there"]}})
    draft = second["localizationDrafts"]["en"]["components"]
    # Normalized: upper-case types; the defaults became the review sample.
    assert draft == [{"type": "BODY", "text": "Hi {{1}}", "example": {"body_text": [["there"]]}},
                     {"type": "FOOTER", "text": "Lucky Shrub"}]
    assert second["defaults"] == {"en": {"body": ["there"]}}
    await submit(rig, name)
    locked = await rig.client.post(templates_path(rig, name, "localizations"), json=BODY_ONLY)
    assert locked.status_code == 422 and locked.json()["code"] == "localization_already_submitted"
    again = await rig.client.post(templates_path(rig, name, "localizations", "en", "submit"))
    assert again.status_code == 422 and again.json()["code"] == "localization_already_submitted"
    missing = await rig.client.post(templates_path(rig, name, "localizations", "fr", "submit"))
    assert missing.status_code == 404 and missing.json()["code"] == "localization_not_found"


async def test_localization_rules_answer_400_with_paths(rig: WhatsAppRig) -> None:
    name = (await create(rig))["name"]
    r = await rig.client.post(templates_path(rig, name, "localizations"), json={
        "language": "English",
        "components": [
            {"type": "HEADER", "format": "TEXT", "text": "Hi {{1}} {{2}}"},
            {"type": "BODY", "text": "Hi {{2}}"},
            {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Yes"}, {"type": "URL", "text": "Go", "url": "https://x.example"}]},
        ]})
    assert r.status_code == 400
    paths = sorted(d["path"] for d in r.json()["details"])
    assert paths == ["body.components[0].text", "body.components[1].text", "body.components[2].buttons",
                     "body.language"]
    no_sample = await rig.client.post(templates_path(rig, name, "localizations"), json={
        "language": "en", "components": [{"type": "BODY", "text": "Hi {{1}}"}]})
    assert no_sample.status_code == 400 and "example.body_text" in no_sample.json()["details"][0]["reason"]
    wrong_defaults = await rig.client.post(templates_path(rig, name, "localizations"), json={
        "language": "en", "components": [{"type": "BODY", "text": "Hi {{1}}"}], "defaults": {"body": ["a", "b"]}})
    assert wrong_defaults.status_code == 400
    assert wrong_defaults.json()["details"][0]["path"] == "body.defaults.body"


# ----------------------------------------------------------------------------- submit and statuses


async def test_submit_goes_to_graph_and_the_webhook_approves(rig: WhatsAppRig) -> None:
    r = await rig.control.patch("/simulator/config", json={"template_approval_delay": -1})
    assert r.status_code == 200
    name = (await create(rig, category="MARKETING"))["name"]
    await localize(rig, name, {"language": "en_US", "components": [
        {"type": "HEADER", "format": "TEXT", "text": "Our {{1}} is on!", "example": {"header_text": ["Summer Sale"]}},
        {"type": "BODY", "text": "Shop now through {{1}}", "example": {"body_text": [["the end of August"]]}},
        {"type": "BUTTONS", "buttons": [{"type": "QUICK_REPLY", "text": "Unsubscribe"}]}]})
    submitted = await submit(rig, name, "en_US")
    [loc] = submitted["provider_template"]["localizations"]
    assert loc["status"] == "PENDING" and loc["rejectionReason"] == "NONE"
    meta_id = loc["metadata"]["providerTemplateId"]
    [at_meta] = await sim_templates(rig)
    assert at_meta["id"] == meta_id and at_meta["name"] == name and at_meta["language"] == "en_US"
    assert at_meta["category"] == "MARKETING" and at_meta["components"] == loc["components"]
    r = await rig.control.post(f"/simulator/templates/{meta_id}/status", json={"status": "REJECTED", "reason": "INVALID_FORMAT"})
    assert r.status_code == 200, r.text
    rejected = await wait_status(rig, name, "en_US", "REJECTED")
    assert rejected["provider_template"]["localizations"][0]["rejectionReason"] == "INVALID_FORMAT"
    assert await listing(rig) == []  # not approved: left out by default
    await rig.control.post(f"/simulator/templates/{meta_id}/status", json={"status": "APPROVED"})
    approved = await wait_status(rig, name, "en_US", "APPROVED")
    assert approved["provider_template"]["localizations"][0]["rejectionReason"] == "NONE"
    assert [t["name"] for t in await listing(rig)] == [name]


async def test_graph_refusing_a_submit_is_502_and_the_localization_can_be_fixed(rig: WhatsAppRig) -> None:
    name = (await create(rig))["name"]
    await localize(rig, name, BODY_ONLY)
    await rig.fault(kind="graph_error", endpoint="templates", code=100, http_status=400, count=1)
    r = await rig.client.post(templates_path(rig, name, "localizations", "en", "submit"))
    assert r.status_code == 502, r.text
    body = r.json()
    assert body["code"] == "template_submit_failed" and body["channelError"]["code"] == 100
    [loc] = body["template"]["provider_template"]["localizations"]
    assert loc["status"] == "SUBMIT_FAILED" and loc["metadata"]["submitError"]["code"] == 100
    # SUBMIT_FAILED never reached Meta: it can be drafted again, or resubmitted as it is.
    await localize(rig, name, {"language": "en", "components": [{"type": "BODY", "text": "Hello again"}]})
    await submit(rig, name)
    done = await wait_status(rig, name, "en", "APPROVED")
    assert done["provider_template"]["localizations"][0]["components"][0]["text"] == "Hello again"


async def test_a_submit_whose_answer_was_lost_adopts_what_meta_has(rig: WhatsAppRig) -> None:
    name = (await create(rig))["name"]
    await localize(rig, name, BODY_ONLY)
    await submit(rig, name)
    await wait_status(rig, name, "en", "APPROVED")
    async with rig.db.write() as conn:  # as if Graph's answer had been lost after Meta created it
        await conn.execute(template_localizations.update().values(status="SUBMIT_FAILED", provider_template_id=None))
    r = await rig.client.post(templates_path(rig, name, "localizations", "en", "submit"))
    assert r.status_code == 200, r.text
    [loc] = r.json()["provider_template"]["localizations"]
    assert loc["status"] == "APPROVED" and loc["metadata"]["providerTemplateId"]


async def test_concurrent_drafts_and_submits_of_one_template(rig: WhatsAppRig) -> None:
    name = (await create(rig))["name"]
    languages = ["en", "he", "fr", "de"]
    drafts = await asyncio.gather(*(rig.client.post(templates_path(rig, name, "localizations"), json={
        "language": lang, "components": [{"type": "BODY", "text": f"Hello {lang}"}]}) for lang in languages))
    assert {r.status_code for r in drafts} == {200}
    found = await listing(rig, includeAll="true")
    assert sorted(found[0]["localizationDrafts"]) == sorted(languages)  # none lost
    submits = await asyncio.gather(*(rig.client.post(templates_path(rig, name, "localizations", "en", "submit"))
                                     for _ in range(4)))
    assert sorted(r.status_code for r in submits) == [200, 422, 422, 422]
    assert len([t for t in await sim_templates(rig) if t["language"] == "en"]) == 1


async def test_an_account_without_a_waba_id_cannot_submit(rig: WhatsAppRig) -> None:
    async with rig.db.write() as conn:
        await conn.execute(channel_accounts.update().values(waba_id=None))
    name = (await create(rig))["name"]
    await localize(rig, name, BODY_ONLY)
    r = await rig.client.post(templates_path(rig, name, "localizations", "en", "submit"))
    assert r.status_code == 422 and r.json()["code"] == "account_without_waba"
    sync = await rig.client.get(f"{API}/whatsapp/templates", params={"accountId": rig.account.account_id, "sync": "true"})
    assert sync.status_code == 422 and sync.json()["code"] == "account_without_waba"


# ----------------------------------------------------------------------------- PATCH and DELETE


async def test_patch_changes_attributes_but_not_name_or_category(rig: WhatsAppRig) -> None:
    name = (await create(rig, responsibleAgent="dana@example.com"))["name"]
    r = await rig.client.patch(templates_path(rig, name), json={
        "title": "Updated Template", "chatStatus": 3, "usage": "bulk", "replyText": "...",
        "responsibleAgent": None, "responsibleDepartment": "support"})
    assert r.status_code == 200, r.text
    updated = r.json()
    assert updated["title"] == "Updated Template" and updated["chatStatus"] == 3 and updated["usage"] == "bulk"
    assert updated["responsibleDepartment"] == "support" and "responsibleAgent" not in updated
    refused = await rig.client.patch(templates_path(rig, name), json={"name": "x", "category": "MARKETING", "title": None})
    assert refused.status_code == 400
    assert sorted(d["path"] for d in refused.json()["details"]) == ["body.category", "body.name", "body.title"]
    both = await rig.client.patch(templates_path(rig, name), json={"responsibleAgent": "a@example.com"})
    assert both.status_code == 400  # the department is still set
    bot_node = await rig.client.patch(templates_path(rig, name), json={"setBotNode": "start"})
    assert bot_node.status_code == 400 and bot_node.json()["details"][0]["path"] == "body.setBotNode"
    missing = await rig.client.patch(templates_path(rig, "nope"), json={"title": "t"})
    assert missing.status_code == 404 and missing.json()["code"] == "template_not_found"


async def test_delete_answers_ok_and_deletes_at_meta_too(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    assert len(await sim_templates(rig)) == 1
    r = await rig.client.delete(templates_path(rig, template["name"]))
    assert r.status_code == 200 and r.json() == "OK" and r.text == '"OK"'
    assert await sim_templates(rig) == []
    assert await listing(rig, includeAll="true") == []
    again = await rig.client.delete(templates_path(rig, template["name"]))
    assert again.status_code == 404
    draft_only = (await create(rig))["name"]  # never submitted: nothing to delete at Meta
    await localize(rig, draft_only, BODY_ONLY)
    assert (await rig.client.delete(templates_path(rig, draft_only))).json() == "OK"


async def test_delete_keeps_the_template_when_meta_refuses(rig: WhatsAppRig) -> None:
    template = await approved_template(rig, body_text="Hello")
    await rig.fault(kind="graph_error", endpoint="templates", code=131000, http_status=500, count=1)
    r = await rig.client.delete(templates_path(rig, template["name"]))
    assert r.status_code == 503 and r.json()["code"] == "channel_unavailable"
    assert [t["name"] for t in await listing(rig)] == [template["name"]]
    # Meta no longer having it is no reason to keep it here.
    await rig.control.delete(f"/v23.0/{rig.sim.config.waba_id}/message_templates", params={"name": template["name"]},
                             headers={"Authorization": f"Bearer {rig.sim.config.access_token}"})
    assert (await rig.client.delete(templates_path(rig, template["name"]))).json() == "OK"


# ----------------------------------------------------------------------------- List All Templates


async def test_listing_filters(rig: WhatsAppRig) -> None:
    plain = await approved_template(rig, body_text="Plain")
    headed = await approved_template(rig, components=[{"type": "HEADER", "format": "TEXT", "text": "Hey"},
                                                      {"type": "BODY", "text": "With a header"}])
    draft = (await create(rig))["name"]
    await localize(rig, draft, BODY_ONLY)
    assert [t["name"] for t in await listing(rig)] == [plain["name"], headed["name"]]
    assert [t["name"] for t in await listing(rig, includeAll="true")] == [plain["name"], headed["name"], draft]
    assert [t["name"] for t in await listing(rig, hasHeader="true")] == [headed["name"]]
    assert [t["name"] for t in await listing(rig, hasHeader="false")] == [plain["name"]]
    assert [t["name"] for t in await listing(rig, accountId=rig.account.account_id)] == [plain["name"], headed["name"]]
    assert [t["name"] for t in await listing(rig, accountId="+" + rig.account.account_id)] == [plain["name"], headed["name"]]
    unknown = await rig.client.get(f"{API}/whatsapp/templates", params={"accountId": "15550000000"})
    assert unknown.status_code == 404
    bad = await rig.client.get(f"{API}/whatsapp/templates", params={"includeAll": "yes"})
    assert bad.status_code == 400


async def test_sync_needs_an_account_and_reads_meta(rig: WhatsAppRig) -> None:
    r = await rig.client.get(f"{API}/whatsapp/templates", params={"sync": "true"})
    assert r.status_code == 400 and r.json()["details"][0]["path"] == "query.sync"
    await rig.control.patch("/simulator/config", json={"template_approval_delay": -1})
    name = (await create(rig))["name"]
    await localize(rig, name, BODY_ONLY)
    await submit(rig, name)
    [at_meta] = await sim_templates(rig)
    # Meta's word, without its webhook: only a sync can learn it.
    rig.sim.templates.by_id[at_meta["id"]].status = "APPROVED"
    assert await listing(rig) == []
    synced = await listing(rig, accountId=rig.account.account_id, sync="true")
    # Meta's sample template is imported so it can be sent; ours is now approved.
    assert sorted(t["name"] for t in synced) == sorted(["hello_world", name])
    hello = next(t for t in synced if t["name"] == "hello_world")
    assert hello["usage"] == "inbox" and hello["chatStatus"] == 1 and hello["title"] == "hello_world"
    [loc] = hello["provider_template"]["localizations"]
    assert loc["language"] == "en_US" and loc["status"] == "APPROVED" and loc["components"][0]["type"] == "HEADER"
    # Deleted at Meta: the next sync says so.
    rig.sim.templates.delete(name=name, template_id=None)
    after = await listing(rig, accountId=rig.account.account_id, sync="true", includeAll="true")
    ours = next(t for t in after if t["name"] == name)
    assert ours["provider_template"]["localizations"][0]["status"] == "DELETED"


async def test_sync_failure_is_reported(rig: WhatsAppRig) -> None:
    await rig.fault(kind="graph_error", endpoint="templates", code=2, http_status=503, count=1)
    r = await rig.client.get(f"{API}/whatsapp/templates", params={"accountId": rig.account.account_id, "sync": "true"})
    assert r.status_code == 503 and r.json()["code"] == "channel_unavailable"


@pytest.mark.parametrize("path", ["localizations", "localizations/en/submit"])
async def test_unknown_template_is_404(rig: WhatsAppRig, path: str) -> None:
    r = await rig.client.post(templates_path(rig, "nope", path), json=BODY_ONLY)
    assert r.status_code == 404 and r.json()["code"] == "template_not_found"
