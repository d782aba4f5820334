"""The chaos run: several inboxd processes on one PostgreSQL under mixed load, while processes are
killed and PostgreSQL itself restarts; afterwards nothing is lost, nothing is doubled (but in the
documented in-doubt window), every order holds, and every process still works.

The cast, all real processes talking over loopback:
- PostgreSQL of the test's own (tests/support/own_postgres.py: it is restarted, so never the
  shared server);
- two `inboxd serve` (HTTP + worker loops) behind a TCP load balancer (tests/support/tcpproxy.py),
  two `inboxd worker`;
- the standalone simulator (`inboxd simulator`) as Meta: Graph for the sends, signed webhooks
  (inbound messages with media, statuses) to the balancer, retried until 2xx;
- a customer event receiver (in the test) subscribed to every new message.

`LOAD_SECONDS` of load (sync and async sends across `CHATS` chats, each chat's sends one after
another with an Idempotency-Key and retried until answered 2xx; inbound texts and images; the
statuses the simulator sends; the events). Every `KILL_EVERY` s one inboxd process, chosen at
random, is SIGKILLed and started again; once, half-way, PostgreSQL restarts (immediate mode: every
session cut). Then the system drains, and the checks run; the counts are printed.
"""

from __future__ import annotations

import asyncio
import base64
import os
import random
import signal
import subprocess
import time
import uuid
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import sqlalchemy as sa
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from inboxd.events.signing import EVENT_ID_HEADER
from inboxd.store.db import Database, DatabaseUnavailable
from inboxd.store.tables import event_deliveries, files, messages, outbox, webhook_events
from tests.events.conftest import template
from tests.support.cli import INBOXD, cli_env, free_port, run_cli
from tests.support.own_postgres import OwnPostgres, own_postgres
from tests.support.server import serve_asgi
from tests.support.tcpproxy import TcpProxy

pytestmark = pytest.mark.slow

LOAD_SECONDS = float(os.environ.get("INBOXD_CHAOS_SECONDS", "60"))
KILL_EVERY = float(os.environ.get("INBOXD_CHAOS_KILL_EVERY", "5"))  # 0: no chaos (to compare)
CHATS = 50
SENDERS = 10  # concurrent senders, each working its share of the chats
DOUBT_GRACE = 5.0
SHUTDOWN_SECONDS = 10.0
DRAIN_SECONDS = 240.0
API = "/server/api/v2"
PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)
SIM = {  # the simulated Meta app and number
    "app_secret": "chaos-app-secret",
    "phone_number_id": "106540352249999",
    "access_token": "chaos-access-token",
    "waba_id": "102290129349999",
    "display_phone_number": "15550789999",
}


@dataclass
class Proc:
    name: str
    args: list[str]
    log: Path
    port: int | None = None
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self, env: dict[str, str]) -> None:
        self.starts += 1
        with self.log.open("ab") as out:
            out.write(f"\n--- start {self.starts} ---\n".encode())
            out.flush()
            self.popen = subprocess.Popen(self.args, env=env, stdout=out, stderr=subprocess.STDOUT)

    def alive(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self) -> None:
        assert self.popen is not None
        self.popen.kill()
        self.popen.wait(30)


@dataclass
class Cluster:
    pg: OwnPostgres
    env: dict[str, str]
    procs: list[Proc]
    lb: TcpProxy
    sim_url: str
    token: str
    db: Database
    receiver: EventReceiver
    logs: Path

    @property
    def api_url(self) -> str:
        return f"http://{self.lb.url_host}"


@dataclass
class EventReceiver:
    """The customer's endpoint: records every event (id, chat, arrival), answers 200 at once."""

    arrivals: list[tuple[str, str]] = field(default_factory=list)  # (event id, chat id)
    url: str = ""

    def app(self) -> Starlette:
        async def handle(request: Request) -> Response:
            body = orjson.loads(await request.body())
            self.arrivals.append((request.headers[EVENT_ID_HEADER], body["eventData"]["chat"]["_id"]))
            return Response(status_code=200)

        return Starlette(routes=[Route("/events", handle, methods=["POST"])])


