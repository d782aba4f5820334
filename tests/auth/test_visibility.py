"""Which chats a signed-in agent sees (agents/visibility.py, docs/sign-in.md): their own, their
departments', and the shared queue (no department, no agent) — in Search Chats, Get Chat, Get
Messages and on the live stream; an admin and an API token see every chat."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from inboxd.agents.sessions import SessionCache
from tests.auth.conftest import PASSWORD, Browser, sign_in
from tests.chats.conftest import API, contact_writes, make_agent, make_department
from tests.support.live import LiveReader, head
from tests.support.wa import WhatsAppRig


class SessionReader(LiveReader):
    """A live stream opened by a signed-in browser (its cookie), not a token."""

    def __init__(self, base_url: str, browser: Browser) -> None:
        super().__init__(base_url, "unused")
        self.headers = {"Cookie": f"inboxd_session={browser.cookie}"}


async def _assign(rig: WhatsAppRig, chat_id: str, **to: Any) -> None:
    r = await rig.client.post(f"{API}/chats/assign", json={"chatId": chat_id, **to})
    assert r.status_code == 200, r.text


async def _world(rig: WhatsAppRig) -> dict[str, str]:
    """Agents Noa (sales) and Dan (support), an admin, and a chat of each kind."""
    await make_department(rig, "sales")
    await make_department(rig, "support")
    await make_agent(rig, "noa@example.com", roles=["agent"], departments=["sales"], password=PASSWORD)
    dan = await make_agent(rig, "dan@example.com", roles=["agent"], departments=["support"], password=PASSWORD)
    await make_agent(rig, "boss@example.com", roles=["admin"], password=PASSWORD)
    noa = (await rig.client.get(f"{API}/agents")).json()["agents"][0]
    chats = {name: await contact_writes(rig, wa_id, f"hello from {name}") for name, wa_id in (
        ("sales", "15550000001"), ("support", "15550000002"), ("noas", "15550000003"), ("queue", "15550000004"),
        ("dans", "15550000005"))}
    await _assign(rig, chats["sales"], departmentId="sales")
    await _assign(rig, chats["support"], departmentId="support")
    await _assign(rig, chats["noas"], departmentId="support", agentUid=noa["uid"])  # hers, in another department
    await _assign(rig, chats["dans"], agentUid=dan["uid"])  # no department, someone else's
    return chats


async def _search_ids(http: httpx.AsyncClient) -> set[str]:
    r = await http.get(f"{API}/chats/search", params={"includeEmpty": "true", "limit": "100"})
    assert r.status_code == 200, r.text
    assert r.json()["total"] == len(r.json()["data"])
    return {c["_id"] for c in r.json()["data"]}


async def test_an_agent_sees_their_own_their_departments_and_the_shared_queues_chats(rig: WhatsAppRig) -> None:
    chats = await _world(rig)
    url = rig.server.url
    noa, boss = await sign_in(url, "noa@example.com"), await sign_in(url, "boss@example.com")
    try:
        visible = {chats["sales"], chats["noas"], chats["queue"]}
        assert await _search_ids(noa.http) == visible
        assert await _search_ids(boss.http) == set(chats.values()) == await _search_ids(rig.client)
        # Filters narrow within what one sees; they never widen it.
        r = await noa.http.get(f"{API}/chats/search", params={"departmentId": "support", "includeEmpty": "true"})
        assert [c["_id"] for c in r.json()["data"]] == [chats["noas"]]

        params = {"beforeTime": "9999999999999", "beforeId": "z"}
        for name, chat_id in chats.items():
            seen = chat_id in visible
            r = await noa.http.get(f"{API}/chats/{chat_id}")
            assert r.status_code == (200 if seen else 404), (name, r.text)
            r = await noa.http.get(f"{API}/messages/chat/{chat_id}", params=params)
            assert r.status_code == (200 if seen else 404), (name, r.text)
            if not seen:
                assert r.json()["code"] == "chat_not_found"
            assert (await boss.http.get(f"{API}/messages/chat/{chat_id}", params=params)).status_code == 200
    finally:
        for browser in (noa, boss):
            await browser.http.aclose()


async def test_the_live_stream_shows_an_agent_only_the_chats_they_see(rig: WhatsAppRig) -> None:
    chats = await _world(rig)
    url = rig.server.url
    noa, boss = await sign_in(url, "noa@example.com"), await sign_in(url, "boss@example.com")
    try:
        async with SessionReader(url, noa) as hers, SessionReader(url, boss) as all_, \
                LiveReader(url, rig.client.headers["Authorization"].removeprefix("Bearer ")) as token:
            # (Opening the agents' streams made them online: events before the token's stream began.)
            start = await head(rig.client)
            for name, wa_id in (("sales", "15550000001"), ("support", "15550000002"), ("queue", "15550000004"),
                                ("dans", "15550000005"), ("noas", "15550000003")):
                await contact_writes(rig, wa_id, f"again from {name}")
            # Dan's chat moves into sales: from then on, Noa sees it.
            await _assign(rig, chats["dans"], departmentId="sales")
            end = await head(rig.client)
            await all_.wait_until_id(end)
            await token.wait_until_id(end)
            await hers.wait_until_id(end)  # the move's events show the chat in sales: hers too
            assert [i for i in all_.ids if i > start] == token.ids == list(range(start + 1, end + 1))

            def chat_of(event: Any) -> str | None:
                data = event.data
                return data.get("parent_chat") if event.type.startswith("message.") else data.get("_id")

            mine = [e for e in hers.events if e.id > start]
            hers_chats = [chat_of(e) for e in mine if e.type.startswith(("message.", "chat."))]
            assert set(hers_chats) == {chats["sales"], chats["queue"], chats["noas"], chats["dans"]}
            # Dan's chat only from its move on: the event that shows it in sales is the first of it.
            first_dans = next(e for e in mine if chat_of(e) == chats["dans"])
            assert first_dans.type == "chat.updated" and first_dans.data["departmentId"] == "sales"
            assert chats["support"] not in hers_chats
            assert hers.ids == sorted(hers.ids) and {e.id for e in mine} < set(token.ids)

        # Reconnecting with Last-Event-ID replays through the same rule.
        replayed = SessionReader(url, noa)
        replayed.headers["Last-Event-ID"] = str(start)
        async with replayed:
            await replayed.wait_until_id(end)
            assert replayed.ids == [e.id for e in mine]
    finally:
        for browser in (noa, boss):
            await browser.http.aclose()


async def test_a_chat_that_leaves_an_agents_view_reaches_their_stream_as_it_goes(rig: WhatsAppRig) -> None:
    """The shared queue's chat taken by someone else, or a chat moved to a department they are
    not in, leaves an agent's list live: the event of the move reaches them, then nothing more of it."""
    chats = await _world(rig)
    url = rig.server.url
    noa = await sign_in(url, "noa@example.com")
    dan = next(a for a in (await rig.client.get(f"{API}/agents")).json()["agents"] if a["email"] == "dan@example.com")
    try:
        async with SessionReader(url, noa) as hers:
            start = await head(rig.client)
            await _assign(rig, chats["queue"], agentUid=dan["uid"])  # the shared queue's chat goes to Dan
            await _assign(rig, chats["sales"], departmentId="support")  # a sales chat moves to support
            await contact_writes(rig, "15550000004", "still there?")  # Dan's now: not hers
            await contact_writes(rig, "15550000001", "and here?")  # support's now: not hers
            end = await head(rig.client)
            await contact_writes(rig, "15550000003", "mine")  # hers, after all the others
            await hers.wait_for(lambda events: any(e.id > end for e in events))
            mine = [e for e in hers.events if start < e.id <= end]
            moved = {e.data["_id"]: e.data for e in mine if e.type == "chat.updated"}
            assert moved[chats["queue"]]["agent"]["uid"] == dan["uid"]
            assert moved[chats["sales"]]["departmentId"] == "support"
            # After the move, nothing more of those chats: the customers' new messages are not hers.
            assert not [e for e in mine if e.type.startswith("message.")
                        and e.data.get("parent_chat") in (chats["queue"], chats["sales"])]
    finally:
        await noa.http.aclose()


