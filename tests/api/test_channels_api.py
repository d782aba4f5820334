"""List Channel Accounts (scope Manage channels): the accounts with their health, no secret."""

from __future__ import annotations

import json

import httpx

from inboxd.domain.clock import now_ms
from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from inboxd.store.tables import channel_problems
from tests.conftest import WhatsAppAccountSpec

API = "/server/api/v2"


async def test_the_channels_with_their_health_and_never_a_secret(
    client: httpx.AsyncClient, make_token, wa_account: WhatsAppAccountSpec, db: Database  # type: ignore[no-untyped-def]
) -> None:
    headers = {"Authorization": f"Bearer {await make_token(Scope.MANAGE_CHANNELS)}"}
    r = await client.get(f"{API}/channels", headers=headers)
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["success"] is True and body["total"] == 1
    (channel,) = body["channels"]
    assert channel["accountId"] == "15550783881" and channel["phoneNumberId"] == "106540352242922"
    assert channel["health"] == {"status": "ok", "openProblems": 0, "errors": 0, "warnings": 0, "qualityRating": None}
    text = json.dumps(body)
    for secret in ("test-access-token", "test-app-secret", "test-verify-token"):
        assert secret not in text

    now = now_ms()
    account = wa_account.account
    async with db.write() as conn:
        await conn.execute(channel_problems.insert(), [
            {"id": f"{i:024x}", "channel": "whatsapp", "channel_account_id": account.id, "account_id": account.account_id,
             "name": f"kind_{i}", "case_id": "c", "severity": severity, "impaired": [], "message": "m",
             "source": {}, "clears_on": "operator", "created_at": now, "started_at": now,
             "resolved_at": resolved}
            for i, (severity, resolved) in enumerate([("warning", None), ("error", None), ("error", now)])
        ])
    (channel,) = (await client.get(f"{API}/channels", headers=headers)).json()["channels"]
    assert channel["health"] == {"status": "error", "openProblems": 2, "errors": 1, "warnings": 1, "qualityRating": None}
    assert (await client.get(f"{API}/channels", headers={"Authorization": f"Bearer {await make_token(Scope.LIST_ALL_CHATS)}"})).status_code == 403
