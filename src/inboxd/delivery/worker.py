"""Delivery workers: take due outbox rows (one per chat at a time, in order), wait for the
account's send slot, call Graph, and record the outcome.

Outcomes, by the error table in `channels.whatsapp.errors`:
- accepted → the message gets its wamid (status stays 0 until the `sent` webhook), row removed;
- transient (5xx, 130429, connection refused) → retried with exponential backoff and jitter;
- 131056 pair rate limit → retried after 4^x s; only this chat waits (its later messages queue
  behind it);
- unknown outcome (timeout or broken connection after the request went out) → in doubt: wait
  for the status webhook that names the message (`biz_opaque_callback_data`) before resending;
- recipient-side refusal (131047, 131026, 100, …) → status 4 with Graph's error;
- our credentials/configuration, or attempts exhausted → status 5.
"""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from typing import TYPE_CHECKING, Any

import httpx

from inboxd import metrics
from inboxd.channels.whatsapp.errors import Disposition, GraphError
from inboxd.channels.whatsapp.graph import GraphClient
from inboxd.channels.whatsapp.outbound import cloud_payloads, media_file_ids
from inboxd.config import Settings
from inboxd.delivery.backoff import pair_limit_delay, retry_delay
from inboxd.delivery.graph_media import MissingFile, forget_media_id, media_id_for
from inboxd.delivery.waiters import DeliveryWaiters
from inboxd.domain.clock import now_ms
from inboxd.domain.status import MessageStatus
from inboxd.domain_events import MESSAGE_STATUS_CHANGED, MESSAGE_UPDATED, DomainEvents
from inboxd.media.filestore import FileStore
from inboxd.shutdown import GIVE_BACK_SECONDS, finish_or_cancel, give_back, give_back_seconds
from inboxd.store import accounts as accounts_store
from inboxd.store import messages as messages_store
from inboxd.store import outbox as outbox_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database, DatabaseUnavailable

if TYPE_CHECKING:
    from inboxd.health.monitor import HealthMonitor

log = logging.getLogger(__name__)

# A send that starts later than its slot by more than this takes a new slot, so that a busy
# event loop cannot bunch sends up beyond the account's rate.
LATE_SLOT_US = 5_000

class _AccountCache:
    TTL = 5.0

    def __init__(self, db: Database) -> None:
        self.db = db
        self._accounts: dict[str, tuple[float, ChannelAccount]] = {}

    async def get(self, account_id: str) -> ChannelAccount:
        hit = self._accounts.get(account_id)
        if hit is not None and time.monotonic() - hit[0] < self.TTL:
            return hit[1]
        async with self.db.read() as conn:
            account = await accounts_store.get_account(conn, account_id)
        if account is None:
            raise LookupError(f"channel account {account_id} is gone")
        self._accounts[account_id] = (time.monotonic(), account)
        return account

    def forget(self, account_id: str | None = None) -> None:
        """Read the account (every account) again on next use: its credentials changed, or
        Graph refused them."""
        if account_id is None:
            self._accounts.clear()
        else:
            self._accounts.pop(account_id, None)


class _InDoubt(Exception):
    """The request may have reached Graph; its answer was lost."""


