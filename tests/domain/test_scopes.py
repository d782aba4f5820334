from __future__ import annotations

import pytest

from inboxd.domain.scopes import ALL_SCOPES, INBOXD_SCOPES, TEXTER_SCOPES, Scope, parse_scope

REFERENCE_SCOPES = [
    "Send template messages", "View template messages", "Manage WhatsApp templates", "Manage all chats",
    "List all chats", "View all chats", "Send session message", "Manage labels", "Manage channels",
    "View all files", "View scenarios", "Create scenarios", "Edit scenarios", "Delete scenarios",
    "Activate/inactivate scenarios", "Manage scenarios on behalf of user", "View scenarios runs",
    "View quick replies", "Manage quick replies",
]


def test_the_nineteen_scopes_of_the_reference_plus_inboxds_own() -> None:
    assert [s.value for s in TEXTER_SCOPES] == REFERENCE_SCOPES
    assert [s.value for s in INBOXD_SCOPES] == ["Manage agents", "Manage API tokens"]
    assert list(ALL_SCOPES) == [*TEXTER_SCOPES, *INBOXD_SCOPES]


@pytest.mark.parametrize("name", ["Send session message", "send session message", "send-session-message"])
def test_scope_by_name_or_slug(name: str) -> None:
    assert parse_scope(name) is Scope.SEND_SESSION_MESSAGE


def test_slugs_are_unique_and_parse_back() -> None:
    assert len({s.slug for s in ALL_SCOPES}) == 21
    assert parse_scope("manage-agents") is Scope.MANAGE_AGENTS
    assert parse_scope("activate-inactivate-scenarios") is Scope.ACTIVATE_INACTIVATE_SCENARIOS


def test_unknown_scope() -> None:
    with pytest.raises(ValueError):
        parse_scope("Send everything")
