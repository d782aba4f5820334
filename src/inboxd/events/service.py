"""Event subscriptions as a part of a running inboxd: the listener that queues deliveries inside
each change's transaction, and the worker that sends them."""

from __future__ import annotations

import asyncio

from inboxd.config import Settings
from inboxd.domain_events import DomainEvents
from inboxd.events.matching import Subscriptions
from inboxd.events.transport import new_event_client
from inboxd.events.worker import EventDeliveryWorker
from inboxd.store.db import Database


class EventService:
    def __init__(self, settings: Settings, db: Database) -> None:
        client = new_event_client(
            timeout=settings.events_timeout_seconds, allow_private=settings.events_allow_private_urls
        )
        self.worker = EventDeliveryWorker(db, settings, client)
        self.subscriptions = Subscriptions(on_enqueued=self.worker.wake)

    def install(self, bus: DomainEvents) -> None:
        self.subscriptions.install(bus)

    async def run(self, stop: asyncio.Event) -> None:
        await self.worker.run(stop)

    async def aclose(self) -> None:
        await self.worker.client.aclose()
