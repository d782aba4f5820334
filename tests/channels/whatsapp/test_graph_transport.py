"""The Graph client's connection pools (`ShardedTransport`): against a real HTTP server on
loopback that holds its answers until told, so the concurrency is visible."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from inboxd.channels.whatsapp.graph import ShardedTransport, new_http_client


class HoldingServer:
    """HTTP/1.1 keep-alive server: answers each request once `release` is set; counts the
    connections open at once."""

    def __init__(self) -> None:
        self.release = asyncio.Event()
        self.open = 0
        self.max_open = 0
        self.connections = 0
        self.port = 0
        self._server: asyncio.Server | None = None

    async def __aenter__(self) -> HoldingServer:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self._server is not None
        self._server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.open += 1
        self.connections += 1
        self.max_open = max(self.max_open, self.open)
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = 0
                for line in head.split(b"\r\n"):
                    if line.lower().startswith(b"content-length:"):
                        length = int(line.split(b":")[1])
                await reader.readexactly(length)
                await self.release.wait()
                writer.write(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}")
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            self.open -= 1
            writer.close()


async def test_requests_spread_over_the_pools_and_the_total_stays_capped() -> None:
    limits = httpx.Limits(max_connections=20, max_keepalive_connections=20)
    transport = ShardedTransport(limits)
    assert len(transport._shards) == 3  # 20 connections in pools of at most 8
    async with HoldingServer() as server, httpx.AsyncClient(transport=transport) as client:
        url = f"http://127.0.0.1:{server.port}/v1/messages"
        calls = [asyncio.create_task(client.post(url, content=b"{}")) for _ in range(30)]
        for _ in range(200):
            await asyncio.sleep(0.01)
            if server.open >= 20:
                break
        # The least busy pool takes each request: 30 requests over 3 pools, 10 each; each pool
        # opens its 7 connections (20 / 3, rounded up) and queues the rest.
        assert transport._busy == [10, 10, 10]
        assert server.open == 21  # 3 pools × 7 (the total rounds up to whole pools)
        server.release.set()
        answers = await asyncio.gather(*calls)
        assert [a.status_code for a in answers] == [200] * 30
        assert transport._busy == [0, 0, 0]  # every answer read and closed frees its pool's count
        assert server.max_open <= 21
        # Kept alive: a second round reuses the connections.
        before = server.connections
        await asyncio.gather(*(client.post(url, content=b"{}") for _ in range(10)))
        assert server.connections == before
        assert transport._busy == [0, 0, 0]


async def test_a_failed_request_frees_its_count() -> None:
    transport = ShardedTransport(httpx.Limits(max_connections=16))
    async with httpx.AsyncClient(transport=transport) as client:
        with pytest.raises(httpx.ConnectError):
            await client.get("http://127.0.0.1:9/nothing-listens-here")  # port 9 (discard): refused
    assert transport._busy == [0, 0]


async def test_the_shared_client_uses_the_pools_unless_given_a_transport() -> None:
    client = new_http_client()
    assert isinstance(client._transport, ShardedTransport)
    assert sum(1 for _ in client._transport._shards) == 25  # 200 connections
    await client.aclose()
    own = httpx.MockTransport(lambda request: httpx.Response(200, json={}))
    client = new_http_client(transport=own)
    assert client._transport is own
    await client.aclose()
