"""Round robin in one process (both databases): fewest open chats first, below each agent's
capacity, ties to the one assigned longest ago; waiting chats handed out oldest first when an
agent comes online or frees capacity; reopened chats and their last agent; deactivation; an
agent's reply taking a chat pending for them. tests/chats/test_round_robin_processes.py has the
same under two processes on PostgreSQL."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from inboxd.chats.sweep import sweep_once
from inboxd.delivery.session import send_session_message
from inboxd.domain.clock import now_ms
from inboxd.domain.content import parse_send_request
from inboxd.store import chats as chats_store
from inboxd.store.tables import chats, departments, messages
from tests.chats.conftest import (
    API,
    chat_row,
    contact_writes,
    make_agent,
    make_department,
    set_presence,
    system_messages,
    use_department,
)
from tests.support.wa import WhatsAppRig


def phone(n: int) -> str:
    return f"97252{n:07d}"


async def open_chats(rig: WhatsAppRig, count: int, start: int = 0) -> list[str]:
    return [await rig.user_writes(phone(start + i), f"hi {i}") for i in range(count)]


async def agents_of(rig: WhatsAppRig, chat_ids: list[str]) -> list[str | None]:
    return [(await chat_row(rig, c))["agent_uid"] for c in chat_ids]


async def team(rig: WhatsAppRig, *names: str, capacity: int | None = None, presence: str = "online") -> list[dict[str, Any]]:
    await make_department(rig, "support", assignment="round_robin")
    await use_department(rig, "support")
    return [await make_agent(rig, f"{n}@example.com", n.title(), departments=["support"], presence=presence,
                             maxOpenChats=capacity) for n in names]


async def test_fewest_open_chats_first_ties_to_the_one_assigned_longest_ago(rig: WhatsAppRig) -> None:
    a, b, c = await team(rig, "avi", "bea", "cal", capacity=2)
    chat_ids = await open_chats(rig, 6)
    got = await agents_of(rig, chat_ids)
    # never assigned yet: by uid; then each round the one assigned longest ago
    first_round = sorted([a["uid"], b["uid"], c["uid"]])
    assert got == first_round + first_round
    # one system message per chat: opened PENDING, already for its agent
    for chat_id, uid in zip(chat_ids, got, strict=True):
        [opened] = await system_messages(rig, chat_id)
        assert (opened["reason"], opened["agent"]["uid"], opened["departmentId"]) == ("new_chat", uid, "support")
    # everyone is full: the next chat waits
    [waiting] = await open_chats(rig, 1, start=6)
    row = await chat_row(rig, waiting)
    assert row["agent_uid"] is None and row["status"] == 1 and row["queued_at"] is not None


async def test_only_online_active_members_below_capacity(rig: WhatsAppRig) -> None:
    online, away = await team(rig, "onna", "away", capacity=1)
    await set_presence(rig, away["uid"], "away")
    outsider = await make_agent(rig, "out@example.com", presence="online")  # not a member
    chat_ids = await open_chats(rig, 2)
    assert await agents_of(rig, chat_ids) == [online["uid"], None]
    assert outsider["uid"] not in await agents_of(rig, chat_ids)


async def test_an_agent_coming_online_takes_the_waiting_chats_oldest_first(rig: WhatsAppRig) -> None:
    [tyler] = await team(rig, "tyler", capacity=2, presence="offline")
    chat_ids = await open_chats(rig, 3)
    assert await agents_of(rig, chat_ids) == [None, None, None]  # nobody available: they wait
    agent = await set_presence(rig, tyler["uid"], "online")
    assert agent["openChats"] == 2
    assert await agents_of(rig, chat_ids) == [tyler["uid"], tyler["uid"], None]  # the oldest two
    steps = [(m["reason"], m["agent"]["uid"]) for m in await system_messages(rig, chat_ids[0])]
    assert steps == [("new_chat", None), ("round_robin", tyler["uid"])]

    # resolving one frees a place: the next waiting chat goes to him at once
    r = await rig.client.post(f"{API}/chats/{chat_ids[0]}/resolve")
    assert r.status_code == 200
    assert await agents_of(rig, chat_ids[1:]) == [tyler["uid"], tyler["uid"]]
    # a new chat while others wait would queue behind them; with room it goes straight to him
    await rig.client.post(f"{API}/chats/{chat_ids[1]}/resolve")
    [later] = await open_chats(rig, 1, start=10)
    assert (await chat_row(rig, later))["agent_uid"] == tyler["uid"]


async def test_more_capacity_or_a_new_member_hands_chats_out(rig: WhatsAppRig) -> None:
    [tyler] = await team(rig, "tyler", capacity=1)
    chat_ids = await open_chats(rig, 3)
    assert await agents_of(rig, chat_ids) == [tyler["uid"], None, None]
    await rig.client.patch(f"{API}/agents/{tyler['uid']}", json={"maxOpenChats": 2})
    assert await agents_of(rig, chat_ids) == [tyler["uid"], tyler["uid"], None]
    noa = await make_agent(rig, "noa@example.com", presence="online")
    await rig.client.patch(f"{API}/departments/support", json={"members": [tyler["uid"], noa["uid"]]})
    assert await agents_of(rig, chat_ids) == [tyler["uid"], tyler["uid"], noa["uid"]]


async def test_a_manual_department_turned_round_robin_hands_its_waiting_chats_out(rig: WhatsAppRig) -> None:
    await make_department(rig, "sales")
    await use_department(rig, "sales")
    tyler = await make_agent(rig, "tyler@example.com", departments=["sales"], presence="online")
    chat_ids = await open_chats(rig, 2)
    assert await agents_of(rig, chat_ids) == [None, None]  # manual: the department's people pick them
    await rig.client.patch(f"{API}/departments/sales", json={"assignment": "round_robin"})
    assert await agents_of(rig, chat_ids) == [tyler["uid"], tyler["uid"]]


async def test_deactivating_an_agent_hands_their_chats_to_the_others(rig: WhatsAppRig) -> None:
    tyler, noa = await team(rig, "tyler", "noa", capacity=5)
    await set_presence(rig, noa["uid"], "offline")
    chat_ids = await open_chats(rig, 2)
    assert await agents_of(rig, chat_ids) == [tyler["uid"], tyler["uid"]]
    await rig.client.post(f"{API}/chats/{chat_ids[0]}/take", json={"agentUid": tyler["uid"]})
    await set_presence(rig, noa["uid"], "online")
    r = await rig.client.patch(f"{API}/agents/{tyler['uid']}", json={"active": False})
    assert r.status_code == 200 and r.json()["openChats"] == 0
    assert await agents_of(rig, chat_ids) == [noa["uid"], noa["uid"]]
    # one transition: back to the department, where round robin chose Noa at once
    steps = [(m["reason"], m["agent"]["uid"]) for m in await system_messages(rig, chat_ids[0])]
    assert steps == [("new_chat", tyler["uid"]), ("take", tyler["uid"]), ("agent_deactivated", noa["uid"])]


async def test_a_reopened_chat_returns_to_its_agent_only_while_online(rig: WhatsAppRig) -> None:
    await make_department(rig, "support")  # manual: only the kept agent would have it
    await use_department(rig, "support")
    tyler = await make_agent(rig, "tyler@example.com", presence="online")
    [chat] = await open_chats(rig, 1)
    await rig.client.post(f"{API}/chats/{chat}/take", json={"agentUid": tyler["uid"]})
    await rig.client.post(f"{API}/chats/{chat}/resolve")
    await contact_writes(rig, phone(0), "back again")
    row = await chat_row(rig, chat)
    assert (row["status"], row["agent_uid"], row["department_id"]) == (1, tyler["uid"], "support")

    await rig.client.post(f"{API}/chats/{chat}/resolve")
    await set_presence(rig, tyler["uid"], "away")
    await contact_writes(rig, phone(0), "anyone?")
    row = await chat_row(rig, chat)
    assert (row["status"], row["agent_uid"]) == (1, None)  # away: back to the department
    reasons = [m["reason"] for m in await system_messages(rig, chat)]
    assert reasons == ["new_chat", "take", "resolve", "contact_wrote", "resolve", "contact_wrote"]


async def test_the_sweep_hands_out_what_a_hand_out_skipped(rig: WhatsAppRig) -> None:
    """A waiting chat another transaction held during a hand-out is left waiting; the workers'
    sweep gives it out within seconds. Here the department turns round robin behind inboxd's
    back, as if that hand-out had skipped the chat."""
    await make_department(rig, "support")
    await use_department(rig, "support")
    tyler = await make_agent(rig, "tyler@example.com", departments=["support"], presence="online")
    [chat] = await open_chats(rig, 1)
    async with rig.db.write() as conn:
        await conn.execute(sa.update(departments).values(assignment="round_robin"))
    assert rig.server.services is not None
    assert await sweep_once(rig.db, rig.server.services.events) == 1
    assert (await chat_row(rig, chat))["agent_uid"] == tyler["uid"]
    assert await sweep_once(rig.db, rig.server.services.events) == 0


async def test_an_agents_session_message_takes_a_chat_pending_for_them(rig: WhatsAppRig) -> None:
    """The send path's rule, as a browser session will call it (`agent_uid`); an API token's
    send (no agent) changes nothing."""
    tyler = await make_agent(rig, "tyler@example.com", "Tyler")
    noa = await make_agent(rig, "noa@example.com")
    [chat, other] = await open_chats(rig, 2)
    for chat_id in (chat, other):
        await rig.client.post(f"{API}/chats/assign", json={"chatId": chat_id, "agentUid": tyler["uid"]})
    services = rig.server.services
    assert services is not None

    async def send(chat_id: str, agent_uid: str | None) -> None:
        async with rig.db.read() as conn:
            row = await chats_store.get_chat(conn, chat_id)
        request = parse_send_request({"type": "text", "text": "On it"})
        await send_session_message(services, row, request, idempotency_key=None, now=now_ms(), agent_uid=agent_uid)

    await send(chat, None)  # an API token
    assert (await chat_row(rig, chat))["status"] == 1
    await send(chat, noa["uid"])  # not pending for Noa
    assert (await chat_row(rig, chat))["status"] == 1
    await send(chat, tyler["uid"])
    row = await chat_row(rig, chat)
    assert (row["status"], row["agent_uid"]) == (2, tyler["uid"])
    last = (await system_messages(rig, chat))[-1]
    assert (last["reason"], last["changedBy"]) == ("agent_message", {"type": "agent", "uid": tyler["uid"],
                                                                     "displayName": "Tyler"})
    async with rig.db.read() as conn:
        agents = (await conn.execute(sa.select(messages.c.agent).where(
            messages.c.chat_id == chat, messages.c.direction == "outgoing").order_by(messages.c.timestamp))).scalars().all()
    assert agents == [None, noa["uid"], tyler["uid"]]  # each message records who sent it
    assert (await chat_row(rig, other))["status"] == 1
    async with rig.db.read() as conn:
        assert (await conn.execute(sa.select(chats.c.status).where(chats.c.id == other))).scalar_one() == 1
