"""Graph's error shapes, in one place: the synchronous JSON error of an API call, and the error
object carried by webhooks (failed statuses), with the codes the simulator produces."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import Any

from inboxd.api.responses import JSON

ERROR_CODES_HREF = "/documentation/business-messaging/whatsapp/support/error-codes"

# code → (title, HTTP status), after Meta's error-code table (reference §4.2).
CODES: dict[int, tuple[str, int]] = {
    1: ("An unknown error occurred", 400),
    2: ("Service temporarily unavailable", 503),
    100: ("Invalid parameter", 400),
    190: ("Invalid OAuth access token - Cannot parse access token", 401),
    130429: ("Rate limit hit", 400),
    131000: ("Something went wrong", 500),
    131008: ("Required parameter is missing", 400),
    131009: ("Parameter value is not valid", 400),
    131016: ("Service unavailable", 503),
    131026: ("Message undeliverable", 400),
    131047: ("Re-engagement message", 400),
    131051: ("Unsupported message type", 400),
    131053: ("Media upload error", 400),
    131056: ("(Business Account, Consumer Account) pair rate limit hit", 400),
    132000: ("Number of parameters does not match the expected number of params", 400),
    132001: ("Template name does not exist in the translation", 404),
    132015: ("Template is paused", 400),
    132016: ("Template is disabled", 400),
}


def title_of(code: int) -> str:
    return CODES.get(code, ("Error", 400))[0]


def http_status_of(code: int) -> int:
    return CODES.get(code, ("Error", 400))[1]


def fbtrace_id() -> str:
    return secrets.token_urlsafe(17)[:23]


@dataclass
class GraphFault(Exception):
    """A Graph error answer. Raised anywhere in a Graph route; the route turns it into JSON."""

    code: int
    details: str | None = None
    http_status: int | None = None
    message: str | None = None
    subcode: int | None = None

    def body(self) -> dict[str, Any]:
        error: dict[str, Any] = {
            "message": self.message or f"(#{self.code}) {title_of(self.code)}",
            "type": "OAuthException",
            "code": self.code,
        }
        if self.subcode is not None:
            error["error_subcode"] = self.subcode
        if self.details:
            error["error_data"] = {"messaging_product": "whatsapp", "details": self.details}
        error["fbtrace_id"] = fbtrace_id()
        return {"error": error}

    def response(self) -> JSON:
        return JSON(self.body(), status_code=self.http_status or http_status_of(self.code))


def invalid_parameter(field: str, reason: str) -> GraphFault:
    """Error 100 naming the offending field, e.g. `interactive.action.buttons[0].reply.title`."""
    sentence = f"Param {field} {reason}" if field else reason
    return GraphFault(100, details=sentence, message=f"(#100) {sentence}")


def unknown_object(object_id: str, method: str = "post") -> GraphFault:
    """What Graph answers for an id that is not (or no longer) there."""
    text = (
        f"Unsupported {method} request. Object with ID '{object_id}' does not exist, cannot be loaded "
        "due to missing permissions, or does not support this operation."
    )
    return GraphFault(100, subcode=33, message=text, details=text)


def webhook_error(code: int, title: str | None = None, details: str | None = None) -> dict[str, Any]:
    """The error object of a `failed` status (webhooks carry no `type` and no `fbtrace_id`)."""
    title = title or title_of(code)
    return {
        "code": code,
        "title": title,
        "message": title,
        "error_data": {"details": details or title},
        "href": ERROR_CODES_HREF,
    }