@dataclass
class Load:
    accepted: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))  # wa_id -> message ids
    inbound: list[str] = field(default_factory=list)  # wamids the simulator sent in
    inbound_media: int = 0
    sync_sends: int = 0
    async_sends: int = 0
    retried: int = 0  # send requests repeated after a failure (same Idempotency-Key)
    answers: Counter[str] = field(default_factory=Counter)  # what the failed attempts got
    latencies: list[float] = field(default_factory=list)  # seconds from the first try to the 2xx
    kills: list[str] = field(default_factory=list)
    pg_restarts: int = 0


def users() -> list[str]:
    return [f"97254{n:07d}" for n in range(CHATS)]


async def wait_http(url: str, proc: Proc | None = None, within: float = 60.0) -> None:
    deadline = time.monotonic() + within
    async with httpx.AsyncClient(timeout=2) as http:
        while True:
            try:
                if (await http.get(url)).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            if proc is not None and not proc.alive():
                raise AssertionError(f"{proc.name} exited: {proc.log.read_text()[-3000:]}")
            assert time.monotonic() < deadline, f"{url} did not come up"
            await asyncio.sleep(0.2)


@pytest.fixture
async def cluster(tmp_path: Path) -> AsyncIterator[Cluster]:
    receiver = EventReceiver()
    with own_postgres() as pg:
        serve_ports = [free_port(), free_port()]
        sim_port = free_port()
        with TcpProxy("127.0.0.1", *serve_ports) as lb:
            env = cli_env(tmp_path / "data", {
                "INBOXD_DATABASE_URL": pg.url,
                "INBOXD_SIMULATOR": "false",
                "INBOXD_WORKERS": "1",
                "INBOXD_DELIVERY_LEASE_SECONDS": "10",
                "INBOXD_DELIVERY_DOUBT_GRACE_SECONDS": str(DOUBT_GRACE),
                "INBOXD_SEND_WAIT_SECONDS": "5",
                "INBOXD_EVENTS_ALLOW_PRIVATE_URLS": "true",
                "INBOXD_EVENTS_TIMEOUT_SECONDS": "5",
                "INBOXD_EVENTS_RETRY_MAX_SECONDS": "2",
                "INBOXD_SHUTDOWN_SECONDS": str(SHUTDOWN_SECONDS),
                "INBOXD_LOG_LEVEL": "warning",
            })
            run_cli("migrate", env=env)
            sim = Proc("simulator", [*INBOXD, "simulator", "--port", str(sim_port),
                                     "--callback-url", f"http://{lb.url_host}/webhooks/whatsapp",
                                     "--app-secret", SIM["app_secret"], "--phone-number-id", SIM["phone_number_id"],
                                     "--access-token", SIM["access_token"], "--waba-id", SIM["waba_id"],
                                     "--display-phone-number", SIM["display_phone_number"], "--mps", "0",
                                     "--pair-burst", "0", "--no-window", "--sent-delay", "0.2",
                                     "--delivered-delay", "0.5", "--read-delay", "-1"],
                       tmp_path / "simulator.log")
            sim.start(env)
            sim_url = f"http://127.0.0.1:{sim_port}"
            run_cli("channels", "add-whatsapp", "--account-id", SIM["display_phone_number"],
                    "--phone-number-id", SIM["phone_number_id"], "--access-token", SIM["access_token"],
                    "--app-secret", SIM["app_secret"], "--verify-token", "chaos", "--graph-url", sim_url,
                    "--mps", "1000", "--waba-id", SIM["waba_id"], env=env)
            token = run_cli("tokens", "create", "--name", "chaos", "--all-scopes", env=env).stdout.strip()
            procs = [
                Proc(f"serve-{n}", [*INBOXD, "serve", "--port", str(port)], tmp_path / f"serve-{n}.log", port)
                for n, port in enumerate(serve_ports, start=1)
            ] + [Proc(f"worker-{n}", [*INBOXD, "worker", "--loops", "1"], tmp_path / f"worker-{n}.log") for n in (1, 2)]
            db = Database(pg.url)
            try:
                await wait_http(f"{sim_url}/simulator", sim)
                async with httpx.AsyncClient(base_url=sim_url) as control:  # Meta keeps retrying a webhook
                    r = await control.patch("/simulator/config", json={"webhook_max_attempts": 100000,
                                                                      "webhook_max_backoff": 1.0})
                    assert r.status_code == 200, r.text
                for proc in procs:
                    proc.start(env)
                for proc in procs[:2]:
                    await wait_http(f"http://127.0.0.1:{proc.port}/healthz", proc)
                async with serve_asgi(receiver.app()) as (receiver_url, _):
                    receiver.url = f"{receiver_url}/events"
                    yield Cluster(pg, env, procs, lb, sim_url, token, db, receiver, tmp_path)
            finally:
                for proc in [*procs, sim]:
                    if proc.alive():
                        proc.kill()
                await db.dispose()


