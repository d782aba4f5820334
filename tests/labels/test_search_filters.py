"""Search Chats' `labels[]`, `statuses[]`, `agentUid` and `departmentId` return exactly the chats
that match, on a seeded mix and on both databases (the expected answer is computed here from the
seed, in the API's order: newest last message first, then id); bad queries report every problem;
a name term with letters and digits matches names, not phone numbers."""

from __future__ import annotations

import itertools
import random
from dataclasses import dataclass
from typing import Any

import httpx
import pytest

from inboxd.domain.status import ChatStatus
from inboxd.store import chats as chats_store
from inboxd.store.db import Database
from tests.conftest import WhatsAppAccountSpec
from tests.labels.conftest import API
from tests.support.seed import chat_with_messages

LABELS = ["VIP", "lead", "holiday", "failed_message"]
AGENTS = ["4d170fc7-5cd6-4496-98e4-f4f03a11456e", "9b1deb4d-3b7d-4bad-9bdd-2b0d7b3dcb6d"]
DEPARTMENTS = ["customer_service", "sales"]


@dataclass
class Seeded:
    id: str
    status: int
    labels: list[str]
    agent: str | None
    department: str | None
    last: int | None  # last message time; None: no messages


@pytest.fixture
async def mix(db: Database, wa_account: WhatsAppAccountSpec) -> list[Seeded]:
    rng = random.Random(11)
    out = []
    for i in range(60):
        status = rng.choice(list(ChatStatus))
        chat_labels = rng.sample(LABELS, rng.choice([0, 0, 1, 1, 2, 3]))
        agent = rng.choice([None, *AGENTS])
        department = rng.choice([None, *DEPARTMENTS])
        last = None if i % 10 == 9 else 1_000 + rng.randrange(50) * 10  # ties in time: the id decides
        chat_id = await chat_with_messages(
            db, wa_account.account, f"97252{i:07d}", title=f"Contact {i}",
            texts=[] if last is None else [(last, f"m{i}")],
            update={"status": int(status), "labels": chat_labels, "agent_uid": agent, "department_id": department},
        )
        out.append(Seeded(chat_id, int(status), chat_labels, agent, department, last))
    return out


def expected(mix: list[Seeded], *, statuses: list[str] = (), labels: list[str] = (), agent: str | None = None,  # type: ignore[assignment]
             department: str | None = None, include_empty: bool = False) -> list[str]:
    wanted = {int(ChatStatus[s]) for s in statuses}
    hits = [
        c for c in mix
        if (include_empty or c.last is not None)
        and (not wanted or c.status in wanted)
        and (not labels or set(labels) & set(c.labels))
        and (agent is None or c.agent == agent)
        and (department is None or c.department == department)
    ]
    with_time = sorted((c for c in hits if c.last is not None), key=lambda c: (c.last, c.id), reverse=True)
    without = sorted((c for c in hits if c.last is None), key=lambda c: c.id, reverse=True)
    return [c.id for c in with_time + without]


async def found(client: httpx.AsyncClient, headers: dict[str, str], params: dict[str, Any]) -> tuple[list[str], int]:
    r = await client.get(f"{API}/chats/search", params={"limit": 10000, **params}, headers=headers)
    assert r.status_code == 200, r.text
    return [c["_id"] for c in r.json()["data"]], r.json()["total"]


STATUS_SETS = [[], ["PENDING"], ["RESOLVED", "ASSIGNED"], ["BOT", "PENDING", "ASSIGNED", "RESOLVED", "BULK"]]
LABEL_SETS = [[], ["VIP"], ["lead", "holiday"], ["failed_message", "nobody-has-this"]]


async def test_every_combination_returns_exactly_the_matching_chats(
    client: httpx.AsyncClient, admin: dict[str, str], mix: list[Seeded]
) -> None:
    checked = 0
    for statuses, labels, agent, department, empty in itertools.product(
        STATUS_SETS, LABEL_SETS, [None, AGENTS[0]], [None, DEPARTMENTS[1]], [False, True]
    ):
        params: dict[str, Any] = {"statuses[]": statuses, "labels[]": labels}
        if agent:
            params["agentUid"] = agent
        if department:
            params["departmentId"] = department
        if empty:
            params["includeEmpty"] = "true"
        want = expected(mix, statuses=statuses, labels=labels, agent=agent, department=department, include_empty=empty)
        got, total = await found(client, admin, params)
        assert (got, total) == (want, len(want)), params
        checked += bool(want)
    assert checked > 40  # the mix makes most combinations non-empty


