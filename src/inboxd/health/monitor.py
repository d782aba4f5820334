"""Channel health at run time: where the signals come in, and the loop that watches what only
time can tell.

- Graph answers: `GraphClient` tells the monitor about every call (`graph_failed`,
  `graph_succeeded`). A failure that is a sign of a problem (`kinds.graph_signal`) raises it, in a
  transaction of its own; 130429 raises one only once it has lasted `throttle_after_ms`.
- Successful sends: `sends_succeeded` runs inside the delivery worker's transaction that records
  them (two statements that usually change nothing), resolving what a send disproves and noting
  the send for the webhook-silence check. Other successful calls resolve token and permission
  problems, checked at most every few seconds per account.
- Meta's account webhooks: `on_account_change` is the inbound processor's handler for their
  fields, inside the webhook event's transaction; `webhooks_seen` notes every processed webhook.
- The loop (`run`, in every process with workers): raises `whatsapp_webhooks_not_received` for
  accounts whose sends no webhook has followed for INBOXD_HEALTH_WEBHOOK_SILENCE_HOURS, and reads
  each number's quality rating from Graph when a quality webhook asked for it or
  INBOXD_HEALTH_QUALITY_CHECK_MINUTES passed (one process per reading: the row is claimed).

Nothing here may break what it observes: a failure of health bookkeeping outside a transaction
is logged, never raised into the send or call it watches.
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import TYPE_CHECKING, Any

from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.channels.whatsapp.errors import GraphError
from inboxd.channels.whatsapp.inbound_parser import OtherChange
from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.domain_events import DomainEvents
from inboxd.health import bookkeeping, kinds, problems, webhooks
from inboxd.health.kinds import MESSAGING, OPERATION_CLASS, Raise, Resolve
from inboxd.store import accounts as accounts_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database

if TYPE_CHECKING:
    from inboxd.channels.whatsapp.graph import GraphClient

log = logging.getLogger(__name__)


class HealthMonitor:
    THROTTLE_AFTER_MS = 60_000  # "throttling that lasts": 130429 for longer than a minute
    THROTTLE_STRETCH_GAP_MS = 300_000  # longer than any retry backoff between two throttled calls
    SUCCESS_CHECK_SECONDS = 10.0
    QUALITY_RETRY_MS = 60_000
    ENSURE_ROWS_SECONDS = 60.0

    def __init__(self, db: Database, events: DomainEvents, settings: Settings, graph: GraphClient | None = None) -> None:
        self.db = db
        self.events = events
        self.graph = graph
        self.silence_hours = settings.health_webhook_silence_hours
        self.silence_ms = int(settings.health_webhook_silence_hours * 3_600_000)
        self.resolution_ms = bookkeeping.resolution_ms(self.silence_ms)
        self.quality_interval_ms = int(settings.health_quality_check_minutes * 60_000)
        self.throttle_after_ms = self.THROTTLE_AFTER_MS
        self._throttled_since: dict[str, tuple[int, int]] = {}  # account → (first, last) throttled call
        self._success_checked: dict[tuple[str, str], float] = {}

    # --- Graph answers (GraphClient's observer) --------------------------------------------------

    async def graph_failed(self, account: ChannelAccount, operation: str, error: GraphError) -> None:
        try:
            self._success_checked = {k: v for k, v in self._success_checked.items() if k[0] != account.id}
            if error.code == kinds.THROTTLE_CODE and operation == "send":
                await self._throttled(account, error)
                return
            signal = kinds.graph_signal(error, operation, account.account_id)
            if signal is not None:
                await self.raise_problem(account, signal)
        except Exception:
            log.exception("channel health: recording a Graph failure of account %s failed", account.account_id)

    async def graph_succeeded(self, account: ChannelAccount, operation: str) -> None:
        if operation == "send":
            # Recorded with the send itself (`sends_succeeded`), in the same transaction.
            self._throttled_since.pop(account.id, None)
            return
        op_class = OPERATION_CLASS.get(operation, MESSAGING)
        key = (account.id, op_class)
        if time.monotonic() - self._success_checked.get(key, float("-inf")) < self.SUCCESS_CHECK_SECONDS:
            return
        self._success_checked[key] = time.monotonic()
        try:
            async with self.db.read() as conn:
                if not await problems.any_cleared_by_call(conn, account.id, op_class):
                    return
            async with self.db.write() as conn:
                await problems.resolve_cleared_by_call(conn, self.events, account.id, op_class, now_ms())
        except Exception:
            log.exception("channel health: recording a Graph success of account %s failed", account.account_id)

    async def _throttled(self, account: ChannelAccount, error: GraphError) -> None:
        now = now_ms()
        since, last = self._throttled_since.get(account.id, (now, now))
        if now - last > self.THROTTLE_STRETCH_GAP_MS:  # a new stretch, not the old one going on
            since = now
        self._throttled_since[account.id] = (since, now)
        if now - since < self.throttle_after_ms:
            return
        source = {"kind": "graph", "operation": "send", "code": error.code, "httpStatus": error.http_status,
                  "message": error.message, "throttledSince": since}
        await self.raise_problem(account, Raise(kinds.THROTTLED, source=source, started_at=since,
                                                operation_class=MESSAGING))

    async def raise_problem(self, account: ChannelAccount, signal: Raise) -> None:
        """Raise in a transaction of its own — unless the incident is active already: a burst of
        failing sends costs reads (which never wait for SQLite's writer), not one write each."""
        async with self.db.read() as conn:
            if await problems.is_active(conn, account, signal):
                return
        async with self.db.write() as conn:
            await problems.raise_problem(conn, self.events, account, signal, now_ms())

    # --- inside the transactions of sends and webhooks ------------------------------------------

    async def sends_succeeded(self, conn: AsyncConnection, channel_account_ids: list[str], now: int) -> None:
        await bookkeeping.note_sends(conn, channel_account_ids, now, self.resolution_ms)
        await problems.resolve_cleared_by_send(conn, self.events, channel_account_ids, now)

    async def webhooks_seen(self, conn: AsyncConnection, channel_account_ids: list[str], now: int) -> None:
        changed = await bookkeeping.note_webhooks(conn, channel_account_ids, now, self.resolution_ms)
        if changed:
            await problems.resolve_named(conn, self.events, changed, kinds.WEBHOOKS_SILENT.name, now)

    async def on_account_change(self, conn: AsyncConnection, change: OtherChange, now: int) -> None:
        """The inbound processor's handler for `webhooks.FIELDS`."""
        accounts = await self._accounts_for(conn, change)
        if not accounts:
            log.info("%s webhook for WABA %s matches no channel account; ignored", change.field, change.waba_id)
            return
        ids = [a.id for a in accounts]
        await self.webhooks_seen(conn, ids, now)
        if change.field == webhooks.QUALITY_UPDATE:  # the webhook does not say the rating: ask Graph
            await bookkeeping.request_quality_check(conn, ids, now)
        found = webhooks.signals(change.field, change.value, change.time_ms)
        for account in accounts:
            await self.apply(conn, account, found, now)

    async def apply(self, conn: AsyncConnection, account: ChannelAccount, found: list[webhooks.Signal], now: int) -> None:
        for signal in found:
            if isinstance(signal, Resolve):
                await problems.resolve_case(conn, self.events, account, signal.name, signal.case, now)
            else:
                await problems.raise_problem(conn, self.events, account, signal, now)

    async def _accounts_for(self, conn: AsyncConnection, change: OtherChange) -> list[ChannelAccount]:
        if not change.waba_id:
            return []
        scope = webhooks.scope_of(change.field, change.value)
        found = [a for a in await accounts_store.list_accounts(conn, channel="whatsapp") if a.waba_id == change.waba_id]
        if scope.display_phone_number:
            found = [a for a in found if a.account_id == scope.display_phone_number]
        if scope.phone_number_id:
            found = [a for a in found if a.phone_number_id == scope.phone_number_id]
        return found

    # --- the loop ----------------------------------------------------------------------------------

    @property
    def tick_seconds(self) -> float:
        return max(0.05, min(30.0, min(self.silence_ms, self.quality_interval_ms) / 20_000))

    async def run(self, stop: asyncio.Event) -> None:
        next_ensure = 0.0
        while not stop.is_set():
            try:
                if time.monotonic() >= next_ensure:
                    async with self.db.write(background=True) as conn:
                        await bookkeeping.ensure_rows(conn, now_ms())
                    next_ensure = time.monotonic() + self.ENSURE_ROWS_SECONDS
                await self.check_silence()
                await self.check_quality()
            except Exception:
                log.exception("channel health check failed; will try again")
            try:
                await asyncio.wait_for(stop.wait(), timeout=self.tick_seconds)
            except TimeoutError:
                pass

    async def check_silence(self) -> None:
        now = now_ms()
        async with self.db.read() as conn:
            silent = await bookkeeping.silent_since(conn, now, self.silence_ms)
            accounts = {a.id: a for a in await accounts_store.list_accounts(conn)} if silent else {}
        for account_id, since in silent:
            account = accounts.get(account_id)
            if account is None:
                continue
            source = {"kind": "inboxd", "check": "webhook_silence", "firstUnansweredSendAt": since}
            signal = Raise(kinds.WEBHOOKS_SILENT, fields={"hours": f"{self.silence_hours:g}"}, source=source,
                           started_at=since)
            async with self.db.read() as conn:
                if await problems.is_active(conn, account, signal):
                    continue
            async with self.db.write() as conn:  # a webhook may have come since the check above
                if await bookkeeping.still_silent(conn, account.id, now_ms(), self.silence_ms):
                    await problems.raise_problem(conn, self.events, account, signal, now_ms())

    async def check_quality(self) -> None:
        if self.graph is None:
            return
        async with self.db.read() as conn:  # most ticks: nothing due, and no write transaction
            if not await bookkeeping.any_quality_check_due(conn, now_ms()):
                return
        async with self.db.write(background=True) as conn:
            due = await bookkeeping.claim_quality_checks(conn, now_ms(), self.quality_interval_ms, self.QUALITY_RETRY_MS)
        for account_id in due:
            await self._read_quality(account_id)

    async def _read_quality(self, account_id: str) -> None:
        async with self.db.read() as conn:
            account = await accounts_store.get_account(conn, account_id)
        if account is None or account.channel != "whatsapp":
            return
        assert self.graph is not None
        try:
            info: Any = await self.graph.phone_number(account, "quality_rating")
        except GraphError as exc:  # told to graph_failed already; read again after the retry delay
            log.info("cannot read the quality rating of %s: %s", account.account_id, exc)
            return
        rating = info.get("quality_rating") if isinstance(info, dict) else None
        now = now_ms()
        async with self.db.write(background=True) as conn:
            await bookkeeping.record_quality(conn, account.id, rating, now + self.quality_interval_ms)
            source = {"kind": "graph", "operation": "phone_number", "qualityRating": rating}
            await self.apply(conn, account, webhooks.quality_signals(rating, source), now)

