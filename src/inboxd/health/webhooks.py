"""Meta's account webhooks → channel health signals (pure; no I/O).

The inbound processor hands each change of these fields to `health.monitor` inside the webhook
event's transaction (the same path as every webhook: stored raw, signed, processed with retries);
this module says what each change means. Shapes as in Meta's webhook reference for each field;
one fixture per kind in `tests/channels/whatsapp/fixtures/` (Meta's OpenAPI file has examples for
the `messages` field only).

- `account_update`: ACCOUNT_VIOLATION (violation_info.violation_type), ACCOUNT_RESTRICTION
  (restriction_info[], older payloads), DISABLED_UPDATE (ban_info.waba_ban_state DISABLE /
  SCHEDULE_FOR_DISABLE / REINSTATE), ACCOUNT_DELETED. Other events (partners, pricing, …) are not
  health signals.
- `phone_number_quality_update`: FLAGGED / UNFLAGGED (quality low, and back), DOWNGRADE / UPGRADE
  (messaging limit, old_limit → current_limit). Every one also asks for a reading of the number's
  quality rating from Graph (`quality_signals`), since the webhook does not carry the rating.
- `account_alerts`: alert_info with alert_status ACTIVE and alert_severity CRITICAL (→ error) or
  WARNING (→ warning) raises one problem per alert type and entity; status NONE, or an
  INFORMATIONAL alert, resolves it.
- `business_capability_update`: a business messaging limit of 250 or less (an unverified
  business) raises Texter's `whatsapp_business_has_limited_messaging_availability`; a higher one
  resolves it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from inboxd.health import kinds as K
from inboxd.health.kinds import Raise, Resolve

ACCOUNT_UPDATE = "account_update"
QUALITY_UPDATE = "phone_number_quality_update"
ACCOUNT_ALERTS = "account_alerts"
CAPABILITY_UPDATE = "business_capability_update"
FIELDS = (ACCOUNT_UPDATE, QUALITY_UPDATE, ACCOUNT_ALERTS, CAPABILITY_UPDATE)

Signal = Raise | Resolve


@dataclass(frozen=True)
class Scope:
    """Which of the WABA's numbers a change is about: all of them, or one by its display number
    or its phone number id."""

    display_phone_number: str | None = None
    phone_number_id: str | None = None


def scope_of(field: str, value: dict[str, Any]) -> Scope:
    if field == QUALITY_UPDATE and value.get("display_phone_number"):
        return Scope(display_phone_number="".join(ch for ch in str(value["display_phone_number"]) if ch.isdigit()))
    if field == ACCOUNT_ALERTS and value.get("entity_type") == "PHONE_NUMBER" and value.get("entity_id"):
        return Scope(phone_number_id=str(value["entity_id"]))
    return Scope()


def signals(field: str, value: dict[str, Any], started_at: int | None) -> list[Signal]:
    """What the change says (nothing for changes that are not health signals)."""
    if not isinstance(value, dict):
        return []
    source = {"kind": "webhook", "field": field, **({"event": value["event"]} if "event" in value else {})}
    if field == ACCOUNT_UPDATE:
        return _account_update(value, source, started_at)
    if field == QUALITY_UPDATE:
        return _quality_update(value, source, started_at)
    if field == ACCOUNT_ALERTS:
        return _account_alert(value, source, started_at)
    if field == CAPABILITY_UPDATE:
        return _capability_update(value, source, started_at)
    return []


def _account_update(value: dict[str, Any], source: dict[str, Any], started_at: int | None) -> list[Signal]:
    event = value.get("event")
    if event == "ACCOUNT_VIOLATION":
        violation = str((value.get("violation_info") or {}).get("violation_type") or "unspecified")
        return [Raise(K.ACCOUNT_VIOLATION, case=violation, fields={"violation": violation}, source=source,
                      started_at=started_at)]
    if event == "ACCOUNT_RESTRICTION":
        items = value.get("restriction_info") or []
        types = ", ".join(str(r.get("restriction_type")) for r in items if isinstance(r, dict)) or "unspecified"
        return [Raise(K.ACCOUNT_RESTRICTED, fields={"detail": types}, source=source, started_at=started_at)]
    if event == "DISABLED_UPDATE":
        ban = value.get("ban_info") or {}
        state, date = ban.get("waba_ban_state"), ban.get("waba_ban_date") or "date not given"
        if state == "DISABLE":
            return [Resolve(K.ACCOUNT_DISABLE_SCHEDULED.name),
                    Raise(K.ACCOUNT_DISABLED, fields={"date": date}, source=source, started_at=started_at)]
        if state == "SCHEDULE_FOR_DISABLE":
            return [Raise(K.ACCOUNT_DISABLE_SCHEDULED, fields={"date": date}, source=source, started_at=started_at)]
        if state == "REINSTATE":
            return [Resolve(K.ACCOUNT_DISABLED.name), Resolve(K.ACCOUNT_DISABLE_SCHEDULED.name)]
        return []
    if event == "ACCOUNT_DELETED":
        return [Raise(K.ACCOUNT_DELETED, source=source, started_at=started_at)]
    return []


def _quality_update(value: dict[str, Any], source: dict[str, Any], started_at: int | None) -> list[Signal]:
    event = value.get("event")
    if event == "FLAGGED":
        return [Resolve(K.QUALITY_MEDIUM.name),
                Raise(K.QUALITY_LOW, fields={"flagged": ", flagged"}, source=source, started_at=started_at)]
    if event == "UNFLAGGED":
        return [Resolve(K.QUALITY_LOW.name)]
    if event == "DOWNGRADE":
        fields = {"old": value.get("old_limit") or "the previous tier",
                  "current": value.get("current_limit") or value.get("max_daily_conversations_per_business")}
        return [Raise(K.LIMIT_DECREASED, fields=fields, source=source, started_at=started_at)]
    if event == "UPGRADE":
        return [Resolve(K.LIMIT_DECREASED.name)]
    return []


def quality_signals(rating: str | None, source: dict[str, Any]) -> list[Signal]:
    """A reading of the number's `quality_rating` from Graph (GREEN, YELLOW, RED, NA)."""
    if rating == "RED":
        return [Resolve(K.QUALITY_MEDIUM.name), Raise(K.QUALITY_LOW, fields={"flagged": ""}, source=source)]
    if rating == "YELLOW":
        return [Resolve(K.QUALITY_LOW.name), Raise(K.QUALITY_MEDIUM, source=source)]
    if rating == "GREEN":
        return [Resolve(K.QUALITY_LOW.name), Resolve(K.QUALITY_MEDIUM.name)]
    return []  # NA (not rated yet) or unknown: no news


