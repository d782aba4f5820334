"""The simulator: one WhatsApp Business number of one WABA, its users, and Meta's behaviour
around them (statuses after a send, approval of templates). The HTTP routes are thin layers
over this object; everything runs on one event loop, so there are no locks."""

from __future__ import annotations

import asyncio
import logging
import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from inboxd.simulator import schema
from inboxd.simulator.config import SimulatorConfig, StatusDelays
from inboxd.simulator.faults import Faults
from inboxd.simulator.inbound import MEDIA_KINDS, InboundRequest, decode_media, message_object, new_wamid
from inboxd.simulator.media import INBOUND_MAX, MediaStore
from inboxd.simulator.ratelimit import SendLimits
from inboxd.simulator.state import Contacts, SentMessage
from inboxd.simulator.templates import Template, TemplateStore
from inboxd.simulator.webhooks import Outgoing, WebhookSender

log = logging.getLogger(__name__)

ATTACHMENTS_PATH = "/whatsapp_business/attachments/"
QUALITY_UPDATE_FIELD = "phone_number_quality_update"


class Simulator:
    def __init__(self, config: SimulatorConfig | None = None, *, media_dir: Path | None = None) -> None:
        self.config = config or SimulatorConfig()
        self.contacts = Contacts(self.config.max_sent_per_contact)
        self.media = MediaStore(media_dir)
        self.templates = TemplateStore()
        self.faults = Faults()
        self.invalid_recipients: set[str] = set()
        self.limits = SendLimits(self.config.mps, self.config.pair_burst, self.config.pair_interval_seconds)
        self.webhooks = WebhookSender(lambda: self.config)
        self._timers: set[asyncio.TimerHandle] = set()
        self.generation = 0  # bumped by reset(): status chains of forgotten messages stop there
        self.started_at = time.time()
        self.quality_rating = "GREEN"  # the number's quality rating (GET /{phone-number-id})

    # --- lifecycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        # Meta's schema file is parsed and compiled now, so the first send is as quick as the rest.
        await asyncio.get_running_loop().run_in_executor(None, schema.warm_up)
        await self.webhooks.start()

    async def stop(self) -> None:
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        await self.webhooks.stop()
        self.media.close()

    @asynccontextmanager
    async def running(self, _app: Any = None) -> AsyncIterator[None]:
        """A lifespan: the simulator runs while the app that serves it does."""
        await self.start()
        try:
            yield
        finally:
            await self.stop()

    def reconfigure(self, **changes: Any) -> None:
        """Change delays and limits of a running simulator (unknown names are ignored)."""
        delays = changes.pop("status_delays", None)
        if delays is not None:
            current = self.config.status_delays
            self.config.status_delays = StatusDelays(**{**current.__dict__, **delays})
        for name, value in changes.items():
            if hasattr(self.config, name) and value is not None:
                setattr(self.config, name, value)
        self.limits.configure(self.config.mps, self.config.pair_burst, self.config.pair_interval_seconds)

    def reset(self) -> None:
        """Forget every user, message, media object, fault and pending webhook; templates go back
        to the seeded `hello_world`. The configuration stays."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()
        self.generation += 1
        self.contacts.clear()
        self.media.clear()
        self.templates.seed()
        self.faults.clear()
        self.invalid_recipients.clear()
        self.quality_rating = "GREEN"
        self.webhooks.clear()
        self.limits.configure(self.config.mps, self.config.pair_burst, self.config.pair_interval_seconds)

    def _later(self, delay: float, callback: Any, *args: Any) -> None:
        loop = asyncio.get_running_loop()
        handle: asyncio.TimerHandle

        def run() -> None:
            self._timers.discard(handle)
            callback(*args)

        handle = loop.call_later(max(0.0, delay), run)
        self._timers.add(handle)

    # --- statuses of accepted messages ---------------------------------------------------------

    def schedule_statuses(
        self, message: SentMessage, *, pricing: dict[str, Any] | None, failure: dict[str, Any] | None, reaction: bool
    ) -> None:
        """`sent` → `delivered` → `read`, each posted after its delay once the previous one was
        delivered (a reaction gets only `sent`); or one `failed` with `failure` as its error."""
        delays = self.config.status_delays
        if failure is not None:
            self._emit(message, ["failed"], None, errors=[failure])
            return
        plan = ["sent"]
        if not reaction:
            plan += [s for s in ("delivered", "read") if getattr(delays, s) is not None]
        self._emit(message, plan, pricing)

    def _emit(
        self, message: SentMessage, plan: list[str], pricing: dict[str, Any] | None, errors: list[Any] | None = None
    ) -> None:
        status, rest = plan[0], plan[1:]
        delay = getattr(self.config.status_delays, "sent" if status == "failed" else status) or 0.0
        value: dict[str, Any] = {
            "id": message.id,
            "status": status,
            "timestamp": str(int(time.time() + delay)),
            "recipient_id": message.to,
        }
        opaque = message.payload.get("biz_opaque_callback_data")
        if opaque is not None:
            value["biz_opaque_callback_data"] = opaque
        if pricing is not None and status in ("sent", "delivered"):  # Meta: on sent and one more
            value["pricing"] = pricing
        if errors:
            value["errors"] = errors

        generation = self.generation

        def delivered() -> None:
            message.statuses.append(status)
            if rest and generation == self.generation:
                self._emit(message, rest, pricing)

        self.webhooks.enqueue(Outgoing("status", value, on_delivered=delivered), delay)

    # --- users writing -----------------------------------------------------------------------

    def receive(self, request: InboundRequest, *, graph_url: str | None) -> dict[str, Any]:
        """A simulated user sends a message: it opens (or renews) their 24-hour window and is
        posted to the callback as Meta's `messages` webhook. ValueError for a request that does
        not describe one message."""
        kind = request.kind()
        wa_id = request.wa_id
        wamid = request.id or new_wamid()
        media_fields: dict[str, Any] | None = None
        if kind in MEDIA_KINDS:
            media_fields = self._inbound_media(request, kind, graph_url)
        context = None
        if request.context is not None:
            context = {"from": request.context.from_ or self.config.display_phone_number, "id": request.context.id}
        if kind == "interactive":
            context = self._complete_reply(request, wa_id) or context
        message = message_object(request, kind, wamid=wamid, media=media_fields, context=context)
        contact = self.contacts.record_inbound(wa_id, wamid, int(message["timestamp"]), request.name)
        profile = {"profile": {"name": contact.name or wa_id}, "wa_id": wa_id}
        self.webhooks.enqueue(Outgoing("message", message, contact=profile))
        return {"id": wamid, "media_id": (media_fields or {}).get("id"), "message": message}

    def _inbound_media(self, request: InboundRequest, kind: str, graph_url: str | None) -> dict[str, Any]:
        item = getattr(request, kind)
        if item.media_id:
            media = self.media.get(item.media_id)
            if media is None:
                raise ValueError(f"{kind}.media_id {item.media_id!r} is not a media id the simulator holds")
        elif item.data:
            data, mime = decode_media(item, kind)
            if len(data) > INBOUND_MAX:
                raise ValueError(f"{kind}.data is larger than WhatsApp's {INBOUND_MAX} bytes")
            media = self.media.add(data, mime, filename=item.filename, origin="inbound")
        else:
            raise ValueError(f"{kind} needs data (base64) or media_id")
        fields = {"mime_type": media.mime_type, "sha256": media.sha256_b64, "id": media.id}
        base = self.config.public_graph_url or graph_url
        if base:  # Meta now includes a download URL in inbound media webhooks
            fields["url"] = f"{base.rstrip('/')}{ATTACHMENTS_PATH}?{self.media.url_query(media)}"
        return fields

    def _complete_reply(self, request: InboundRequest, wa_id: str) -> dict[str, Any] | None:
        """A tap on a button or list row: take the title (and description) from the message that
        offered it, and quote that message as WhatsApp does."""
        assert request.interactive is not None
        kind = request.interactive.type
        reply = getattr(request.interactive, kind)
        if reply is None:
            raise ValueError(f"interactive.{kind} is required when interactive.type is {kind}")
        found = self.contacts.last_sent_with_reply(wa_id, reply.id)
        if found is None:
            reply.title = reply.title or reply.id
            return None
        offered_in, offered = found
        reply.title = reply.title or offered.get("title") or reply.id
        if kind == "list_reply" and reply.description is None and offered.get("description"):
            reply.description = offered["description"]
        return {"from": self.config.display_phone_number, "id": offered_in.id}

    # --- templates ---------------------------------------------------------------------------

    def create_template(self, body: Any) -> Template:
        template = self.templates.create(body)
        if self.config.template_approval_delay >= 0:
            self._later(self.config.template_approval_delay, self._auto_approve, template.id)
        return template

    def _auto_approve(self, template_id: str) -> None:
        template = self.templates.by_id.get(template_id)
        if template is not None and template.status == "PENDING":
            self.set_template_status(template, "APPROVED")

    def set_template_status(self, template: Template, status: str, reason: str | None = None) -> None:
        template.status = status
        template.reason = reason
        value = {
            "event": status,
            "message_template_id": int(template.id),
            "message_template_name": template.name,
            "message_template_language": template.language,
            "message_template_category": template.category,
            "reason": reason or "NONE",
        }
        self.webhooks.enqueue(Outgoing("template", value))

    # --- the account's health (what inboxd's channel health watches) ----------------------------

    def rotate_access_token(self, token: str | None = None) -> str:
        """A new access token; the old one stops working at once (Graph answers 190), as when a
        token expires or is revoked."""
        self.config.access_token = token or "SIM" + secrets.token_urlsafe(32)
        return self.config.access_token

    def set_quality(self, rating: str) -> str | None:
        """Change the number's quality rating. Into RED posts `phone_number_quality_update` with
        event FLAGGED, out of RED with UNFLAGGED (Meta's events; Meta announces no other rating
        change, so a reader of `quality_rating` sees those at its next reading). The event posted."""
        old, self.quality_rating = self.quality_rating, rating
        event = "FLAGGED" if rating == "RED" and old != "RED" else "UNFLAGGED" if old == "RED" != rating else None
        if event is not None:
            value = {"display_phone_number": self.config.display_phone_number, "event": event,
                     "current_limit": "TIER_1K"}
            self.post_account_change(QUALITY_UPDATE_FIELD, value)
        return event

    def post_account_change(self, field: str, value: dict[str, Any]) -> None:
        """Post a WhatsApp Business Account webhook of another field than `messages`
        (`account_update`, `account_alerts`, `business_capability_update`, …) for this WABA."""
        self.webhooks.enqueue(Outgoing("field", value, field=field))

    # --- views -------------------------------------------------------------------------------

    def info(self, graph_url: str | None) -> dict[str, Any]:
        return {
            "graph_url": graph_url,
            "config": self.config.public_view(),
            "contacts": len(self.contacts.by_id),
            "media": len(self.media.items),
            "templates": len(self.templates.by_id),
            "faults": [f.view() for f in self.faults.items],
            "invalid_recipients": sorted(self.invalid_recipients),
            "quality_rating": self.quality_rating,
            "webhooks": {k: v for k, v in self.webhooks.stats().items() if k != "recent"},
            "started_at": int(self.started_at),
        }
