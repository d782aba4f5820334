"""List and Resolve Channel Health Problems over HTTP, problems raised by Meta's account
webhooks (the fixtures, signed, through /webhooks/whatsapp), one incident under concurrency,
/metrics and /healthz."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator

import httpx
import pytest

from inboxd.domain.clock import now_ms
from inboxd.domain.scopes import Scope
from inboxd.health import kinds as K
from inboxd.health import problems as problems_store
from inboxd.health.kinds import Raise
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from tests.channels.whatsapp.test_inbound_parser import fixture
from tests.health.conftest import API, APP_SECRET, EventLog, eventually, named, problems
from tests.support.server import LiveServer
from tests.support.webhooks import post_webhook, wait_processed


@pytest.fixture
async def http(live: LiveServer) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=live.url, timeout=30) as client:
        yield client


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def post_fixture(http: httpx.AsyncClient, db: Database, name: str) -> None:
    r = await post_webhook(http, fixture(name), APP_SECRET)
    assert r.status_code == 200, r.text
    await wait_processed(db)


async def test_the_example_of_section_9(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token, event_log: EventLog  # type: ignore[no-untyped-def]
) -> None:
    """business_capability_update with a 250 limit → the reference's example problem, as §9 shapes it."""
    await post_fixture(http, db, "business_capability_update")
    anyone = await make_token()  # no scopes: listing needs only a valid token
    r = await http.get(f"{API}/channels/problems", headers=bearer(anyone))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["total"] == 1
    [problem] = body["problems"]
    assert re.fullmatch(r"[0-9a-f]{24}", problem["_id"]) and re.fullmatch(r"[0-9a-f]{64}", problem["caseId"])
    assert {k: problem[k] for k in ("channel", "accountId", "name", "severity", "impairedFunctionality")} == {
        "channel": "whatsapp", "accountId": "15550783881",
        "name": "whatsapp_business_has_limited_messaging_availability", "severity": "error",
        "impairedFunctionality": {"send": True, "receive": False},
    }
    assert "The Business has not passed business verification." in problem["message"]
    assert problem["instruction"].startswith("Visit business settings and start or resolve the business verification")
    assert problem["startedAt"] == 1758204400000 and problem["createdAt"] >= problem["startedAt"]
    assert "resolvedAt" not in problem
    assert problem["source"] == {"kind": "webhook", "field": "business_capability_update", "limit": 250}
    assert [p["_id"] for p in event_log.created] == [problem["_id"]]
    # The same webhook again (Meta retries, or repeats itself) is the same incident.
    await post_fixture(http, db, "business_capability_update")
    assert len(await problems(http, headers=bearer(anyone))) == 1 and len(event_log.created) == 1


async def test_listing_needs_a_valid_token(http: httpx.AsyncClient) -> None:
    r = await http.get(f"{API}/channels/problems")
    assert r.status_code == 401 and r.json()["code"] == "unauthorized"
    r = await http.get(f"{API}/channels/problems", headers=bearer("inboxd_nope"))
    assert r.status_code == 401


async def test_filters(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token, event_log: EventLog  # type: ignore[no-untyped-def]
) -> None:
    token = await make_token(Scope.MANAGE_CHANNELS)
    for name in ("account_update_violation", "account_update_disabled", "account_alerts"):
        await post_fixture(http, db, name)
    headers = bearer(token)
    everything = await problems(http, headers=headers)
    assert sorted(p["name"] for p in everything) == [
        "whatsapp_account_alert_increased_capabilities_eligibility_deferred", "whatsapp_account_disabled",
        "whatsapp_account_policy_violation"]
    assert [p["createdAt"] for p in everything] == sorted((p["createdAt"] for p in everything), reverse=True)
    assert [p["name"] for p in await problems(http, headers=headers, severity="error")] == ["whatsapp_account_disabled"]
    assert len(await problems(http, headers=headers, severity="warning")) == 2
    assert len(await problems(http, headers=headers, accountId="15550783881")) == 3
    assert len(await problems(http, headers=headers, accountId="+15550783881")) == 3
    assert await problems(http, headers=headers, accountId="972500000000") == []
    assert len(await problems(http, headers=headers, channel="whatsapp")) == 3
    assert await problems(http, headers=headers, channel="messenger") == []
    r = await http.get(f"{API}/channels/problems", headers=headers, params={"limit": 1, "skip": 1})
    assert r.json()["total"] == 3 and len(r.json()["problems"]) == 1
    assert r.json()["problems"][0]["_id"] == everything[1]["_id"]
    r = await http.get(f"{API}/channels/problems", headers=headers, params={"skip": 5})
    assert r.json() == {"total": 3, "problems": []}

    await post_fixture(http, db, "account_update_reinstated")  # the disable is over
    active = await problems(http, headers=headers)
    assert sorted(p["name"] for p in active) == [
        "whatsapp_account_alert_increased_capabilities_eligibility_deferred", "whatsapp_account_policy_violation"]
    with_resolved = await problems(http, headers=headers, includeResolved="true")
    [disabled] = named(with_resolved, "whatsapp_account_disabled")
    assert disabled["resolvedAt"] >= disabled["createdAt"] and disabled["resolvedBy"] == "signal"
    assert len(await problems(http, headers=headers, includeResolved="1", severity="error")) == 1
    assert len(await problems(http, headers=headers, includeResolved="0")) == 2


