"""The chat lifecycle's rules (domain.lifecycle), without a database."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from inboxd.domain import lifecycle as L
from inboxd.domain.lifecycle import ChatState, Reason, Target
from inboxd.domain.status import ChatStatus

TYLER, NOA = "u-tyler", "u-noa"


def state(status: ChatStatus, agent: str | None = None, department: str | None = None, bot: bool = False) -> ChatState:
    return ChatState(int(status), agent, department, bot)


def test_a_chat_the_contact_opens_waits_in_the_default_department() -> None:
    target = L.opened_by_contact("customer_service")
    assert (target.status, target.agent_uid, target.department_id, target.reason) == (
        ChatStatus.PENDING, None, "customer_service", Reason.NEW_CHAT)
    assert target.waiting


@pytest.mark.parametrize(("bulk", "status"), [(True, ChatStatus.BULK), (False, ChatStatus.RESOLVED)])
def test_a_chat_the_business_opens_needs_nobody_yet(bulk: bool, status: ChatStatus) -> None:
    target = L.opened_by_business(bulk=bulk)
    assert target.status == status and target.agent_uid is None and not target.waiting


def test_the_contact_reopens_a_resolved_or_bulk_chat() -> None:
    resolved = state(ChatStatus.RESOLVED, TYLER, "sales")
    back = L.contact_wrote(resolved, default_department="support", keep_agent=False)
    assert back == Target(ChatStatus.PENDING, None, "support", Reason.CONTACT_WROTE)
    kept = L.contact_wrote(resolved, default_department="support", keep_agent=True)
    assert kept is not None and kept.agent_uid == TYLER and kept.status == ChatStatus.PENDING
    # no default department: the chat's own, unless it is gone
    own = L.contact_wrote(resolved, default_department=None, keep_agent=False)
    assert own is not None and own.department_id == "sales"
    gone = L.contact_wrote(resolved, default_department=None, keep_agent=False, department_exists=False)
    assert gone is not None and gone.department_id is None
    bulk = L.contact_wrote(state(ChatStatus.BULK), default_department=None, keep_agent=False)
    assert bulk is not None and bulk.status == ChatStatus.PENDING


def test_an_external_bot_keeps_its_chat() -> None:
    target = L.contact_wrote(state(ChatStatus.RESOLVED, TYLER, bot=True), default_department=None, keep_agent=True)
    assert target is not None and target.status == ChatStatus.BOT and target.agent_uid is None


@pytest.mark.parametrize("status", [ChatStatus.BOT, ChatStatus.PENDING, ChatStatus.ASSIGNED])
def test_writing_to_an_open_chat_changes_nothing(status: ChatStatus) -> None:
    agent = TYLER if status == ChatStatus.ASSIGNED else None
    assert L.contact_wrote(state(status, agent), default_department="x", keep_agent=True) is None


def test_assign_to_an_agent_a_department_or_both() -> None:
    current = state(ChatStatus.ASSIGNED, TYLER, "sales")
    to_noa = L.assign(current, agent_uid=NOA)
    assert (to_noa.status, to_noa.agent_uid, to_noa.department_id) == (ChatStatus.PENDING, NOA, "sales")
    to_support = L.assign(current, agent_uid=None, department_id="support")
    assert (to_support.agent_uid, to_support.department_id) == (None, "support") and to_support.waiting
    both = L.assign(current, agent_uid=NOA, department_id="support")
    assert (both.agent_uid, both.department_id) == (NOA, "support")
    cleared = L.assign(current, agent_uid=None, department_id=None)
    assert (cleared.agent_uid, cleared.department_id) == (None, None)


def test_take() -> None:
    assert L.take(state(ChatStatus.PENDING, None, "sales"), TYLER) == Target(ChatStatus.ASSIGNED, TYLER, "sales", Reason.TAKE)
    assert L.take(state(ChatStatus.RESOLVED), TYLER).status == ChatStatus.ASSIGNED
    assert not L.changes(state(ChatStatus.ASSIGNED, TYLER), L.take(state(ChatStatus.ASSIGNED, TYLER), TYLER))
    with pytest.raises(L.Refused) as taken:
        L.take(state(ChatStatus.ASSIGNED, NOA), TYLER)
    assert taken.value.code == "chat_taken"
    with pytest.raises(L.Refused) as bot:
        L.take(state(ChatStatus.BOT, bot=True), TYLER)
    assert bot.value.code == "external_bot_active"


def test_an_agents_reply_takes_only_a_chat_pending_for_them() -> None:
    mine = L.agent_replied(state(ChatStatus.PENDING, TYLER, "sales"), TYLER)
    assert mine == Target(ChatStatus.ASSIGNED, TYLER, "sales", Reason.AGENT_MESSAGE)
    assert L.agent_replied(state(ChatStatus.PENDING, NOA), TYLER) is None
    assert L.agent_replied(state(ChatStatus.PENDING), TYLER) is None
    assert L.agent_replied(state(ChatStatus.RESOLVED, TYLER), TYLER) is None


@pytest.mark.parametrize("status", [ChatStatus.BOT, ChatStatus.PENDING, ChatStatus.ASSIGNED, ChatStatus.BULK])
def test_resolve_from_any_status_keeps_the_agent(status: ChatStatus) -> None:
    agent = TYLER if status in (ChatStatus.PENDING, ChatStatus.ASSIGNED) else None
    target = L.resolve(state(status, agent, "sales"))
    assert target is not None and target.status == ChatStatus.RESOLVED and target.agent_uid == agent
    assert L.resolve(state(ChatStatus.RESOLVED, agent)) is None


def test_external_bot_on_and_off() -> None:
    on = L.set_external_bot(state(ChatStatus.ASSIGNED, TYLER, "sales"), True, default_department="support")
    assert on == Target(ChatStatus.BOT, None, "sales", Reason.EXTERNAL_BOT, external_bot=True)
    off = L.set_external_bot(state(ChatStatus.BOT, None, None, bot=True), False, default_department="support")
    assert off == Target(ChatStatus.PENDING, None, "support", Reason.EXTERNAL_BOT, external_bot=False)
    assert L.set_external_bot(state(ChatStatus.PENDING), False, default_department=None) is None


def test_a_template_reply_that_asks_for_assigned_needs_an_agent() -> None:
    resolved = state(ChatStatus.RESOLVED)
    nobody = L.template_reply(resolved, status=2, agent_uid=None, department_id="sales")
    assert nobody is not None and nobody.status == ChatStatus.PENDING and nobody.waiting
    tyler = L.template_reply(resolved, status=2, agent_uid=TYLER, department_id=None)
    assert tyler is not None and (tyler.status, tyler.agent_uid) == (ChatStatus.ASSIGNED, TYLER)
    bot = L.template_reply(state(ChatStatus.PENDING, TYLER), status=0, agent_uid=None, department_id=None)
    assert bot is not None and bot.status == ChatStatus.BOT and bot.agent_uid is None
    moved = L.template_reply(state(ChatStatus.PENDING, TYLER, "sales"), status=1, agent_uid=None, department_id="support")
    assert moved is not None and (moved.agent_uid, moved.department_id) == (None, "support")
    assert L.template_reply(state(ChatStatus.RESOLVED), status=3, agent_uid=None, department_id=None) is None


def test_an_assigned_chat_always_has_its_agent() -> None:
    with pytest.raises(ValueError):
        Target(ChatStatus.ASSIGNED, None, None, Reason.TAKE)


def test_columns_times_in_seconds_and_waiting() -> None:
    now = 1_762_012_093_456
    pending = L.columns(None, L.opened_by_contact("sales"), now)
    assert pending["pending_update_time"] == 1_762_012_093 and pending["queued_at"] == now
    resolved = L.columns(state(ChatStatus.PENDING, TYLER), L.resolve(state(ChatStatus.PENDING, TYLER)), now)  # type: ignore[arg-type]
    assert resolved["resolved_update_time"] == 1_762_012_093 and resolved["queued_at"] is None
    assert "pending_update_time" not in resolved


def test_which_transitions_raise_their_status_event() -> None:
    pending_sales = state(ChatStatus.PENDING, None, "sales")
    assert L.status_event_due(None, L.opened_by_contact(None))
    assert not L.status_event_due(None, L.opened_by_business(bulk=False))  # nobody resolved it
    assert L.status_event_due(pending_sales, L.assign(pending_sales, agent_uid=TYLER))  # pending for someone else
    resolved = state(ChatStatus.RESOLVED, None, "sales")
    assert not L.status_event_due(resolved, Target(ChatStatus.RESOLVED, None, "support", Reason.MOVED))
    taken = state(ChatStatus.ASSIGNED, TYLER, "sales")
    assert not L.status_event_due(taken, L.move(taken, "support"))  # type: ignore[arg-type]
    assert L.status_event_due(taken, Target(ChatStatus.ASSIGNED, NOA, "sales", Reason.TEMPLATE_REPLY))


def test_who_gets_and_who_loses_an_open_chat() -> None:
    tylers = state(ChatStatus.ASSIGNED, TYLER)
    assert L.frees(tylers, L.resolve(tylers)) == TYLER  # type: ignore[arg-type]
    assert L.gives(tylers, L.resolve(tylers)) is None  # type: ignore[arg-type]
    assert L.gives(tylers, L.assign(tylers, agent_uid=NOA)) == NOA
    assert L.frees(tylers, L.assign(tylers, agent_uid=NOA)) == TYLER
    pending_tyler = state(ChatStatus.PENDING, TYLER)
    assert L.gives(pending_tyler, L.take(pending_tyler, TYLER)) is None  # still theirs
    assert L.frees(pending_tyler, L.take(pending_tyler, TYLER)) is None


STATES = st.builds(
    ChatState,
    st.sampled_from([int(s) for s in ChatStatus]),
    st.sampled_from([None, TYLER, NOA]),
    st.sampled_from([None, "sales", "support"]),
    st.booleans(),
).filter(  # the states the rules produce: ASSIGNED has an agent, BOT has none
    lambda s: (s.status != ChatStatus.ASSIGNED or s.agent_uid is not None) and (s.status != ChatStatus.BOT or s.agent_uid is None)
)


def _actions(current: ChatState) -> list[Target | None]:
    out: list[Target | None] = [
        L.contact_wrote(current, default_department="support", keep_agent=True),
        L.contact_wrote(current, default_department=None, keep_agent=False),
        L.assign(current, agent_uid=TYLER), L.assign(current, agent_uid=None, department_id="sales"),
        L.agent_replied(current, TYLER), L.resolve(current),
        L.set_external_bot(current, True, default_department=None),
        L.set_external_bot(current, False, default_department="support"),
        L.template_reply(current, status=2, agent_uid=None, department_id=None),
        L.move(current, "support"), L.requeue(current),
    ]
    try:
        out.append(L.take(current, NOA))
    except L.Refused:
        pass
    return out


@given(STATES)
def test_every_rule_keeps_the_invariants(current: ChatState) -> None:
    """From any state the rules produce, every rule's target is such a state again."""
    for target in _actions(current):
        if target is None:
            continue
        if target.status == ChatStatus.ASSIGNED:
            assert target.agent_uid is not None
        values = L.columns(current, target, 1_000_000)
        assert (values["queued_at"] is not None) == (target.status == ChatStatus.PENDING and target.agent_uid is None)
        assert values["status"] == int(target.status)
        if target.status == ChatStatus.BOT:
            assert target.agent_uid is None