class DeliveryWorker:
    BATCH = 64

    def __init__(
        self,
        db: Database,
        graph: GraphClient,
        files: FileStore,
        settings: Settings,
        waiters: DeliveryWaiters,
        events: DomainEvents,
        health: HealthMonitor | None = None,
    ) -> None:
        self.db = db
        self.graph = graph
        self.files = files
        self.settings = settings
        self.waiters = waiters
        self.events = events
        self.health = health
        self.accounts = _AccountCache(db)
        self.owner = f"w-{secrets.token_hex(6)}"
        self._wake = asyncio.Event()
        self._in_flight: set[asyncio.Task[None]] = set()
        self._results: list[tuple[dict[str, Any], str, asyncio.Future[None]]] = []
        self._recorder: asyncio.Task[None] | None = None
        self._give_back_seconds = GIVE_BACK_SECONDS
        self._late: dict[str, list[asyncio.Future[int]]] = {}  # account id -> late sends waiting for a slot
        self._reserving: dict[str, asyncio.Task[None]] = {}

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 0.5) -> None:
        """Claim and send until `stop` is set; several loops and processes can run at once."""
        while not stop.is_set():
            claimed = 0
            try:
                claimed = await self.run_once()
            except DatabaseUnavailable as exc:  # an outage: said once a poll, not with a trace
                log.warning("delivery waits for the database: %s", exc)
            except Exception:
                log.exception("delivery iteration failed")
            if claimed == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
                except TimeoutError:
                    pass
        # Stopping: the sends under way finish while the shutdown allows; the rest are given back.
        self._give_back_seconds = give_back_seconds(stop)
        await finish_or_cancel(self._in_flight, stop)
        if self._recorder is not None:  # sends Graph accepted are recorded, never given back
            await asyncio.wait([self._recorder], timeout=give_back_seconds(stop))

    async def run_once(self) -> int:
        room = self.BATCH - len(self._in_flight)
        if room <= 0:
            await asyncio.wait(self._in_flight, return_when=asyncio.FIRST_COMPLETED)
            return 1
        cfg = self.settings
        async with self.db.write() as conn:
            rows = await outbox_store.claim_due(
                conn,
                owner=self.owner,
                now=now_ms(),
                lease_ms=int(cfg.delivery_lease_seconds * 1000),
                doubt_grace_ms=int(cfg.delivery_doubt_grace_seconds * 1000),
                limit=room,
            )
        for row in rows:
            task = asyncio.get_running_loop().create_task(self._deliver_or_give_back(row))
            self._in_flight.add(task)
            task.add_done_callback(self._in_flight.discard)
        return len(rows)

    async def drain(self, timeout: float = 30.0) -> None:
        """Process until the outbox is empty (used by tests and the benchmark)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            await self.run_once()
            if self._in_flight:
                await asyncio.wait(self._in_flight, timeout=0.05)
            async with self.db.read() as conn:
                if await outbox_store.count_pending(conn) == 0 and not self._in_flight:
                    return
        raise TimeoutError("outbox not drained")

    async def _deliver_or_give_back(self, row: dict[str, Any]) -> None:
        try:
            await self._deliver(row)
        except asyncio.CancelledError:  # shutting down, out of time: give the row back
            if not row.get("_recording"):
                in_doubt = now_ms() + int(self.settings.delivery_doubt_grace_seconds * 1000) if row.get("_sending") else None
                await give_back(self._release(row, in_doubt), f"message {row['id']}", self._give_back_seconds)
            raise
        except DatabaseUnavailable as exc:
            # The outcome could not be written (found by the chaos test: the task died with "Task
            # exception was never retrieved"). The row keeps its lease; when that runs out it is in
            # doubt, and the status webhook that names the message settles it (`claim_due`).
            log.warning("outcome of message %s not recorded, the database is unavailable (%s); "
                        "its status webhook will settle it", row["id"], exc)
        except Exception:
            log.exception("recording the outcome of message %s failed; its lease will run out", row["id"])

    async def _release(self, row: dict[str, Any], in_doubt_until: int | None) -> None:
        async with self.db.write() as conn:
            await outbox_store.release(conn, row["outbox_id"], self.owner, in_doubt_until=in_doubt_until)

    async def _deliver(self, row: dict[str, Any]) -> None:
        try:
            account = await self.accounts.get(row["channel_account_id"])
            payload = await self._payload(account, row)
            await self._wait_for_slot(account, row)
            row["_sending"] = True  # from here on, a give-back leaves the row in doubt
            response = await self._send(account, payload)
            wamid = str(response["messages"][0]["id"])
        except _InDoubt as exc:
            await self._in_doubt(row, str(exc))
        except GraphError as exc:
            await self._failed_call(row, exc)
        except MissingFile as exc:
            await self._give_up(row, MessageStatus.CHANNEL_FAILED, {"code": None, "message": str(exc)})
        except (KeyError, IndexError, TypeError, ValueError, LookupError) as exc:
            log.exception("cannot send message %s", row["id"])
            await self._give_up(row, MessageStatus.CHANNEL_FAILED, {"code": None, "message": f"cannot send: {exc}"})
        except Exception:  # unexpected: leave the row to its lease; it will be retried
            log.exception("unexpected error delivering message %s", row["id"])
        else:
            await self._accepted(row, wamid)

    async def _payload(self, account: ChannelAccount, row: dict[str, Any]) -> dict[str, Any]:
        content = row["content"]
        media_ids: list[str] = []
        for file_id in media_file_ids(row["type"], content):  # media items, template media headers
            media_ids.append(await media_id_for(self.db, self.graph, self.files, account, file_id))
        [payload] = cloud_payloads(
            row["type"], content, to=row["contact_id"], context=row["context"], media_ids=media_ids
        )
        # Meta echoes this in the message's status webhooks: how a lost answer is recovered.
        payload["biz_opaque_callback_data"] = row["id"]
        return payload

    async def _wait_for_slot(self, account: ChannelAccount, row: dict[str, Any]) -> None:
        slot = row["slot_us"]
        if time.time_ns() // 1000 - slot > LATE_SLOT_US:
            slot = await self._new_slot(account)
        delay = (slot - time.time_ns() // 1000) / 1e6
        if delay > 0:
            await asyncio.sleep(delay)

    async def _new_slot(self, account: ChannelAccount) -> int:
        """A fresh slot for a send that is late for its own. The late sends of an account that
        ask while a reservation is being written wait and take theirs together in the next one
        (one transaction for all, `reserve_send_slots(count=n)`), spaced as ever: on a busy loop
        nearly every send is late, and a write transaction each was ~10 % of scenario 2's
        samples."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[int] = loop.create_future()
        self._late.setdefault(account.id, []).append(future)
        task = self._reserving.get(account.id)
        if task is None or task.done():
            self._reserving[account.id] = loop.create_task(self._reserve_late(account))
        return await future

    async def _reserve_late(self, account: ChannelAccount) -> None:
        while batch := self._late.pop(account.id, None):
            try:
                async with self.db.write() as conn:
                    slots = await outbox_store.reserve_send_slots(
                        conn, account.id, mps=account.mps, now_us=time.time_ns() // 1000, count=len(batch)
                    )
            except Exception as exc:  # each waiting send fails as its own reservation would have
                for future in batch:
                    if not future.done():
                        future.set_exception(exc)
                continue
            except BaseException:  # cancelled (shutting down): so are the sends waiting for it
                for future in batch:
                    future.cancel()
                raise
            for future, slot in zip(batch, slots, strict=True):
                if not future.done():  # (a cancelled send leaves its slot unused: a gap, never a burst)
                    future.set_result(slot)

    async def _send(self, account: ChannelAccount, payload: dict[str, Any]) -> dict[str, Any]:
        try:
            return await self.graph.send_message(account, payload)
        except GraphError as exc:
            cause = exc.__cause__
            # Refused before the request went out: safe to retry. Anything else without an
            # answer may have reached Meta.
            if exc.http_status is None and not isinstance(cause, (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)):
                raise _InDoubt(str(exc)) from exc
            raise

    async def _accepted(self, row: dict[str, Any], wamid: str) -> None:
        """Record a send Graph accepted. The records of sends that finish while a record is
        being written wait and go together in the next transaction (one commit and a few
        statements for all: `outbox.finish_many`, `messages.attach_external_ids`); each send
        returns once its record committed, as before."""
        metrics.outbound_sends.labels("accepted").inc()
        row["_recording"] = True  # the recorder commits it, also when this send is cancelled
        done = asyncio.get_running_loop().create_future()
        self._results.append((row, wamid, done))
        if self._recorder is None or self._recorder.done():
            self._recorder = asyncio.get_running_loop().create_task(self._record_results())
        await done

    async def _record_results(self) -> None:
        while self._results:
            batch, self._results = self._results, []
            try:
                await self._record_batch(batch)
            except Exception as exc:
                # One bad record must not fail the others: record them one by one.
                log.warning("recording %d accepted sends together failed; recording them one by one", len(batch),
                            exc_info=not isinstance(exc, DatabaseUnavailable))
                for item in batch:
                    try:
                        await self._record_batch([item])
                    except Exception as exc:
                        if not item[2].done():
                            item[2].set_exception(exc)
            self.wake()  # the chats' next messages are due now

    async def _record_batch(self, batch: list[tuple[dict[str, Any], str, asyncio.Future[None]]]) -> None:
        now = now_ms()
        # Messages before outbox rows, each in id order: the order the inbound processor locks
        # them in (statuses, then adoption), so the two do not deadlock on PostgreSQL.
        ordered = sorted(batch, key=lambda item: item[0]["id"])
        async with self.db.write() as conn:
            attached: list[dict[str, Any]] = []
            changed = await messages_store.attach_external_ids(
                conn, [(row["id"], row["channel_account_id"], wamid) for row, wamid, _ in ordered], now, attached
            )
            await outbox_store.finish_many(conn, sorted(row["outbox_id"] for row, _, _ in ordered), self.owner)
            await outbox_store.delay_next(conn, [row for row, _, _ in ordered], now)
            # Each message now shows its wamid (`channelInfo.id`); the rows after a parked status
            # applied to it come after (the later notice of a message is its state).
            for message in attached:
                await self.events.publish(conn, MESSAGE_UPDATED, message=message, fields=["channelInfo"])
            for message in changed:
                await self.events.publish(conn, MESSAGE_STATUS_CHANGED, message=message)
            if self.health is not None:  # what a successful send resolves, in the same transaction
                await self.health.sends_succeeded(conn, sorted({row["channel_account_id"] for row, _, _ in ordered}), now)
        for row, _, done in batch:
            self.waiters.resolve(row["id"])
            if not done.done():
                done.set_result(None)

    async def _in_doubt(self, row: dict[str, Any], why: str) -> None:
        metrics.outbound_sends.labels("in_doubt").inc()
        log.warning("outcome of sending message %s unknown (%s); waiting for the channel's word", row["id"], why)
        grace = int(self.settings.delivery_doubt_grace_seconds * 1000)
        async with self.db.write() as conn:
            await outbox_store.reschedule(
                conn, row["outbox_id"], self.owner, due_at=now_ms() + grace, error={"code": None, "message": why}
            )

    async def _failed_call(self, row: dict[str, Any], exc: GraphError) -> None:
        disposition = exc.disposition
        metrics.outbound_sends.labels(disposition.value).inc()
        error = exc.as_message_error()
        if disposition in (Disposition.RETRY, Disposition.THROTTLED, Disposition.PAIR_LIMIT):
            if row["attempts"] >= self.settings.delivery_max_attempts:
                error["message"] = f"gave up after {row['attempts']} attempts: {error['message']}"
                await self._give_up(row, MessageStatus.CHANNEL_FAILED, error)
                return
            cap = self.settings.delivery_retry_max_seconds
            if disposition is Disposition.PAIR_LIMIT:
                delay = pair_limit_delay(row["attempts"], cap=cap)
            else:
                delay = retry_delay(row["attempts"], cap=cap)
            log.info("message %s: %s; retrying in %.1fs", row["id"], exc, delay)
            async with self.db.write() as conn:
                await outbox_store.reschedule(
                    conn, row["outbox_id"], self.owner, due_at=now_ms() + int(delay * 1000), error=error
                )
            return
        file_ids = media_file_ids(row["type"], row["content"])
        if exc.code == 131053 and file_ids and row["attempts"] == 1:
            # Meta no longer has our upload (or never took it): upload afresh and try once more.
            account = await self.accounts.get(row["channel_account_id"])
            for file_id in file_ids:
                await forget_media_id(self.db, account, file_id)
            async with self.db.write() as conn:
                await outbox_store.reschedule(conn, row["outbox_id"], self.owner, due_at=now_ms(), error=error)
            return
        if disposition is Disposition.CHANNEL_FAILED:  # credentials may have changed since: read them again
            self.accounts.forget(row["channel_account_id"])
        status = MessageStatus.CHANNEL_FAILED if disposition is Disposition.CHANNEL_FAILED else MessageStatus.FAILED
        await self._give_up(row, status, error)

    async def _give_up(self, row: dict[str, Any], status: MessageStatus, error: dict[str, Any]) -> None:
        log.warning("message %s failed for good (status %d): %s", row["id"], status, error.get("message"))
        now = now_ms()
        async with self.db.write() as conn:
            await outbox_store.finish(conn, row["outbox_id"], self.owner)
            await outbox_store.delay_next(conn, [row], now)
            changed = await messages_store.set_status(conn, row["id"], int(status), now, error, now)
            if changed is not None:
                await self.events.publish(conn, MESSAGE_STATUS_CHANGED, message=changed)
        self.waiters.resolve(row["id"])
        self.wake()