async def send_until_accepted(api: httpx.AsyncClient, chat_id: str, text: str, *, sync: bool, load: Load) -> str:
    """One send, repeated with the same Idempotency-Key until an answer says it was accepted."""
    key = uuid.uuid4().hex
    headers = {"Idempotency-Key": key, **({} if sync else {"Prefer": "respond-async"})}
    first = True
    began = time.monotonic()
    while True:
        if not first:
            load.retried += 1
        first = False
        try:
            r = await api.post(f"{API}/messages/send/{chat_id}", json={"type": "text", "text": text}, headers=headers)
        except httpx.HTTPError as exc:
            load.answers[type(exc).__name__] += 1
            await asyncio.sleep(0.2)
            continue
        if r.status_code in (200, 202):
            load.latencies.append(time.monotonic() - began)
            return str(r.json()["messages"][0]["_id"])
        load.answers[f"{r.status_code} {r.json().get('code') if r.headers.get('content-type', '').startswith('application/json') else ''}"] += 1
        assert r.status_code in (502, 503, 504), r.text  # a refusal would be a bug: every send here is valid
        await asyncio.sleep(0.2)


async def open_chats(cluster: Cluster, control: httpx.AsyncClient, load: Load) -> dict[str, str]:
    for wa_id in users():
        r = await control.post("/simulator/inbound", json={"from": wa_id, "name": "Chaos", "text": {"body": "hi"}})
        assert r.status_code == 200, r.text
        load.inbound.append(r.json()["id"])
    deadline = time.monotonic() + 60
    while True:
        async with cluster.db.read() as conn:
            found = dict((await conn.execute(sa.text("SELECT contact_id, id FROM chats"))).all())
        if len(found) == CHATS:
            return found
        assert time.monotonic() < deadline, f"{len(found)} of {CHATS} chats opened"
        await asyncio.sleep(0.2)


async def chaos(cluster: Cluster, load: Load, until: float) -> None:
    rng = random.Random(os.environ.get("INBOXD_CHAOS_SEED"))
    restarted_pg = False
    while time.monotonic() + KILL_EVERY < until and KILL_EVERY > 0:
        await asyncio.sleep(KILL_EVERY)
        victim = rng.choice(cluster.procs)
        victim.kill()
        load.kills.append(victim.name)
        victim.start(cluster.env)
        if not restarted_pg and time.monotonic() > until - LOAD_SECONDS / 2:
            restarted_pg = True
            await asyncio.to_thread(cluster.pg.restart)
            load.pg_restarts += 1


