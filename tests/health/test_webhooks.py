"""Meta's account webhooks → channel health signals: one fixture per event kind (in
tests/channels/whatsapp/fixtures/, beside the `messages` ones), parsed by the same parser as every
webhook, then read by `health.webhooks`."""

from __future__ import annotations

import pytest

from inboxd.channels.whatsapp.inbound_parser import parse_webhook
from inboxd.health import kinds as K
from inboxd.health import webhooks
from inboxd.health.kinds import Raise, Resolve
from tests.channels.whatsapp.test_inbound_parser import fixture
from tests.support.meta import webhook_examples


def signals_of(name: str) -> list[Raise | Resolve]:
    parsed = parse_webhook(fixture(name))
    assert not parsed.messages and not parsed.statuses
    [change] = parsed.other
    assert change.waba_id == "102290129340398" and change.time_ms == 1758204400000
    assert change.field in webhooks.FIELDS
    return webhooks.signals(change.field, change.value, change.time_ms)


def raised(found: list[Raise | Resolve]) -> list[tuple[str, str]]:
    return [(s.kind.name, s.case) for s in found if isinstance(s, Raise)]


def resolved(found: list[Raise | Resolve]) -> list[tuple[str, str]]:
    return [(s.name, s.case) for s in found if isinstance(s, Resolve)]


def test_meta_openapi_has_no_examples_of_these_fields() -> None:
    """Why the fixtures are written from Meta's webhook reference: the OpenAPI file's webhook
    examples cover `messages` and groups only. If Meta adds these, take the fixtures from it."""
    fields = {c["field"] for ex in webhook_examples().values() for e in ex.get("entry", []) for c in e.get("changes", [])}
    assert not fields & set(webhooks.FIELDS)


@pytest.mark.parametrize(
    ("name", "up", "down"),
    [
        ("account_update_violation", [("whatsapp_account_policy_violation", "ADULT")], []),
        ("account_update_restriction", [("whatsapp_account_restricted", "")], []),
        ("account_update_disabled", [("whatsapp_account_disabled", "")], [("whatsapp_account_scheduled_for_disable", "")]),
        ("account_update_reinstated", [],
         [("whatsapp_account_disabled", ""), ("whatsapp_account_scheduled_for_disable", "")]),
        ("account_update_deleted", [("whatsapp_account_deleted", "")], []),
        ("phone_number_quality_update_flagged", [("whatsapp_phone_number_quality_low", "")],
         [("whatsapp_phone_number_quality_medium", "")]),
        ("phone_number_quality_update_unflagged", [], [("whatsapp_phone_number_quality_low", "")]),
        ("phone_number_quality_update_downgrade", [("whatsapp_messaging_limit_decreased", "")], []),
        ("account_alerts", [("whatsapp_account_alert_increased_capabilities_eligibility_deferred",
                             "BUSINESS:506914307656634")], []),
        ("business_capability_update", [("whatsapp_business_has_limited_messaging_availability", "")], []),
    ],
)
def test_each_kind(name: str, up: list[tuple[str, str]], down: list[tuple[str, str]]) -> None:
    found = signals_of(name)
    assert raised(found) == up and resolved(found) == down
    for signal in found:
        if isinstance(signal, Raise):
            assert signal.started_at == 1758204400000 and signal.source["kind"] == "webhook"


def test_texts_carry_the_webhook_details() -> None:
    [violation] = signals_of("account_update_violation")
    assert isinstance(violation, Raise) and "ADULT" in K.render(violation.kind.message, violation.fields)
    [restriction] = signals_of("account_update_restriction")
    assert isinstance(restriction, Raise)
    assert "RESTRICTED_BIZ_INITIATED_MESSAGING" in K.render(restriction.kind.message, restriction.fields)
    [downgrade] = signals_of("phone_number_quality_update_downgrade")
    assert isinstance(downgrade, Raise)
    assert "from TIER_10K to TIER_2K" in K.render(downgrade.kind.message, downgrade.fields)
    [alert] = signals_of("account_alerts")
    assert isinstance(alert, Raise) and alert.kind.severity == "warning"
    assert K.render(alert.kind.message, alert.fields).startswith("Limits cannot be increased for your business")
    [capability] = signals_of("business_capability_update")
    assert isinstance(capability, Raise) and "only 250 customers a day" in K.render(capability.kind.message,
                                                                                   capability.fields)


