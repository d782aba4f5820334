"""Two `inboxd serve` processes on one PostgreSQL, asked at the same moment to turn the same draft
into a revision: one makes the next version, the other is told the draft is gone (409); and
many writers editing and revising one scenario through both never make two revisions with the
same number, nor skip one."""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import httpx
import pytest
import sqlalchemy as sa

from inboxd.store.db import Database
from inboxd.store.tables import scenario_revisions, scenarios
from tests.conftest import DbTarget
from tests.events.conftest import API, template, token
from tests.simulator.test_cli import process
from tests.support.cli import cli_env, free_port

MANAGE = f"{API}/scenarios/manage"
ROUNDS = 12
WRITERS = 6
EDITS_EACH = 4


@contextmanager
def serve(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(["serve", "--port", str(port)], env, f"{url}/healthz"):
        yield url


async def versions(db: Database, scenario_id: str) -> tuple[list[int], int]:
    async with db.read() as conn:
        rows = (await conn.execute(
            sa.select(scenario_revisions.c.version)
            .where(scenario_revisions.c.scenario_id == scenario_id, scenario_revisions.c.kind == "revision")
        )).scalars().all()
        last = (await conn.execute(sa.select(scenarios.c.last_version).where(scenarios.c.id == scenario_id))).scalar_one()
    return sorted(rows), last


@pytest.mark.slow
async def test_concurrent_create_revision_on_two_processes_never_shares_a_version(
    db: Database, db_target: DbTarget, tmp_path: Path
) -> None:
    if not db.is_postgres:
        pytest.skip("several processes share PostgreSQL")
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), "INBOXD_SIMULATOR": "false",
                                      "INBOXD_LOG_LEVEL": "warning"})
    secret = await token(db)
    headers = {"Authorization": f"Bearer {secret}"}
    with ExitStack() as stack:
        urls = [stack.enter_context(serve(env)) for _ in range(2)]
        clients = [httpx.AsyncClient(base_url=u, headers=headers, timeout=60) for u in urls]
        try:
            r = await clients[0].post(f"{MANAGE}/import", json=template(
                "new-incoming-messages", "https://receiver.example.com/hooks", as_status="inactive"))
            assert r.status_code == 201, r.text
            sid = r.json()["_id"]

            # The same draft, two processes, the same moment: one revision, one 409.
            for n in range(ROUNDS):
                r = await clients[n % 2].patch(f"{MANAGE}/{sid}/draft", json=[{"op": "rename", "name": f"round {n}"}])
                assert r.status_code == 200, r.text
                answers = await asyncio.gather(*(c.post(f"{MANAGE}/{sid}/revisions", json={}) for c in clients))
                statuses = sorted(a.status_code for a in answers)
                assert statuses == [201, 409], [a.text for a in answers]
                refused = next(a for a in answers if a.status_code == 409)
                assert refused.json()["code"] == "no_draft"
                made = next(a for a in answers if a.status_code == 201).json()
                assert max(v["version"] for v in made["inactiveRevisions"]) == n + 2

            # Many writers at once, through both processes: edit the draft, turn it into a revision.
            outcomes: Counter[int] = Counter()

            async def writer(w: int) -> None:
                for e in range(EDITS_EACH):
                    client = clients[(w + e) % 2]
                    r = await client.patch(f"{MANAGE}/{sid}/draft", json=[{"op": "rename", "name": f"w{w} e{e}"}])
                    assert r.status_code == 200, r.text
                    r = await client.post(f"{MANAGE}/{sid}/revisions", json={"revisionComment": f"w{w} e{e}"})
                    assert r.status_code in (201, 409), r.text
                    outcomes[r.status_code] += 1

            await asyncio.gather(*(writer(w) for w in range(WRITERS)))
            assert outcomes[201] >= 1
        finally:
            for c in clients:
                await c.aclose()

    made_versions, last = await versions(db, sid)
    expected = 1 + ROUNDS + outcomes[201]
    assert made_versions == list(range(1, expected + 1))  # each number once, none skipped
    assert last == expected