@pytest.mark.parametrize(
    ("params", "path"),
    [({"severity": "fatal"}, "query.severity"), ({"channel": "fax"}, "query.channel"),
     ({"includeResolved": "yes"}, "query.includeResolved"), ({"limit": 0}, "query.limit"),
     ({"skip": -1}, "query.skip")],
)
async def test_bad_filters_are_400(http: httpx.AsyncClient, make_token, params: dict, path: str) -> None:  # type: ignore[no-untyped-def,type-arg]
    r = await http.get(f"{API}/channels/problems", headers=bearer(await make_token()), params=params)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"
    assert r.json()["details"][0]["path"] == path


async def test_resolve_by_an_operator(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token, event_log: EventLog  # type: ignore[no-untyped-def]
) -> None:
    await post_fixture(http, db, "account_update_violation")
    reader, operator = bearer(await make_token()), bearer(await make_token(Scope.MANAGE_CHANNELS))
    [problem] = await problems(http, headers=reader)
    url = f"{API}/channels/problems/{problem['_id']}/resolve"

    r = await http.post(url, headers=reader)
    assert r.status_code == 403 and r.json()["details"] == [{"scope": "Manage channels", "reason": "missing scope"}]
    r = await http.post(f"{API}/channels/problems/{'0' * 24}/resolve", headers=operator)
    assert r.status_code == 404 and r.json()["code"] == "problem_not_found"
    r = await http.post(f"{API}/channels/problems/not-an-id/resolve", headers=operator)
    assert r.status_code == 404

    r = await http.post(url, headers=operator)
    assert r.status_code == 200, r.text
    resolved = r.json()["problem"]
    assert r.json()["success"] is True and resolved["resolvedBy"] == "operator"
    assert {k: v for k, v in resolved.items() if k not in ("resolvedAt", "resolvedBy")} == problem
    again = await http.post(url, headers=operator)  # changes nothing, fires nothing
    assert again.status_code == 200 and again.json()["problem"] == resolved
    assert await problems(http, headers=reader) == []
    assert [p["_id"] for p in event_log.resolved] == [problem["_id"]]
    assert event_log.resolved[0]["resolvedAt"] == resolved["resolvedAt"]

    # The signal again: a new incident (a new _id, the same caseId).
    await post_fixture(http, db, "account_update_violation")
    [again_problem] = await problems(http, headers=reader)
    assert again_problem["_id"] != problem["_id"] and again_problem["caseId"] == problem["caseId"]
    assert len(event_log.created) == 2


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("account_update_violation", "whatsapp_account_policy_violation"),
        ("account_update_restriction", "whatsapp_account_restricted"),
        ("account_update_disabled", "whatsapp_account_disabled"),
        ("account_update_deleted", "whatsapp_account_deleted"),
        ("phone_number_quality_update_flagged", "whatsapp_phone_number_quality_low"),
        ("phone_number_quality_update_downgrade", "whatsapp_messaging_limit_decreased"),
        ("account_alerts", "whatsapp_account_alert_increased_capabilities_eligibility_deferred"),
        ("business_capability_update", "whatsapp_business_has_limited_messaging_availability"),
    ],
)
async def test_each_webhook_kind_creates_its_problem(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token, event_log: EventLog,  # type: ignore[no-untyped-def]
    name: str, expected: str,
) -> None:
    await post_fixture(http, db, name)
    [problem] = await problems(http, headers=bearer(await make_token()))
    assert problem["name"] == expected and problem["accountId"] == "15550783881"
    assert problem["source"]["field"] == fixture(name)["entry"][0]["changes"][0]["field"]
    assert [p["name"] for p in event_log.created] == [expected]


