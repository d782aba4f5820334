"""1,000 messages into 10 chats through 3 `inboxd worker` processes on PostgreSQL, while the
simulator fails a share of calls (HTTP 500/503, timeouts — some accepted late, some never —
and 130429) and one worker is killed with SIGKILL mid-way: every message reaches WhatsApp
exactly once, and each chat's messages arrive in acceptance order."""

from __future__ import annotations

import asyncio
import random
import signal
import subprocess
import time
from pathlib import Path

import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.store.db import Database
from inboxd.store.tables import messages, outbox
from tests.conftest import DbTarget
from tests.support.cli import INBOXD, cli_env, stop_processes
from tests.support.server import start_server
from tests.support.wa import WhatsAppRig, quick_simulator, whatsapp_rig

CHATS = 10
PER_CHAT = 100
WORKER_ENV = {
    "INBOXD_DELIVERY_LEASE_SECONDS": "3",
    # A send whose outcome is unknown (a timeout, some accepted late) is sent again only after
    # this long without the channel's word (30 s by default): on a loaded 2-core machine the
    # status webhook of a late acceptance took more than 3 s to settle one (a second send).
    "INBOXD_DELIVERY_DOUBT_GRACE_SECONDS": "10",
    "INBOXD_DELIVERY_RETRY_MAX_SECONDS": "1",
    "INBOXD_DELIVERY_MAX_ATTEMPTS": "50",
    "INBOXD_GRAPH_TIMEOUT_SECONDS": "1.5",
    "INBOXD_WORKERS": "2",
    "INBOXD_LOG_LEVEL": "warning",
}


def start_worker(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*INBOXD, "worker"], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


def delivered(rig: WhatsAppRig, users: list[str]) -> int:
    return sum(len(contact.sent) for u in users if (contact := rig.sim.contacts.get(u)) is not None)


async def arm_faults(rig: WhatsAppRig, users: list[str], stop: asyncio.Event, share: float = 0.08) -> int:
    """Keep about `share` of the calls failing while the test runs."""
    armed = 0
    kinds = [
        {"kind": "http_500"},
        {"kind": "http_503"},
        {"kind": "graph_error", "code": 130429},
        {"kind": "timeout", "seconds": 2.0},  # our client gives up first; never accepted
        {"kind": "timeout", "seconds": 2.0, "accept_after_timeout": True},  # accepted after we gave up
    ]
    while not stop.is_set():
        if armed < share * delivered(rig, users) + 2:
            await rig.fault(count=1, **random.choice(kinds))
            armed += 1
        await asyncio.sleep(0.02)
    await rig.control.delete("/simulator/faults")
    return armed


async def outbox_size(db: Database) -> int:
    async with db.read() as conn:
        return (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()


@pytest.mark.slow
async def test_thousand_messages_three_workers_faults_and_a_sigkill(
    settings: Settings, db: Database, db_target: DbTarget, tmp_path: Path
) -> None:
    if not db.is_postgres:
        pytest.skip("scale-out runs on PostgreSQL")
    api_settings = settings.model_copy(update={"workers": 0})  # only the worker processes deliver
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), **WORKER_ENV})
    workers = [start_worker(env, tmp_path / f"worker{i}.log") for i in range(3)]
    try:
        async with start_server(api_settings, db) as live, whatsapp_rig(live, db, quick_simulator()) as rig:
            users = [f"97250000{i:04d}" for i in range(CHATS)]
            chats = [await rig.user_writes(u) for u in users]

            stop_faults = asyncio.Event()
            faults = asyncio.create_task(arm_faults(rig, users, stop_faults))
            gate = asyncio.Semaphore(50)

            async def send(chat: str, n: int) -> None:
                async with gate:
                    r = await rig.send(chat, {"type": "text", "text": f"{n}"}, headers={"Prefer": "respond-async"})
                    assert r.status_code == 202, r.text

            sending = asyncio.gather(*(send(chat, n) for n in range(PER_CHAT) for chat in chats))
            # Kill one worker once deliveries are under way.
            deadline = time.monotonic() + 60
            while delivered(rig, users) < 200 and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            workers[0].send_signal(signal.SIGKILL)
            workers[0].wait(timeout=10)
            await sending

            deadline = time.monotonic() + 300  # generous: a loaded 2-core CI machine
            try:
                while await outbox_size(db) > 0:
                    assert time.monotonic() < deadline, f"{await outbox_size(db)} messages still in the outbox"
                    await asyncio.sleep(0.2)
            finally:
                stop_faults.set()
            armed = await faults
            assert armed > 40

            async with db.read() as conn:
                rows = (
                    await conn.execute(
                        sa.select(messages.c.id, messages.c.chat_id, messages.c.seq, messages.c.external_id, messages.c.status)
                        .where(messages.c.direction == "outgoing")
                    )
                ).all()
            assert len(rows) == CHATS * PER_CHAT
            assert all(r.external_id for r in rows), [r for r in rows if not r.external_id][:3]
            seq_of = {r.id: r.seq for r in rows}
            for user, chat in zip(users, chats, strict=True):
                sent = rig.sim.contacts.get(user).sent
                ids = [m.payload["biz_opaque_callback_data"] for m in sent]
                assert len(ids) == len(set(ids)), f"{user}: {len(ids) - len(set(ids))} duplicates"
                assert len(ids) == PER_CHAT, f"{user}: {len(ids)} of {PER_CHAT} arrived"
                order = [seq_of[i] for i in ids]
                assert order == sorted(order), f"{user}: out of acceptance order"
                assert {r.chat_id for r in rows if r.id in set(ids)} == {chat}
            wamids = {r.external_id for r in rows}
            sim_wamids = {m.id for u in users for m in rig.sim.contacts.get(u).sent}
            assert wamids == sim_wamids
    finally:
        stop_processes(workers)
