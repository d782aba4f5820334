"""Scenario 6 (`live`): 200 open live streams while 100 changes a second happen, for 60 s.

One `inboxd serve` (SQLite, the embedded default's shape: one process, its inbound and delivery
workers inside) with a standalone simulator as WhatsApp. The changes are half Send a Message
requests (`Prefer: respond-async`; each is delivered, so its wamid and its sent / delivered /
read statuses follow as more events) and half signed inbound webhooks of one text message from
one of the chats' contacts. Two client processes (`bench.live_clients`) hold the streams.

Figures: commit → event on the stream (the event's `created_at`, taken just before its commit,
to the moment the client read it) p50 / p99 / max over every event of every stream committed in
the measured window — and the same with 2 streams open (same load, measured just before: what
the host and the changes alone make of the latency); gaps and duplicates per stream (must be 0); the server's peak RSS; its CPU
per event per stream: the server's CPU during the measured window minus what the same changes
cost with no stream open (measured first, per event, times the window's events), divided by the
events delivered to all streams. The machine's load average is recorded with the figures.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from bench import seed
from bench.common import (
    PY,
    Proc,
    clean_env,
    free_port,
    fresh_db,
    log,
    machine,
    processes,
    save_result,
    start_inboxd,
    start_simulator,
    workdir,
)
from inboxd.channels.whatsapp.signature import HEADER, sign
from inboxd.store.tables import live_events

CLIENT_PROCESSES = 2


async def _send_path_cost(spec: Any, *, rounds: int, sends: int, concurrency: int = 64) -> dict[str, Any]:
    """The live log's cost on the send path, in this process: `accept_outgoing` (the group commit
    of Send a Message) for `sends` text messages over 64 chats, `concurrency` at a time, with the
    live log's listener installed and without, alternating, `rounds` times each. CPU is this
    process's (on SQLite it includes SQLite's work, which runs inline; on PostgreSQL the server's
    is not in it, the wall time is); statements are counted per write transaction."""
    from sqlalchemy import event

    from inboxd.delivery.accept import OutgoingItem, accept_outgoing
    from inboxd.domain_events import DomainEvents
    from inboxd.live.log import LiveLog

    db = await seed.prepare(spec)
    try:
        account = await seed.add_account(db, account_id="15550007000", phone_number_id="100000000007000")
        chats = await seed.add_chats(db, account, 64)
        statements: list[int] = []

        def begin(_conn: Any) -> None:
            statements.append(0)

        def execute(*_args: Any) -> None:
            if statements:
                statements[-1] += 1

        event.listen(db.engine.sync_engine, "begin", begin)
        event.listen(db.engine.sync_engine, "before_cursor_execute", execute)
        figures: dict[str, list[dict[str, float]]] = {"without_log": [], "with_log": []}
        item = [OutgoingItem("text", {"text": "Your order is on its way"})]
        for _ in range(rounds):
            for variant in ("without_log", "with_log"):
                events = DomainEvents()
                log_ = LiveLog(db) if variant == "with_log" else None
                if log_ is not None:
                    log_.install(events)
                statements.clear()
                cpu0, wall0 = time.process_time(), time.perf_counter()
                for start in range(0, sends, concurrency):
                    await asyncio.gather(*(
                        accept_outgoing(db, chats[n % len(chats)], account.id, item, now=int(time.time() * 1000),
                                        events=events)
                        for n in range(start, min(start + concurrency, sends))
                    ))
                cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
                if log_ is not None:
                    log_.uninstall()
                groups = [n for n in statements if n > 0]
                figures[variant].append({"cpu_us_per_send": cpu / sends * 1e6, "wall_us_per_send": wall / sends * 1e6,
                                         "transactions": len(groups),
                                         "statements_per_transaction": sum(groups) / max(len(groups), 1)})
    finally:
        await db.dispose()

    def median(variant: str, key: str) -> float:
        return round(sorted(r[key] for r in figures[variant])[len(figures[variant]) // 2], 1)

    out: dict[str, Any] = {"sends": sends, "rounds": rounds, "concurrency": concurrency, "runs": figures}
    for variant in figures:
        out[variant] = {key: median(variant, key) for key in figures[variant][0]}
    out["cpu_ratio"] = round(out["with_log"]["cpu_us_per_send"] / out["without_log"]["cpu_us_per_send"], 3)
    return out


def _percentile(counts: dict[int, int], p: float) -> int | None:
    total = sum(counts.values())
    if not total:
        return None
    rank = total * p / 100
    seen = 0
    for value in sorted(counts):
        seen += counts[value]
        if seen >= rank:
            return value
    return max(counts)


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _changes(url: str, token: str, chats: list[str], contacts: list[str], account: Any, *, rate: float,
                   seconds: float) -> dict[str, int]:
    """`rate` changes a second for `seconds`: sends and inbound webhooks, alternating, on a fixed
    schedule (a late one does not push the next)."""
    rng = random.Random(5)
    done = {"sends": 0, "webhooks": 0, "errors": 0}
    tasks: set[asyncio.Task[None]] = set()
    async with httpx.AsyncClient(base_url=url, timeout=30, limits=httpx.Limits(max_connections=32)) as http:

        async def send() -> None:
            r = await http.post(f"/server/api/v2/messages/send/{rng.choice(chats)}", json={"type": "text", "text": "On it!"},
                                headers={"Authorization": f"Bearer {token}", "Prefer": "respond-async"})
            done["sends" if r.status_code == 202 else "errors"] += 1

        async def webhook(n: int) -> None:
            contact = rng.choice(contacts)
            payload = {"object": "whatsapp_business_account", "entry": [{"id": "1", "changes": [{"field": "messages", "value": {
                "messaging_product": "whatsapp",
                "metadata": {"display_phone_number": account.account_id, "phone_number_id": account.phone_number_id},
                "contacts": [{"profile": {"name": "Customer"}, "wa_id": contact}],
                "messages": [{"from": contact, "id": f"wamid.LIVE{time.time_ns()}{n}", "timestamp": str(int(time.time())),
                              "type": "text", "text": {"body": "Where is my order?"}}],
            }}]}]}
            body = orjson.dumps(payload)
            r = await http.post("/webhooks/whatsapp", content=body, headers={
                "Content-Type": "application/json", HEADER: sign(body, account.app_secret)})
            done["webhooks" if r.status_code == 200 else "errors"] += 1

        start = time.monotonic()
        n = 0
        while (due := start + n / rate) < start + seconds:
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.ensure_future(send() if n % 2 == 0 else webhook(n))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            n += 1
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
    return done


async def _log_ids(spec: Any, t0_ms: int, t1_ms: int) -> tuple[int, int]:
    """(events committed in the window, the last id of the window)."""
    db = seed.database(spec)
    try:
        async with db.read() as conn:
            count = (await conn.execute(sa.select(sa.func.count()).select_from(live_events).where(
                live_events.c.created_at >= t0_ms, live_events.c.created_at <= t1_ms))).scalar_one()
            last = (await conn.execute(sa.select(sa.func.max(live_events.c.id)).where(
                live_events.c.created_at <= t1_ms))).scalar() or 0
        return int(count), int(last)
    finally:
        await db.dispose()


def _wait_ready(procs: list[Proc], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if all("READY" in p.log_path.read_text(errors="replace") for p in procs):
            return
        for p in procs:
            if p.popen is not None and p.popen.poll() is not None:
                raise RuntimeError(f"{p.name} exited:\n{p.tail()}")
        time.sleep(0.1)
    raise RuntimeError("the stream clients did not connect")


def send_path_cost(cfg: Any) -> dict[str, Any]:
    """The live log's cost on the send path, on SQLite and on PostgreSQL (see `_send_path_cost`)."""
    rounds, sends = (2, 256) if cfg.quick else (5, 4000)
    out: dict[str, Any] = {}
    for kind in ("sqlite", "postgresql"):
        with workdir(f"live-cost-{kind}") as work, fresh_db(kind, work) as spec:
            try:
                out[kind] = asyncio.run(_send_path_cost(spec, rounds=rounds, sends=sends))
            except OSError as exc:  # no PostgreSQL here
                out[kind] = {"skipped": str(exc)}
                continue
        r = out[kind]
        log(f"live send path ({kind}): {r['without_log']['cpu_us_per_send']} → {r['with_log']['cpu_us_per_send']} µs CPU "
            f"per send, {r['without_log']['statements_per_transaction']} → {r['with_log']['statements_per_transaction']} "
            f"statements per transaction")
    return out


