"""The long-lived parts of a running inboxd, built once from the settings."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

import httpx

from inboxd import housekeeping
from inboxd.api.auth import TokenCache
from inboxd.api.limiter import RateLimiter
from inboxd.channels.whatsapp.graph import GraphClient, new_http_client
from inboxd.channels.whatsapp.webhook_secrets import WebhookSecrets
from inboxd.config import Settings
from inboxd.delivery.listener import listen
from inboxd.delivery.waiters import DeliveryWaiters
from inboxd.delivery.worker import DeliveryWorker
from inboxd.domain_events import DomainEvents
from inboxd.events import EventService
from inboxd.inbound.processor import InboundProcessor
from inboxd.media.filestore import FileStore
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
    # Published inside the transactions that change messages and chats.
    events: DomainEvents = field(default_factory=DomainEvents)
    delivery: list[DeliveryWorker] = field(default_factory=list)
    # Event subscriptions: queues deliveries on domain events, and delivers them.
    event_delivery: EventService | None = None
    _stop: asyncio.Event = field(default_factory=asyncio.Event)
    _tasks: list[asyncio.Task[None]] = field(default_factory=list)

    @classmethod
    def build(cls, settings: Settings, db: Database | None = None) -> Services:
        db = db or Database(settings.resolved_database_url, schema=settings.database_schema)
        files = FileStore(settings.resolved_files_dir)
        http = new_http_client(timeout=httpx.Timeout(settings.graph_timeout_seconds, connect=5.0))
        graph = GraphClient(http)
        events = DomainEvents()
        inbound = InboundProcessor(db, graph, files, events, retry_max_seconds=settings.inbound_retry_max_seconds)
        services = cls(
            settings=settings, db=db, files=files, http=http, graph=graph, tokens=TokenCache(db), inbound=inbound,
            webhook_secrets=WebhookSecrets(db), waiters=DeliveryWaiters(db), limiter=RateLimiter(db), events=events,
        )
        inbound.on_statuses = services.wake_delivery
        services.event_delivery = EventService(settings, db)
        services.event_delivery.install(events)
        install_templates(services)  # template status webhooks, stop words, reply actions
        return services

    def new_delivery_worker(self) -> DeliveryWorker:
        worker = DeliveryWorker(self.db, self.graph, self.files, self.settings, self.waiters, self.events)
        self.delivery.append(worker)
        return worker

    def wake_delivery(self) -> None:
        for worker in self.delivery:
            worker.wake()

    def start_workers(self, count: int) -> None:
        """`count` inbound loops and `count` delivery loops in this process."""
        self._stop.clear()
        loop = asyncio.get_running_loop()
        for _ in range(count):
            self._tasks.append(loop.create_task(self.inbound.run(self._stop)))
            self._tasks.append(loop.create_task(self.new_delivery_worker().run(self._stop)))
        if count:
            self._tasks.append(loop.create_task(listen(self.db, NOTIFY_CHANNEL, self.wake_delivery, self._stop)))
            if self.event_delivery is not None:
                self._tasks.append(loop.create_task(self.event_delivery.run(self._stop)))
            self._tasks.append(
                loop.create_task(
                    housekeeping.run(self.db, self._stop, webhook_retention_days=self.settings.webhook_retention_days)
                )
            )

    async def stop_workers(self) -> None:
        self._stop.set()
        self.inbound.wake()
        self.wake_delivery()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks.clear()

    async def aclose(self) -> None:
        await self.stop_workers()
        await self.http.aclose()
        if self.event_delivery is not None:
            await self.event_delivery.aclose()
        await self.db.dispose()