async def run_load(cluster: Cluster, load: Load, chats: dict[str, str], control: httpx.AsyncClient) -> None:
    until = time.monotonic() + LOAD_SECONDS
    order = users()

    async def sender(mine: list[str]) -> None:
        async with httpx.AsyncClient(base_url=cluster.api_url, timeout=30,
                                     headers={"Authorization": f"Bearer {cluster.token}"}) as api:
            n = 0
            while time.monotonic() < until:
                wa_id = mine[n % len(mine)]
                sync = n % 2 == 0
                message_id = await send_until_accepted(api, chats[wa_id], f"{wa_id} #{len(load.accepted[wa_id])}",
                                                       sync=sync, load=load)
                load.accepted[wa_id].append(message_id)
                if sync:
                    load.sync_sends += 1
                else:
                    load.async_sends += 1
                n += 1
                await asyncio.sleep(0.1)

    async def inbound() -> None:
        n = 0
        while time.monotonic() < until:
            wa_id = order[n % CHATS]
            if n % 2:
                body: dict[str, Any] = {"image": {"data": base64.b64encode(PNG + os.urandom(8)).decode(), "caption": f"img {n}"}}
            else:
                body = {"text": {"body": f"text {n}"}}
            r = await control.post("/simulator/inbound", json={"from": wa_id, "name": "Chaos", **body})
            assert r.status_code == 200, r.text
            load.inbound.append(r.json()["id"])
            load.inbound_media += n % 2
            n += 1
            await asyncio.sleep(0.25)

    shares = [order[i::SENDERS] for i in range(SENDERS)]
    await asyncio.gather(*(sender(share) for share in shares), inbound(), chaos(cluster, load, until))


async def drained(cluster: Cluster, control: httpx.AsyncClient) -> dict[str, Any]:
    deadline = time.monotonic() + DRAIN_SECONDS
    while True:
        state: dict[str, Any] = {}
        try:
            async with cluster.db.read() as conn:
                state["outbox"] = (await conn.execute(sa.select(sa.func.count()).select_from(outbox))).scalar_one()
                state["webhook_events_pending"] = (await conn.execute(
                    sa.select(sa.func.count()).where(webhook_events.c.state == "pending"))).scalar_one()
                state["event_deliveries_pending"] = (await conn.execute(
                    sa.select(sa.func.count()).where(event_deliveries.c.state == "pending"))).scalar_one()
            hooks = (await control.get("/simulator/webhooks")).json()
            state["simulator_webhooks"] = hooks["pending"] + hooks["in_flight"]
        except (httpx.HTTPError, DatabaseUnavailable) as exc:
            state["error"] = str(exc)
        if not state.get("error") and not any(state.values()):
            return state
        assert time.monotonic() < deadline, f"not drained after {DRAIN_SECONDS} s: {state}"
        await asyncio.sleep(1.0)


def _pct(values: list[float], pct: int) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, len(ordered) * pct // 100)] if ordered else 0.0


