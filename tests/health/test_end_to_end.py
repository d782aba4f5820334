"""Every channel health signal end to end: the simulator plays Meta (a revoked token, Graph error
codes, lasting throttling, quality changes, account webhooks, a broken webhook subscription), the
real adapter and workers meet it, problems appear once and resolve when the signal clears; the
Channel Health Problem events reach a subscriber once each."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest

from inboxd.config import Settings
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.events.conftest import Receiver
from tests.health.conftest import API, eventually, named, problems, subscribe_health_events
from tests.support.cli import cli_env, run_cli
from tests.support.server import LiveServer, start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

TOKEN = "whatsapp_access_token_invalid"


async def active(rig: WhatsAppRig, name: str | None = None) -> list[dict[str, Any]]:
    found = await problems(rig.client)
    return named(found, name) if name else found


async def all_problems(rig: WhatsAppRig) -> list[dict[str, Any]]:
    return await problems(rig.client, includeResolved="true")


async def test_a_revoked_token_is_one_problem_until_the_token_is_fixed(
    rig: WhatsAppRig, receiver: Receiver, tmp_path: Path, db_target: DbTarget
) -> None:
    await subscribe_health_events(rig.client, receiver)
    chat = await rig.user_writes("972521000101", "hi")
    r = await rig.control.post("/simulator/access-token", json={})
    new_token = r.json()["access_token"]

    for text in ("one", "two", "three"):  # every send fails: HTTP 401, error 190
        r = await rig.send(chat, {"type": "text", "text": text})
        assert r.status_code == 502 and r.json()["channelError"]["code"] == 190, r.text
    [problem] = await active(rig)
    assert problem["name"] == TOKEN and problem["severity"] == "error"
    assert problem["impairedFunctionality"] == {"send": True, "receive": False}
    assert problem["source"]["code"] == 190 and problem["source"]["httpStatus"] == 401
    assert f"inboxd channels update {rig.account.account_id} --access-token" in problem["instruction"]
    await receiver.wait_for(1, event_name="channelHealthProblemCreated")

    env = cli_env(tmp_path / "data", db_target.settings_env())
    out = run_cli("channels", "update", rig.account.account_id, "--access-token", new_token, env=env).stdout
    assert "access token" in out and new_token not in out

    async def sent() -> bool:  # the server reads the new token within seconds (at once on PostgreSQL)
        r = await rig.send(chat, {"type": "text", "text": "back"})
        return r.status_code == 200 and bool(r.json()["messages"][0]["channelInfo"].get("id"))

    await eventually(sent, what="a successful send with the new token")
    assert await active(rig) == []
    [resolved] = await all_problems(rig)
    assert resolved["_id"] == problem["_id"] and resolved["resolvedBy"] == "signal"
    await receiver.wait_for(1, event_name="channelHealthProblemResolved")
    await receiver.settle()
    created = receiver.named("channelHealthProblemCreated")
    gone = receiver.named("channelHealthProblemResolved")
    assert len(created) == 1 and len(gone) == 1
    assert created[0].body["eventData"]["problem"]["_id"] == problem["_id"]
    assert gone[0].body["eventData"]["problem"]["resolvedAt"] == resolved["resolvedAt"]


@pytest.mark.parametrize(
    ("code", "name"),
    [
        (131031, "whatsapp_account_locked"),
        (368, "whatsapp_account_restricted"),
        (131042, "whatsapp_payment_issue"),
        (133010, "whatsapp_phone_number_not_registered"),
        (131037, "whatsapp_display_name_not_approved"),
        (131048, "whatsapp_spam_rate_limited"),
    ],
)
async def test_graph_errors_of_the_account_raise_their_problem(rig: WhatsAppRig, code: int, name: str) -> None:
    chat = await rig.user_writes("972521000102", "hi")
    await rig.fault(kind="graph_error", code=code, count=2)
    for _ in range(2):
        r = await rig.send(chat, {"type": "text", "text": "refused"})
        assert r.status_code in (422, 502) and r.json()["messages"][0]["error"]["code"] == code, r.text
    [problem] = await active(rig)
    assert problem["name"] == name and problem["source"]["code"] == code
    assert problem["source"]["operation"] == "send"
    r = await rig.send(chat, {"type": "text", "text": "accepted again"})
    assert r.status_code == 200, r.text
    await eventually(lambda: _none_active(rig), what="the problem resolved by the successful send")


async def _none_active(rig: WhatsAppRig) -> bool:
    return await active(rig) == []


async def test_a_failed_upload_raises_it_too(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000103", "hi")
    png = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                        "1f15c4890000000d49444154789c6360f8cf0000030101009a4b1b0e0000000049454e44ae426082")
    r = await rig.client.post(f"{API}/files", files={"file": ("dot.png", png, "image/png")})
    assert r.status_code == 200, r.text
    await rig.fault(kind="graph_error", code=190, endpoint="media")
    r = await rig.send(chat, {"type": "media", "media": [{"mediaType": "image", "fileId": r.json()["fileId"]}]})
    assert r.status_code == 502, r.text
    [problem] = await active(rig)
    assert problem["name"] == TOKEN and problem["source"]["operation"] == "upload"


async def test_a_template_call_raises_it_and_the_next_good_one_resolves_it(rig: WhatsAppRig) -> None:
    await rig.fault(kind="graph_error", code=190, endpoint="templates")
    params = {"accountId": rig.account.account_id, "sync": "true"}
    r = await rig.client.get(f"{API}/whatsapp/templates", params=params)
    assert r.status_code >= 500, r.text
    [problem] = await active(rig)
    assert problem["name"] == TOKEN and problem["source"]["operation"] == "templates"
    r = await rig.client.get(f"{API}/whatsapp/templates", params=params)
    assert r.status_code == 200, r.text
    assert await active(rig) == []


async def test_throttling_that_lasts(rig: WhatsAppRig, live: LiveServer) -> None:
    """130429 once is normal back-pressure (retried); for longer than the threshold (a minute;
    shortened here) it is a warning, resolved by the send that finally goes through."""
    assert live.services is not None and live.services.health is not None
    live.services.health.throttle_after_ms = 300
    chat = await rig.user_writes("972521000104", "hi")
    await rig.fault(kind="graph_error", code=130429, count=3)
    r = await rig.send(chat, {"type": "text", "text": "eventually"}, headers={"Prefer": "respond-async"})
    assert r.status_code == 202
    created = await eventually(lambda: all_problems(rig), within=30, what="the throughput warning")
    [problem] = created
    assert problem["name"] == "whatsapp_throughput_limit_reached" and problem["severity"] == "warning"
    assert problem["startedAt"] <= problem["createdAt"] - 300

    async def resolved() -> bool:
        found = await all_problems(rig)
        return bool(found) and all("resolvedAt" in p for p in found)

    await eventually(resolved, within=30, what="the warning resolved by the send that went through")
    assert len(await rig.sent_to("972521000104")) == 1


async def test_one_throttled_call_is_no_problem(rig: WhatsAppRig) -> None:
    chat = await rig.user_writes("972521000105", "hi")
    await rig.fault(kind="graph_error", code=130429, count=1)
    r = await rig.send(chat, {"type": "text", "text": "after a retry"})
    assert r.status_code == 200, r.text
    assert await all_problems(rig) == []


async def test_quality_drops_and_recovers(rig: WhatsAppRig, receiver: Receiver) -> None:
    await subscribe_health_events(rig.client, receiver)
    r = await rig.control.put("/simulator/quality", json={"rating": "RED"})
    assert r.json() == {"quality_rating": "RED", "event": "FLAGGED"}
    [low] = await eventually(lambda: active(rig), what="the quality problem")
    assert low["name"] == "whatsapp_phone_number_quality_low" and low["source"]["event"] == "FLAGGED"
    r = await rig.control.put("/simulator/quality", json={"rating": "GREEN"})
    assert r.json()["event"] == "UNFLAGGED"
    await eventually(lambda: _none_active(rig), what="quality back to GREEN resolving it")
    await receiver.wait_for(1, event_name="channelHealthProblemResolved")
    await receiver.settle()
    assert len(receiver.named("channelHealthProblemCreated")) == 1


@pytest.mark.parametrize(
    ("field", "value", "name"),
    [
        ("account_update", {"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}},
         "whatsapp_account_policy_violation"),
        ("account_update", {"event": "DISABLED_UPDATE", "ban_info": {"waba_ban_state": "DISABLE"}},
         "whatsapp_account_disabled"),
        ("account_update", {"event": "ACCOUNT_RESTRICTION",
                            "restriction_info": [{"restriction_type": "RESTRICTED_CUSTOMER_INITIATED_MESSAGING"}]},
         "whatsapp_account_restricted"),
        ("phone_number_quality_update", {"display_phone_number": "15550783881", "event": "DOWNGRADE",
                                         "old_limit": "TIER_10K", "current_limit": "TIER_2K"},
         "whatsapp_messaging_limit_decreased"),
        ("account_alerts", {"entity_type": "BUSINESS", "entity_id": "1", "alert_info": {
            "alert_severity": "CRITICAL", "alert_status": "ACTIVE", "alert_type": "OBA_REJECTED",
            "alert_description": "We do not grant official business accounts to individuals."}},
         "whatsapp_account_alert_oba_rejected"),
        ("business_capability_update", {"max_daily_conversations_per_business": 250},
         "whatsapp_business_has_limited_messaging_availability"),
    ],
)
async def test_the_simulator_posts_each_account_webhook(
    rig: WhatsAppRig, field: str, value: dict[str, Any], name: str
) -> None:
    r = await rig.control.post("/simulator/account-webhooks", json={"field": field, "value": value})
    assert r.status_code == 200, r.text
    [problem] = await eventually(lambda: active(rig), what=f"the {field} problem")
    assert problem["name"] == name and problem["accountId"] == rig.account.account_id


@pytest.fixture
async def quick_live(settings: Settings, db: Database) -> AsyncIterator[LiveServer]:
    """A server whose health thresholds are seconds, not hours."""
    quick = settings.model_copy(update={"health_webhook_silence_hours": 2 / 3600,
                                        "health_quality_check_minutes": 1 / 60})
    async with start_server(quick, db) as server:
        yield server


@pytest.fixture
async def quick_rig(quick_live: LiveServer, db: Database) -> AsyncIterator[WhatsAppRig]:
    async with whatsapp_rig(quick_live, db) as wa:
        yield wa


async def test_webhook_silence_raises_the_warning(quick_rig: WhatsAppRig) -> None:
    rig = quick_rig
    chat = await rig.user_writes("972521000106", "hi")
    await rig.control.patch("/simulator/config", json={"webhooks_enabled": False})
    await asyncio.sleep(0.5)  # past the bookkeeping's resolution (a tenth of the threshold)
    r = await rig.send(chat, {"type": "text", "text": "statuses of this never come"})
    assert r.status_code == 200 and r.json()["messages"][0]["channelInfo"]["id"], r.text
    [problem] = await eventually(lambda: active(rig, "whatsapp_webhooks_not_received"), what="the silence warning")
    assert problem["severity"] == "warning" and problem["impairedFunctionality"] == {"send": False, "receive": True}
    assert problem["createdAt"] - problem["startedAt"] >= 2000
    assert "no webhook at all has come from Meta for it for 0.000555556 hours" in problem["message"]

    await rig.control.patch("/simulator/config", json={"webhooks_enabled": True})
    await rig.user_writes("972521000106", "I am here")  # a webhook arrives
    await eventually(lambda: _none_silence(rig), what="the warning resolved by a webhook")


async def _none_silence(rig: WhatsAppRig) -> bool:
    return await active(rig, "whatsapp_webhooks_not_received") == []


async def test_no_warning_while_webhooks_arrive(quick_rig: WhatsAppRig) -> None:
    rig = quick_rig
    chat = await rig.user_writes("972521000107", "hi")
    for i in range(3):
        r = await rig.send(chat, {"type": "text", "text": f"answered {i}"})
        assert r.status_code == 200
        await asyncio.sleep(1.0)
    assert await all_problems(rig) == []


async def test_quality_readings_from_graph(quick_rig: WhatsAppRig) -> None:
    """YELLOW comes with no webhook (Meta announces only FLAGGED / UNFLAGGED): the periodic reading
    of the number's quality rating finds it; GREEN resolves it."""
    rig = quick_rig
    r = await rig.control.put("/simulator/quality", json={"rating": "YELLOW"})
    assert r.json()["event"] is None
    [medium] = await eventually(lambda: active(rig), what="the medium-quality warning")
    assert medium["name"] == "whatsapp_phone_number_quality_medium"
    assert medium["source"] == {"kind": "graph", "operation": "phone_number", "qualityRating": "YELLOW"}
    await rig.control.put("/simulator/quality", json={"rating": "GREEN"})
    await eventually(lambda: _none_active(rig), what="GREEN resolving it")
