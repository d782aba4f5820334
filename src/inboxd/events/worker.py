"""The event delivery worker: claims due deliveries (the oldest undelivered event of each
subscription and chat, under a lease), POSTs them, records every attempt and applies the retry
policy of `events.retry`. Everything it needs is in the database, so any number of workers in
any number of processes can run, and a restart resumes where the last one stopped."""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import logging
import secrets
import time
from typing import Any

import httpx

from inboxd.config import Settings
from inboxd.delivery.listener import listen
from inboxd.domain.clock import now_ms
from inboxd.events import store as events_store
from inboxd.events.metrics import event_deliveries, event_delivery_latency
from inboxd.events.retry import Outcome, next_attempt, outcome_of, retry_after_seconds
from inboxd.events.signing import EVENT_ID_HEADER, SIGNATURE_HEADER, sign
from inboxd.events.transport import CONNECT_TIMEOUT_SECONDS, AddressRefused
from inboxd.shutdown import GIVE_BACK_SECONDS, finish_or_cancel, give_back, give_back_seconds
from inboxd.store.db import Database, DatabaseUnavailable

log = logging.getLogger(__name__)

SNIPPET_CHARS = 300
PRUNE_EVERY_SECONDS = 60.0


class EventDeliveryWorker:
    BATCH = 32

    def __init__(self, db: Database, settings: Settings, client: httpx.AsyncClient) -> None:
        self.db = db
        self.settings = settings
        self.client = client
        self.owner = f"e-{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._last_prune = 0.0
        self._retries: list[int] = []  # heap: when the retries this worker scheduled fall due (ms)
        self._give_back_seconds = GIVE_BACK_SECONDS

    def wake(self) -> None:
        self._wake.set()

    @property
    def lease_ms(self) -> int:
        # Longer than any one request may take, so a live worker never loses its lease mid-request.
        return int((self.settings.events_timeout_seconds + 30.0) * 1000)

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        loop = asyncio.get_running_loop()
        helpers = [
            loop.create_task(listen(self.db, events_store.NOTIFY_CHANNEL, self.wake, stop)),
            loop.create_task(self._wake_on(stop)),
        ]
        try:
            while not stop.is_set():
                claimed = 0
                try:
                    claimed = await self.run_once()
                    await self._maybe_prune()
                except DatabaseUnavailable as exc:  # an outage: said once a poll, not with a trace
                    log.warning("event delivery waits for the database: %s", exc)
                except Exception:
                    log.exception("event delivery iteration failed")
                if claimed == 0:
                    self._wake.clear()
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._wake.wait(), timeout=self._idle_seconds(poll_seconds))
            # Stopping: deliveries under way finish while the shutdown allows; the rest go back.
            self._give_back_seconds = give_back_seconds(stop)
            await finish_or_cancel(self._in_flight, stop)
        finally:
            for task in helpers:
                task.cancel()
            await asyncio.gather(*helpers, return_exceptions=True)

    def _idle_seconds(self, poll_seconds: float) -> float:
        """Sleep until the next poll, or until a retry this worker scheduled falls due if sooner."""
        now = now_ms()
        self._forget_due(now)
        if not self._retries:
            return poll_seconds
        return min(poll_seconds, (self._retries[0] - now) / 1000)

    def _forget_due(self, now: int) -> None:
        """Keep only retries still to come (the heap stays as small as this worker's backlog)."""
        while self._retries and self._retries[0] <= now:
            heapq.heappop(self._retries)

    async def _wake_on(self, stop: asyncio.Event) -> None:
        await stop.wait()
        self.wake()

    async def run_once(self) -> int:
        room = self.BATCH - len(self._in_flight)
        if room <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        async with self.db.write() as conn:
            rows = await events_store.claim_due(conn, owner=self.owner, now=now_ms(), lease_ms=self.lease_ms, limit=room)
        for row in rows:
            task = asyncio.get_running_loop().create_task(self._deliver_or_give_back(row))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(rows)

    async def drain(self, seconds: float = 30.0) -> None:
        """Deliver until nothing is pending (tests)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            await self.run_once()
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=0.05)
            else:
                await asyncio.sleep(0.02)
            async with self.db.read() as conn:
                if await events_store.count_pending(conn) == 0 and not self._in_flight:
                    return
        raise TimeoutError("event deliveries not drained")

    async def _maybe_prune(self) -> None:
        if time.monotonic() - self._last_prune < PRUNE_EVERY_SECONDS:
            return
        self._last_prune = time.monotonic()
        before = now_ms() - int(self.settings.events_runs_retention_days * 86_400_000)
        async with self.db.write() as conn:
            await events_store.prune_finished(conn, before=before)

    async def _deliver_or_give_back(self, row: dict[str, Any]) -> None:
        try:
            await self._deliver(row)
        except asyncio.CancelledError:  # shutting down, out of time: give the delivery back
            await give_back(self._release(row), f"event delivery {row['id']}", self._give_back_seconds)
            raise

    async def _release(self, row: dict[str, Any]) -> None:
        async with self.db.write() as conn:
            await events_store.release(conn, row["seq"], self.owner)

    async def _deliver(self, row: dict[str, Any]) -> None:
        try:
            attempt = await self._attempt(row)
            await self._record(row, attempt)
        except DatabaseUnavailable as exc:  # (the event may have arrived: the retry has the same id)
            log.warning("event delivery %s not recorded, the database is unavailable (%s); it is tried again "
                        "when its lease runs out", row["id"], exc)
        except Exception:  # left to its lease: another try once it runs out
            log.exception("event delivery %s (scenario %s) failed unexpectedly", row["id"], row["scenario_id"])
        self.wake()  # the stream's next event may be due now

    def _headers(self, row: dict[str, Any], body: bytes) -> dict[str, str]:
        return {
            **(row["headers"] or {}),
            "Content-Type": "application/json",
            EVENT_ID_HEADER: row["id"],
            "X-Inboxd-Scenario-Id": row["scenario_id"],
            "X-Inboxd-Delivery-Attempt": str(row["attempts"]),
            SIGNATURE_HEADER: sign(row["signing_secret"], body),
        }

    async def _attempt(self, row: dict[str, Any]) -> dict[str, Any]:
        """Send once; what happened, as an `event_attempts` row plus the `Retry-After` asked for."""
        body = row["body"].encode()
        started = now_ms()
        clock = time.monotonic()
        status: int | None = None
        error: str | None = None
        retry_after: float | None = None
        refused = False
        timeout = self.settings.events_timeout_seconds
        try:
            async with asyncio.timeout(timeout):
                request = self.client.build_request(row["method"].upper(), row["url"], content=body,
                                                    headers=self._headers(row, body))
                response = await self.client.send(request, stream=True)
                try:
                    status = response.status_code
                    if not 200 <= status < 300:
                        snippet = await _read_snippet(response)
                        error = f"HTTP {status}" + (f": {snippet}" if snippet else "")
                        if status in (429, 503):
                            retry_after = retry_after_seconds(response.headers.get("retry-after"), time.time())
                        if 300 <= status < 400:
                            error += " (redirects are not followed; use the final URL)"
                finally:
                    await response.aclose()
        except AddressRefused as exc:
            refused, error = True, str(exc)
        except httpx.ConnectTimeout:
            status, error = None, f"could not connect within {min(timeout, CONNECT_TIMEOUT_SECONDS):g} s"
        except (TimeoutError, httpx.TimeoutException):  # ours or httpx's, whichever fires first
            status, error = None, f"no answer within {timeout:g} s"
        except httpx.HTTPError as exc:
            status, error = None, f"{type(exc).__name__}: {exc}"[:SNIPPET_CHARS]
        latency = int((time.monotonic() - clock) * 1000)
        event_delivery_latency.observe(latency / 1000)
        outcome = Outcome.FAILED if refused else outcome_of(status)
        return {
            "attempt": row["attempts"],
            "started_at": started,
            "latency_ms": latency,
            "status_code": status,
            "error": error,
            "outcome": outcome,
            "retry_after": retry_after,
        }

    async def _record(self, row: dict[str, Any], attempt: dict[str, Any]) -> None:
        outcome: Outcome = attempt.pop("outcome")
        retry_after = attempt.pop("retry_after")
        now = now_ms()
        due_at = None
        state = events_store.DELIVERED if outcome is Outcome.DELIVERED else events_store.FAILED
        if outcome is Outcome.RETRY:
            plan = next_attempt(
                attempt=row["attempts"],
                now_ms=now,
                created_ms=row["created_at"],
                horizon_s=self.settings.events_retry_horizon_seconds,
                cap_s=self.settings.events_retry_max_seconds,
                retry_after_s=retry_after,
            )
            if plan.due_at_ms is None:
                outcome = Outcome.FAILED
                attempt["error"] = f"{attempt['error']}; {plan.reason}"
            else:
                state, due_at = events_store.PENDING, plan.due_at_ms
                heapq.heappush(self._retries, due_at)
                self._forget_due(now)
        attempt["outcome"] = str(outcome)
        event_deliveries.labels(str(outcome)).inc()
        if outcome is not Outcome.DELIVERED:
            log.info("event %s (scenario %s) attempt %d: %s", row["id"], row["scenario_id"], row["attempts"],
                     attempt["error"])
        async with self.db.write() as conn:
            await events_store.record_attempt(conn, row, self.owner, attempt=attempt, state=state, due_at=due_at, now=now)


async def _read_snippet(response: httpx.Response) -> str:
    """The start of an error answer, for the run's record (bounded: the rest is never read)."""
    chunks: list[bytes] = []
    size = 0
    async for chunk in response.aiter_bytes():
        chunks.append(chunk)
        size += len(chunk)
        if size >= SNIPPET_CHARS * 4:
            break
    text = b"".join(chunks).decode("utf-8", errors="replace")
    return " ".join(text.split())[:SNIPPET_CHARS]
