"""The sandbox account of the embedded default, on SQLite and PostgreSQL: created once with the
simulator's ids and secrets, adopted afterwards, its Graph URL following the server's port."""

from __future__ import annotations

import pytest

from inboxd.simulator.config import SimulatorConfig
from inboxd.simulator.sandbox import SANDBOX_BUSINESS_NUMBER, ensure_sandbox_account, loopback_url
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database


async def test_created_once_then_adopted_with_the_new_graph_url(db: Database) -> None:
    first = SimulatorConfig()
    account = await ensure_sandbox_account(db, first, "http://127.0.0.1:8080/simulator/graph")
    assert account.sandbox and account.account_id == SANDBOX_BUSINESS_NUMBER
    assert (account.phone_number_id, account.app_secret, account.access_token, account.waba_id) == (
        first.phone_number_id, first.app_secret, first.access_token, first.waba_id
    )
    again = await ensure_sandbox_account(db, SimulatorConfig(), "http://127.0.0.1:9090/simulator/graph")
    assert again.id == account.id and again.app_secret == first.app_secret
    async with db.read() as conn:
        accounts = await accounts_store.list_accounts(conn)
    assert len(accounts) == 1 and accounts[0].graph_url == "http://127.0.0.1:9090/simulator/graph"


async def test_a_real_account_on_the_sandbox_number_is_a_clear_error(db: Database) -> None:
    async with db.write() as conn:
        await accounts_store.add_whatsapp_account(
            conn, account_id=SANDBOX_BUSINESS_NUMBER, phone_number_id="1", access_token="t", app_secret="s",
            verify_token="v",
        )
    with pytest.raises(RuntimeError, match="INBOXD_SIMULATOR=false"):
        await ensure_sandbox_account(db, SimulatorConfig(), "http://127.0.0.1:8080/simulator/graph")


@pytest.mark.parametrize(
    ("host", "url"),
    [("127.0.0.1", "http://127.0.0.1:8080"), ("0.0.0.0", "http://127.0.0.1:8080"), ("::", "http://[::1]:8080"),
     ("localhost", "http://localhost:8080")],
)
def test_loopback_url(host: str, url: str) -> None:
    assert loopback_url(host, 8080) == url