async def test_an_open_stream_ends_when_the_agents_departments_change(rig: WhatsAppRig) -> None:
    """A stream is opened with the agent's view. Taking a department from them (Update Agent, or
    the department's members) is an `agent.updated` event; their stream then ends within about
    a second — not at the next ping, 15 s away — and the reconnection sees by the new rule: the
    department's chats no longer reach them."""
    chats = await _world(rig)
    url = rig.server.url
    noa_uid = next(a["uid"] for a in (await rig.client.get(f"{API}/agents")).json()["agents"]
                   if a["email"] == "noa@example.com")
    noa = await sign_in(url, "noa@example.com")
    token = rig.client.headers["Authorization"].removeprefix("Bearer ")
    try:
        for change in ("the agent", "the department"):
            async with SessionReader(url, noa) as hers, LiveReader(url, token, after=await head(rig.client)) as all_:
                await contact_writes(rig, "15550000001", f"sales, before {change} changed")
                await hers.wait_for(lambda events: any(e.data.get("parent_chat") == chats["sales"] for e in events))
                if change == "the agent":
                    r = await rig.client.patch(f"{API}/agents/{noa_uid}", json={"departments": []})
                else:
                    r = await rig.client.patch(f"{API}/departments/sales", json={"members": []})
                assert r.status_code == 200, r.text
                await asyncio.wait_for(hers.ended.wait(), 5)
                last = hers.ids[-1]
                # the change is the agent's event on every stream (the Settings page's too)
                updated = await all_.wait_for(lambda events: [e for e in events if e.type == "agent.updated"
                                                              and e.data["uid"] == noa_uid])
                assert [e for e in updated if e.type == "agent.updated"][-1].data["departments"] == []
            await contact_writes(rig, "15550000001", f"sales, after {change} changed")  # not hers now
            await contact_writes(rig, "15550000003", f"hers, after {change} changed")
            end = await head(rig.client)
            again = SessionReader(url, noa)
            again.headers["Last-Event-ID"] = str(last)
            async with again:
                await again.wait_until_id(end)
                seen = {e.data.get("parent_chat") for e in again.events if e.type == "message.created"}
            assert chats["noas"] in seen and chats["sales"] not in seen
            # back in sales for the second round
            r = await rig.client.patch(f"{API}/agents/{noa_uid}", json={"departments": ["sales"]})
            assert r.status_code == 200, r.text
            await asyncio.sleep(SessionCache.TTL_SECONDS + 0.1)  # (a stream opened sooner would end at once)
    finally:
        await noa.http.aclose()
