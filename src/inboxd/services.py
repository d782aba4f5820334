"""The long-lived parts of a running inboxd, built once from the settings."""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass, field

import httpx

from inboxd import housekeeping
from inboxd.agents.presence import StreamPresence
from inboxd.agents.sessions import SessionCache
from inboxd.api.auth import TokenCache
from inboxd.api.limiter import RateLimiter
from inboxd.channels.whatsapp.graph import GraphClient, new_http_client
from inboxd.channels.whatsapp.webhook_secrets import WebhookSecrets
from inboxd.chats import sweep as assignment_sweep
from inboxd.config import Settings
from inboxd.delivery.listener import listen
from inboxd.delivery.waiters import DeliveryWaiters
from inboxd.delivery.worker import DeliveryWorker
from inboxd.domain_events import DomainEvents
from inboxd.events import EventService
from inboxd.health import webhooks as health_webhooks
from inboxd.health.monitor import HealthMonitor
from inboxd.inbound.processor import InboundProcessor
from inboxd.labelling import install as install_labels
from inboxd.live import LiveService
from inboxd.media.filestore import FileStore, open_file_store
from inboxd.shutdown import Shutdown
from inboxd.store.accounts import ACCOUNTS_CHANGED_CHANNEL
from inboxd.store.db import Database
from inboxd.store.outbox import NOTIFY_CHANNEL
from inboxd.templates.wiring import install as install_templates

log = logging.getLogger(__name__)


@dataclass
class Services:
    settings: Settings
    db: Database
    files: FileStore
    http: httpx.AsyncClient
    graph: GraphClient
    tokens: TokenCache
    inbound: InboundProcessor
    webhook_secrets: WebhookSecrets
    waiters: DeliveryWaiters
    # Rate limits per principal (api/limiter.py), shared with other processes through the database.
    limiter: RateLimiter
    # Agents' browser sessions (the web inbox's sign-in), looked up like tokens (agents/sessions.py).
    sessions: SessionCache
    # Published inside the transactions that change messages and chats.
    events: DomainEvents = field(default_factory=DomainEvents)
    delivery: list[DeliveryWorker] = field(default_factory=list)
    # Event subscriptions: queues deliveries on domain events, and delivers them.
    event_delivery: EventService | None = None
    # Channel health: problems from Graph's answers, Meta's account webhooks, webhook silence.
    health: HealthMonitor | None = None
    # The live event log (written on every change) and this process's streams' hub.
    live: LiveService | None = None
    # Agents' presence from their open live streams (agents/presence.py).
    presence: StreamPresence | None = None
    _stop: Shutdown = field(default_factory=Shutdown)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)
    _loop: asyncio.AbstractEventLoop | None = None

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Services:
        db = db or Database.from_settings(settings)
        files = open_file_store(settings)
        http = new_http_client(timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0))
        graph = GraphClient(http)
        events = DomainEvents()
        inbound = InboundProcessor(db, graph, files, events, retry_max_seconds=settings.inbound_retry_max_seconds)
        services = cls(
            settings=settings, db=db, files=files, http=http, graph=graph, tokens=TokenCache(db), inbound=inbound,
            webhook_secrets=WebhookSecrets(db), waiters=DeliveryWaiters(db), limiter=RateLimiter(db),
            sessions=SessionCache(db), events=events,
        )
        inbound.on_statuses = services.wake_delivery
        services.event_delivery = EventService(settings, db)
        services.event_delivery.install(events)
        install_templates(services)  # template status webhooks, stop words, reply actions
        install_labels(services)  # failed_message on a chat whose message failed (after the subscriptions)
        services.install_health()
        services.live = LiveService(settings, db)
        services.live.install(events)
        services.presence = StreamPresence(db, events, grace_seconds=settings.presence_grace_seconds)
        return services

    def install_health(self) -> None:
        health = self.health = HealthMonitor(self.db, self.events, self.settings, self.graph)
        self.graph.observer = health
        self.inbound.on_accounts_heard = health.webhooks_seen
        for name in health_webhooks.FIELDS:
            self.inbound.other_handlers[name] = health.on_account_change

    def accounts_changed(self) -> None:
        """A channel account's credentials changed (`inboxd channels update`): drop the caches."""
        self.webhook_secrets.invalidate()
        for worker in self.delivery:
            worker.accounts.forget()

    def new_delivery_worker(self) -> DeliveryWorker:
        worker = DeliveryWorker(self.db, self.graph, self.files, self.settings, self.waiters, self.events, self.health)
        self.delivery.append(worker)
        return worker

    def wake_delivery(self) -> None:
        for worker in self.delivery:
            worker.wake()

    def start_workers(self, count: int) -> None:
        """`count` inbound loops and `count` delivery loops in this process."""
        self._stop.clear()
        loop = self._loop = asyncio.get_running_loop()
        for _ in range(count):
            self._tasks.append(loop.create_task(self.inbound.run(self._stop)))
            self._tasks.append(loop.create_task(self.new_delivery_worker().run(self._stop)))
        if count:
            self._tasks.append(loop.create_task(listen(self.db, NOTIFY_CHANNEL, self.wake_delivery, self._stop)))
            self._tasks.append(
                loop.create_task(listen(self.db, ACCOUNTS_CHANGED_CHANNEL, self.accounts_changed, self._stop))
            )
            if self.health is not None:
                self._tasks.append(loop.create_task(self.health.run(self._stop)))
            if self.event_delivery is not None:
                self._tasks.append(loop.create_task(self.event_delivery.run(self._stop)))
            self._tasks.append(
                loop.create_task(
                    housekeeping.run(
                        self.db, self._stop, webhook_retention_days=self.settings.webhook_retention_days,
                        live_retention_hours=self.settings.live_retention_hours,
                    )
                )
            )
            self._tasks.append(loop.create_task(assignment_sweep.run(self.db, self.events, self._stop)))

    def begin_shutdown(self) -> None:
        """Stop taking work; what is held finishes within `INBOXD_SHUTDOWN_SECONDS` (inboxd.shutdown)."""
        self._stop.begin(self.settings.shutdown_seconds)
        self.inbound.wake()
        self.wake_delivery()

    def begin_shutdown_threadsafe(self) -> None:
        """`begin_shutdown` from a signal handler (SIGTERM), while HTTP requests drain."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self.begin_shutdown)

    async def stop_workers(self) -> None:
        self.begin_shutdown()
        if self._tasks:
            assert self._stop.exit_by is not None
            _, stuck = await asyncio.wait(self._tasks, timeout=max(0.1, self._stop.exit_by - time.monotonic()))
            for task in stuck:  # past the limit (a database call hanging): cut short
                task.cancel()
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def aclose(self) -> None:
        await self.stop_workers()
        await self.http.aclose()
        if self.live is not None:
            await self.live.aclose()
        if self.presence is not None:
            await self.presence.aclose()
        if self.event_delivery is not None:
            await self.event_delivery.aclose()
        await self.files.aclose()
        await self.db.dispose()