def test_scopes() -> None:
    assert webhooks.scope_of("phone_number_quality_update", {"display_phone_number": "+1 555-078-3881"}) == \
        webhooks.Scope(display_phone_number="15550783881")
    assert webhooks.scope_of("account_alerts", {"entity_type": "PHONE_NUMBER", "entity_id": "106"}) == \
        webhooks.Scope(phone_number_id="106")
    assert webhooks.scope_of("account_alerts", {"entity_type": "BUSINESS", "entity_id": "5"}) == webhooks.Scope()
    assert webhooks.scope_of("account_update", {"event": "ACCOUNT_DELETED"}) == webhooks.Scope()


def test_alerts_by_severity_and_status() -> None:
    def alert(severity: str, status: str) -> list[Raise | Resolve]:
        value = {"entity_type": "PHONE_NUMBER", "entity_id": "106", "alert_info": {
            "alert_severity": severity, "alert_status": status, "alert_type": "PROFILE_PICTURE_LOST"}}
        return webhooks.signals("account_alerts", value, None)

    [critical] = alert("CRITICAL", "ACTIVE")
    assert isinstance(critical, Raise) and critical.kind.severity == "error"
    assert critical.kind.name == "whatsapp_account_alert_profile_picture_lost" and "Upload a new profile photo" in \
        critical.kind.instruction
    assert resolved(alert("WARNING", "NONE")) == [("whatsapp_account_alert_profile_picture_lost", "PHONE_NUMBER:106")]
    assert raised(alert("INFORMATIONAL", "ACTIVE")) == []  # Meta: no action needed


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ({"max_daily_conversations_per_business": 250}, True),
        ({"max_daily_conversations_per_business": "TIER_50"}, True),
        ({"max_daily_conversation_per_phone": 250, "max_phone_numbers_per_business": 2}, True),
        ({"max_daily_conversations_per_business": 2000, "max_phone_numbers_per_waba": 25}, False),
        ({"max_daily_conversations_per_business": "TIER_UNLIMITED"}, False),
        ({"max_daily_conversation_per_phone": -1}, False),
    ],
)
def test_capability_limits(value: dict, problem: bool) -> None:  # type: ignore[type-arg]
    found = webhooks.signals("business_capability_update", value, None)
    name = "whatsapp_business_has_limited_messaging_availability"
    assert (raised(found), resolved(found)) == (([(name, "")], []) if problem else ([], [(name, "")]))


def test_quality_readings() -> None:
    low, medium = "whatsapp_phone_number_quality_low", "whatsapp_phone_number_quality_medium"
    assert (raised(webhooks.quality_signals("RED", {})), resolved(webhooks.quality_signals("RED", {}))) == \
        ([(low, "")], [(medium, "")])
    assert raised(webhooks.quality_signals("YELLOW", {})) == [(medium, "")]
    assert resolved(webhooks.quality_signals("GREEN", {})) == [(low, ""), (medium, "")]
    assert webhooks.quality_signals("NA", {}) == []


@pytest.mark.parametrize("value", [{"event": "PARTNER_ADDED"}, {"event": "AUTH_INTL_PRICE_ELIGIBILITY_UPDATE"},
                                   {"event": "THROUGHPUT_UPGRADE", "current_limit": "TIER_UNLIMITED"}, {}])
def test_other_events_are_not_health_signals(value: dict) -> None:  # type: ignore[type-arg]
    assert webhooks.signals("account_update", value, None) == []
    assert webhooks.signals("phone_number_quality_update", value, None) == []
