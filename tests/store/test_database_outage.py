"""PostgreSQL out of reach, through a TCP proxy the test controls (tests/support/tcpproxy.py; the
shared server itself is never stopped): refused connections and dropped packets. Meanwhile
/healthz answers 503 at once, a send answers 503 `database_unavailable` (never a hang, never a
500), a webhook from Meta gets a non-2xx (Meta retries it); when the database is back the server
and its workers recover by themselves within 10 s."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from urllib.parse import urlsplit, urlunsplit

import httpx
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.store.db import Database
from inboxd.store.tables import messages
from tests.conftest import PG_URL, DbTarget
from tests.support.server import start_server
from tests.support.tcpproxy import TcpProxy
from tests.support.wa import WhatsAppRig, whatsapp_rig
from tests.support.webhooks import post_webhook, text_webhook

USER = "972521234567"
NO_HANG = 15.0  # every request must answer well before this (it hung > 20 s before)


@pytest.fixture
def proxy(db_target: DbTarget) -> AsyncIterator[TcpProxy]:
    if db_target.backend != "postgresql" or not PG_URL:
        pytest.skip("a PostgreSQL outage")
    target = urlsplit(PG_URL)
    with TcpProxy(target.hostname or "127.0.0.1", target.port or 5432) as proxy:
        yield proxy  # type: ignore[misc]


@pytest.fixture
async def rig(settings: Settings, db: Database, proxy: TcpProxy) -> AsyncIterator[WhatsAppRig]:
    parts = urlsplit(PG_URL or "")
    userinfo = parts.netloc.rsplit("@", 1)[0] + "@" if "@" in parts.netloc else ""
    proxied = settings.model_copy(
        update={
            "database_url": urlunsplit(parts._replace(netloc=userinfo + proxy.url_host)),
            "database_connect_timeout": 1.0,
            "database_statement_timeout": 2.0,
            "database_pool_timeout": 2.0,
        }
    )
    server_db = Database.from_settings(proxied)
    try:
        async with start_server(proxied, server_db) as live, whatsapp_rig(live, db) as wa:
            yield wa
    finally:
        await server_db.dispose()


async def healthz(rig: WhatsAppRig) -> httpx.Response:
    return await rig.client.get("/healthz", timeout=NO_HANG)


async def recovered(rig: WhatsAppRig, within: float = 10.0) -> None:
    deadline = time.monotonic() + within
    while (await healthz(rig)).status_code != 200:
        assert time.monotonic() < deadline, "not recovered within 10 s"
        await asyncio.sleep(0.2)


def assert_database_unavailable(r: httpx.Response) -> None:
    assert r.status_code == 503, r.text
    assert r.json() == {
        "success": False, "error": r.json()["error"], "code": "database_unavailable", "details": [],
        "requestId": r.headers["x-request-id"],
    }
    assert r.headers["retry-after"] == "5"


async def during_the_outage(rig: WhatsAppRig, chat: str) -> None:
    assert_database_unavailable(await healthz(rig))
    assert_database_unavailable(await rig.send(chat, {"type": "text", "text": "lost?"}, timeout=NO_HANG))
    hook = text_webhook(phone_number_id=rig.account.phone_number_id, wa_id=USER, wamid="wamid.outage-1",
                        text="are you there", timestamp=int(time.time()))
    async with httpx.AsyncClient(base_url=rig.server.url, timeout=NO_HANG) as meta:
        r = await post_webhook(meta, hook, rig.sim.config.app_secret)
    assert r.status_code == 503, r.text  # not 2xx: Meta keeps it and retries


async def after_recovery(rig: WhatsAppRig, chat: str) -> None:
    await recovered(rig)
    r = await rig.send(chat, {"type": "text", "text": "back again"})
    assert r.status_code == 200, r.text
    wamid = r.json()["messages"][0]["channelInfo"]["id"]  # the worker loops recovered too
    assert wamid in [m["id"] for m in await rig.sent_to(USER)]


@pytest.mark.parametrize("outage", ["refused", "packets dropped"])
async def test_an_outage_is_503_and_recovery_is_automatic(rig: WhatsAppRig, proxy: TcpProxy, outage: str) -> None:
    chat = await rig.user_writes(USER)
    assert (await healthz(rig)).status_code == 200
    if outage == "refused":
        proxy.refuse()
    else:
        proxy.blackhole()
    await during_the_outage(rig, chat)
    await asyncio.sleep(1.0)  # the worker loops meet the outage as well
    await during_the_outage(rig, chat)
    proxy.restore()
    await after_recovery(rig, chat)


async def test_a_send_whose_answer_cannot_be_recorded_is_settled_by_its_status(
    rig: WhatsAppRig, proxy: TcpProxy, caplog: pytest.LogCaptureFixture
) -> None:
    """Regression (chaos test): Graph accepted a send, then the database went away before the
    answer was recorded. The delivery task died with "Task exception was never retrieved"; now it
    says what happened, and once the database is back the `sent` status webhook (Meta retried it
    while inboxd answered 503) gives the message its wamid: sent once, nothing lost."""
    chat = await rig.user_writes(USER)
    await rig.fault(kind="timeout", seconds=1.5, accept_after_timeout=True, count=1)  # the answer comes late
    r = await rig.send(chat, {"type": "text", "text": "answer lost"}, headers={"Prefer": "respond-async"})
    assert r.status_code == 202, r.text
    message_id = r.json()["messages"][0]["_id"]
    await asyncio.sleep(0.5)  # the call is under way
    proxy.refuse()
    await asyncio.sleep(3.0)  # Graph answered; recording it failed
    proxy.restore()
    await recovered(rig)

    async def wamid() -> str | None:
        async with rig.db.read() as conn:
            return (await conn.execute(sa.select(messages.c.external_id).where(messages.c.id == message_id))).scalar()

    deadline = time.monotonic() + 30
    while (found := await wamid()) is None:
        assert time.monotonic() < deadline, "the message never got its wamid"
        await asyncio.sleep(0.3)
    sent = await rig.sent_to(USER)
    assert [m["id"] for m in sent] == [found]  # sent once
    assert "never retrieved" not in caplog.text
    assert "not recorded, the database is unavailable" in caplog.text


async def test_a_sync_send_accepted_before_the_outage_answers_what_was_committed(rig: WhatsAppRig, proxy: TcpProxy) -> None:
    """Regression: a sync send accepted, then the database went away while it waited for the
    channel: it answered 503 "nothing was done" for a message that was in fact accepted (and is
    sent). Now it answers 200 with the message as committed (status 0), as when the wait runs out."""
    chat = await rig.user_writes(USER)
    await rig.fault(kind="timeout", seconds=3, accept_after_timeout=True, count=1)  # keeps the send waiting
    sending = asyncio.create_task(rig.send(chat, {"type": "text", "text": "accepted, then the outage"}, timeout=NO_HANG))
    await asyncio.sleep(1.0)
    proxy.refuse()
    r = await sending
    assert r.status_code == 200, r.text
    [message] = r.json()["messages"]
    assert message["status"] == 0 and message["text"] == "accepted, then the outage"
    proxy.restore()
    await recovered(rig)
    deadline = time.monotonic() + 30
    while not await rig.sent_to(USER):
        assert time.monotonic() < deadline, "never sent"
        await asyncio.sleep(0.3)
    assert [m["payload"]["biz_opaque_callback_data"] for m in await rig.sent_to(USER)] == [message["_id"]]
