"""Webhooks out: statuses, inbound messages and template updates, POSTed to the callback URL as
Meta does it.

- Signed: `X-Hub-Signature-256` = HMAC-SHA256 of the raw body with the app secret. The body is
  JSON with non-ASCII characters escaped, the form Meta signs (a receiver that re-serialises
  before checking fails here as it would against Meta).
- Batched: everything due when a POST goes out travels in it (up to `webhook_batch_max`
  updates, gathered for `webhook_batch_linger` seconds after the first is due), statuses
  together in one `changes[]` item, messages in another.
- Retried with exponential backoff (and jitter) while the callback fails: any non-2xx answer or
  no answer. After `webhook_max_attempts` the update is dropped, as Meta drops it eventually.
- One shared `httpx.AsyncClient`, at most `webhook_concurrency` POSTs in flight: while they are,
  the next batch grows, which is what keeps high send rates cheap.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import json
import logging
import random
import time
from collections import Counter, deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx

from inboxd.channels.whatsapp.signature import HEADER, sign
from inboxd.simulator.config import SimulatorConfig

log = logging.getLogger(__name__)

MESSAGES_FIELD = "messages"
TEMPLATE_STATUS_FIELD = "message_template_status_update"


@dataclass(eq=False)
class Outgoing:
    """One update waiting to be posted."""

    kind: str  # "status" | "message" | "template" | "field"
    value: dict[str, Any]  # the status object, the message object, or the change's value
    contact: dict[str, Any] | None = None  # for a message: {"profile": {"name"}, "wa_id"}
    on_delivered: Callable[[], None] | None = None
    attempts: int = 0
    field: str | None = None  # kind "field": the webhook field (account_update, account_alerts, …)


def envelope(config: SimulatorConfig, items: list[Outgoing]) -> dict[str, Any]:
    metadata = {"display_phone_number": config.display_phone_number, "phone_number_id": config.phone_number_id}
    changes: list[dict[str, Any]] = []
    statuses = [item.value for item in items if item.kind == "status"]
    if statuses:
        value = {"messaging_product": "whatsapp", "metadata": metadata, "statuses": statuses}
        changes.append({"value": value, "field": MESSAGES_FIELD})
    messages = [item for item in items if item.kind == "message"]
    if messages:
        contacts = list({item.contact["wa_id"]: item.contact for item in messages if item.contact}.values())
        value = {
            "messaging_product": "whatsapp",
            "metadata": metadata,
            "contacts": contacts,
            "messages": [item.value for item in messages],
        }
        changes.append({"value": value, "field": MESSAGES_FIELD})
    for item in items:
        if item.kind == "template":
            changes.append({"value": item.value, "field": TEMPLATE_STATUS_FIELD})
        elif item.kind == "field":
            changes.append({"value": item.value, "field": item.field})
    entry: dict[str, Any] = {"id": config.waba_id, "changes": changes}
    if any(item.kind == "field" for item in items):  # Meta's account webhooks say when they fired
        entry["time"] = int(time.time())
    return {"object": "whatsapp_business_account", "entry": [entry]}


def encode(payload: dict[str, Any]) -> bytes:
    # ensure_ascii: Meta signs the escaped-unicode form of its JSON.
    return json.dumps(payload, ensure_ascii=True, separators=(",", ":")).encode()


class WebhookSender:
    LOG_SIZE = 200

    def __init__(self, config: Callable[[], SimulatorConfig]) -> None:
        self._config = config
        self._heap: list[tuple[float, int, Outgoing]] = []
        self._seq = itertools.count()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._inflight: set[asyncio.Task[None]] = set()
        self._slots: asyncio.Semaphore | None = None
        self._http: httpx.AsyncClient | None = None
        self.counters: Counter[str] = Counter()
        self.recent: deque[dict[str, Any]] = deque(maxlen=self.LOG_SIZE)

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        config = self._config()
        self._http = httpx.AsyncClient(
            timeout=httpx.Timeout(config.webhook_timeout),
            limits=httpx.Limits(max_connections=config.webhook_concurrency * 2),
        )
        self._slots = asyncio.Semaphore(max(1, config.webhook_concurrency))
        self._wake = asyncio.Event()
        self._task = asyncio.get_running_loop().create_task(self._run(), name="simulator-webhooks")

    async def stop(self) -> None:
        tasks = [t for t in (self._task, *self._inflight) if t is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._task = None
        self._inflight.clear()
        if self._http is not None:
            await self._http.aclose()
            self._http = None

    # --- queueing ----------------------------------------------------------------------------

    def enqueue(self, item: Outgoing, delay: float = 0.0) -> None:
        heapq.heappush(self._heap, (time.monotonic() + max(0.0, delay), next(self._seq), item))
        self._wake.set()

    def clear(self) -> None:
        self._heap.clear()

    @property
    def pending(self) -> int:
        return len(self._heap)

    @property
    def busy(self) -> bool:
        return bool(self._heap or self._inflight)

    def stats(self) -> dict[str, Any]:
        return {
            "pending": len(self._heap),
            "in_flight": len(self._inflight),
            "counters": dict(self.counters),
            "recent": list(self.recent),
        }

    # --- delivery ----------------------------------------------------------------------------

    async def _run(self) -> None:
        assert self._slots is not None
        while True:
            if not self._heap:
                self._wake.clear()
                await self._wake.wait()
                continue
            # Wait a little past the first due update, so updates that fall due together
            # travel together (Meta batches what is pending; it does not post each on its own).
            wait = self._heap[0][0] + self._config().webhook_batch_linger - time.monotonic()
            if wait > 0:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), wait)
                except TimeoutError:
                    pass
                continue
            await self._slots.acquire()
            batch = self._take_due(self._config().webhook_batch_max)
            if not batch:
                self._slots.release()
                continue
            task = asyncio.get_running_loop().create_task(self._deliver(batch))
            self._inflight.add(task)
            task.add_done_callback(self._inflight.discard)

    def _take_due(self, limit: int) -> list[Outgoing]:
        now = time.monotonic()
        batch: list[Outgoing] = []
        while self._heap and self._heap[0][0] <= now and len(batch) < max(1, limit):
            batch.append(heapq.heappop(self._heap)[2])
        return batch

    async def _deliver(self, batch: list[Outgoing]) -> None:
        assert self._slots is not None
        try:
            await self._post(batch)
        except asyncio.CancelledError:
            raise
        except Exception:  # never lose the sender loop over one batch
            log.exception("simulator webhook delivery failed unexpectedly")
            self._retry(batch)
        finally:
            self._slots.release()

    async def _post(self, batch: list[Outgoing]) -> None:
        config = self._config()
        if not config.callback_url or self._http is None:
            self.counters["dropped_no_callback"] += len(batch)
            return
        if not config.webhooks_enabled:
            self.counters["dropped_disabled"] += len(batch)
            return
        body = encode(envelope(config, batch))
        headers = {"Content-Type": "application/json", HEADER: sign(body, config.app_secret)}
        status: int | None = None
        error: str | None = None
        try:
            response = await self._http.post(config.callback_url, content=body, headers=headers)
            status = response.status_code
        except httpx.HTTPError as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        ok = status is not None and 200 <= status < 300
        kinds = Counter(item.kind for item in batch)
        self.recent.append(
            {
                "at": time.time(),
                "ok": ok,
                "http_status": status,
                "error": error,
                "updates": len(batch),
                "kinds": dict(kinds),
                "attempt": max(item.attempts for item in batch) + 1,
            }
        )
        self.counters["posts_ok" if ok else "posts_failed"] += 1
        if not ok:
            self._retry(batch)
            return
        for kind, count in kinds.items():
            self.counters[f"delivered_{kind}"] += count
        for item in batch:
            if item.on_delivered is not None:
                item.on_delivered()

    def _retry(self, batch: list[Outgoing]) -> None:
        config = self._config()
        for item in batch:
            item.attempts += 1
            if item.attempts >= config.webhook_max_attempts:
                self.counters[f"dropped_{item.kind}"] += 1
                continue
            backoff = min(config.webhook_max_backoff, 0.5 * 2 ** (item.attempts - 1))
            self.enqueue(item, backoff * random.uniform(0.8, 1.2))
