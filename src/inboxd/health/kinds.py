"""Every kind of channel health problem inboxd raises, in one table: its stable `name`, severity,
what it impairs, the sentence that says what is wrong, the instruction that says what to do, and
what resolves it by itself. `graph_signal` maps a Graph error to its kind (after the error table
in `channels.whatsapp.errors`); `health.webhooks` maps Meta's account webhooks.

The texts are `str.format` templates filled with the signal's fields (`{code}`, `{graph}`, …).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any, Literal

from inboxd.channels.whatsapp.errors import GraphError

Severity = Literal["error", "warning"]


class Clears(StrEnum):
    """What resolves a problem without an operator."""

    ANY_CALL = "any_call"  # any successful Graph call with the account's credentials (a token problem)
    SAME_CLASS = "same_class"  # a successful call of the same class (messaging / management) as the one that failed
    SEND = "send"  # a successful send (the number can send again)
    SIGNAL = "signal"  # only the signal that says so (a webhook, a quality reading) or an operator


# Graph operations (the `operation` of `GraphClient` calls) by class: a permission can be missing
# for one class and not the other.
MESSAGING = "messaging"
MANAGEMENT = "management"
OPERATION_CLASS = {
    "send": MESSAGING, "upload": MESSAGING, "media": MESSAGING, "download": MESSAGING,
    "templates": MANAGEMENT, "phone_number": MANAGEMENT,
}


@dataclass(frozen=True)
class ProblemKind:
    name: str
    severity: Severity
    send: bool  # impairedFunctionality.send
    receive: bool  # impairedFunctionality.receive
    message: str
    instruction: str
    clears: Clears

    @property
    def impaired(self) -> dict[str, bool]:
        return {"send": self.send, "receive": self.receive}


@dataclass(frozen=True)
class Raise:
    """A signal that a problem exists. `case` tells incidents of one kind apart on one account
    (e.g. the violation type); with the account and the name it makes the caseId."""

    kind: ProblemKind
    case: str = ""
    fields: dict[str, Any] = field(default_factory=dict)  # for the message and instruction
    source: dict[str, Any] = field(default_factory=dict)  # what raised it (the Problem's `source`)
    started_at: int | None = None  # ms; default: now
    operation_class: str | None = None


@dataclass(frozen=True)
class Resolve:
    """A signal that a problem is over."""

    name: str
    case: str = ""


class _Fields(dict):  # type: ignore[type-arg]
    def __missing__(self, key: str) -> str:
        return "unknown"


def render(text: str, fields: dict[str, Any]) -> str:
    """A kind's text with the signal's fields (a field the signal lacks reads "unknown")."""
    return text.format_map(_Fields(fields))


def case_id(channel: str, account_id: str, name: str, case: str) -> str:
    """64 hex characters (Texter: 32–128), the same wherever and whenever the signal is seen, so
    concurrent observers of one incident agree on it."""
    return hashlib.sha256(f"{channel}\x1f{account_id}\x1f{name}\x1f{case}".encode()).hexdigest()


_UPDATE = "inboxd channels update {account} --access-token <new token>"

# --- from Graph's answers -----------------------------------------------------------------------

ACCESS_TOKEN = ProblemKind(
    "whatsapp_access_token_invalid", "error", True, False,
    "WhatsApp refuses this number's access token (Graph error {code}): it expired, was revoked or is wrong. "
    "Nothing can be sent, and media customers send cannot be downloaded. Graph said: {graph}",
    "Create a new access token (a System User token does not expire) in Meta Business Settings → System users, "
    "with the whatsapp_business_messaging and whatsapp_business_management permissions, and give it to inboxd: "
    + _UPDATE + ".",
    Clears.ANY_CALL,
)
PERMISSION = ProblemKind(
    "whatsapp_permission_missing", "error", True, False,
    "The access token lacks a permission Graph needs for {operation} calls (Graph error {code}). Graph said: {graph}",
    "Give the app the whatsapp_business_messaging and whatsapp_business_management permissions on this WhatsApp "
    "Business Account (Meta Business Settings → System users → Assign assets), create a new token and give it to "
    "inboxd: " + _UPDATE + ".",
    Clears.SAME_CLASS,
)
ACCOUNT_LOCKED = ProblemKind(
    "whatsapp_account_locked", "error", True, False,
    "WhatsApp has locked this business account (Graph error 131031), e.g. after policy violations or a failed "
    "business verification: it cannot send messages. Graph said: {graph}",
    "Open WhatsApp Manager → Account tools → Account quality to see why, and request a review there. Sending "
    "resumes once Meta unlocks the account.",
    Clears.SEND,
)
ACCOUNT_RESTRICTED = ProblemKind(
    "whatsapp_account_restricted", "error", True, False,
    "WhatsApp restricts this business account for policy violations ({detail}): messages are refused.",
    "See the violations in WhatsApp Manager → Account tools → Account quality; the restriction ends on its own "
    "after its period, or request a review there if it is a mistake.",
    Clears.SEND,
)
DISPLAY_NAME = ProblemKind(
    "whatsapp_display_name_not_approved", "error", True, False,
    "WhatsApp refuses messages from this number until its display name is approved (Graph error 131037). "
    "Graph said: {graph}",
    "Submit the display name for review in WhatsApp Manager → Phone numbers, following Meta's display name "
    "guidelines.",
    Clears.SEND,
)
REGISTRATION = ProblemKind(
    "whatsapp_phone_number_registration_error", "error", True, False,
    "The number's Cloud API registration is broken (Graph error 131045, a certificate error). Graph said: {graph}",
    "Register the number again (POST /{{phone-number-id}}/register with its two-step verification PIN), or "
    "check it in WhatsApp Manager → Phone numbers.",
    Clears.SEND,
)
PAYMENT = ProblemKind(
    "whatsapp_payment_issue", "error", True, False,
    "Meta refuses messages because of a payment problem on the WhatsApp Business Account (Graph error 131042): "
    "no valid payment method, a failed payment, or a credit line over its limit. Graph said: {graph}",
    "Fix the payment method in Meta Business Settings → WhatsApp accounts → Settings → Payment settings (or ask "
    "the partner who owns the credit line).",
    Clears.SEND,
)
NOT_REGISTERED = ProblemKind(
    "whatsapp_phone_number_not_registered", "error", True, True,
    "The number is not registered on the WhatsApp Cloud API (Graph error 133010): it can neither send nor "
    "receive. Graph said: {graph}",
    "Register the number: POST /{{phone-number-id}}/register with messaging_product=whatsapp and its two-step "
    "verification PIN (see WhatsApp Manager → Phone numbers).",
    Clears.SEND,
)
SPAM_LIMIT = ProblemKind(
    "whatsapp_spam_rate_limited", "warning", True, False,
    "WhatsApp limits this number's messages because too many of its earlier messages were blocked or reported "
    "as spam (Graph error 131048). Graph said: {graph}",
    "Send fewer unsolicited messages, only to people who opted in, and check the number's quality rating in "
    "WhatsApp Manager → Phone numbers.",
    Clears.SEND,
)
THROTTLED = ProblemKind(
    "whatsapp_throughput_limit_reached", "warning", True, False,
    "WhatsApp has been throttling this number's sends for more than a minute (error 130429: its messages-per-"
    "second cap). Messages are delayed, not lost.",
    "Set the account's rate to what Meta allows the number (80/s by default, 1,000 after Meta's automatic "
    "upgrade): inboxd channels update {account} --mps <rate>; or spread bulk sends out.",
    Clears.SEND,
)

# --- from inboxd's own observation -----------------------------------------------------------------

WEBHOOKS_SILENT = ProblemKind(
    "whatsapp_webhooks_not_received", "warning", False, True,
    "Messages went out through this number, but no webhook at all has come from Meta for it for {hours} hours: "
    "the callback URL or the webhook subscription is broken, so message statuses and customers' replies are lost.",
    "In the Meta App Dashboard → WhatsApp → Configuration, check the callback URL (this server's "
    "/webhooks/whatsapp, reachable from the internet over HTTPS), the verify token, and that the `messages` field "
    "is subscribed; and that the app is subscribed to this WhatsApp Business Account "
    "(POST /{{waba-id}}/subscribed_apps).",
    Clears.SIGNAL,
)

# --- from Meta's account webhooks (health.webhooks) -------------------------------------------------

ACCOUNT_VIOLATION = ProblemKind(
    "whatsapp_account_policy_violation", "warning", False, False,
    "Meta reports that the WhatsApp Business Account violated its policies (violation: {violation}). Repeated "
    "violations lead to restrictions or to the account being disabled.",
    "Review the violation in WhatsApp Manager → Account tools → Account quality, change what caused it, and "
    "request a review there if it is a mistake. Resolve this problem when done.",
    Clears.SIGNAL,
)
ACCOUNT_DISABLED = ProblemKind(
    "whatsapp_account_disabled", "error", True, True,
    "Meta has disabled the WhatsApp Business Account ({date}): its numbers can neither send nor receive.",
    "Request a review of the decision in WhatsApp Manager → Account tools → Account quality.",
    Clears.SIGNAL,
)
ACCOUNT_DISABLE_SCHEDULED = ProblemKind(
    "whatsapp_account_scheduled_for_disable", "warning", False, False,
    "Meta has scheduled the WhatsApp Business Account to be disabled ({date}) for policy violations.",
    "Fix the violations listed in WhatsApp Manager → Account tools → Account quality, or request a review "
    "there, before the date.",
    Clears.SIGNAL,
)
ACCOUNT_DELETED = ProblemKind(
    "whatsapp_account_deleted", "error", True, True,
    "Meta reports that the WhatsApp Business Account was deleted: its numbers no longer work.",
    "Connect the number again through a new WhatsApp Business Account (inboxd channels add-whatsapp), then "
    "resolve this problem.",
    Clears.SIGNAL,
)
QUALITY_LOW = ProblemKind(
    "whatsapp_phone_number_quality_low", "warning", False, False,
    "The number's quality rating is low (RED{flagged}): customers block or report its messages. If it stays low, "
    "Meta limits what it may send.",
    "See what customers object to in WhatsApp Manager → Phone numbers → Insights; send only to people who opted "
    "in, less often, with relevant content.",
    Clears.SIGNAL,
)
QUALITY_MEDIUM = ProblemKind(
    "whatsapp_phone_number_quality_medium", "warning", False, False,
    "The number's quality rating dropped to medium (YELLOW): customers have started blocking or reporting its "
    "messages.",
    "See what customers object to in WhatsApp Manager → Phone numbers → Insights before the rating drops to low.",
    Clears.SIGNAL,
)
LIMIT_DECREASED = ProblemKind(
    "whatsapp_messaging_limit_decreased", "warning", True, False,
    "Meta lowered the number's messaging limit (from {old} to {current}): it can start conversations with fewer "
    "customers a day.",
    "Raise the quality rating (WhatsApp Manager → Phone numbers → Insights); the limit goes up again with good "
    "quality and use.",
    Clears.SIGNAL,
)
LIMITED_AVAILABILITY = ProblemKind(
    "whatsapp_business_has_limited_messaging_availability", "error", True, False,
    "The Business has not passed business verification. It can start conversations with only {limit} customers "
    "a day.",
    "Visit business settings and start or resolve the business verification request (Meta Business Settings → "
    "Security Center).",
    Clears.SIGNAL,
)


def account_alert(alert_type: str, severity: Severity) -> ProblemKind:
    """An `account_alerts` webhook's alert: one kind per alert type, its text from Meta."""
    return ProblemKind(
        f"whatsapp_account_alert_{alert_type.lower()}"[:100], severity, False, False,
        "{description}",
        _ALERT_INSTRUCTIONS.get(alert_type, "See the alert in Meta Business Suite → Account Overview / WhatsApp "
                                "Manager, do what it asks, then resolve this problem."),
        Clears.SIGNAL,
    )


