"""Labels and unread-count tests: the API over real HTTP on both databases, and a record of the domain events the
server published (what the event subscriptions and the live stream follow)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from inboxd.domain.scopes import Scope
from inboxd.domain_events import CHAT_LABELS, CHAT_UPDATED
from tests.delivery.conftest import rig, rig_settings  # noqa: F401  (the simulator rig of the send tests)
from tests.support.server import LiveServer

API = "/server/api/v2"


@dataclass
class Published:
    items: list[tuple[str, dict[str, Any]]] = field(default_factory=list)

    def named(self, name: str) -> list[dict[str, Any]]:
        return [data for n, data in self.items if n == name]

    def labels(self) -> list[tuple[str, list[str], list[str], list[str]]]:
        return [(d["chat_id"], d["old_labels"], d["added_labels"], d["removed_labels"]) for d in self.named(CHAT_LABELS)]

    def updated(self, field_name: str) -> list[str]:
        return [d["chat_id"] for d in self.named(CHAT_UPDATED) if field_name in d["fields"]]


def record(live: LiveServer) -> Published:
    assert live.services is not None
    published = Published()
    for name in (CHAT_LABELS, CHAT_UPDATED):
        async def listener(_conn: Any, _name: str = name, **data: Any) -> None:
            published.items.append((_name, data))

        live.services.events.subscribe(name, listener)
    return published


@pytest.fixture
def published(server: LiveServer) -> Published:
    return record(server)


@pytest.fixture
async def admin(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    """Every scope."""
    return {"Authorization": f"Bearer {await make_token(*Scope)}"}
