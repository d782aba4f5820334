"""The live event log and its streams (docs/live.md): `log` writes every change an agent should
see as a row in the change's transaction, `hub` fans the new rows out to this process's streams,
`stream` serves one stream (replay, then live), `access` says who reads it and what they see."""

from __future__ import annotations

from inboxd.config import Settings
from inboxd.domain_events import DomainEvents
from inboxd.live.hub import LiveHub
from inboxd.live.log import LiveLog
from inboxd.store.db import Database


class LiveService:
    """The log's writer and this process's hub, wired into `Services`."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.log = LiveLog(db)
        self.hub = LiveHub(db, buffer=settings.live_buffer_events, ping_seconds=settings.live_ping_seconds)
        self.log.on_commit = self.hub.publish
        self.log.on_numbered = self.hub.numbered

    def install(self, events: DomainEvents) -> None:
        self.log.install(events)

    async def aclose(self) -> None:
        await self.hub.aclose()
        self.log.uninstall()
