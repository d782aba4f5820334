"""From a domain event to delivery rows: inside the transaction of the change that raised the
event, find the active scenarios listening to it, run their loaders and conditions, render their
request actions, and write one outbox row per request. The rows commit (or roll back) with the
change, so an event is never delivered for a change that did not happen, nor lost for one that did.
"""

from __future__ import annotations

import asyncio
import logging
import weakref
from collections import OrderedDict
from collections.abc import Callable, Mapping
from functools import partial
from typing import Any

import sqlalchemy as sa
import sqlalchemy.exc
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.clock import now_ms
from inboxd.domain.ids import new_id
from inboxd.domain_events import DomainEvents
from inboxd.events import store as events_store
from inboxd.events.actions import RenderedRequest
from inboxd.events.catalogue import TRIGGERS, EventContext, Trigger
from inboxd.events.metrics import event_deliveries, event_evaluation_failures
from inboxd.events.placeholders import render
from inboxd.events.scenario import CompiledScenario, compile_definition

log = logging.getLogger(__name__)

# A rendered body larger than this is not queued (a receiver would refuse it anyway).
MAX_BODY_BYTES = 1_000_000


class _Scope:
    """The providers of one scenario run: its loaders' aliases over the event's providers."""

    def __init__(self, ctx: EventContext) -> None:
        self.ctx = ctx
        self.aliases: dict[str, Any] = {}

    async def values(self, names: frozenset[str]) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for name in names:
            if name in self.aliases:
                out[name] = self.aliases[name]
            elif name in self.ctx.trigger.providers:
                out[name] = await self.ctx.provider(name)
        return out

    async def load(self, loaders: tuple[Any, ...]) -> None:
        for loader in loaders:
            params = render(loader.params, await self.values(loader.providers))
            self.aliases[loader.alias] = await loader.kind.load(self.ctx, params)


async def _group_holds(group: tuple[Any, ...], scope: _Scope) -> bool:
    for condition in group:  # stops at the first that fails, like `and`
        if not condition.holds(await scope.values(condition.providers)):
            return False
    return True


async def run_scenario(compiled: CompiledScenario, ctx: EventContext) -> list[RenderedRequest]:
    """The requests one scenario makes for this event (none when its conditions do not hold)."""
    scope = _Scope(ctx)
    await scope.load(compiled.before)
    if compiled.conditions:
        for group in compiled.conditions:
            if await _group_holds(group, scope):
                break
        else:
            return []
    await scope.load(compiled.after)
    return [action.render(await scope.values(action.providers)) for action in compiled.actions]


class Subscriptions:
    """The listener that turns domain events into deliveries."""

    CACHE_SIZE = 512

    def __init__(self, on_enqueued: Callable[[], None] | None = None) -> None:
        self.on_enqueued = on_enqueued
        # Revisions never change once made, so their compiled form is kept by revision id.
        self._compiled: OrderedDict[str, CompiledScenario] = OrderedDict()
        # The active subscriptions per trigger, looked up once per transaction: a webhook with a
        # hundred statuses raises a hundred events in one transaction.
        self._active: weakref.WeakKeyDictionary[AsyncConnection, dict[str, list[Any]]] = weakref.WeakKeyDictionary()

    def install(self, bus: DomainEvents) -> None:
        for name in TRIGGERS:
            bus.subscribe(name, partial(self.on_event, name))

    def _compile(self, revision_id: str, definition: dict[str, Any]) -> CompiledScenario:
        compiled = self._compiled.get(revision_id)
        if compiled is None:
            compiled = compile_definition(definition)
            self._compiled[revision_id] = compiled
            if len(self._compiled) > self.CACHE_SIZE:
                self._compiled.popitem(last=False)
        else:
            self._compiled.move_to_end(revision_id)
        return compiled

    async def on_event(self, trigger_name: str, conn: AsyncConnection, **data: Any) -> None:
        known = self._active.setdefault(conn, {})
        if trigger_name not in known:
            known[trigger_name] = await events_store.active_for_trigger(conn, trigger_name)
        active = known[trigger_name]
        if not active:
            return
        trigger = TRIGGERS[trigger_name]
        ctx = EventContext(conn, trigger, data)
        rows: list[dict[str, Any]] = []
        now = now_ms()
        for subscription in active:
            try:
                compiled = self._compile(subscription["revision_id"], subscription["definition"])
                requests = await run_scenario(compiled, ctx)
            except sqlalchemy.exc.SQLAlchemyError:
                raise  # the transaction itself failed: the change fails with it
            except Exception:
                # A scenario must never make the change that raised the event fail: skip it.
                event_evaluation_failures.inc()
                log.exception("scenario %s: running it for %s failed; no delivery", subscription["scenario_id"], trigger_name)
                continue
            rows.extend(self._rows(subscription, trigger, data, requests, now))
        if rows:
            await events_store.enqueue(conn, rows)
            event_deliveries.labels("queued").inc(len(rows))
            self._wake_after_commit(conn)

    def _rows(
        self,
        subscription: Mapping[str, Any],
        trigger: Trigger,
        data: Mapping[str, Any],
        requests: list[RenderedRequest],
        now: int,
    ) -> list[dict[str, Any]]:
        stream = trigger.stream(data)
        rows = []
        for request in requests:
            if len(request.body) > MAX_BODY_BYTES:
                log.warning("scenario %s: the %s event body is larger than %d bytes; not sent",
                            subscription["scenario_id"], trigger.name, MAX_BODY_BYTES)
                continue
            rows.append({
                "id": new_id(),
                "scenario_id": subscription["scenario_id"],
                "revision_id": subscription["revision_id"],
                "trigger_event": trigger.name,
                "event_name": request.event_name,
                "order_key": stream.key[:128],
                "chat_id": stream.chat_id,
                "method": request.method,
                "url": request.url,
                "headers": request.headers or None,
                "body": request.body,
                "state": events_store.PENDING,
                "attempts": 0,
                "created_at": now,
                "due_at": now,
            })
        return rows

    def _wake_after_commit(self, conn: AsyncConnection) -> None:
        if self.on_enqueued is None:
            return
        on_enqueued = self.on_enqueued
        loop = asyncio.get_running_loop()
        # Waking the workers before the commit would let them look too early and go back to sleep.
        sa.event.listen(conn.sync_connection, "commit", lambda _c: loop.call_soon(on_enqueued), once=True)