def live(cfg: Any) -> dict[str, Any]:
    seconds = cfg.seconds(60, quick=3)
    baseline_seconds = cfg.seconds(30, quick=2)
    reference_seconds = cfg.seconds(30, quick=2)
    streams = 20 if cfg.quick else 200
    rate = 100.0
    result: dict[str, Any] = {"scenario": "live", "db": "sqlite", "streams": streams, "changes_per_s": rate,
                              "duration_s": seconds, "baseline_s": baseline_seconds, "reference_s": reference_seconds,
                              "machine": machine()}
    with workdir("live") as work, processes(), fresh_db("sqlite", work) as spec:
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        sim = start_simulator("simulator", work, f"{url}/webhooks/whatsapp", mps=1000, display_phone_number="15550006000")
        account_spec = {"account_id": sim.display_phone_number, "phone_number_id": sim.phone_number_id,
                        "access_token": sim.access_token, "app_secret": sim.app_secret, "graph_url": sim.url, "mps": 1000}
        from bench.scenarios import _profile, _profile_done, _seed_send, _wait_read  # as the send scenarios do

        token, chat_ids, [account] = asyncio.run(_seed_send(spec, 200, [account_spec]))
        contacts = [seed.contact(i) for i in range(200)]  # the seeded chats' contacts
        server = start_inboxd("inboxd", spec, work, port, {"INBOXD_WORKERS": "1"})

        def load(duration: float) -> dict[str, int]:
            return asyncio.run(_changes(url, token, chat_ids, contacts, account, rate=rate, seconds=duration))

        def phase(count: int, duration: float, name: str, profile: bool = False) -> dict[str, Any]:
            """`count` streams open while the load runs `duration` seconds: the figures."""
            window = work / f"{name}-window.json"
            per = max(1, count // CLIENT_PROCESSES)
            outs = [work / f"{name}-streams{n}.json" for n in range(CLIENT_PROCESSES)]
            clients = [
                Proc(f"{name}-streams{n}", [PY, "-m", "bench.live_clients", "--port", str(port), "--token", token,
                                            "--streams", str(per), "--database-url", spec.url, "--window", str(window),
                                            "--out", str(outs[n])], clean_env(), work / f"{name}-streams{n}.log").start()
                for n in range(CLIENT_PROCESSES)
            ]
            _wait_ready(clients)
            load_before = os.getloadavg()  # the machine is shared: how busy it was (before, after)
            t0, cpu0 = int(time.time() * 1000), _cpu_s(server.pid)
            prof = _profile(cfg, server, name, work, duration) if profile else None
            measured = load(duration)
            t1, cpu1 = int(time.time() * 1000), _cpu_s(server.pid)
            if profile:
                result["profile"] = _profile_done(prof)
            events, last_id = asyncio.run(_log_ids(spec, t0, t1))
            window.write_text(json.dumps({"t0_ms": t0, "t1_ms": t1, "last_id": last_id}))
            for client in clients:  # each reads on until its streams have `last_id`, then reports
                client.stop(timeout=120)
            parts = [json.loads(o.read_text()) for o in outs]
            counts: dict[int, int] = {}
            for part in parts:
                for ms, n in part["latency_ms_counts"].items():
                    counts[int(ms)] = counts.get(int(ms), 0) + n
            delivered = sum(counts.values())
            window_s = (t1 - t0) / 1000
            # The changes' own work scales with the events they make (deliveries, statuses): the
            # baseline's CPU per event, times this window's events, is what the streams did not cost.
            extra_cpu = (cpu1 - cpu0) - baseline["server_cpu_s"] / max(baseline["events"], 1) * events
            return {
                "streams": per * CLIENT_PROCESSES,
                "changes": measured,
                "window_s": round(window_s, 1),
                "changes_per_s": round((measured["sends"] + measured["webhooks"]) / window_s, 1),
                "load_average": [round(x, 2) for x in load_before + os.getloadavg()],
                "events_in_window": events,
                "events_per_s": round(events / window_s, 1),
                "deliveries": delivered,
                "expected_deliveries": events * per * CLIENT_PROCESSES,
                "gaps": sum(p["gaps"] for p in parts),
                "duplicates": sum(p["duplicates"] for p in parts),
                "streams_ended_early": sum(p["ended_early"] for p in parts),
                "commit_to_stream_p50_ms": _percentile(counts, 50),
                "commit_to_stream_p90_ms": _percentile(counts, 90),
                "commit_to_stream_p99_ms": _percentile(counts, 99),
                "commit_to_stream_max_ms": max(counts) if counts else None,
                "server_cpu_s": round(cpu1 - cpu0, 2),
                "server_cpu_share": round((cpu1 - cpu0) / window_s, 3),
                "cpu_us_per_event_per_stream": round(extra_cpu / delivered * 1e6, 2) if delivered else None,
                "peak_rss_mb": server.record_peak(),
                "client_cpu_s": [p["client_cpu_s"] for p in parts],
                "simulator_peak_rss_mb": sim.proc.record_peak() if sim.proc else None,
            }

        if cfg.warm():
            load(cfg.warm())
            asyncio.run(_wait_read(spec, timeout=30))  # its deliveries and statuses done
        # The same load with no stream open: what the changes themselves cost the server.
        t0, cpu0 = int(time.time() * 1000), _cpu_s(server.pid)
        base = load(baseline_seconds)
        t1, cpu1 = int(time.time() * 1000), _cpu_s(server.pid)
        base_events, _ = asyncio.run(_log_ids(spec, t0, t1))
        baseline = {"changes": base, "events": base_events, "server_cpu_s": round(cpu1 - cpu0, 2),
                    "seconds": round((t1 - t0) / 1000, 2)}
        log(f"live baseline: {base} → {base_events} events, server CPU {cpu1 - cpu0:.2f}s in {(t1 - t0) / 1000:.1f}s")
        asyncio.run(_wait_read(spec, timeout=30))

        # The same load with 2 streams (the host's and the changes' own latency), then with all.
        result["reference_2_streams"] = phase(2, reference_seconds, "reference")
        asyncio.run(_wait_read(spec, timeout=30))
        result["inboxd"] = phase(streams, seconds, "live", profile=True)
        result["baseline_no_streams"] = baseline
        i, ref = result["inboxd"], result["reference_2_streams"]
        log(f"live: {streams} streams, {i['events_per_s']} events/s, commit→stream p50 {i['commit_to_stream_p50_ms']} "
            f"p99 {i['commit_to_stream_p99_ms']} ms (2 streams: p50 {ref['commit_to_stream_p50_ms']} p99 "
            f"{ref['commit_to_stream_p99_ms']} ms), {i['cpu_us_per_event_per_stream']} µs CPU/event/stream, "
            f"gaps {i['gaps']} dup {i['duplicates']}, RSS {i['peak_rss_mb']} MB")
    result["send_path"] = send_path_cost(cfg)
    save_result("live", result)
    return result