async def test_pages_of_a_filtered_search(client: httpx.AsyncClient, admin: dict[str, str], mix: list[Seeded]) -> None:
    want = expected(mix, statuses=["PENDING", "ASSIGNED"], labels=["VIP", "lead"])
    assert len(want) > 4
    pages = []
    for skip in range(0, len(want), 3):
        r = await client.get(f"{API}/chats/search", headers=admin, params={
            "statuses[]": ["PENDING", "ASSIGNED"], "labels[]": ["VIP", "lead"], "limit": 3, "skip": skip})
        body = r.json()
        assert body["total"] == len(want)
        pages += [c["_id"] for c in body["data"]]
    assert pages == want
    # repeated values and the reference's example names
    got, _ = await found(client, admin, {"labels[]": ["VIP", "VIP"], "statuses[]": ["PENDING", "PENDING"]})
    assert got == expected(mix, statuses=["PENDING"], labels=["VIP"])


async def test_the_items_carry_their_labels_and_status(client: httpx.AsyncClient, admin: dict[str, str],
                                                       mix: list[Seeded]) -> None:
    r = await client.get(f"{API}/chats/search", params={"labels[]": "VIP", "limit": 10000}, headers=admin)
    by_id = {c.id: c for c in mix}
    for item in r.json()["data"]:
        seeded = by_id[item["_id"]]
        assert "VIP" in item["labels"] and item["labels"] == seeded.labels
        assert item["status"] == seeded.status and item["departmentId"] == seeded.department
        assert item["agent"]["uid"] == seeded.agent


def _paths(r: httpx.Response) -> list[str]:
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"
    return [d["path"] for d in r.json()["details"]]


async def test_a_bad_search_reports_every_problem(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    params = {
        "search": "a", "channel[name]": "fax", "labels[]": ["", "a/b", "ok"], "statuses[]": ["SOLVED", "PENDING", "TAKEN"],
        "agentUid": "", "departmentId": "d" * 101, "includeEmpty": "yes", "limit": "0", "skip": "x",
    }
    r = await client.get(f"{API}/chats/search", params=params, headers=admin)
    assert _paths(r) == ["query.search", "query.channel[name]", "query.channel", "query.labels[][0]",
                         "query.labels[][1]", "query.statuses[][0]", "query.statuses[][2]", "query.agentUid",
                         "query.departmentId", "query.includeEmpty", "query.limit", "query.skip"]
    too_many = {"labels[]": [f"l{i}" for i in range(101)], "statuses[]": ["BOT"] * 6, "limit": "10001"}
    assert _paths(await client.get(f"{API}/chats/search", params=too_many, headers=admin)) == [
        "query.labels[]", "query.statuses[]", "query.limit"]
    # 150 values, 100 of them unique: allowed ("≤ 100 unique")
    many = {"labels[]": [f"l{i % 100}" for i in range(150)]}
    r = await client.get(f"{API}/chats/search", params=many, headers=admin)
    assert r.status_code == 200 and (r.json()["data"], r.json()["total"]) == ([], 0)


async def test_a_name_with_digits_matches_names_not_phone_numbers(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database, wa_account: WhatsAppAccountSpec
) -> None:
    noa = await chat_with_messages(db, wa_account.account, "972501111111", title="Noa22", texts=[(1_000, "hi")])
    # a number containing 22, and a name that does not contain "noa22"
    other = await chat_with_messages(db, wa_account.account, "972522222222", title="Dan", texts=[(2_000, "hi")])
    assert (await found(client, admin, {"search": "Noa22"}))[0] == [noa]
    assert (await found(client, admin, {"search": "noa2"}))[0] == [noa]
    assert (await found(client, admin, {"search": "22"}))[0] == [other, noa]  # digits alone: names and numbers
    assert (await found(client, admin, {"search": "052-222"}))[0] == [other]


@pytest.mark.parametrize(
    "search",
    [
        chats_store.ChatSearch(statuses=[int(ChatStatus.ASSIGNED)], agent_uid=AGENTS[0]),
        chats_store.ChatSearch(statuses=[int(ChatStatus.PENDING)], department_id=DEPARTMENTS[0], labels=["VIP"]),
        chats_store.ChatSearch(statuses=[int(ChatStatus.BOT), int(ChatStatus.PENDING)], channel="whatsapp",
                               account_id="15550783881", agent_uid=AGENTS[1]),
    ],
)
async def test_a_backlog_search_walks_the_status_index_on_sqlite(
    db: Database, mix: list[Seeded], search: chats_store.ChatSearch
) -> None:
    """SQLite's planner, which knows only averages, would take an agent's, a department's or an
    account's index (their whole history) over the status index; the search keeps it off them."""
    if db.is_postgres:
        pytest.skip("PostgreSQL's planner has per-value statistics")
    async with db.read() as conn:
        for stmt in chats_store.search_statements(conn, search):
            sql = str(stmt.compile(conn.sync_connection, compile_kwargs={"literal_binds": True}))
            plan = " | ".join(str(r[-1]) for r in await conn.exec_driver_sql(f"EXPLAIN QUERY PLAN {sql}"))
            assert "ix_chats_status_last_message_at_id" in plan, plan
