"""inboxd wired to a standalone WhatsApp simulator over loopback, the way production is wired to
Meta: the channel account's Graph URL points at the simulator, and the simulator's signed
webhooks go to inboxd's `/webhooks/whatsapp`."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx

from inboxd.domain.scopes import Scope
from inboxd.simulator import Simulator, SimulatorConfig, StatusDelays, create_simulator_app
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store import tokens as tokens_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from tests.support.server import LiveServer, serve_asgi
from tests.support.webhooks import wait_processed

API = "/server/api/v2"


@dataclass
class WhatsAppRig:
    server: LiveServer
    db: Database
    sim: Simulator
    sim_url: str
    account: ChannelAccount
    client: httpx.AsyncClient  # inboxd, with a token holding every scope
    control: httpx.AsyncClient  # the simulator's control API

    async def user_writes(self, wa_id: str, text: str = "Hi", name: str = "Dana", **extra: Any) -> str:
        """A WhatsApp user writes to the business; returns the chat id once inboxd stored it."""
        body = {"from": wa_id, "name": name, "text": {"body": text}, **extra}
        r = await self.control.post("/simulator/inbound", json=body)
        assert r.status_code == 200, r.text
        return await self.chat_id(wa_id)

    async def chat_id(self, wa_id: str, timeout: float = 10.0) -> str:
        deadline = time.monotonic() + timeout
        while True:
            await wait_processed(self.db)
            async with self.db.read() as conn:
                chat = await chats_store.find_chat(conn, self.account.id, wa_id)
            if chat is not None and chat["last_incoming_at"] is not None:
                return chat["id"]
            if time.monotonic() > deadline:
                raise AssertionError(f"no chat for {wa_id}")
            await asyncio.sleep(0.02)

    async def sent_to(self, wa_id: str) -> list[dict[str, Any]]:
        r = await self.control.get(f"/simulator/contacts/{wa_id}/sent")
        assert r.status_code == 200, r.text
        return r.json()["data"]

    async def send(self, chat_id: str, body: Any, **kwargs: Any) -> httpx.Response:
        return await self.client.post(f"{API}/messages/send/{chat_id}", json=body, **kwargs)

    async def fault(self, **body: Any) -> None:
        r = await self.control.post("/simulator/faults", json=body)
        assert r.status_code == 200, r.text


def quick_simulator(**overrides: Any) -> Simulator:
    config = SimulatorConfig(
        status_delays=StatusDelays(sent=0.0, delivered=0.0, read=0.0),
        mps=0,
        pair_burst=0,
        template_approval_delay=0.0,
        webhook_batch_linger=0.0,
        **overrides,
    )
    return Simulator(config)


@asynccontextmanager
async def whatsapp_rig(server: LiveServer, db: Database, sim: Simulator | None = None) -> AsyncIterator[WhatsAppRig]:
    sim = sim or quick_simulator()
    sim.config.callback_url = f"{server.url}/webhooks/whatsapp"
    async with serve_asgi(create_simulator_app(sim)) as (sim_url, _port):
        sim.config.public_graph_url = sim_url
        async with db.write() as conn:
            account = await accounts_store.add_whatsapp_account(
                conn,
                account_id=sim.config.display_phone_number,
                phone_number_id=sim.config.phone_number_id,
                access_token=sim.config.access_token,
                app_secret=sim.config.app_secret,
                verify_token="verify",
                graph_url=sim_url,
                mps=1000,
                waba_id=sim.config.waba_id,
            )
            # The rig's tests send in bulk (1,000 messages at once); rate limits have tests of their own.
            secret, _ = await tokens_store.create_token(conn, "rig", list(Scope), rate_per_second=10_000)
        async with (
            httpx.AsyncClient(base_url=server.url, headers={"Authorization": f"Bearer {secret}"}, timeout=30) as client,
            httpx.AsyncClient(base_url=sim_url, timeout=30) as control,
        ):
            yield WhatsAppRig(server, db, sim, sim_url, account, client, control)
