"""A TCP proxy the tests control, between inboxd and PostgreSQL, to simulate outages without
touching the shared server: `refuse()` (nothing listens: connections refused, open ones reset),
`blackhole()` (connections accepted, but no byte goes through either way: packets dropped),
`restore()`. With several targets it is a load balancer: each connection goes to the next
target that accepts it (the chaos test puts its `inboxd serve` processes behind one). It runs
in a thread with its own event loop, so it keeps working whatever the test's loop (or a
subprocess under test) is doing."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any


class TcpProxy:
    def __init__(self, target_host: str, *target_ports: int) -> None:
        self.targets = [(target_host, port) for port in target_ports]
        self._next = 0
        self.port = 0
        self.mode = "pass"
        self._loop = asyncio.new_event_loop()
        self._server: asyncio.AbstractServer | None = None
        self._pipes: set[asyncio.StreamWriter] = set()
        self._thread = threading.Thread(target=self._loop.run_forever, daemon=True, name="tcp-proxy")

    def __enter__(self) -> TcpProxy:
        self._thread.start()
        self._call(self._listen())
        return self

    def __exit__(self, *exc: Any) -> None:
        self._call(self._close_all())
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(5)

    @property
    def url_host(self) -> str:
        return f"127.0.0.1:{self.port}"

    def refuse(self) -> None:
        self.mode = "refuse"
        self._call(self._close_all())

    def blackhole(self) -> None:
        self.mode = "blackhole"

    def restore(self) -> None:
        was = self.mode
        self.mode = "pass"
        if was == "blackhole":  # what was held is gone (as after a failover); new connections pass
            self._call(self._abort_pipes())
        if self._server is None:
            self._call(self._listen())

    def _call(self, coro: Any) -> Any:
        return asyncio.run_coroutine_threadsafe(coro, self._loop).result(10)

    async def _listen(self) -> None:
        sock = socket.socket()
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self.port))
        self.port = sock.getsockname()[1]
        self._server = await asyncio.start_server(self._handle, sock=sock)

    async def _abort_pipes(self) -> None:
        for writer in list(self._pipes):
            writer.transport.abort()
        self._pipes.clear()

    async def _close_all(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None
        await self._abort_pipes()

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._pipes.add(writer)
        if self.mode == "blackhole":
            return  # accepted, never answered
        for turn in range(len(self.targets)):
            target = self.targets[(self._next + turn) % len(self.targets)]
            try:
                up_reader, up_writer = await asyncio.open_connection(*target)
                break
            except OSError:
                continue
        else:
            writer.transport.abort()
            return
        self._next += 1
        self._pipes.add(up_writer)
        await asyncio.gather(self._pump(reader, up_writer), self._pump(up_reader, writer), return_exceptions=True)

    async def _pump(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while data := await reader.read(65536):
                while self.mode == "blackhole":  # dropped: nothing goes through until restored
                    await asyncio.sleep(0.05)
                    if writer.transport.is_closing():
                        return
                writer.write(data)
                await writer.drain()
        finally:
            writer.transport.abort()
            self._pipes.discard(writer)
