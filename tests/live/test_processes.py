"""The live stream across real processes on PostgreSQL: the stream is open on one `inboxd serve`
while the changes happen through another API process and an `inboxd worker` (inbound
processing, delivery, statuses). Every event reaches the stream, in id order, gapless, none
twice, exactly as the log holds it — one change at a time, and 200 at once."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import orjson
import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.live import store as live_store
from inboxd.store.db import Database
from inboxd.store.tables import live_events
from tests.conftest import DbTarget
from tests.support.cli import INBOXD, cli_env, free_port, stop_processes, wait_healthy
from tests.support.live import LiveReader, quiet
from tests.support.server import start_server
from tests.support.wa import WhatsAppRig, whatsapp_rig

pytestmark = pytest.mark.slow


def _start(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    return subprocess.Popen([*INBOXD, *args], env=env, stdout=log.open("wb"), stderr=subprocess.STDOUT)


@pytest.fixture
def processes(settings: Settings, db: Database, db_target: DbTarget, tmp_path: Path) -> Iterator[str]:
    """An `inboxd serve` for the stream (no workers) and an `inboxd worker`; yields the serve's URL."""
    if not db.is_postgres:
        pytest.skip("several processes share PostgreSQL")
    port = free_port()
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), "INBOXD_SIMULATOR": "false",
                                      "INBOXD_LOG_LEVEL": "warning"})
    procs = [
        _start(["serve", "--port", str(port)], {**env, "INBOXD_WORKERS": "0"}, tmp_path / "serve.log"),
        _start(["worker"], {**env, "INBOXD_WORKERS": "2"}, tmp_path / "worker.log"),
    ]
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, procs, tmp_path / "serve.log")
        yield url
    finally:
        stop_processes(procs)


@pytest.fixture
async def changes(settings: Settings, db: Database) -> AsyncIterator[WhatsAppRig]:
    """The other API process (webhooks from the simulator, sends), in this test's process."""
    async with start_server(settings.model_copy(update={"workers": 0}), db) as live, whatsapp_rig(live, db) as rig:
        yield rig


async def assert_stream_is_the_log(db: Database, stream: LiveReader, after: int) -> int:
    """The stream holds exactly the log's events after `after`: same ids, types and objects."""
    async with db.read() as conn:
        end = await live_store.head(conn)
    await stream.wait_until_id(end, timeout=60)
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(live_events.c.id, live_events.c.type, live_events.c.data)
                                   .where(live_events.c.id > after).order_by(live_events.c.id))).all()
    got = [e for e in stream.events if e.id > after]
    assert [e.id for e in got] == list(range(after + 1, end + 1))  # in order, gapless, none twice
    assert [(e.id, e.type, e.data) for e in got] == [(r.id, r.type, orjson.loads(r.data)) for r in rows]
    return end


async def test_every_event_reaches_a_stream_on_another_process_in_order(
    processes: str, changes: WhatsAppRig, db: Database
) -> None:
    rig = changes
    token = rig.client.headers["Authorization"].removeprefix("Bearer ")
    async with LiveReader(processes, token) as stream:
        start = 0
        # One change at a time: an inbound message (the worker processes it), a send (this API
        # process accepts it, the worker delivers it, its statuses come back through this process).
        chat = await rig.user_writes("972500006001", "Hi")
        r = await rig.send(chat, {"type": "text", "text": "Hello"}, headers={"Prefer": "respond-async"})
        assert r.status_code == 202
        await quiet(db)
        start = await assert_stream_is_the_log(db, stream, start)
        kinds = {e.type for e in stream.events}
        assert {"chat.created", "message.created", "chat.updated", "message.updated"} <= kinds

        # 200 concurrent changes: 100 sends over 10 chats and 100 contacts writing.
        chats = [await rig.user_writes(f"97250000610{i}") for i in range(10)]
        gate = asyncio.Semaphore(40)

        async def send(n: int) -> None:
            async with gate:
                r = await rig.send(chats[n % 10], {"type": "text", "text": f"m{n}"}, headers={"Prefer": "respond-async"})
                assert r.status_code == 202, r.text

        async def write(n: int) -> None:
            async with gate:
                body = {"from": f"9725000062{n:02d}", "name": f"User {n}", "text": {"body": f"hello {n}"}}
                r = await rig.control.post("/simulator/inbound", json=body)
                assert r.status_code == 200, r.text

        await asyncio.gather(*(send(n) for n in range(100)), *(write(n) for n in range(100)))
        await quiet(db)
        await assert_stream_is_the_log(db, stream, start)
    created = [e.data["_id"] for e in stream.events if e.type == "message.created" and not e.data.get("systemMessage")]
    assert len(created) == len(set(created)) == 2 + 10 + 100 + 100
    opened = [e.data["_id"] for e in stream.events if e.type == "message.created" and e.data.get("systemMessage")]
    assert len(opened) == len(set(opened)) == 1 + 10 + 100  # each new chat's opening transition
