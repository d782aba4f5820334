"""A read by secret (an API token, a session cookie), its answer kept `ttl` seconds.

The hot path authenticates every request: reading the credential each time would cost more than
the rest of the lookup. Each answer is kept briefly, so a change made elsewhere (a token revoked
from the CLI, a session ended or an agent deactivated in another process) takes effect within
`ttl`. When an answer has expired, the requests that arrive while it is read again share that one
read (at hundreds of requests a second, each starting its own read cost more than the rest).
Keyed on the secret's hash: the secret itself is never kept."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Generic, TypeVar

from inboxd.store.tokens import hash_token

T = TypeVar("T")


class SecretCache(Generic[T]):
    MAX_ENTRIES = 10_000  # then it starts again empty: a flood of wrong secrets cannot grow it

    def __init__(self, ttl: float, read: Callable[[str], Awaitable[T]]) -> None:
        self.ttl = ttl
        self._read = read
        self._answers: dict[str, tuple[float, T]] = {}
        self._reading: dict[str, asyncio.Future[T]] = {}  # reads in flight, by key

    async def get(self, secret: str) -> T:
        key = hash_token(secret)
        cached = self._answers.get(key)
        now = time.monotonic()
        if cached is not None and now - cached[0] < self.ttl:
            return cached[1]
        reading = self._reading.get(key)
        if reading is None:
            reading = self._reading[key] = asyncio.ensure_future(self._read_and_keep(key, secret, now))
            reading.add_done_callback(lambda done: self._reading.pop(key, None) if self._reading.get(key) is done else None)
        return await asyncio.shield(reading)  # a caller that gives up leaves the read to the others

    def forget(self, secret: str) -> None:
        self._answers.pop(hash_token(secret), None)

    def clear(self) -> None:
        self._answers.clear()

    async def _read_and_keep(self, key: str, secret: str, now: float) -> T:
        answer = await self._read(secret)
        if len(self._answers) >= self.MAX_ENTRIES:
            self._answers.clear()
        self._answers[key] = (now, answer)
        return answer
