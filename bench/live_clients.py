"""`python -m bench.live_clients`: one process holding many live streams (scenario 6).

Each stream is a raw HTTP/1.1 connection reading `GET /server/api/v2/live` (a minimal chunked
decoder and a scan for `id:` lines — cheap, so that the clients take as little of the machine as
they can from the server they measure). For every event it notes when it arrived; at the end
(SIGTERM, or `--seconds`) it reads each event's commit time from the database (`created_at`,
taken under the log's lock just before the commit) and writes the latencies, per-stream gap and
duplicate counts as JSON.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
import time
from array import array
from collections import Counter
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from inboxd.store.db import Database
from inboxd.store.tables import live_events


class Stream:
    def __init__(self) -> None:
        self.ids = array("q")
        self.times = array("d")
        self.connected = False
        self.ended = False

    async def run(self, host: str, port: int, token: str) -> None:
        """Read until cancelled (or the server ends the stream)."""
        reader, writer = await asyncio.open_connection(host, port)
        writer.write(f"GET /server/api/v2/live HTTP/1.1\r\nHost: {host}\r\nAuthorization: Bearer {token}\r\n\r\n".encode())
        await writer.drain()
        head = await reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 200"):
            raise RuntimeError(head.decode(errors="replace"))
        self.connected = True
        pending = b""
        try:
            while (data := await self._chunks(reader)) is not None:
                now = time.time() * 1000
                pending += data
                cut = pending.rfind(b"\n")
                if cut < 0:
                    continue
                complete, pending = pending[: cut + 1], pending[cut + 1 :]
                for line in complete.split(b"\n"):
                    if line.startswith(b"id: "):
                        self.ids.append(int(line[4:]))
                        self.times.append(now)
            self.ended = True
        finally:
            writer.close()

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes | None:
        """The next chunk of the chunked body (None at its end)."""
        size_line = await reader.readuntil(b"\r\n")
        size = int(size_line.split(b";")[0], 16)
        if size == 0:
            return None
        data = await reader.readexactly(size + 2)
        return data[:-2]


async def main(args: argparse.Namespace) -> dict[str, Any]:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    if args.seconds:
        loop.call_later(args.seconds, stop.set)
    streams = [Stream() for _ in range(args.streams)]
    tasks = []
    for s in streams:
        tasks.append(asyncio.ensure_future(s.run(args.host, args.port, args.token)))
        await asyncio.sleep(0.002)  # do not open them all in the same instant
    while not all(s.connected for s in streams):
        failed = [t for t in tasks if t.done() and t.exception() is not None]
        if failed:
            raise failed[0].exception()  # type: ignore[misc]
        await asyncio.sleep(0.05)
    print("READY", flush=True)
    await stop.wait()
    # The measured window, written by the harness before it stopped us: events committed in it
    # count. Every stream reads on until it has the window's last event (or a minute passed).
    window = json.loads(await asyncio.to_thread(Path(args.window).read_text))
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and any(  # noqa: ASYNC110 (polling other tasks' progress)
        not s.ended and (not s.ids or s.ids[-1] < window["last_id"]) for s in streams
    ):
        await asyncio.sleep(0.05)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    cpu = time.process_time()

    first = min((s.ids[0] for s in streams if s.ids), default=0)
    db = Database(args.database_url, schema=args.schema or None)
    try:
        async with db.read() as conn:
            committed = dict((await conn.execute(
                sa.select(live_events.c.id, live_events.c.created_at).where(live_events.c.id >= first))).all())
    finally:
        await db.dispose()
    latencies: Counter[int] = Counter()
    gaps = duplicates = 0
    since, until = window["t0_ms"], window["t1_ms"]
    for s in streams:
        ids = list(s.ids)
        seen = set()
        for a, b in zip(ids, ids[1:], strict=False):
            if b <= a:
                duplicates += 1
            elif b != a + 1:
                gaps += b - a - 1
        for event_id, at in zip(ids, s.times, strict=True):
            if event_id in seen:
                continue
            seen.add(event_id)
            created = committed.get(event_id)
            if created is not None and since <= created <= until:
                latencies[max(0, round(at - created))] += 1
    return {
        "streams": len(streams), "ended_early": sum(s.ended for s in streams),
        "events_received": sum(len(s.ids) for s in streams), "gaps": gaps, "duplicates": duplicates,
        "latency_ms_counts": {str(k): v for k, v in sorted(latencies.items())},
        "client_cpu_s": round(cpu, 2),
    }


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser()
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--token", required=True)
    parser.add_argument("--streams", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=0.0, help="stop by itself after this long (0: on SIGTERM)")
    parser.add_argument("--window", required=True, help="JSON file {t0_ms, t1_ms}: events committed in it count")
    parser.add_argument("--database-url", required=True)
    parser.add_argument("--schema", default="")
    parser.add_argument("--out", required=True)
    return parser.parse_args(argv)


if __name__ == "__main__":
    arguments = parse(sys.argv[1:])
    result = asyncio.run(main(arguments))
    Path(arguments.out).write_text(json.dumps(result))