async def test_chaos(cluster: Cluster, capsys: pytest.CaptureFixture[str]) -> None:
    load = Load()
    async with (
        httpx.AsyncClient(base_url=cluster.sim_url, timeout=30) as control,
        httpx.AsyncClient(base_url=cluster.api_url, timeout=30,
                          headers={"Authorization": f"Bearer {cluster.token}"}) as api,
    ):
        r = await api.post(f"{API}/scenarios/manage/import", json=template("all-messages", cluster.receiver.url))
        assert r.status_code == 201, r.text
        chats = await open_chats(cluster, control, load)
        started = time.monotonic()
        await run_load(cluster, load, chats, control)
        load_seconds = time.monotonic() - started
        await drained(cluster, control)
        sent = {wa_id: (await control.get(f"/simulator/contacts/{wa_id}/sent")).json()["data"] for wa_id in users()}
        hooks = (await control.get("/simulator/webhooks")).json()["counters"]

    async with cluster.db.read() as conn:
        incoming = (await conn.execute(
            sa.select(messages.c.external_id, messages.c.content).where(messages.c.direction == "incoming"))).all()
        outgoing_status = Counter((await conn.execute(
            sa.select(messages.c.status).where(messages.c.direction == "outgoing"))).scalars())
        deliveries = (await conn.execute(
            sa.select(event_deliveries.c.id, event_deliveries.c.order_key, event_deliveries.c.state)
            .order_by(event_deliveries.c.seq))).all()
        file_hashes = set((await conn.execute(sa.select(files.c.id, files.c.sha256))).all())

    # 1. Every accepted send reached the simulator once, in per-chat order; a duplicate only after
    #    the in-doubt grace (the worker that sent it died before it could record the answer, and no
    #    status named the message within the grace).
    duplicates = 0
    accepted_total = sum(len(ids) for ids in load.accepted.values())
    for wa_id in users():
        got = [m["payload"]["biz_opaque_callback_data"] for m in sent[wa_id]]
        first_seen = list(dict.fromkeys(got))
        assert first_seen == load.accepted[wa_id], f"chat of {wa_id}: order or set differs"
        times: dict[str, list[int]] = defaultdict(list)
        for m in sent[wa_id]:
            times[m["payload"]["biz_opaque_callback_data"]].append(m["timestamp"])
        for message_id, stamps in times.items():
            for earlier, later in zip(stamps, stamps[1:], strict=False):
                duplicates += 1
                assert later - earlier >= DOUBT_GRACE - 1, f"{message_id} sent twice {later - earlier} s apart"
    # 2. Every inbound message the simulator delivered is stored once, with its media.
    assert hooks.get("dropped_message", 0) == 0 and hooks.get("dropped_status", 0) == 0, hooks
    stored = Counter(row.external_id for row in incoming)
    assert set(stored) == set(load.inbound) and max(stored.values()) == 1
    media = [row.content["media"][0] for row in incoming if "media" in row.content]
    files_by_id = dict(file_hashes)
    assert all(item.get("fileId") in files_by_id for item in media), [m for m in media if "fileId" not in m][:3]
    store_root = Path(cluster.env["INBOXD_DATA_DIR"]) / "files"
    assert all((store_root / h[:2] / h[2:4] / h).is_file() for h in {files_by_id[i["fileId"]] for i in media})
    # 3. Every event reached the receiver, in order per chat.
    assert all(row.state == "delivered" for row in deliveries), Counter(row.state for row in deliveries)
    first_arrival = list(dict.fromkeys(event_id for event_id, _ in cluster.receiver.arrivals))
    assert set(first_arrival) == {row.id for row in deliveries}
    position = {event_id: n for n, event_id in enumerate(first_arrival)}
    by_chat: dict[str, list[str]] = defaultdict(list)
    for row in deliveries:
        by_chat[row.order_key].append(row.id)
    for chat_id, ids in by_chat.items():
        assert [position[i] for i in ids] == sorted(position[i] for i in ids), f"events of chat {chat_id} out of order"
    event_duplicates = len(cluster.receiver.arrivals) - len(first_arrival)
    # 4. No process is left broken: all alive, both servers healthy, and each stops cleanly.
    for proc in cluster.procs:
        assert proc.alive(), f"{proc.name} is not running: {proc.log.read_text()[-3000:]}"
    async with httpx.AsyncClient(timeout=10) as http:
        for proc in cluster.procs[:2]:
            r = await http.get(f"http://127.0.0.1:{proc.port}/healthz")
            assert r.status_code == 200, r.text
    for proc in cluster.procs:
        assert proc.popen is not None
        proc.popen.send_signal(signal.SIGTERM)
    for proc in cluster.procs:
        assert proc.popen is not None
        proc.popen.wait(SHUTDOWN_SECONDS + 10)

    with capsys.disabled():
        print(
            f"\nchaos: {load_seconds:.0f} s of load; {len(load.kills)} SIGKILLs ({dict(Counter(load.kills))}), "
            f"{load.pg_restarts} PostgreSQL restart"
            f"\n  sends accepted: {accepted_total} ({load.sync_sends} sync, {load.async_sends} async) across {CHATS} chats; "
            f"reached the simulator once each, in per-chat order; duplicates (in-doubt window): {duplicates}"
            f"\n  send latency (first try to 2xx): p50 {_pct(load.latencies, 50):.2f} s, p95 {_pct(load.latencies, 95):.2f} s, "
            f"max {max(load.latencies, default=0):.2f} s"
            f"\n  send attempts repeated by the client (same Idempotency-Key): {load.retried} ({dict(load.answers)})"
            f"\n  outgoing statuses at the end: {dict(sorted(outgoing_status.items()))}"
            f"\n  inbound messages: {len(load.inbound)} sent by the simulator ({load.inbound_media} with media), "
            f"{len(stored)} stored, each once; simulator webhook counters: {hooks}"
            f"\n  events: {len(deliveries)} delivered to the receiver in per-chat order; "
            f"repeated deliveries (same event id): {event_duplicates}"
        )

