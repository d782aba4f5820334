"""`inboxd backup PATH` copies the SQLite database while inboxd serves and writes: every copy is
whole and consistent (each chat's sequence matches its messages), and a restored copy serves."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
from pathlib import Path

import httpx
import pytest

from inboxd.config import Settings
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.delivery.conftest import rig, rig_settings  # noqa: F401  (the send tests' rig)
from tests.support.cli import cli_env, run_cli
from tests.support.server import start_server
from tests.support.wa import WhatsAppRig


def consistent(path: Path) -> tuple[int, int]:
    """(messages, chats) of a copy, after checking that each chat's last sequence number is its
    newest outgoing message's (they are written in one transaction: a torn copy breaks this)."""
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        torn = conn.execute(
            "SELECT c.id, c.last_seq, (SELECT coalesce(max(m.seq), 0) FROM messages m WHERE m.chat_id = c.id) "
            "FROM chats c WHERE c.last_seq != (SELECT coalesce(max(m.seq), 0) FROM messages m WHERE m.chat_id = c.id)"
        ).fetchall()
        assert torn == []
        return conn.execute("SELECT count(*) FROM messages").fetchone()[0], conn.execute("SELECT count(*) FROM chats").fetchone()[0]
    finally:
        conn.close()


async def test_backups_while_serving_are_consistent_and_restore(  # type: ignore[no-untyped-def]
    rig: WhatsAppRig, db_target: DbTarget, settings: Settings, tmp_path: Path  # noqa: F811
) -> None:
    if db_target.backend != "sqlite":
        pytest.skip("backs up the SQLite database")
    chats = [await rig.user_writes(f"97252555000{n}") for n in range(4)]
    writing = True

    async def keep_sending() -> int:
        sent = 0
        while writing:
            for chat in chats:
                r = await rig.send(chat, {"type": "text", "text": f"n{sent}"}, headers={"Prefer": "respond-async"})
                assert r.status_code == 202, r.text
                sent += 1
        return sent

    writer = asyncio.create_task(keep_sending())
    env = cli_env(tmp_path / "cli", db_target.settings_env())
    counts = []
    try:
        for n in range(3):
            await asyncio.sleep(0.3)
            target = tmp_path / "backups" / f"inboxd-{n}.db"
            result = await asyncio.to_thread(run_cli, "backup", str(target), env=env)
            assert "integrity ok" in result.stdout, result.stdout
            counts.append(consistent(target))
    finally:
        writing = False
        sent = await writer
    assert counts[0][0] <= counts[1][0] <= counts[2][0] and counts[2][1] == 4
    assert counts[2][0] < 4 + sent + 1  # a snapshot, not the end state
    # Restore (README): inboxd stopped, the copy becomes the database file, start again.
    restored_dir = tmp_path / "restored"
    restored_dir.mkdir()
    shutil.copy(tmp_path / "backups" / "inboxd-2.db", restored_dir / "inboxd.db")
    restored = settings.model_copy(update={"database_url": f"sqlite+aiosqlite:///{restored_dir / 'inboxd.db'}"})
    restored_db = Database.from_settings(restored)
    try:
        async with start_server(restored, restored_db) as live, httpx.AsyncClient(base_url=live.url) as http:
            assert (await http.get("/healthz")).status_code == 200
            r = await http.get(f"/server/api/v2/chats/{chats[0]}", headers=rig.client.headers)
            assert r.status_code == 200, r.text
    finally:
        await restored_db.dispose()


def test_postgresql_is_told_to_use_its_own_tools(tmp_path: Path) -> None:
    env = cli_env(tmp_path, {"INBOXD_DATABASE_URL": "postgresql+asyncpg://postgres@127.0.0.1:5432/test"})
    result = run_cli("backup", str(tmp_path / "x.db"), env=env, check=False)
    assert result.returncode == 2 and "pg_dump" in result.stderr
    assert not (tmp_path / "x.db").exists()