async def test_quality_back_resolves(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token, event_log: EventLog  # type: ignore[no-untyped-def]
) -> None:
    await post_fixture(http, db, "phone_number_quality_update_flagged")
    headers = bearer(await make_token())
    assert [p["name"] for p in await problems(http, headers=headers)] == ["whatsapp_phone_number_quality_low"]
    await post_fixture(http, db, "phone_number_quality_update_unflagged")
    assert await problems(http, headers=headers) == []
    assert [p["name"] for p in event_log.resolved] == ["whatsapp_phone_number_quality_low"]


async def test_webhooks_of_another_waba_change_nothing(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token  # type: ignore[no-untyped-def]
) -> None:
    payload = fixture("account_update_disabled")
    payload["entry"][0]["id"] = "999999999999999"
    r = await post_webhook(http, payload, APP_SECRET)
    assert r.status_code == 200
    await wait_processed(db)
    assert await problems(http, headers=bearer(await make_token())) == []


async def test_one_incident_under_concurrency(
    live: LiveServer, db: Database, fixture_account: ChannelAccount, event_log: EventLog
) -> None:
    """20 transactions raise the same signal at once (on PostgreSQL truly in parallel): the
    partial unique index lets one create the problem; Created fires once."""
    assert live.services is not None
    events = live.services.events
    signal = Raise(K.ACCOUNT_LOCKED, fields={"graph": "locked"}, source={"kind": "graph", "code": 131031})

    async def one() -> object:
        async with db.write() as conn:
            return await problems_store.raise_problem(conn, events, fixture_account, signal, now_ms())

    results = await asyncio.gather(*(one() for _ in range(20)))
    assert sum(r is not None for r in results) == 1
    assert len(event_log.created) == 1
    async with db.read() as conn:
        found, total = await problems_store.list_problems(conn, problems_store.ProblemQuery(include_resolved=True))
    assert total == 1 and found[0]["name"] == "whatsapp_account_locked"

    async def resolve() -> list:  # type: ignore[type-arg]
        async with db.write() as conn:
            return await problems_store.resolve_cleared_by_send(conn, events, [fixture_account.id], now_ms())

    resolved = await asyncio.gather(*(resolve() for _ in range(10)))
    assert sum(len(r) for r in resolved) == 1 and len(event_log.resolved) == 1


async def test_metrics_count_active_problems_and_healthz_stays_about_inboxd(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, make_token  # type: ignore[no-untyped-def]
) -> None:
    before = (await http.get("/healthz")).json()
    for name in ("account_update_violation", "account_update_disabled", "account_alerts"):
        await post_fixture(http, db, name)
    text = (await http.get("/metrics")).text
    series = 'inboxd_channel_problems_active{{account_id="15550783881",channel="whatsapp",severity="{}"}} {}'
    assert series.format("error", "1.0") in text and series.format("warning", "2.0") in text
    assert (await http.get("/healthz")).json() == before and before["status"] == "ok"

    await post_fixture(http, db, "account_update_reinstated")
    text = (await http.get("/metrics")).text
    assert 'severity="error"' not in text and series.format("warning", "2.0") in text


async def test_the_health_loop_reads_quality_after_a_quality_webhook(
    http: httpx.AsyncClient, db: Database, fixture_account: ChannelAccount, live: LiveServer
) -> None:
    """The webhook asks for a reading; the loop claims it (here Graph is unreachable: the
    reading is retried later, and no problem comes from a call that got no answer)."""
    from inboxd.store.tables import channel_health_signals as S

    await post_fixture(http, db, "phone_number_quality_update_unflagged")
    assert live.services is not None and live.services.health is not None

    async def due_later() -> bool:
        async with db.read() as conn:
            due = (await conn.execute(S.select().where(S.c.channel_account_id == fixture_account.id))).mappings().one()
        return due["quality_check_due_at"] > now_ms()

    await live.services.health.check_quality()
    await eventually(due_later, what="the quality reading claimed and postponed")
    async with db.read() as conn:
        found, _ = await problems_store.list_problems(conn, problems_store.ProblemQuery())
    assert found == []
