"""`POST /{version}/{phone-number-id}/messages`: a send (or a mark-as-read), checked the way Meta
checks it, in this order:

1. injected faults for this call (control API);
2. the body against Meta's `Message` schema, then the rules the schema cannot express → 100;
3. the number's throughput cap → 130429 (every well-formed call counts, as on Meta);
4. template: exists, approved, parameters → 132001/132015/132016/132000; any other message:
   the user's 24-hour window → 131047;
5. media ids the number holds → 131053;
6. the pair rate limit to this user → 131056.

An accepted message is recorded for the control API and gets its status webhooks; an invalid
recipient (control API) or an injected `failed_status` turns those into one `failed` status.
"""

from __future__ import annotations

import time
from typing import Any

import orjson

from inboxd.simulator.core import Simulator
from inboxd.simulator.errors import GraphFault, invalid_parameter, webhook_error
from inboxd.simulator.faults import apply_request_fault
from inboxd.simulator.inbound import new_wamid
from inboxd.simulator.rules import check_message, normalize_recipient
from inboxd.simulator.schema import message_kind, validate_message
from inboxd.simulator.state import SentMessage
from inboxd.simulator.templates import Template, check_template_send

THROUGHPUT_DETAILS = "Cloud API message throughput has been reached."
PAIR_DETAILS = (
    "Message failed to send because there were too many messages sent from this phone number to the same "
    "phone number in a short period of time."
)
WINDOW_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last replied to this "
    "number. Send a template message instead."
)


def parse_body(raw: bytes) -> dict[str, Any]:
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError:
        raise invalid_parameter("", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise invalid_parameter("", "The request body must be a JSON object")
    return body


async def handle_send(sim: Simulator, raw: bytes) -> dict[str, Any]:
    body = parse_body(raw)
    to = body.get("to")
    recipient = normalize_recipient(to) if isinstance(to, str) else None
    fault = sim.faults.take("messages", recipient, on_accept=False)
    if fault is not None:
        await apply_request_fault(fault)
    if body.get("status") == "read" and "type" not in body:
        return mark_read(sim, body)

    problem = validate_message(body)
    kind = message_kind(body)
    if problem is None:
        problem = check_message(body, kind)
    if problem is not None:
        raise invalid_parameter(problem.field, problem.reason)

    if not sim.limits.take_throughput():
        raise GraphFault(130429, details=THROUGHPUT_DETAILS, subcode=2494055)
    wa_id = recipient or str(to)  # a group id is kept as given
    contact = sim.contacts.ensure(wa_id)
    in_window = contact.window_open()
    template: Template | None = None
    if kind == "template":
        template = check_template_send(sim.templates, body["template"])
    elif sim.config.enforce_window and not in_window:
        raise GraphFault(131047, details=WINDOW_DETAILS)
    _check_media_ids(sim, body, kind)
    if not sim.limits.take_pair(wa_id):
        raise GraphFault(131056, details=PAIR_DETAILS)

    message = SentMessage(id=new_wamid(), to=wa_id, timestamp=int(time.time()), payload=body)
    sim.contacts.record_sent(message)
    failure = None
    if wa_id in sim.invalid_recipients:
        failure = webhook_error(131026, details="Message Undeliverable.")
    else:
        failed = sim.faults.take("messages", wa_id, on_accept=True)
        if failed is not None:
            failure = webhook_error(failed.code or 131000, failed.message, failed.details)
    sim.schedule_statuses(message, pricing=_pricing(template, in_window), failure=failure, reaction=kind == "reaction")
    return {
        "messaging_product": "whatsapp",
        "contacts": [{"input": to, "wa_id": wa_id}],
        "messages": [{"id": message.id}],
    }


def mark_read(sim: Simulator, body: dict[str, Any]) -> dict[str, Any]:
    """`{"status": "read", "message_id": …}` (with an optional typing indicator)."""
    if body.get("messaging_product") != "whatsapp":
        raise invalid_parameter("messaging_product", "must be \"whatsapp\"")
    message_id = body.get("message_id")
    if not isinstance(message_id, str) or not message_id:
        raise invalid_parameter("message_id", "is required")
    indicator = body.get("typing_indicator")
    if indicator is not None and (not isinstance(indicator, dict) or indicator.get("type") != "text"):
        raise invalid_parameter("typing_indicator.type", "must be \"text\"")
    unknown = set(body) - {"messaging_product", "status", "message_id", "typing_indicator"}
    if unknown:
        raise invalid_parameter(sorted(unknown)[0], "is not a known parameter here")
    wa_id = sim.contacts.inbound_index.get(message_id)
    if wa_id is None:
        raise invalid_parameter("message_id", f"is not a message this number received ({message_id!r})")
    sim.contacts.ensure(wa_id).marked_read.append(message_id)
    return {"success": True}


def _check_media_ids(sim: Simulator, body: dict[str, Any], kind: str) -> None:
    for path, media_id in _media_ids(body, kind):
        if sim.media.get(str(media_id)) is None:
            raise GraphFault(
                131053,
                details=f"Param {path}: media id {media_id} was not uploaded to this phone number or was deleted",
            )


def _media_ids(body: dict[str, Any], kind: str) -> list[tuple[str, Any]]:
    found: list[tuple[str, Any]] = []
    if kind in ("image", "video", "audio", "document", "sticker") and "id" in body[kind]:
        found.append((f"{kind}.id", body[kind]["id"]))
    elif kind == "interactive":
        header = body["interactive"].get("header") or {}
        media = header.get(header.get("type", ""))
        if isinstance(media, dict) and "id" in media:
            found.append((f"interactive.header.{header['type']}.id", media["id"]))
    elif kind == "template":
        for i, component in enumerate(body["template"].get("components") or []):
            for j, parameter in enumerate(component.get("parameters") or []):
                media = parameter.get(parameter.get("type", "")) if isinstance(parameter, dict) else None
                if parameter.get("type") in ("image", "video", "document") and isinstance(media, dict) and "id" in media:
                    found.append((f"template.components[{i}].parameters[{j}].{parameter['type']}.id", media["id"]))
    return found


def _pricing(template: Template | None, in_window: bool) -> dict[str, Any]:
    """The `pricing` of the status webhooks (per-message pricing since 2025-07-01): free-form
    messages are free, and so are utility templates inside an open window."""
    if template is None:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": "service"}
    category = template.category.lower()
    if category == "utility" and in_window:
        return {"billable": False, "pricing_model": "PMP", "type": "free_customer_service", "category": category}
    return {"billable": True, "pricing_model": "PMP", "type": "regular", "category": category}
