"""A small HTTP/1.1 keep-alive POST generator on asyncio streams, for loads that must send each
payload exactly once (signed webhooks: a repeat would only measure deduplication). It is far
cheaper per request than the server it drives; its own CPU time is reported with the result so
that can be checked."""

from __future__ import annotations

import asyncio
import resource
import time
from dataclasses import dataclass


@dataclass
class Posted:
    sent: int
    ok: int
    failed: int
    seconds: float
    client_cpu_s: float
    latencies_ms: list[float]


async def _one_connection(
    host: str, port: int, path: str, queue: asyncio.Queue[tuple[bytes, dict[str, str]] | None], stats: dict[str, int],
    latencies: list[float],
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        while True:
            item = await queue.get()
            if item is None:
                return
            body, headers = item
            head = [f"POST {path} HTTP/1.1", f"Host: {host}:{port}", f"Content-Length: {len(body)}",
                    "Content-Type: application/json"]
            head += [f"{k}: {v}" for k, v in headers.items()]
            started = time.perf_counter()
            writer.write(("\r\n".join(head) + "\r\n\r\n").encode() + body)
            status_line = await reader.readline()
            length = 0
            chunked = False
            while True:
                line = await reader.readline()
                if line in (b"\r\n", b""):
                    break
                name, _, value = line.decode("latin-1").partition(":")
                if name.lower() == "content-length":
                    length = int(value.strip())
                elif name.lower() == "transfer-encoding" and "chunked" in value.lower():
                    chunked = True
            if chunked:
                while True:
                    size = int((await reader.readline()).strip() or b"0", 16)
                    await reader.readexactly(size + 2)
                    if size == 0:
                        break
            elif length:
                await reader.readexactly(length)
            latencies.append((time.perf_counter() - started) * 1000)
            code = int(status_line.split()[1]) if status_line else 0
            stats["sent"] += 1
            if 200 <= code < 300:
                stats["ok"] += 1
            else:
                stats["failed"] += 1
    finally:
        writer.close()


async def post_all(
    url_host: str, port: int, path: str, items: list[tuple[bytes, dict[str, str]]], *, connections: int = 16
) -> Posted:
    queue: asyncio.Queue[tuple[bytes, dict[str, str]] | None] = asyncio.Queue()
    for item in items:
        queue.put_nowait(item)
    for _ in range(connections):
        queue.put_nowait(None)
    stats = {"sent": 0, "ok": 0, "failed": 0}
    latencies: list[float] = []
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    t0 = time.perf_counter()
    await asyncio.gather(*[_one_connection(url_host, port, path, queue, stats, latencies) for _ in range(connections)])
    elapsed = time.perf_counter() - t0
    cpu1 = resource.getrusage(resource.RUSAGE_SELF)
    cpu = (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)
    return Posted(stats["sent"], stats["ok"], stats["failed"], elapsed, cpu, latencies)
