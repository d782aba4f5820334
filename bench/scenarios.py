"""The five scenarios of issue 7. Each starts what it needs on loopback, drives the load,
collects the figures and saves `bench/results/<name>.json`."""

from __future__ import annotations

import asyncio
import json
import os
import random
import secrets
import statistics
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import sqlalchemy as sa

from bench import seed
from bench.common import (
    LUA,
    PY,
    ROOT,
    DbSpec,
    Proc,
    clean_env,
    free_port,
    fresh_db,
    log,
    machine,
    merge_wrk,
    processes,
    pyspy_start,
    save_result,
    start_inboxd,
    start_simulator,
    summarize_collapsed,
    workdir,
    wrk,
    wrk_finish,
    wrk_start,
)
from bench.loadgen import post_all
from inboxd.channels.whatsapp.signature import HEADER, sign
from inboxd.store.tables import messages, unmatched_statuses, webhook_events


@dataclass
class Config:
    quick: bool = False
    duration: float | None = None  # seconds of measured load per run (default per scenario)
    profile: bool = False  # py-spy the inboxd server during the measured run
    sizes: list[int] | None = None  # scenario 4: message counts
    chat_sizes: list[int] | None = None  # scenario 4: chat counts of the filter searches
    warmup: float | None = None
    baselines: bool = True  # False: inboxd alone (`--no-baselines`, e.g. an older commit's "before" run)

    def seconds(self, default: float, quick: float = 2.0) -> float:
        if self.duration is not None:
            return self.duration
        return quick if self.quick else default

    def warm(self) -> float:
        if self.warmup is not None:
            return self.warmup
        return 0.0 if self.quick else 3.0


def percentile(values: list[float], p: float) -> float:
    if not values:
        return 0.0
    values = sorted(values)
    k = (len(values) - 1) * p / 100
    lo = int(k)
    hi = min(lo + 1, len(values) - 1)
    return values[lo] + (values[hi] - values[lo]) * (k - lo)


