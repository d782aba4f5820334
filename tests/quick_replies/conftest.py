"""Quick reply tests: the API over HTTP, with a token holding every scope and the channel account
of the reference's examples (972586640430)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from inboxd.domain.scopes import Scope
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from tests.support.server import LiveServer

API = "/server/api/v2"
EXAMPLE_ACCOUNT = "972586640430"
# Reference §8, verbatim.
EXAMPLE_CREATE = {
    "send": {"contents": [{"type": "text", "text": "Thanks for reaching out! An agent will reply shortly."}],
             "target": [{"name": "whatsapp", "accountId": "972586640430"}]},
    "display": {"position": "top", "title": "Greeting"},
}
EXAMPLE_PATCH = [{"updateClientMetadata": {"aiQuickReply": True}}]


@pytest.fixture
async def example_account(db: Database) -> ChannelAccount:
    async with db.write() as conn:
        return await accounts_store.add_whatsapp_account(
            conn, account_id=EXAMPLE_ACCOUNT, phone_number_id="200000000000001", access_token="t", app_secret="s",
            verify_token="v", graph_url="http://127.0.0.1:9",
        )


@pytest.fixture
async def api(server: LiveServer, make_token, example_account: ChannelAccount) -> AsyncIterator[httpx.AsyncClient]:  # type: ignore[no-untyped-def]
    token = await make_token(*Scope)
    async with httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as c:
        yield c


async def create(api: httpx.AsyncClient, body: dict[str, Any]) -> dict[str, Any]:
    r = await api.post(f"{API}/quick-replies", json=body)
    assert r.status_code == 200, r.text
    return r.json()


def quick_reply(*contents: dict[str, Any], account: str = EXAMPLE_ACCOUNT, **display: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"send": {"contents": list(contents) or [{"type": "text", "text": "Hi"}],
                                     "target": [{"name": "whatsapp", "accountId": account}]}}
    if display:
        body["display"] = display
    return body
