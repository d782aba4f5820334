"""The embedded default: `inboxd serve` with `INBOXD_SIMULATOR=true` mounts a simulator and keeps
a sandbox WhatsApp channel account pointing at it, so a fresh install is a working inbox.

The sandbox account is created on first start with generated secrets and is the source of truth
afterwards: on every start the simulator takes its number, ids and secrets from the account
(webhook signatures then match across restarts), and the account's Graph URL follows the port
the server runs on. The simulator's webhooks go to the server's own `/webhooks/whatsapp` over
loopback HTTP, signed: the same path Meta's webhooks take.
"""

from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass

import sqlalchemy as sa
from fastapi import APIRouter, FastAPI

from inboxd.api.app import StartupHook
from inboxd.services import Services
from inboxd.simulator.app import EMBEDDED_GRAPH_PREFIX, embedded_router
from inboxd.simulator.config import SimulatorConfig
from inboxd.simulator.core import Simulator
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database, is_unique_violation
from inboxd.store.tables import channel_accounts

log = logging.getLogger(__name__)

# The sandbox business number: in the 555 range that Meta's test numbers use, fixed so the
# quick start can name it.
SANDBOX_BUSINESS_NUMBER = "15550001234"


def loopback_url(host: str, port: int) -> str:
    """The URL this process reaches a server listening on host:port at."""
    if host in ("", "0.0.0.0"):
        host = "127.0.0.1"
    elif host == "::":
        host = "::1"
    if ":" in host:
        host = f"[{host}]"
    return f"http://{host}:{port}"


@dataclass
class Embedded:
    simulator: Simulator
    routers: list[APIRouter]
    startup_hooks: list[StartupHook]


def embedded(server_url: str) -> Embedded:
    """The simulator, its routers and the hook that creates or adopts the sandbox account, for
    a server reachable at `server_url`."""
    graph_url = server_url.rstrip("/") + EMBEDDED_GRAPH_PREFIX
    sim = Simulator(SimulatorConfig(callback_url=f"{server_url.rstrip('/')}/webhooks/whatsapp", public_graph_url=graph_url))

    async def adopt_sandbox_account(_app: FastAPI, services: Services) -> None:
        account = await ensure_sandbox_account(services.db, sim.config, graph_url)
        sim.config.phone_number_id = account.phone_number_id
        sim.config.display_phone_number = account.account_id
        sim.config.access_token = account.access_token
        sim.config.app_secret = account.app_secret
        if account.waba_id:
            sim.config.waba_id = account.waba_id
        sim.limits.configure(account.mps, sim.config.pair_burst, sim.config.pair_interval_seconds)
        sim.config.mps = account.mps
        log.info(
            "simulator mounted at %s (sandbox WhatsApp number %s, phone number id %s)",
            graph_url, account.account_id, account.phone_number_id,
        )

    return Embedded(sim, [embedded_router(sim)], [adopt_sandbox_account])


async def ensure_sandbox_account(db: Database, config: SimulatorConfig, graph_url: str) -> ChannelAccount:
    """The sandbox account, created with `config`'s ids and secrets when there is none yet."""
    async with db.write() as conn:
        account = await accounts_store.find_sandbox(conn)
        if account is not None:
            if account.graph_url != graph_url:  # the server moved to another port
                await conn.execute(
                    sa.update(channel_accounts).where(channel_accounts.c.id == account.id).values(graph_url=graph_url)
                )
            return account
    try:
        async with db.write() as conn:
            account = await accounts_store.add_whatsapp_account(
                conn,
                account_id=SANDBOX_BUSINESS_NUMBER,
                phone_number_id=config.phone_number_id,
                access_token=config.access_token,
                app_secret=config.app_secret,
                verify_token=secrets.token_urlsafe(24),
                graph_url=graph_url,
                waba_id=config.waba_id,
                sandbox=True,
            )
    except Exception as exc:
        if not is_unique_violation(exc):
            raise
        # Another process created it first (or the number is taken by a real account).
        async with db.read() as conn:
            found = await accounts_store.find_sandbox(conn)
        if found is None:
            raise RuntimeError(
                f"cannot create the sandbox WhatsApp account: the number {SANDBOX_BUSINESS_NUMBER} is taken "
                "by another channel account; remove it or set INBOXD_SIMULATOR=false"
            ) from exc
        return found
    log.info("created the sandbox WhatsApp channel account %s (id %s)", account.account_id, account.id)
    return account
