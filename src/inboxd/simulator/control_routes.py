"""The simulator's control API, under `/simulator` (standalone and inside `inboxd serve`): play the
WhatsApp users (make them write), look at what the business sent them, inject faults, change
delays and limits, reset. No authentication: it is a test double; turn it off in production
(`INBOXD_SIMULATOR=false`)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Request
from pydantic import BaseModel, Field

from inboxd.api.contract import answers, link, ok
from inboxd.api.request_body import json_body, model_body, parse_model
from inboxd.api.responses import JSON
from inboxd.api.schemas import CONTACT
from inboxd.domain.errors import InvalidRequest, NotFound, problem
from inboxd.simulator.core import Simulator
from inboxd.simulator.faults import Endpoint, Fault, FaultKind
from inboxd.simulator.inbound import InboundRequest
from inboxd.simulator.templates import STATUSES

TAG = "simulator: control"


class StatusDelaysPatch(BaseModel):
    sent: float | None = Field(default=None, ge=0, description="Seconds from acceptance to `sent`.")
    delivered: float | None = Field(default=None, ge=0, description="Seconds from `sent` to `delivered`.")
    read: float | None = Field(default=None, ge=0, description="Seconds from `delivered` to `read`.")
    never: list[Literal["delivered", "read"]] = Field(
        default_factory=list, description="Statuses never to send (e.g. [\"read\"]: messages stay delivered)."
    )


class ConfigPatch(BaseModel):
    """Fields left out keep their value."""

    status_delays: StatusDelaysPatch | None = None
    mps: int | None = Field(default=None, ge=0, description="Throughput cap, messages/s (0: none) → 130429.")
    pair_burst: int | None = Field(default=None, ge=0, description="Pair-rate burst to one user (0: none) → 131056.")
    pair_interval_seconds: float | None = Field(default=None, ge=0, description="Seconds per message after a burst.")
    enforce_window: bool | None = Field(default=None, description="Refuse free-form messages outside 24 h (131047).")
    template_approval_delay: float | None = Field(
        default=None, description="Seconds until a new template is APPROVED (negative: never)."
    )
    callback_url: str | None = Field(default=None, description="Where webhooks go.")
    webhook_batch_max: int | None = Field(default=None, ge=1, le=1000)
    webhook_batch_linger: float | None = Field(default=None, ge=0, le=5, description="Seconds to gather a batch.")
    webhook_max_attempts: int | None = Field(default=None, ge=1)
    webhook_max_backoff: float | None = Field(default=None, gt=0)
    webhooks_enabled: bool | None = Field(
        default=None, description="false: drop every webhook (a broken webhook subscription)."
    )


class WindowRequest(BaseModel):
    open: bool | None = Field(
        default=None, description="true/false: force the user's window open or closed; null: follow their messages."
    )
    last_inbound_at: int | None = Field(
        default=None, description="Set the Unix time of the user's last message (the window runs 24 h from it)."
    )


class RecipientsRequest(BaseModel):
    recipients: list[str] = Field(description="wa_ids whose messages fail with 131026 (replaces the list).")


class FaultRequest(BaseModel):
    kind: FaultKind = Field(
        description="http_500 | http_503 | timeout (hangs `seconds`, then 504 or, with accept_after_timeout, "
        "a late success) | graph_error (`code`, `http_status`) | failed_status (accepted, then a `failed` "
        "status webhook with `code`)"
    )
    count: int = Field(default=1, ge=1, description="How many calls it applies to.")
    recipient: str | None = Field(default=None, description="Only sends to this wa_id (default: every call).")
    endpoint: Endpoint = Field(default="messages", description="messages | media | download | templates | any")
    code: int | None = Field(default=None, description="The Graph error code (graph_error, failed_status).")
    http_status: int | None = Field(default=None, ge=400, le=599, description="graph_error: the HTTP status.")
    message: str | None = None
    details: str | None = None
    seconds: float = Field(default=30.0, ge=0, le=600, description="timeout: how long the call hangs.")
    accept_after_timeout: bool = False


class AccessTokenRequest(BaseModel):
    token: str | None = Field(default=None, min_length=8, description="The new token (default: a random one).")


class QualityRequest(BaseModel):
    rating: Literal["GREEN", "YELLOW", "RED"]


class AccountChangeRequest(BaseModel):
    field: str = Field(
        pattern="^[a-z_]{1,64}$",
        description="account_update | account_alerts | business_capability_update | phone_number_quality_update | …",
    )
    value: dict[str, Any] = Field(description="The change's `value`, in Meta's shape for the field.")


class TemplateStatusRequest(BaseModel):
    status: Literal["APPROVED", "REJECTED", "PAUSED", "DISABLED", "PENDING"]
    reason: str | None = Field(default=None, description="e.g. INVALID_FORMAT for a rejection.")


def unknown_contact(wa_id: str) -> NotFound:
    return NotFound(f"The simulator has no user {wa_id!r} (nobody wrote or was written to).", code="unknown_contact")


def unknown_template(template_id: str) -> NotFound:
    return NotFound(f"No template with id {template_id!r}.", code="unknown_template")


def control_router(sim: Simulator, graph_prefix: str = "") -> APIRouter:
    """`graph_prefix`: where the Graph routes are mounted in the same app (for URLs)."""
    router = APIRouter(prefix="/simulator", tags=[TAG])

    def graph_url(request: Request) -> str:
        return str(request.base_url).rstrip("/") + graph_prefix

    def contact_or_404(wa_id: str) -> Any:
        contact = sim.contacts.get(wa_id.lstrip("+"))
        if contact is None:
            raise unknown_contact(wa_id)
        return contact

    @router.get("", summary="Simulator status", description="The number it plays, its limits and delays "
                "(never its secrets), counters, pending webhooks, active faults.", **answers(ok("SimulatorInfo")))
    async def info(request: Request) -> JSON:
        return JSON(sim.info(graph_url(request)))

    @router.patch("/config", summary="Change delays and limits",
                  description="Takes effect at once; the answer is the resulting configuration.",
                  **answers(ok("SimulatorConfig")),
                openapi_extra=model_body(ConfigPatch, required=True))
    async def patch_config(request: Request) -> JSON:
        patch = parse_model(ConfigPatch, await json_body(request))
        changes = patch.model_dump(exclude_none=True)
        delays = changes.pop("status_delays", None)
        if delays is not None:
            never = delays.pop("never", [])
            delays.update({name: None for name in never})
            changes["status_delays"] = delays
        sim.reconfigure(**changes)
        return JSON(sim.config.public_view())

    @router.post("/inbound", summary="A simulated user sends a message",
                 description="Posts Meta's `messages` webhook (signed) to the callback and opens the user's "
                 "24-hour window. Content: exactly one of text, image, video, audio, document, sticker "
                 "(base64 `data` or an existing `media_id`), location, contacts, interactive "
                 "(button_reply / list_reply: the title is taken from the message that offered the id, "
                 "and that message is quoted), button (template quick reply), reaction, or raw (any Meta "
                 "message object). Answers the new wamid (and media id).",
                 **answers(ok("SimulatorInbound", links={"Contact": link("One simulated user", wa_id="$request.body#/from")})),
                openapi_extra=model_body(InboundRequest, required=True))
    async def inbound(request: Request) -> JSON:
        body = parse_model(InboundRequest, await json_body(request))
        try:
            result = sim.receive(body, graph_url=graph_url(request))
        except ValueError as exc:
            raise InvalidRequest(str(exc), details=[problem("body", str(exc))]) from None
        return JSON({"success": True, **result})

    @router.get("/contacts", summary="The simulated users",
                description="Everyone who wrote or was written to, with their 24-hour window.",
                **answers(ok("SimulatorContacts")))
    async def contacts() -> JSON:
        return JSON({"data": [c.view() for c in sim.contacts.by_id.values()]})

    @router.get("/contacts/{wa_id}", summary="One simulated user",
                **answers(ok("SimulatorContact"), unknown_contact(CONTACT)))
    async def contact(wa_id: str) -> JSON:
        return JSON(contact_or_404(wa_id).view())

    @router.get("/contacts/{wa_id}/sent", summary="What the business sent this user",
                description="Every accepted Graph payload to this wa_id, exactly as received, oldest first, "
                "with its wamid and the status webhooks delivered so far. `after`: only messages after "
                "this wamid.", **answers(ok("SimulatorSent")))
    async def sent(wa_id: str, after: str | None = None) -> JSON:
        contact = sim.contacts.get(wa_id.lstrip("+"))
        messages = list(contact.sent) if contact else []
        if after:
            ids = [m.id for m in messages]
            messages = messages[ids.index(after) + 1 :] if after in ids else messages
        return JSON({"data": [m.view() for m in messages], "total": len(messages)})

    @router.put("/contacts/{wa_id}/window", summary="Open, close or move a user's 24-hour window",
                **answers(ok("SimulatorContact")),
                openapi_extra=model_body(WindowRequest, required=True))
    async def window(wa_id: str, request: Request) -> JSON:
        body = parse_model(WindowRequest, await json_body(request))
        contact = sim.contacts.ensure(wa_id.lstrip("+"))
        contact.window_override = body.open
        if body.last_inbound_at is not None:
            contact.last_inbound_at = body.last_inbound_at
        return JSON(contact.view())

    @router.get("/invalid-recipients", summary="Users whose messages fail with 131026",
                **answers(ok("SimulatorRecipients")))
    async def get_invalid() -> JSON:
        return JSON({"recipients": sorted(sim.invalid_recipients)})

    @router.put("/invalid-recipients", summary="Set the users whose messages fail with 131026",
                description="Sends to them are accepted (200, a wamid) and then get a `failed` status webhook "
                "with error 131026, as Meta does for a number that is not on WhatsApp.",
                **answers(ok("SimulatorRecipients")),
                openapi_extra=model_body(RecipientsRequest, required=True))
    async def put_invalid(request: Request) -> JSON:
        body = parse_model(RecipientsRequest, await json_body(request))
        sim.invalid_recipients = {r.lstrip("+") for r in body.recipients}
        return JSON({"recipients": sorted(sim.invalid_recipients)})

    @router.post("/faults", summary="Inject a fault for the next N calls",
                 description="Globally or for one recipient. Faults apply in the order they were added.",
                 **answers(ok("SimulatorFault")),
                openapi_extra=model_body(FaultRequest, required=True))
    async def add_fault(request: Request) -> JSON:
        body = parse_model(FaultRequest, await json_body(request))
        if body.kind in ("graph_error", "failed_status") and body.code is None:
            raise InvalidRequest("code is required for this kind", details=[problem("body.code", "is required")])
        fields = body.model_dump()
        fields["remaining"] = fields.pop("count")
        if fields["recipient"]:
            fields["recipient"] = fields["recipient"].lstrip("+")
        return JSON(sim.faults.add(Fault(**fields)).view())

    @router.get("/faults", summary="The faults still armed", **answers(ok("SimulatorFaults")))
    async def list_faults() -> JSON:
        return JSON({"data": [f.view() for f in sim.faults.items]})

    @router.delete("/faults", summary="Disarm every fault", **answers(ok("Success")))
    async def clear_faults() -> JSON:
        sim.faults.clear()
        return JSON({"success": True})

    @router.post("/access-token", summary="Replace the access token (the old one stops working)",
                 description="Graph answers every call with the old token with HTTP 401, error 190 — an expired "
                 "or revoked token. Answers the new token.", **answers(ok("SimulatorAccessToken")))
    async def access_token(body: AccessTokenRequest) -> JSON:
        return JSON({"access_token": sim.rotate_access_token(body.token)})

    @router.put("/quality", summary="Set the number's quality rating",
                description="GET /{phone-number-id} reports it as `quality_rating`. Into RED posts a "
                "`phone_number_quality_update` webhook with event FLAGGED, out of RED one with UNFLAGGED.",
                **answers(ok("SimulatorQuality")))
    async def quality(body: QualityRequest) -> JSON:
        event = sim.set_quality(body.rating)
        return JSON({"quality_rating": sim.quality_rating, "event": event})

    @router.post("/account-webhooks", summary="Post a WhatsApp Business Account webhook of another field",
                 description="Meta's account webhooks (`account_update`, `account_alerts`, "
                 "`business_capability_update`, `phone_number_quality_update`, …): the change is posted, "
                 "signed, with this WABA's id and the time. `messages` webhooks come from /simulator/inbound.",
                 **answers(ok("Success")))
    async def account_webhook(body: AccountChangeRequest) -> JSON:
        if body.field == "messages":
            raise InvalidRequest("use /simulator/inbound for messages", details=[problem("body.field", "is messages")])
        sim.post_account_change(body.field, body.value)
        return JSON({"success": True})

    @router.get("/webhooks", summary="Webhook delivery: pending, counters, the last 200 POSTs",
                description="Each POST with its HTTP status (or transport error), how many updates it carried "
                "and which attempt it was.", **answers(ok("SimulatorWebhooks")))
    async def webhooks() -> JSON:
        return JSON(sim.webhooks.stats())

    @router.get("/templates", summary="The WABA's templates, with their status", **answers(ok("SimulatorTemplates")))
    async def templates() -> JSON:
        return JSON({"data": [t.view() for t in sim.templates.by_id.values()]})

    @router.post("/templates/{template_id}/status", summary="Set a template's status",
                 description=f"One of {', '.join(STATUSES)}; posts a `message_template_status_update` webhook.",
                 **answers(ok("SimulatorTemplate"), unknown_template("1043789012345678")),
                openapi_extra=model_body(TemplateStatusRequest, required=True))
    async def template_status(template_id: str, request: Request) -> JSON:
        body = parse_model(TemplateStatusRequest, await json_body(request))
        template = sim.templates.by_id.get(template_id)
        if template is None:
            raise unknown_template(template_id)
        sim.set_template_status(template, body.status, body.reason)
        return JSON(template.view())

    @router.post("/reset", summary="Forget everything",
                 description="Users, sent messages, media, faults, invalid recipients, pending webhooks; "
                 "templates back to `hello_world`. The configuration stays.", **answers(ok("Success")))
    async def reset() -> JSON:
        sim.reset()
        return JSON({"success": True})

    return router
