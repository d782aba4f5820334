"""The table of problem kinds and the Graph error → problem mapping."""

from __future__ import annotations

import pytest

from inboxd.channels.whatsapp.errors import Disposition, GraphError
from inboxd.health import kinds as K

ALL_KINDS = [v for v in vars(K).values() if isinstance(v, K.ProblemKind)]


@pytest.mark.parametrize(
    ("code", "http_status", "operation", "name"),
    [
        (190, 401, "send", "whatsapp_access_token_invalid"),
        (0, 401, "templates", "whatsapp_access_token_invalid"),
        (None, 401, "upload", "whatsapp_access_token_invalid"),
        (131031, 403, "send", "whatsapp_account_locked"),
        (368, 403, "send", "whatsapp_account_restricted"),
        (131005, 403, "send", "whatsapp_permission_missing"),
        (10, 403, "templates", "whatsapp_permission_missing"),
        (200, 403, "templates", "whatsapp_permission_missing"),
        (131037, 400, "send", "whatsapp_display_name_not_approved"),
        (131045, 500, "send", "whatsapp_phone_number_registration_error"),
        (131042, 400, "send", "whatsapp_payment_issue"),
        (133010, 400, "send", "whatsapp_phone_number_not_registered"),
        (131048, 400, "send", "whatsapp_spam_rate_limited"),
    ],
)
def test_graph_errors_that_are_signals(code: int | None, http_status: int, operation: str, name: str) -> None:
    signal = K.graph_signal(GraphError("m", code=code, http_status=http_status), operation, "15550783881")
    assert signal is not None and signal.kind.name == name
    assert signal.source["operation"] == operation and signal.source["code"] == code
    assert signal.operation_class == K.OPERATION_CLASS[operation]


@pytest.mark.parametrize("code", [100, 131026, 131047, 131049, 131051, 131053, 131056, 130429, 131000, 2, 132001])
def test_recipient_side_and_transient_errors_are_not(code: int) -> None:
    assert K.graph_signal(GraphError("m", code=code, http_status=400), "send", "1") is None


def test_no_answer_is_not_a_signal() -> None:
    assert K.graph_signal(GraphError("cannot reach Graph"), "send", "1") is None


def test_every_account_level_failure_of_the_error_table_is_a_signal() -> None:
    """The codes the delivery table calls our side (status 5), except "object gone" (33), have
    a problem kind: an operator sees them once instead of as one failed message each."""
    from inboxd.channels.whatsapp.errors import _TABLE

    for code, disposition in _TABLE.items():
        if disposition is Disposition.CHANNEL_FAILED and code != 33:
            assert K.graph_signal(GraphError("m", code=code, http_status=400), "send", "1") is not None, code


def test_permission_problems_are_per_class_token_problems_are_not() -> None:
    send = K.graph_signal(GraphError("m", code=10, http_status=403), "send", "1")
    templates = K.graph_signal(GraphError("m", code=10, http_status=403), "templates", "1")
    assert send is not None and templates is not None and send.case != templates.case
    token_send = K.graph_signal(GraphError("m", code=190, http_status=401), "send", "1")
    token_templates = K.graph_signal(GraphError("m", code=190, http_status=401), "templates", "1")
    assert token_send is not None and token_templates is not None and token_send.case == token_templates.case


def test_every_kind_is_well_formed() -> None:
    assert len({k.name for k in ALL_KINDS}) == len(ALL_KINDS)
    for kind in ALL_KINDS:
        assert 1 <= len(kind.name) <= 100 and kind.name.startswith("whatsapp_")
        assert kind.severity in ("error", "warning")
        for text in (kind.message, kind.instruction):
            rendered = K.render(text, {})
            assert rendered and "{" not in rendered.replace("{phone-number-id}", "").replace("{waba-id}", "")


def test_case_ids() -> None:
    one = K.case_id("whatsapp", "15550783881", "whatsapp_account_locked", "")
    assert len(one) == 64 and 32 <= len(one) <= 128
    assert one == K.case_id("whatsapp", "15550783881", "whatsapp_account_locked", "")
    assert one != K.case_id("whatsapp", "15550783882", "whatsapp_account_locked", "")
    assert one != K.case_id("whatsapp", "15550783881", "whatsapp_account_locked", "x")


def test_instructions_name_the_account_when_they_show_a_command() -> None:
    signal = K.graph_signal(GraphError("Invalid OAuth access token", code=190, http_status=401), "send", "15550783881")
    assert signal is not None
    fields = {"account": "15550783881", **signal.fields}
    assert "inboxd channels update 15550783881 --access-token" in K.render(signal.kind.instruction, fields)
    assert "Invalid OAuth access token" in K.render(signal.kind.message, fields)