_ALERT_SEVERITY: dict[str, K.Severity] = {"CRITICAL": "error", "WARNING": "warning"}


def _account_alert(value: dict[str, Any], source: dict[str, Any], started_at: int | None) -> list[Signal]:
    info = value.get("alert_info") or {}
    alert_type = info.get("alert_type")
    if not isinstance(alert_type, str) or not alert_type:
        return []
    case = f"{value.get('entity_type')}:{value.get('entity_id')}"
    severity = _ALERT_SEVERITY.get(str(info.get("alert_severity")))
    source = {**source, "alertType": alert_type, "alertSeverity": info.get("alert_severity")}
    if info.get("alert_status") != "ACTIVE" or severity is None:
        return [Resolve(K.account_alert(alert_type, "warning").name, case=case)]
    kind = K.account_alert(alert_type, severity)
    description = info.get("alert_description") or f"Meta raised the account alert {alert_type}."
    return [Raise(kind, case=case, fields={"description": description}, source=source, started_at=started_at)]


_TIERS = {"TIER_50": 50, "TIER_250": 250, "TIER_1K": 1000, "TIER_2K": 2000, "TIER_10K": 10_000,
          "TIER_100K": 100_000, "TIER_UNLIMITED": -1}


def _limit(value: Any) -> int | None:
    """A messaging limit as a number (-1: unlimited), from Meta's integers or tier names."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        return _TIERS.get(value.upper(), int(value) if value.lstrip("-").isdigit() else None)
    return None


def _capability_update(value: dict[str, Any], source: dict[str, Any], started_at: int | None) -> list[Signal]:
    limit = _limit(value.get("max_daily_conversations_per_business"))
    if limit is None:
        limit = _limit(value.get("max_daily_conversation_per_phone"))
    if limit is None:
        return []
    if 0 <= limit <= 250:
        return [Raise(K.LIMITED_AVAILABILITY, fields={"limit": limit}, source={**source, "limit": limit},
                      started_at=started_at)]
    return [Resolve(K.LIMITED_AVAILABILITY.name)]