def write_lines(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n")
    return path


def _profile(cfg: Config, proc: Proc, name: str, work: Path, seconds: float) -> Any:
    if not cfg.profile:
        return None
    return (pyspy_start(proc.pid, work / f"{name}.collapsed", seconds), work / f"{name}.collapsed", name)


def _profile_done(handle: Any) -> dict[str, Any] | None:
    if handle is None or handle[0] is None:
        return None
    popen, path, name = handle
    try:
        popen.wait(30)
    except Exception:
        popen.kill()
    summary = summarize_collapsed(path)
    if summary:
        save_result(f"profile-{name}", summary)
    return summary


# --- scenario 1 (and 5): Send, async -------------------------------------------------------------


async def _seed_send(spec: DbSpec, chats: int, accounts: list[dict[str, Any]]) -> tuple[str, list[str], list[Any]]:
    db = await seed.prepare(spec)
    try:
        token = await seed.add_token(db)
        made = []
        chat_ids: list[str] = []
        per = chats // len(accounts)
        for i, acc in enumerate(accounts):
            account = await seed.add_account(db, **acc)
            made.append(account)
            chat_ids += await seed.add_chats(db, account, per, first=i * per)
        # interleave accounts so every connection slice mixes them
        ordered = [c for pair in zip(*[chat_ids[i * per : (i + 1) * per] for i in range(len(accounts))], strict=True) for c in pair]
        return token, ordered, made
    finally:
        await db.dispose()


async def _count_messages(spec: DbSpec) -> int:
    db = seed.database(spec)
    try:
        return await seed.count(db, messages)
    finally:
        await db.dispose()


def send_async(
    cfg: Config, *, db_kind: str = "sqlite", api_processes: int = 1, baselines: tuple[str, ...] = ("fastapi", "mockpost")
) -> dict[str, Any]:
    """Scenario 1: `Prefer: respond-async` text sends, one chat per connection, 64 connections."""
    name = "send_async" if db_kind == "sqlite" and api_processes == 1 else f"send_async_{db_kind}_{api_processes}api"
    seconds = cfg.seconds(15)
    conns = 64
    result: dict[str, Any] = {"scenario": name, "db": db_kind, "api_processes": api_processes, "connections": conns,
                              "duration_s": seconds, "machine": machine()}
    with workdir(name) as work, processes(), fresh_db(db_kind, work) as spec:
        token, chat_ids, _ = asyncio.run(
            _seed_send(spec, conns, [{"account_id": "15550001000", "phone_number_id": "100000000000001"}])
        )
        chats_file = write_lines(work / "chats.txt", chat_ids)
        # The API's accept path alone: delivery is scenario 2's (INBOXD_WORKERS=0 keeps the
        # workers from retrying against a Graph URL that is not there).
        servers = []
        for i in range(api_processes):
            port = free_port()
            servers.append((start_inboxd(f"inboxd{i}", spec, work, port, {"INBOXD_WORKERS": "0"}), port))
        per = conns // api_processes
        slices = [chat_ids[i * per : (i + 1) * per] for i in range(api_processes)]
        files = [write_lines(work / f"chats{i}.txt", s) for i, s in enumerate(slices)]
        if cfg.warm():
            for (_, port), f in zip(servers, files, strict=True):
                wrk(f"http://127.0.0.1:{port}", LUA / "send.lua", connections=per, threads=per, duration=cfg.warm(),
                    args=[token, str(f), "async"])
        before = asyncio.run(_count_messages(spec))
        prof = _profile(cfg, servers[0][0], name, work, seconds)
        cpu_before = sum(_cpu_seconds(p.pid) for p, _ in servers)
        runs = [
            wrk_start(f"http://127.0.0.1:{port}", LUA / "send.lua", connections=per, threads=per, duration=seconds,
                      args=[token, str(f), "async"])
            for (_, port), f in zip(servers, files, strict=True)
        ]
        results = [wrk_finish(r) for r in runs]
        cpu = sum(_cpu_seconds(p.pid) for p, _ in servers) - cpu_before
        result["profile"] = _profile_done(prof)
        stored = asyncio.run(_count_messages(spec)) - before
        merged = merge_wrk(results)
        result["inboxd"] = {
            **merged,
            "stored_messages": stored,
            "peak_rss_mb": [p.record_peak() for p, _ in servers],
            "server_cpu_ms_per_request": round(cpu * 1000 / max(merged["requests"], 1), 4),
            "load_average_after": [round(x, 2) for x in os.getloadavg()],
        }
        log(f"{name}: {merged['rps']:.0f} req/s p50 {merged['p50_ms']} ms p99 {merged['p99_ms']} ms "
            f"(stored {stored} of {merged['requests']}), server CPU {result['inboxd']['server_cpu_ms_per_request']} ms/request")
        if not cfg.baselines:
            baselines = ()
        elif db_kind == "sqlite" and api_processes == 1:
            result["granian"] = _inboxd_granian(cfg, spec, work, token, chats_file, seconds)
            result["limiter"] = _limiter_cost(cfg, spec, work, token, chats_file, seconds)
        if "fastapi" in baselines:
            result["fastapi"] = _baseline_fastapi(cfg, work, chats_file, token, seconds)
        if "mockpost" in baselines:
            result["mockpost"] = _baseline_mockpost(cfg, work, seconds)
    save_result(name, result)
    return result


def _inboxd_granian(cfg: Config, spec: DbSpec, work: Path, token: str, chats_file: Path, seconds: float) -> dict[str, Any]:
    """The same load on the same app served by granian (ASGI, uvloop; `bench/baselines/granian_app.py`)
    instead of `inboxd serve`'s uvicorn: the server lever of issue 14, measured in the same run."""
    exe = Path(PY).parent / "granian"
    if not exe.exists():
        log("granian is not installed (pip install '.[bench]'): its arm skipped")
        return {"skipped": "granian not installed"}
    port = free_port()
    env = clean_env({"INBOXD_DATA_DIR": str(work / "data"), "INBOXD_SIMULATOR": "false", "INBOXD_LOG_LEVEL": "warning",
                     "INBOXD_WORKERS": "0", **spec.env()})
    proc = Proc("inboxd-granian", [str(exe), "--interface", "asgi", "--factory", "--loop", "uvloop", "--host", "127.0.0.1",
                                   "--port", str(port), "--log-level", "warning", "bench.baselines.granian_app:app"],
                env, work / "granian.log", cwd=ROOT).start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    pids = [proc.pid, *_children(proc.pid)]  # granian serves from a worker process
    url = f"http://127.0.0.1:{port}"
    if cfg.warm():
        wrk(url, LUA / "send.lua", connections=64, threads=64, duration=cfg.warm(), args=[token, str(chats_file), "async"])
    cpu_before = sum(_cpu_seconds(p) for p in pids)
    res = wrk(url, LUA / "send.lua", connections=64, threads=64, duration=seconds, args=[token, str(chats_file), "async"])
    cpu = sum(_cpu_seconds(p) for p in pids) - cpu_before
    out = {**res.as_dict(), "server_cpu_ms_per_request": round(cpu * 1000 / max(res.requests, 1), 4),
           "peak_rss_mb": max(_peak_rss(p) for p in pids)}
    proc.stop()
    log(f"inboxd on granian: {res.rps:.0f} req/s p99 {res.p99_ms:.1f} ms, server CPU {out['server_cpu_ms_per_request']} ms/request")
    return out


def _children(pid: int) -> list[int]:
    try:
        return [int(c) for c in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def _peak_rss(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    except OSError:
        pass
    return 0.0


def _limiter_cost(cfg: Config, spec: DbSpec, work: Path, token: str, chats_file: Path, seconds: float,
                  pairs: int = 4) -> dict[str, Any]:
    """Scenario 1's load on a fresh `inboxd serve` with the rate limiter (the default; the bench
    token's own limit, 5,000/s, is never reached, so every request pays the limiter and none is
    refused) and without it (`INBOXD_RATE_LIMITS=false`). On a shared machine the load of other
    processes drifts by more than the limiter costs, so the arms alternate in pairs, in ABBA order
    (on off, off on, …: a steady drift cancels), and the cost is the median of the pairs' ratios."""
    rounds: dict[str, list[dict[str, Any]]] = {"on": [], "off": []}
    order = [arm for i in range(pairs) for arm in (("on", "off") if i % 2 == 0 else ("off", "on"))]
    for arm in order:
        port = free_port()
        env = {"INBOXD_WORKERS": "0", **({} if arm == "on" else {"INBOXD_RATE_LIMITS": "false"})}
        proc = start_inboxd(f"inboxd-limiter-{arm}-{len(rounds[arm])}", spec, work, port, env)
        url = f"http://127.0.0.1:{port}"
        if cfg.warm():
            wrk(url, LUA / "send.lua", connections=64, threads=64, duration=cfg.warm(), args=[token, str(chats_file), "async"])
        cpu_before = _cpu_seconds(proc.pid)
        res = wrk(url, LUA / "send.lua", connections=64, threads=64, duration=seconds, args=[token, str(chats_file), "async"])
        cpu = _cpu_seconds(proc.pid) - cpu_before
        proc.stop()
        rounds[arm].append({**res.as_dict(), "server_cpu_ms_per_request": round(cpu * 1000 / max(res.requests, 1), 4)})
        log(f"limiter {arm}: {res.rps:.0f} req/s p99 {res.p99_ms:.1f} ms, server CPU "
            f"{rounds[arm][-1]['server_cpu_ms_per_request']} ms/request, errors {res.errors}")
    ratios = [on["rps"] / off["rps"] for on, off in zip(rounds["on"], rounds["off"], strict=True) if off["rps"]]
    cost = (1 - statistics.median(ratios)) * 100 if ratios else None
    medians = {arm: statistics.median(r["rps"] for r in runs) for arm, runs in rounds.items()}
    # CPU time per request of the server process moves far less with the other processes' load.
    cpu = {arm: statistics.median(r["server_cpu_ms_per_request"] for r in runs) for arm, runs in rounds.items()}
    cpu_cost = (cpu["on"] / cpu["off"] - 1) * 100 if cpu["off"] else None
    log(f"rate limiter: {medians['on']:.0f} req/s with, {medians['off']:.0f} without (medians); "
        f"cost {cost:.1f} % (median of {len(ratios)} paired ratios); server CPU per request "
        f"{cpu['on']} ms with, {cpu['off']} ms without: {cpu_cost:+.1f} %")
    return {"order": order, "rounds": rounds, "median_rps": medians, "pair_ratios": [round(r, 3) for r in ratios],
            "cost_pct": None if cost is None else round(cost, 1), "server_cpu_ms_per_request": cpu,
            "cpu_cost_pct": None if cpu_cost is None else round(cpu_cost, 1)}


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _baseline_fastapi(cfg: Config, work: Path, chats_file: Path, token: str, seconds: float) -> dict[str, Any]:
    port = free_port()
    proc = Proc("fastapi_min", [PY, "-m", "bench.baselines.fastapi_min", "--port", str(port)], clean_env(),
                work / "fastapi.log").start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    url = f"http://127.0.0.1:{port}"
    if cfg.warm():
        wrk(url, LUA / "send.lua", connections=64, threads=64, duration=cfg.warm(), args=[token, str(chats_file), "async"])
    cpu_before = _cpu_seconds(proc.pid)
    res = wrk(url, LUA / "send.lua", connections=64, threads=64, duration=seconds, args=[token, str(chats_file), "async"])
    cpu = _cpu_seconds(proc.pid) - cpu_before
    out = {**res.as_dict(), "peak_rss_mb": proc.record_peak(),
           "server_cpu_ms_per_request": round(cpu * 1000 / max(res.requests, 1), 4)}
    proc.stop()
    log(f"fastapi ceiling: {res.rps:.0f} req/s p99 {res.p99_ms:.1f} ms, server CPU {out['server_cpu_ms_per_request']} ms/request")
    return out


def _baseline_mockpost(cfg: Config, work: Path, seconds: float) -> dict[str, Any]:
    """mockpost (PyPI): `mockpost` runs its FastAPI app under uvicorn; its WhatsApp Cloud API
    send is `POST /whatsapp/v{version}/{phone_id}/messages`, stored in its SQLite database."""
    port = free_port()
    home = work / "mockpost"
    home.mkdir()
    env = clean_env({
        "MOCKPOST_HTTP_PORT": str(port), "MOCKPOST_DB_PATH": str(home / "mockpost.db"),
        "MOCKPOST_SMTP_PORT": str(free_port()), "MOCKPOST_FTP_PORT": str(free_port()),
        "MOCKPOST_FTPS_PORT": str(free_port()), "MOCKPOST_FTPS_IMPLICIT_PORT": str(free_port()),
        "MOCKPOST_SFTP_PORT": str(free_port()), "MOCKPOST_LOG_LEVEL": "warning",
        "MOCKPOST_FTP_PASSIVE_PORTS": f"{free_port()}-{free_port()}",
    })
    exe = str(Path(PY).parent / "mockpost")
    if not Path(exe).exists():
        log("mockpost is not installed (pip install '.[bench]'): baseline skipped")
        return {"skipped": "mockpost not installed"}
    proc = Proc("mockpost", [exe], env, work / "mockpost.log", cwd=home).start()
    proc.wait_http(f"http://127.0.0.1:{port}/health", timeout=90)
    recipients = write_lines(work / "recipients.txt", [seed.contact(i) for i in range(64)])
    url = f"http://127.0.0.1:{port}"
    args = ["BENCHTOKEN", "/whatsapp/v23.0/100000000000001/messages", str(recipients)]
    if cfg.warm():
        wrk(url, LUA / "graph_send.lua", connections=64, threads=64, duration=cfg.warm(), args=args)
    cpu_before = _cpu_seconds(proc.pid)
    res = wrk(url, LUA / "graph_send.lua", connections=64, threads=64, duration=seconds, args=args)
    cpu = _cpu_seconds(proc.pid) - cpu_before
    out = {**res.as_dict(), "peak_rss_mb": proc.record_peak(),
           "server_cpu_ms_per_request": round(cpu * 1000 / max(res.requests, 1), 4)}
    proc.stop()
    log(f"mockpost: {res.rps:.0f} req/s p99 {res.p99_ms:.1f} ms errors {res.errors}")
    return out


# --- scenario 2 (and 5): Send, end to end -------------------------------------------------------


def send_e2e(cfg: Config, *, db_kind: str = "sqlite", api_processes: int = 1, numbers: int = 2,
             connections: int = 128, chats: int = 1024) -> dict[str, Any]:
    """Scenario 2: sync sends through the standalone simulator(s) with status webhooks on.
    One WhatsApp number is capped at 1,000 messages/s (Meta's top tier), so the load is spread
    over `numbers` numbers, each its own standalone simulator process."""
    name = "send_e2e" if db_kind == "sqlite" and api_processes == 1 else f"send_e2e_{db_kind}_{api_processes}api"
    seconds = cfg.seconds(60, quick=3)
    if cfg.quick:
        chats = min(chats, 128)
        connections = min(connections, 32)
    result: dict[str, Any] = {"scenario": name, "db": db_kind, "api_processes": api_processes, "numbers": numbers,
                              "connections": connections, "chats": chats, "duration_s": seconds, "machine": machine()}
    with workdir(name) as work, processes(), fresh_db(db_kind, work) as spec:
        ports = [free_port() for _ in range(api_processes)]
        callback = f"http://127.0.0.1:{ports[0]}/webhooks/whatsapp"
        sims = [start_simulator(f"simulator{i}", work, callback, mps=1000, display_phone_number=f"1555000{i:04d}")
                for i in range(numbers)]
        accounts = [
            {"account_id": s.display_phone_number, "phone_number_id": s.phone_number_id, "access_token": s.access_token,
             "app_secret": s.app_secret, "graph_url": s.url, "mps": 1000}
            for s in sims
        ]
        token, chat_ids, _ = asyncio.run(_seed_send(spec, chats, accounts))
        servers = [start_inboxd(f"inboxd{i}", spec, work, port) for i, port in enumerate(ports)]
        per_conn = connections // api_processes
        per_chats = len(chat_ids) // api_processes
        files = [write_lines(work / f"chats{i}.txt", chat_ids[i * per_chats : (i + 1) * per_chats])
                 for i in range(api_processes)]
        threads = max(1, min(4, per_conn))
        if cfg.warm():
            for port, f in zip(ports, files, strict=True):
                wrk(f"http://127.0.0.1:{port}", LUA / "send.lua", connections=per_conn, threads=threads,
                    duration=cfg.warm(), args=[token, str(f), "sync"])
            asyncio.run(_wait_read(spec, timeout=30))
        t0_ms = int(time.time() * 1000)
        prof = _profile(cfg, servers[0], name, work, seconds)
        cpu_before = sum(_cpu_seconds(p.pid) for p in servers)
        runs = [
            wrk_start(f"http://127.0.0.1:{port}", LUA / "send.lua", connections=per_conn, threads=threads,
                      duration=seconds, args=[token, str(f), "sync"])
            for port, f in zip(ports, files, strict=True)
        ]
        wrk_results = [wrk_finish(r) for r in runs]
        t1_ms = int(time.time() * 1000)
        backlog = asyncio.run(_backlog(spec, sims))  # where the statuses wait when the load stops
        result["profile"] = _profile_done(prof)
        drained = asyncio.run(_wait_read(spec, timeout=120 if not cfg.quick else 30))
        # From the load's start until every message is read: each message's send, claim, Graph
        # call, record and three status webhooks (the few seconds of idle polling count too).
        cpu = sum(_cpu_seconds(p.pid) for p in servers) - cpu_before
        figures = asyncio.run(_e2e_figures(spec, t0_ms, t1_ms))
        figures["server_cpu_ms_per_message"] = round(cpu * 1000 / max(figures["read"], 1), 4)
        figures["load_average_after"] = [round(x, 2) for x in os.getloadavg()]
        figures["drain_s_after_load"] = drained
        figures["backlog_at_load_end"] = backlog
        if figures["lost"]:  # not read by the end of the drain: where their statuses are
            figures["backlog_after_drain"] = asyncio.run(_backlog(spec, sims))
        dup = asyncio.run(_duplicates(sims, spec, t0_ms))
        result["inboxd"] = {
            "http": merge_wrk(wrk_results),
            **figures,
            **dup,
            "peak_rss_mb": [p.record_peak() for p in servers],
            "simulator_peak_rss_mb": [s.proc.record_peak() for s in sims if s.proc],
        }
        log(f"{name}: {figures['delivered_per_s']:.0f} msg/s read (sustained p10 {figures['sustained_p10_per_s']}), "
            f"accept→read p50 {figures['accept_to_read_p50_ms']} ms p99 {figures['accept_to_read_p99_ms']} ms, "
            f"lost {figures['lost']} dup {dup['duplicated']}")
    save_result(name, result)
    return result


async def _backlog(spec: DbSpec, sims: list[Any]) -> dict[str, Any]:
    """Status webhooks not yet posted by the simulators, and stored webhook events inboxd has
    not processed yet."""
    pending = []
    async with httpx.AsyncClient(timeout=10) as client:
        for sim in sims:
            try:
                pending.append((await client.get(f"{sim.url}/simulator/webhooks")).json().get("pending"))
            except httpx.HTTPError:
                pending.append(None)
    db = seed.database(spec)
    try:
        events = await seed.count(db, webhook_events, webhook_events.c.state == "pending")
        unread = await seed.count(db, messages, messages.c.direction == "outgoing", messages.c.status != 3)
        parked = await seed.count(db, unmatched_statuses)
        retrying = await seed.count(db, webhook_events, webhook_events.c.state == "pending", webhook_events.c.attempts > 1)
    finally:
        await db.dispose()
    return {"simulator_webhooks_pending": pending, "inboxd_events_pending": events, "inboxd_events_retrying": retrying,
            "parked_statuses": parked, "outgoing_not_read": unread}


async def _wait_read(spec: DbSpec, timeout: float) -> float:  # noqa: ASYNC109
    """Until every stored outgoing message has status 3 (read) or the timeout; seconds waited."""
    db = seed.database(spec)
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < timeout:
            left = await seed.count(db, messages, messages.c.direction == "outgoing", messages.c.status != 3)
            if left == 0:
                break
            await asyncio.sleep(0.5)
        return round(time.monotonic() - t0, 1)
    finally:
        await db.dispose()


async def _e2e_figures(spec: DbSpec, t0_ms: int, t1_ms: int) -> dict[str, Any]:
    db = seed.database(spec)
    try:
        async with db.read() as conn:
            rows = (
                await conn.execute(
                    sa.select(messages.c.status, messages.c.timestamp, messages.c.updated_at).where(
                        messages.c.direction == "outgoing", messages.c.timestamp >= t0_ms
                    )
                )
            ).all()
    finally:
        await db.dispose()
    accepted = len(rows)
    read = [(ts, upd) for status, ts, upd in rows if status == 3]
    lost = accepted - len(read)
    # Fully delivered = status 3 (read) applied; `updated_at` is when the read status landed.
    in_window = [upd for ts, upd in read if t0_ms <= upd <= t1_ms]
    seconds = max((t1_ms - t0_ms) / 1000, 0.001)
    buckets: dict[int, int] = {}
    for upd in in_window:
        buckets[(upd - t0_ms) // 1000] = buckets.get((upd - t0_ms) // 1000, 0) + 1
    full = [buckets.get(i, 0) for i in range(1, int(seconds) - 1)]  # skip the first and last partial seconds
    lat = [upd - ts for ts, upd in read]
    last_read = max((upd for _, upd in read), default=t1_ms)
    return {
        "accepted_per_s": round(accepted / seconds, 1),
        "accepted_to_read_per_s": round(len(read) / max((last_read - t0_ms) / 1000, 0.001), 1),
        "accepted": accepted,
        "read": len(read),
        "lost": lost,
        "delivered_per_s": round(len(in_window) / seconds, 1),
        "sustained_min_per_s": min(full) if full else None,
        "sustained_p10_per_s": round(percentile(full, 10), 1) if full else None,
        "sustained_median_per_s": round(statistics.median(full), 1) if full else None,
        "accept_to_read_p50_ms": round(percentile(lat, 50), 1),
        "accept_to_read_p99_ms": round(percentile(lat, 99), 1),
    }


async def _duplicates(sims: list[Any], spec: DbSpec, t0_ms: int) -> dict[str, Any]:
    """What each simulated user received: every inboxd message id (`biz_opaque_callback_data`)
    must arrive exactly once."""
    seen: dict[str, int] = {}
    async with httpx.AsyncClient(timeout=30) as client:
        for sim in sims:
            contacts = (await client.get(f"{sim.url}/simulator/contacts")).json()["data"]
            sem = asyncio.Semaphore(16)

            async def one(wa_id: str, url: str = sim.url, sem: asyncio.Semaphore = sem) -> list[dict[str, Any]]:
                async with sem:
                    return (await client.get(f"{url}/simulator/contacts/{wa_id}/sent")).json()["data"]

            for sent in await asyncio.gather(*[one(c["wa_id"]) for c in contacts]):
                for m in sent:
                    key = m["payload"].get("biz_opaque_callback_data") or m["id"]
                    seen[key] = seen.get(key, 0) + 1
    db = seed.database(spec)
    try:
        async with db.read() as conn:
            ids = set((await conn.execute(sa.select(messages.c.id).where(messages.c.direction == "outgoing"))).scalars())
    finally:
        await db.dispose()
    return {
        "received_by_whatsapp": sum(seen.values()),
        "duplicated": sum(n - 1 for n in seen.values() if n > 1),
        "never_reached_whatsapp": len(ids - set(seen)),
    }


# --- scenario 3: inbound webhooks ----------------------------------------------------------------


def _webhook_payloads(
    *, count: int, per_payload: int, phone_number_id: str, display: str, outgoing_wamids: list[str], start_ts: int
) -> tuple[list[bytes], int, int]:
    """Meta's `messages` webhook shapes (as in Meta's OpenAPI examples and the simulator's
    webhooks): each payload carries `per_payload // 2` text messages from different users in one
    change and as many statuses (sent / delivered / read of earlier business messages) in
    another. Returns the bodies and the numbers of messages and statuses in them."""
    rng = random.Random(11)
    bodies: list[bytes] = []
    n_msgs = n_status = 0
    status_cycle = ["sent", "delivered", "read"]
    si = 0
    metadata = {"display_phone_number": display, "phone_number_id": phone_number_id}
    for p in range(count):
        half = per_payload // 2 if outgoing_wamids else per_payload
        msgs = []
        contacts = []
        for k in range(half):
            user = seed.contact(rng.randrange(20_000))
            # `user_id` (the business-scoped user id Meta added to contacts in 2025): pywa 4 needs it.
            contacts.append({"profile": {"name": f"User {user[-4:]}"}, "wa_id": user, "user_id": f"IL.{user}"})
            msgs.append({
                "from": user, "id": f"wamid.HBgL{p:06d}{k:04d}{secrets.token_hex(6)}",
                "timestamp": str(start_ts + p), "type": "text",
                "text": {"body": "Hi! I would like to know where my order is, thanks."},
            })
        changes = [{"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata,
                                                    "contacts": contacts, "messages": msgs}}]
        n_msgs += len(msgs)
        if outgoing_wamids:
            statuses = []
            for _ in range(per_payload - half):
                wamid = outgoing_wamids[(si // 3) % len(outgoing_wamids)]
                status = status_cycle[si % 3]
                si += 1
                statuses.append({
                    "id": wamid, "status": status, "timestamp": str(start_ts + p), "recipient_id": seed.contact(si % 20_000),
                    "conversation": {"id": "CONVERSATION_ID", "origin": {"type": "service"}},
                    "pricing": {"billable": True, "pricing_model": "PMP", "category": "service", "type": "regular"},
                })
            changes.append({"field": "messages", "value": {"messaging_product": "whatsapp", "metadata": metadata,
                                                            "statuses": statuses}})
            n_status += len(statuses)
        payload = {"object": "whatsapp_business_account", "entry": [{"id": "102290129340398", "changes": changes}]}
        bodies.append(json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode())
    return bodies, n_msgs, n_status


async def _seed_outgoing(spec: DbSpec, account: Any, chat_ids: list[str], count: int) -> list[str]:
    db = seed.database(spec)
    now = int(time.time() * 1000) - 3_600_000
    wamids = [f"wamid.OUT{i:08d}" for i in range(count)]
    try:
        rows = [
            {"id": f"{i:024x}", "chat_id": chat_ids[i % len(chat_ids)], "channel_account_id": account.id,
             "direction": "outgoing", "type": "text", "content": {"text": "Your order is on its way"}, "status": 0,
             "status_history": [{"status": 0, "timestamp": now}], "external_id": w, "timestamp": now, "updated_at": now}
            for i, w in enumerate(wamids)
        ]
        for start in range(0, len(rows), 5000):
            async with db.write() as conn:
                await conn.execute(messages.insert(), rows[start : start + 5000])
    finally:
        await db.dispose()
    return wamids


async def _inbound_progress(spec: DbSpec) -> tuple[int, int]:
    db = seed.database(spec)
    try:
        done = await seed.count(db, webhook_events, webhook_events.c.state != "pending")
        total = await seed.count(db, webhook_events)
        return done, total
    finally:
        await db.dispose()


async def _inbound_counts(spec: DbSpec) -> dict[str, Any]:
    db = seed.database(spec)
    try:
        async with db.read() as conn:
            incoming = (await conn.execute(sa.select(sa.func.count()).where(messages.c.direction == "incoming"))).scalar_one()
            by_status = dict((await conn.execute(
                sa.select(messages.c.status, sa.func.count()).where(messages.c.direction == "outgoing")
                .group_by(messages.c.status))).all())
            first_last = (await conn.execute(sa.select(sa.func.min(webhook_events.c.received_at),
                                                       sa.func.max(webhook_events.c.processed_at)))).one()
            failed = (await conn.execute(sa.select(sa.func.count()).where(webhook_events.c.state == "failed"))).scalar_one()
        return {"incoming_stored": incoming, "outgoing_by_status": {str(k): v for k, v in by_status.items()},
                "first_received_ms": first_last[0], "last_processed_ms": first_last[1], "failed_events": failed}
    finally:
        await db.dispose()


def inbound(cfg: Config, *, per_payload: int = 100, db_kind: str = "sqlite") -> dict[str, Any]:
    """Scenario 3: signed Meta webhooks (batches of messages and statuses) → stored and
    processed; baseline: pywa's webhook server fed the same payloads."""
    name = "inbound" if per_payload > 1 else "inbound_single"
    seconds = cfg.seconds(20, quick=2)
    payloads = max(10, int(seconds * 6000 / per_payload))
    result: dict[str, Any] = {"scenario": name, "db": db_kind, "events_per_payload": per_payload,
                              "payloads": payloads, "machine": machine()}
    with workdir(name) as work, processes(), fresh_db(db_kind, work) as spec:
        app_secret = secrets.token_hex(16)
        pnid = "100000000000777"

        async def prepare() -> tuple[list[str], Any]:
            db = await seed.prepare(spec)
            try:
                account = await seed.add_account(db, account_id="15550007777", phone_number_id=pnid, app_secret=app_secret)
                chat_ids = await seed.add_chats(db, account, 500)
            finally:
                await db.dispose()
            return chat_ids, account

        chat_ids, account = asyncio.run(prepare())
        statuses_needed = payloads * (per_payload - per_payload // 2)
        wamids = asyncio.run(_seed_outgoing(spec, account, chat_ids, max(1, statuses_needed // 3 + 1)))
        bodies, n_msgs, n_status = _webhook_payloads(
            count=payloads, per_payload=per_payload, phone_number_id=pnid, display="15550007777",
            outgoing_wamids=wamids if per_payload > 1 else [], start_ts=int(time.time()) - 600,
        )
        items = [(b, {HEADER: sign(b, app_secret)}) for b in bodies]
        events = n_msgs + n_status
        result["events"] = events
        port = free_port()
        server = start_inboxd("inboxd", spec, work, port)
        prof = _profile(cfg, server, name, work, seconds * 8)  # processing outlasts the posting
        cpu_before = _cpu_seconds(server.pid)
        t0 = time.time()
        posted = asyncio.run(post_all("127.0.0.1", port, "/webhooks/whatsapp", items, connections=16))
        t_ingest = time.time() - t0
        while True:
            done, total = asyncio.run(_inbound_progress(spec))
            if done >= total or time.time() - t0 > max(120, seconds * 10):
                break
            time.sleep(0.2)
        t_done = time.time() - t0
        cpu = _cpu_seconds(server.pid) - cpu_before  # storing and processing every event (and the polls)
        counts = asyncio.run(_inbound_counts(spec))
        applied = sum(v for k, v in counts["outgoing_by_status"].items() if k != "0")
        result["inboxd"] = {
            "webhooks_accepted": posted.ok, "webhooks_failed": posted.failed,
            "ingest_s": round(t_ingest, 2), "ingest_webhooks_per_s": round(posted.ok / t_ingest, 1),
            "processed_s": round(t_done, 2), "events_per_s": round(events / t_done, 1),
            "webhooks_per_s": round(posted.ok / t_done, 1),
            "server_cpu_ms_per_event": round(cpu * 1000 / max(events, 1), 4),
            "post_p50_ms": round(percentile(posted.latencies_ms, 50), 2),
            "post_p99_ms": round(percentile(posted.latencies_ms, 99), 2),
            "generator_cpu_s": round(posted.client_cpu_s, 2),
            "messages_expected": n_msgs, **counts, "outgoing_with_a_status": applied,
            "peak_rss_mb": server.record_peak(),
        }
        server.stop()
        result["profile"] = _profile_done(prof)
        log(f"{name}: inboxd {events / t_done:.0f} events/s ({posted.ok / t_ingest:.0f} webhooks/s ingest), "
            f"stored {counts['incoming_stored']}/{n_msgs} messages")
        if cfg.baselines:
            result["pywa"] = _baseline_pywa(work, items, n_msgs, n_status, seconds, app_secret)
    save_result(name, result)
    return result


def _baseline_pywa(work: Path, items: list[tuple[bytes, dict[str, str]]], n_msgs: int, n_status: int,
                   seconds: float, app_secret: str) -> dict[str, Any]:
    port = free_port()
    proc = Proc("pywa", [PY, "-m", "bench.baselines.pywa_server", "--port", str(port), "--app-secret", app_secret],
                clean_env(), work / "pywa.log").start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    t0 = time.time()
    posted = asyncio.run(post_all("127.0.0.1", port, "/webhooks/whatsapp", items, connections=16))
    t_ingest = time.time() - t0
    counts: dict[str, int] = {}
    while time.time() - t0 < max(120, seconds * 10):
        counts = httpx.get(f"http://127.0.0.1:{port}/count").json()
        if counts.get("raw", 0) >= posted.ok:
            break
        time.sleep(0.2)
    t_done = time.time() - t0
    handled = counts.get("messages", 0) + counts.get("statuses", 0)
    out = {
        "webhooks_accepted": posted.ok, "webhooks_failed": posted.failed, "ingest_s": round(t_ingest, 2),
        "processed_s": round(t_done, 2), "webhooks_per_s": round(posted.ok / t_done, 1),
        "handler_calls": counts, "events_handled_per_s": round(handled / t_done, 1),
        "events_received_per_s": round((n_msgs + n_status) * posted.ok / max(len(items), 1) / t_done, 1),
        "post_p50_ms": round(percentile(posted.latencies_ms, 50), 2),
        "post_p99_ms": round(percentile(posted.latencies_ms, 99), 2),
        "generator_cpu_s": round(posted.client_cpu_s, 2),
        "peak_rss_mb": proc.record_peak(),
        "note": "pywa dispatches one update per webhook (the first message or status of the batch); "
                "events_received_per_s counts every event in the payloads it accepted.",
    }
    proc.stop()
    log(f"pywa: {out['webhooks_per_s']} webhooks/s, handled {handled} updates")
    return out


# --- scenario 4: history scale ---------------------------------------------------------------------


def _measure_gets(cfg: Config, work: Path, port: int, token: str, seconds: float, tag: str,
                  paths_by_key: dict[str, list[str]]) -> dict[str, Any]:
    """wrk (8 connections) over each list of random GET paths in turn: {key: figures}."""
    figures: dict[str, Any] = {}
    url = f"http://127.0.0.1:{port}"
    for key, paths in paths_by_key.items():
        f = write_lines(work / f"{key}.txt", paths)
        if cfg.warm():
            wrk(url, LUA / "get.lua", connections=8, threads=2, duration=min(cfg.warm(), 2), args=[token, str(f)])
        res = wrk(url, LUA / "get.lua", connections=8, threads=2, duration=seconds, args=[token, str(f)])
        figures[key] = res.as_dict()
        log(f"{tag}: {key} {res.rps:.0f} req/s p50 {res.p50_ms:.2f} ms p99 {res.p99_ms:.2f} ms")
    return figures


def history(cfg: Config) -> dict[str, Any]:
    """Scenario 4: `GET /messages/chat/{id}` and `GET /chats/search` p50/p99 at 10k, 100k, 1M
    stored messages (seeded in bulk through SQL)."""
    sizes = cfg.sizes or ([2_000, 4_000] if cfg.quick else [10_000, 100_000, 1_000_000])
    seconds = cfg.seconds(10)
    result: dict[str, Any] = {"scenario": "history", "db": "sqlite", "duration_s": seconds, "sizes": {},
                              "machine": machine()}
    for size in sizes:
        with workdir(f"history{size}") as work, processes(), fresh_db("sqlite", work) as spec:
            chats_n = max(100, size // 100)
            hot_n = 10

            async def prepare(size: int = size, chats_n: int = chats_n, hot_n: int = hot_n) -> tuple[str, list[str], list[str], int]:
                db = await seed.prepare(spec)
                try:
                    token = await seed.add_token(db)
                    account = await seed.add_account(db, account_id="15550008888", phone_number_id="100000000000888")
                    chat_ids = await seed.add_chats(db, account, chats_n)
                    now = int(time.time() * 1000)
                    t = time.monotonic()
                    await seed.add_history(db, account, total=size, chat_ids=chat_ids, hot_chat_ids=chat_ids[:hot_n], now=now)
                    log(f"seeded {size} messages in {time.monotonic() - t:.1f}s")
                    return token, chat_ids, chat_ids[:hot_n], now
                finally:
                    await db.dispose()

            token, chat_ids, hot, now = asyncio.run(prepare())
            port = free_port()
            server = start_inboxd("inboxd", spec, work, port, {"INBOXD_WORKERS": "0"})
            rng = random.Random(3)
            span = 90 * 24 * 3600 * 1000
            message_paths = [
                f"/server/api/v2/messages/chat/{rng.choice(hot)}?beforeTime={now - rng.randrange(span)}&beforeId=z&limit=50"
                for _ in range(2000)
            ]
            search_paths = [f"/server/api/v2/chats/search?search={seed.contact(rng.randrange(chats_n))[-6:]}&limit=30"
                            for _ in range(2000)]
            list_paths = [f"/server/api/v2/chats/search?limit=30&skip={rng.randrange(10) * 30}" for _ in range(200)]
            figures: dict[str, Any] = {"messages": size, "chats": chats_n, "hot_chat_messages": size // 2 // hot_n}
            figures |= _measure_gets(cfg, work, port, token, seconds, f"history {size}", {
                "messages_page": message_paths, "chats_search_term": search_paths, "chats_search_list": list_paths})
            figures["peak_rss_mb"] = server.record_peak()
            result["sizes"][str(size)] = figures
    result["chat_sizes"] = _chat_scale(cfg, seconds)
    save_result("history", result)
    return result


def _chat_scale(cfg: Config, seconds: float) -> dict[str, Any]:
    """Scenario 4, chat scale: Search Chats' filters at 10k, 100k, 1M chats of a worked inbox
    (`seed.add_inbox_chats`: a bounded backlog, a growing history, 20 labels, 50 agents, 5
    departments) — the agents' working query `statuses[]=PENDING&labels[]=…`, the agent and
    department filters on the backlog, and `labels[]` alone (which counts a label's every chat)."""
    sizes = cfg.chat_sizes or ([1_000, 2_000] if cfg.quick else [10_000, 100_000, 1_000_000])
    out: dict[str, Any] = {}
    for size in sizes:
        with workdir(f"chats{size}") as work, processes(), fresh_db("sqlite", work) as spec:

            async def prepare(size: int = size) -> tuple[str, seed.InboxMix]:
                db = await seed.prepare(spec)
                try:
                    token = await seed.add_token(db)
                    account = await seed.add_account(db, account_id="15550008889", phone_number_id="100000000000889")
                    t = time.monotonic()
                    mix = await seed.add_inbox_chats(db, account, size)
                    log(f"seeded {size} chats in {time.monotonic() - t:.1f}s: statuses {mix.counts}")
                    return token, mix
                finally:
                    await db.dispose()

            token, mix = asyncio.run(prepare())
            port = free_port()
            server = start_inboxd("inboxd", spec, work, port, {"INBOXD_WORKERS": "0"})
            rng = random.Random(4)
            base = "/server/api/v2/chats/search?limit=30"
            def some_labels(rng: random.Random = rng, mix: seed.InboxMix = mix) -> str:
                chosen = rng.sample(mix.labels, rng.choice([1, 1, 1, 2]))
                return "&".join(f"labels%5B%5D={label}" for label in chosen)

            filter_paths = [f"{base}&statuses%5B%5D=PENDING&{some_labels()}" for _ in range(2000)]
            staff_paths = [
                f"{base}&statuses%5B%5D=ASSIGNED&agentUid={rng.choice(mix.agents)}" if i % 2 == 0
                else f"{base}&statuses%5B%5D=PENDING&departmentId={rng.choice(mix.departments)}"
                for i in range(2000)
            ]
            label_paths = [f"{base}&{some_labels()}" for _ in range(2000)]
            figures: dict[str, Any] = {"chats": size, "statuses": mix.counts}
            figures |= _measure_gets(cfg, work, port, token, seconds, f"chats {size}", {
                "chats_filter_pending_labels": filter_paths, "chats_filter_staff": staff_paths,
                "chats_filter_labels_only": label_paths})
            figures["peak_rss_mb"] = server.record_peak()
            out[str(size)] = figures
    return out


# --- scenario 5: PostgreSQL, one and two API processes --------------------------------------------


def postgres(cfg: Config) -> dict[str, Any]:
    out: dict[str, Any] = {"scenario": "postgres", "machine": machine(), "runs": {}}
    for api in (1, 2):
        out["runs"][f"send_async_{api}api"] = send_async(cfg, db_kind="postgresql", api_processes=api, baselines=())
    pg_e2e = Config(quick=cfg.quick, duration=cfg.duration if cfg.duration is not None else (3 if cfg.quick else 30),
                    profile=cfg.profile, warmup=cfg.warmup)
    for api in (1, 2):
        out["runs"][f"send_e2e_{api}api"] = send_e2e(pg_e2e, db_kind="postgresql", api_processes=api)
    return out


__all__ = ["Config", "send_async", "send_e2e", "inbound", "history", "postgres"]
