"""The live stream (docs/live.md): `GET /live` (server-sent events) and `GET /live/snapshot`."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Header, Query, Request
from starlette.responses import Response

from inboxd.agents.presence import StreamWithPresence
from inboxd.api.auth import current_credential
from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.responses import JSON
from inboxd.domain.errors import Problems
from inboxd.domain.scopes import Scope
from inboxd.live import store as live_store
from inboxd.live.access import principal_for, principal_of
from inboxd.live.stream import LiveStream, start_position
from inboxd.services import Services

router = APIRouter(tags=["live"])

EventId = Annotated[str | None, Query(description="Replay the events after this id (Last-Event-ID wins).")]


def _event_id(problems: Problems, path: str, value: str | None) -> int | None:
    value = (value or "").strip()
    if not value:  # absent, or empty (a client that has no id yet)
        return None
    if not value.isdigit() or len(value) > 18:
        problems.add(path, "must be an event id: a non-negative integer")
        return None
    return int(value)


@router.get(
    "/live",
    summary="Live events (server-sent events)",
    **require(Scope.VIEW_ALL_CHATS),
    **answers(ok("LiveEvent", media_type="text/event-stream",
                 description="A stream of server-sent events (the schema: one event), replayed after the given id, "
                 "then live; it does not end.")),
)
async def live(
    request: Request,
    services: Annotated[Services, Depends(get_services)],
    after: EventId = None,
    last_event_id: Annotated[str | None, Header(alias="Last-Event-ID")] = None,
) -> Response:
    # An EventSource reconnecting sends Last-Event-ID with the URL it was opened with, whose
    # `after` is older: the header wins.
    problems = Problems()
    from_header = _event_id(problems, "header.Last-Event-ID", last_event_id)
    from_query = _event_id(problems, "query.after", after)
    problems.raise_if_any("The stream position is invalid")
    start, resync = await start_position(services.db, from_header if from_header is not None else from_query)
    assert services.live is not None and services.presence is not None
    principal = principal_for(request)

    async def still_the_same() -> bool:
        """The credential is still live and still sees what the stream was opened with: a
        revoked token, an ended session, a deactivated agent, and an agent whose role or
        departments changed end the stream (its client reconnects with the new view)."""
        now = await current_credential(request.scope, services.tokens, services.sessions)
        return now is not None and principal_of(now) == principal

    stream = LiveStream(services.db, services.live.hub, principal, start, resync, still_the_same)
    if principal.kind == "agent":  # a signed-in agent's stream keeps them online (agents/presence.py)
        return StreamWithPresence(stream, services.presence, principal.id)
    return stream


@router.get("/live/snapshot", summary="Live stream position", **require(Scope.VIEW_ALL_CHATS),
            **answers(ok("LiveSnapshot")))
async def snapshot(services: Annotated[Services, Depends(get_services)]) -> JSON:
    """The id of the last committed event: lists loaded after this call include every change up
    to it, so a page loads them, then streams with `?after=<lastEventId>`."""
    async with services.db.read() as conn:
        head = await live_store.head(conn)
    return JSON({"success": True, "lastEventId": head, "retentionHours": services.settings.live_retention_hours})
