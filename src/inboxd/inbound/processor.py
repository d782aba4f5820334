"""Processing of stored webhook events: the second half of "persist, acknowledge, process".

Every step is idempotent (messages dedup on the WhatsApp id, statuses on (wamid, status)), so
an event may be processed again after a crash or a partial failure without changing anything
twice. Media is downloaded before the database transaction that stores the message.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections.abc import Awaitable, Callable

import orjson
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd import metrics
from inboxd.channels.whatsapp.graph import GraphClient
from inboxd.channels.whatsapp.inbound_parser import (
    InboundMessage,
    MalformedWebhook,
    OtherChange,
    ParsedWebhook,
    parse_webhook,
)
from inboxd.chats.lifecycle import Lifecycle
from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.domain.lifecycle import INBOXD, opened_by_contact
from inboxd.domain.status import MessageStatus
from inboxd.domain.texter import last_message_preview
from inboxd.domain_events import (
    CHAT_UPDATED,
    MESSAGE_CREATED,
    MESSAGE_STATUS_CHANGED,
    MESSAGE_UPDATED,
    DomainEvents,
)
from inboxd.inbound.media import FetchedMedia, MediaUnavailable, fetch_media
from inboxd.media.filestore import FileStore
from inboxd.shutdown import finish_or_cancel, give_back, give_back_seconds
from inboxd.store import accounts as accounts_store
from inboxd.store import chats as chats_store
from inboxd.store import files as files_store
from inboxd.store import messages as messages_store
from inboxd.store import webhook_events as events_store
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database, DatabaseUnavailable
from inboxd.store.tables import messages, webhook_events

log = logging.getLogger(__name__)

# Handlers for webhook fields other than `messages` (templates register theirs), called inside
# the event's transaction.
OtherFieldHandler = Callable[[AsyncConnection, OtherChange, int], Awaitable[None]]


async def _until_done_or_stopped(task: asyncio.Task[int], stop: asyncio.Event) -> None:
    stopped = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait([task, stopped], return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopped.cancel()
    if not task.done():
        await finish_or_cancel([task], stop)


# What an incoming message changes on its chat (`inboxd.chat.updated`'s `fields`).
INCOMING_FIELDS = ["title", "lastMessage", "last_message_timestamp", "lastIncomingMessageTimestamp", "unreadCount",
                   "updatedAt"]


class InboundProcessor:
    LEASE_MS = 60_000
    BATCH = 32
    PARKED_SWEEP_SECONDS = 5.0
    GROUP_UPDATES = 800  # see _groups

    def __init__(
        self,
        db: Database,
        graph: GraphClient,
        files: FileStore,
        events: DomainEvents,
        *,
        retry_max_seconds: float = 300.0,
    ) -> None:
        self.db = db
        self.graph = graph
        self.files = files
        self.retry_max_seconds = retry_max_seconds
        self.other_handlers: dict[str, OtherFieldHandler] = {}
        # Called after an event's statuses committed: a status can finish an outgoing message
        # whose send was in doubt, which makes the chat's next message due.
        self.on_statuses: Callable[[], None] | None = None
        # Called inside the transaction with the accounts a webhook's messages and statuses were
        # for (channel health notes that webhooks arrive).
        self.on_accounts_heard: Callable[[AsyncConnection, list[str], int], Awaitable[None]] | None = None
        # Called inside the transaction with the new messages of an account just before their
        # `MESSAGE_CREATED` go out one by one, so a listener can read what it needs of all their
        # chats in one statement (templates' reply actions: `ContactAnswers.read_ahead`).
        self.before_announcing: Callable[[AsyncConnection, list[dict[str, object]]], Awaitable[None]] | None = None
        self.events = events
        self.lifecycle = Lifecycle(events)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        self._wake.set()

    async def run(self, stop: asyncio.Event, poll_seconds: float = 1.0) -> None:
        """Worker loop: process due events until `stop` is set. Several loops (and processes)
        can run at once; leases keep them off each other's events."""
        next_sweep = time.monotonic() + self.PARKED_SWEEP_SECONDS
        while not stop.is_set():
            held: dict[str, int] = {}  # events this loop claimed and has not finished: id -> lease
            iteration = asyncio.get_running_loop().create_task(self.run_once(held=held, stop=stop))
            try:
                # On stop the event being processed finishes (while the shutdown allows); the rest
                # of the batch is given back at once.
                await _until_done_or_stopped(iteration, stop)
                done = 0 if iteration.cancelled() else iteration.result()
                if time.monotonic() >= next_sweep and not stop.is_set():
                    next_sweep = time.monotonic() + self.PARKED_SWEEP_SECONDS
                    await self.sweep_parked()
            except DatabaseUnavailable as exc:  # an outage: said once a poll, not with a trace
                log.warning("inbound processing waits for the database: %s", exc)
                done = 0
            except Exception:  # keep the worker alive; the event stays pending and is retried
                log.exception("inbound worker iteration failed")
                done = 0
            finally:
                if held:
                    await give_back(self._release(held), f"{len(held)} webhook events", give_back_seconds(stop))
            if done == 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), timeout=poll_seconds)
                except TimeoutError:
                    pass

    async def sweep_parked(self) -> int:
        """Apply parked statuses whose message has its wamid by now (`apply_parked_statuses`)."""
        async with self.db.write(background=True) as conn:
            changed = await messages_store.apply_parked_statuses(conn, now_ms())
            for message in changed:
                await self.events.publish(conn, MESSAGE_STATUS_CHANGED, message=message)
        if changed and self.on_statuses is not None:
            self.on_statuses()
        return len(changed)

    async def _release(self, held: dict[str, int]) -> None:
        async with self.db.write(background=True) as conn:
            await events_store.release(conn, held)

    async def run_once(self, *, held: dict[str, int] | None = None, stop: asyncio.Event | None = None) -> int:
        """Claim and process a batch. `held` (the caller's) tracks the claimed events not finished
        yet; with `stop` set the batch ends after the event being processed."""
        held = {} if held is None else held
        async with self.db.write(background=True) as conn:
            rows = await events_store.claim_due(conn, now=now_ms(), lease_ms=self.LEASE_MS, limit=self.BATCH)
        held.update({row["id"]: row["lease_until"] for row in rows})
        # Events without media (statuses, texts, …) are applied together in one transaction;
        # the others (media is downloaded before the transaction) and a group that fails go one
        # by one, each with its own retry.
        together: list[tuple[str, ParsedWebhook]] = []
        alone = []
        for row in rows:
            try:
                parsed = parse_webhook(orjson.loads(row["body"]))
            except (orjson.JSONDecodeError, MalformedWebhook):
                alone.append(row)
                continue
            if any(m.media is not None for m in parsed.messages):
                alone.append(row)
            else:
                together.append((row["id"], parsed))
        for group in self._groups(together):
            if len(group) == 1:
                alone += [row for row in rows if row["id"] == group[0][0]]
                continue
            try:
                await self._apply_together(group)
                for event_id, _ in group:
                    held.pop(event_id, None)
            except Exception:
                log.warning("applying %d webhook events together failed; applying them one by one", len(group),
                            exc_info=True)
                ids = {event_id for event_id, _ in group}
                alone += [row for row in rows if row["id"] in ids]
        for row in sorted(alone, key=lambda r: r["id"]):
            if stop is not None and stop.is_set():
                break  # the rest goes back (`held`)
            await self.process(row["id"], row["body"], row["attempts"])
            held.pop(row["id"], None)
        return len(rows)

    def _groups(self, events: list[tuple[str, ParsedWebhook]]) -> list[list[tuple[str, ParsedWebhook]]]:
        """Consecutive events in groups of at most `GROUP_UPDATES` messages and statuses, so one
        transaction's hold on SQLite's single writer stays bounded however large the payloads
        (the webhook POSTs that store new events wait for it). Measured (bench scenario 3, 100
        updates a payload, one run each on a slow day): 200 updates a group processed 1,650
        events/s with a webhook POST p99 of 3.0 s, 800 2,190/s at 5.2 s, 3,200 2,500/s at 8.8 s:
        800 keeps most of the throughput at a little over half the wait."""
        groups: list[list[tuple[str, ParsedWebhook]]] = []
        size = self.GROUP_UPDATES
        for event in events:
            updates = len(event[1].messages) + len(event[1].statuses)
            if not groups or size + updates > self.GROUP_UPDATES:
                groups.append([])
                size = 0
            groups[-1].append(event)
            size += updates
        return groups

    async def _apply_together(self, events: list[tuple[str, ParsedWebhook]]) -> None:
        """`_apply` for several media-free events in one transaction: their messages, statuses
        (in event order) and other changes, and each event marked done, all committed together."""
        merged = ParsedWebhook()
        for _, parsed in events:
            merged.messages += parsed.messages
            merged.statuses += parsed.statuses
            merged.errors += parsed.errors
            merged.other += parsed.other
        now = now_ms()
        async with self.db.write(background=True) as conn:
            # Read inside the write (nothing to download first): a read transaction of their own
            # was a fixed cost of every group.
            accounts = await self._accounts(conn, merged)
            new_messages = await self._not_yet_stored(conn, merged.messages, accounts)
            await self._apply_parsed(conn, accounts, merged, new_messages, {}, now)
            for event_id, _ in events:
                await events_store.mark_done(conn, event_id, now)
        if merged.statuses and self.on_statuses is not None:
            self.on_statuses()

    async def process(self, event_id: str, body: bytes, attempts: int) -> None:
        try:
            parsed = parse_webhook(orjson.loads(body))
        except (orjson.JSONDecodeError, MalformedWebhook) as exc:
            log.warning("webhook event %s is malformed and will not be retried: %s", event_id, exc)
            metrics.webhook_rejected.labels("malformed").inc()
            async with self.db.write(background=True) as conn:
                await conn.execute(
                    webhook_events.update()
                    .where(webhook_events.c.id == event_id)
                    .values(state="failed", lease_until=None, last_error=f"malformed: {exc}"[:2000])
                )
            return
        try:
            complete = await self._apply(event_id, parsed)
        except Exception as exc:
            complete = False
            log.exception("processing webhook event %s failed (attempt %d)", event_id, attempts)
            error = f"{type(exc).__name__}: {exc}"
        else:
            error = "media download failed; will retry"
        if not complete:
            metrics.processing_failures.labels("inbound").inc()
            delay = min(self.retry_max_seconds, 2 ** min(attempts, 20)) * random.uniform(0.8, 1.2)
            async with self.db.write(background=True) as conn:
                await events_store.mark_retry(conn, event_id, next_attempt_at=now_ms() + int(delay * 1000), error=error)

    async def _accounts(self, conn: AsyncConnection, parsed: ParsedWebhook) -> dict[str, ChannelAccount]:
        found: dict[str, ChannelAccount] = {}
        for pnid in parsed.phone_number_ids:
            account = await accounts_store.find_by_phone_number_id(conn, pnid)
            if account is None:
                log.warning("webhook for unknown phone_number_id %s ignored", pnid)
                metrics.webhook_events.labels("whatsapp", "unknown_account").inc()
            else:
                found[pnid] = account
        return found

    async def _apply(self, event_id: str, parsed: ParsedWebhook) -> bool:
        """Store what the event says; True when everything in it is done."""
        async with self.db.read() as conn:  # before the media downloads, which precede the write
            accounts = await self._accounts(conn, parsed)
            new_messages = await self._not_yet_stored(conn, parsed.messages, accounts)
        fetched, complete = await self._fetch_media(new_messages, accounts)
        now = now_ms()
        async with self.db.write(background=True) as conn:
            storable = [m for m in new_messages if m.media is None or m.external_id in fetched]
            # (a message whose media download failed is left for the retry of this event)
            await self._apply_parsed(conn, accounts, parsed, storable, fetched, now)
            if complete:
                await events_store.mark_done(conn, event_id, now)
        if parsed.statuses and self.on_statuses is not None:
            self.on_statuses()
        return complete

    async def _not_yet_stored(
        self, conn: AsyncConnection, items: list[InboundMessage], accounts: dict[str, ChannelAccount]
    ) -> list[InboundMessage]:
        by_account: dict[str, list[InboundMessage]] = {}
        for item in items:
            if item.phone_number_id in accounts:
                by_account.setdefault(accounts[item.phone_number_id].id, []).append(item)
        fresh: list[InboundMessage] = []
        for account_id, group in by_account.items():
            known = await messages_store.existing_external_ids(conn, account_id, [m.external_id for m in group])
            seen: set[str] = set()
            for m in group:
                if m.external_id not in known and m.external_id not in seen:
                    seen.add(m.external_id)
                    fresh.append(m)
        return fresh

    async def _fetch_media(
        self, items: list[InboundMessage], accounts: dict[str, ChannelAccount]
    ) -> tuple[dict[str, FetchedMedia | MediaUnavailable], bool]:
        fetched: dict[str, FetchedMedia | MediaUnavailable] = {}
        complete = True
        for item in items:
            if item.media is None:
                continue
            try:
                fetched[item.external_id] = await fetch_media(
                    self.graph, self.files, accounts[item.phone_number_id], item.media
                )
            except MediaUnavailable as exc:
                log.warning("media %s of %s is unavailable: %s", item.media.media_id, item.external_id, exc)
                fetched[item.external_id] = exc
            except Exception as exc:
                log.warning("media %s of %s not fetched yet: %s", item.media.media_id, item.external_id, exc)
                metrics.processing_failures.labels("inbound_media").inc()
                complete = False
        return fetched, complete

    async def _apply_statuses(
        self, conn: AsyncConnection, accounts: dict[str, ChannelAccount], parsed: ParsedWebhook, now: int
    ) -> None:
        """Every status of the event, per account in one batch (`apply_status_reports`)."""
        by_account: dict[str, list[messages_store.StatusInput]] = {}
        for report in parsed.statuses:
            account = accounts.get(report.phone_number_id)
            if account is None:
                continue
            metrics.webhook_events.labels("whatsapp", f"status_{report.raw.get('status')}").inc()
            by_account.setdefault(account.id, []).append(
                messages_store.StatusInput(
                    external_id=report.external_id, status=report.status, timestamp=report.timestamp_ms,
                    error=report.error, callback_data=report.callback_data,
                )
            )
        for account_id, reports in sorted(by_account.items()):  # one lock order in every process
            history_only: list[dict[str, object]] = []
            changed = await messages_store.apply_status_reports(
                conn, channel_account_id=account_id, reports=reports, now=now, history_only=history_only
            )
            for message in changed:
                await self.events.publish(conn, MESSAGE_STATUS_CHANGED, message=message)
            for message in history_only:
                await self.events.publish(conn, MESSAGE_UPDATED, message=message, fields=["statusHistory"])

    async def _apply_parsed(
        self,
        conn: AsyncConnection,
        accounts: dict[str, ChannelAccount],
        parsed: ParsedWebhook,
        messages: list[InboundMessage],
        fetched: dict[str, FetchedMedia | MediaUnavailable],
        now: int,
    ) -> None:
        """What one transaction does with parsed webhook content (one event's, or several merged):
        store `messages` (those of `parsed` not stored yet), apply its statuses, log the errors
        WhatsApp reported and hand the other fields to their handlers."""
        await self._store_messages(conn, accounts, messages, fetched, now)
        await self._apply_statuses(conn, accounts, parsed, now)
        if accounts and self.on_accounts_heard is not None:
            await self.on_accounts_heard(conn, sorted({a.id for a in accounts.values()}), now)
        for error in parsed.errors:
            metrics.webhook_events.labels("whatsapp", "error").inc()
            log.warning("WhatsApp reported an error: %s", error)
        for other in parsed.other:
            metrics.webhook_events.labels("whatsapp", f"field_{other.field}").inc()
            handler = self.other_handlers.get(other.field)
            if handler is not None:
                await handler(conn, other, now)

    async def _store_messages(
        self,
        conn: AsyncConnection,
        accounts: dict[str, ChannelAccount],
        items: list[InboundMessage],
        fetched: dict[str, FetchedMedia | MediaUnavailable],
        now: int,
    ) -> None:
        """The event's new messages, per account: their chats (`ensure_chats`), one insert for
        all (deduplicated on the wamid), one update of the chats' window and preview, the
        opening transition of the chats the contacts just opened, then per message in order its
        reaction and `MESSAGE_CREATED`."""
        by_account: dict[str, list[InboundMessage]] = {}
        for item in items:
            by_account.setdefault(item.phone_number_id, []).append(item)
        for phone_number_id, group in by_account.items():
            account = accounts[phone_number_id]
            titles: dict[str, str | None] = {}
            for item in group:
                if item.profile_name:
                    titles[item.contact_id] = item.profile_name
                else:
                    titles.setdefault(item.contact_id, None)
            opened: set[str] = set()
            chat_ids = await chats_store.ensure_chats(
                conn, channel_account_id=account.id, contacts=titles, now=now, created=opened
            )
            rows = [
                await self._message_row(conn, account, item, chat_ids[item.contact_id], fetched, now) for item in group
            ]
            inserted = await messages_store.insert_new_messages(conn, rows)
            stored = [(item, row) for item, row in zip(group, rows, strict=True) if row["id"] in inserted]
            # (a row not inserted: a concurrent processing of the same webhook got there first)
            await chats_store.record_incoming_many(
                conn,
                [(row["chat_id"], item.timestamp_ms, last_message_preview(item.type, row["content"])) for item, row in stored],
                now,
            )
            await self.lifecycle.open(conn, opened, opened_by_contact(account.default_department_id), INBOXD, now)
            if self.before_announcing is not None and stored:
                await self.before_announcing(conn, [row for _, row in stored])
            for item, row in stored:
                metrics.webhook_events.labels("whatsapp", f"message_{item.raw.get('type')}").inc()
                if item.reaction_to:
                    await self._record_reaction(conn, account.id, item)
                await self.events.publish(conn, MESSAGE_CREATED, message=row)
            # Every chat of the group was touched (title, updatedAt); those with a new message
            # also have a new preview, window and unread count.
            for chat_id in sorted(set(chat_ids.values())):
                await self.events.publish(conn, CHAT_UPDATED, chat_id=chat_id, fields=INCOMING_FIELDS)

    async def _message_row(
        self,
        conn: AsyncConnection,
        account: ChannelAccount,
        item: InboundMessage,
        chat_id: str,
        fetched: dict[str, FetchedMedia | MediaUnavailable],
        now: int,
    ) -> dict[str, object]:
        content = item.content
        if item.media is not None:
            result = fetched[item.external_id]
            media_item = dict(content["media"][0])
            if isinstance(result, FetchedMedia):
                media_item["fileId"] = await files_store.add_file(
                    conn,
                    sha256=result.blob.sha256,
                    size=result.blob.size,
                    content_type=result.content_type,
                    filename=item.media.filename,
                    source="inbound",
                    now=now,
                )
                media_item["contentType"] = result.content_type
            else:
                media_item["error"] = {"message": str(result)}
            content = {"media": [media_item]}
        status_entry = {"status": int(MessageStatus.DELIVERED), "timestamp": item.timestamp_ms}
        return {
            "id": new_id(),
            "chat_id": chat_id,
            "channel_account_id": account.id,
            "direction": "incoming",
            "type": item.type,
            "content": content,
            "status": int(MessageStatus.DELIVERED),
            "status_history": [status_entry],
            "external_id": item.external_id,
            "timestamp": item.timestamp_ms,
            "updated_at": now,
            "context": item.context_id,
        }

    async def _record_reaction(self, conn: AsyncConnection, account_id: str, item: InboundMessage) -> None:
        """Keep the reaction on the message it reacts to (`reactions`, additive), one per
        contact: a new emoji replaces the old one, an empty one removes it."""
        target = await messages_store.find_by_external_id(conn, account_id, item.reaction_to or "")
        if target is None:
            return
        emoji = (item.raw.get("reaction") or {}).get("emoji")
        content = dict(target["content"])
        reactions = [r for r in content.get("reactions", []) if r.get("from") != item.contact_id]
        if emoji:
            reactions.append({"emoji": emoji, "from": item.contact_id, "timestamp": item.timestamp_ms})
        content["reactions"] = reactions
        updated_at = now_ms()
        await conn.execute(
            sa.update(messages).where(messages.c.id == target["id"]).values(content=content, updated_at=updated_at)
        )
        await self.events.publish(
            conn, MESSAGE_UPDATED, message={**target, "content": content, "updated_at": updated_at}, fields=["reactions"]
        )