_ALERT_INSTRUCTIONS = {
    "INCREASED_CAPABILITIES_ELIGIBILITY_DEFERRED": "Keep using the number actively for several days within Meta's "
    "messaging policies, or verify the business (Meta Business Settings → Security Center).",
    "INCREASED_CAPABILITIES_ELIGIBILITY_FAILED": "Verify the business (Meta Business Settings → Security Center), or "
    "contact Meta support about the past messaging activity.",
    "INCREASED_CAPABILITIES_ELIGIBILITY_NEED_MORE_INFO": "Complete identity or business verification in Meta Business "
    "Settings → Security Center.",
    "OBA_REJECTED": "Review the Official Business Account criteria and the display name guidelines, edit the "
    "display name and apply again.",
    "PROFILE_PICTURE_LOST": "Upload a new profile photo in WhatsApp Manager → Phone numbers → Profile (or through "
    "the Business Profile API).",
}

# Graph error code → kind. Codes of the error table (`channels.whatsapp.errors`) that say the
# account or its credentials are in trouble, not the recipient.
_BY_CODE: dict[int, ProblemKind] = {
    0: ACCESS_TOKEN,
    190: ACCESS_TOKEN,
    3: PERMISSION,
    10: PERMISSION,
    131005: PERMISSION,
    131031: ACCOUNT_LOCKED,
    368: ACCOUNT_RESTRICTED,
    131037: DISPLAY_NAME,
    131045: REGISTRATION,
    131042: PAYMENT,
    133010: NOT_REGISTERED,
    131048: SPAM_LIMIT,
}

THROTTLE_CODE = 130429


def graph_signal(error: GraphError, operation: str, account: str) -> Raise | None:
    """The problem a Graph error is a sign of, if any (throttling is judged by how long it lasts:
    `health.monitor`). `account` is the business number (for the instructions)."""
    code = error.code
    kind = _BY_CODE.get(code) if code is not None else None
    if kind is None and code is not None and 200 <= code <= 299:
        kind = PERMISSION
    if kind is None and error.http_status == 401:
        kind = ACCESS_TOKEN
    if kind is None:
        return None
    op_class = OPERATION_CLASS.get(operation, MESSAGING)
    source = {"kind": "graph", "operation": operation, "code": code, "httpStatus": error.http_status,
              "message": error.message}
    fields = {"code": code if code is not None else f"HTTP {error.http_status}", "graph": error.message,
              "operation": op_class, "detail": f"Graph error {code}: {error.message}", "account": account}
    return Raise(kind, case=op_class if kind.clears is Clears.SAME_CLASS else "", fields=fields, source=source,
                 operation_class=op_class)
