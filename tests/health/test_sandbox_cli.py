"""An operator's walk through channel health with the embedded default, as processes: `inboxd
serve`, the `inboxd sandbox` commands that play Meta's side, `inboxd channels health` and
`inboxd channels update`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import httpx

from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.health.conftest import API, eventually
from tests.simulator.test_cli import process, server_env
from tests.support.cli import free_port, run_cli

DANA = "972521234567"


async def test_channel_health_with_the_sandbox(tmp_path: Path, db_target: DbTarget, db: Database) -> None:
    env = server_env(tmp_path, db_target)
    port = free_port()
    url = f"http://127.0.0.1:{port}"

    def cli(*args: str, check: bool = True) -> str:
        return run_cli(*args, env=env, check=check).stdout

    with process(["serve", "--port", str(port)], env, f"{url}/healthz"):
        cli("sandbox", "inbound", "--server", url, "--from", DANA, "--text", "Hi")
        token = cli("tokens", "create", "--name", "ops", "--all-scopes").strip()
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}, timeout=30) as http:
            async def chat_id() -> str | None:
                r = await http.get(f"{API}/chats/search", params={"search": DANA})
                return r.json()["data"][0]["_id"] if r.json()["total"] else None

            chat = await eventually(chat_id, what="the chat")

            async def send(text: str) -> httpx.Response:
                return await http.post(f"{API}/messages/send/{chat}", json={"type": "text", "text": text})

            def health() -> list[dict[str, Any]]:
                return json.loads(cli("channels", "health", "--json"))

            new_token = (await asyncio.to_thread(cli, "sandbox", "rotate-token", "--server", url)).strip()
            assert (await send("refused")).status_code == 502
            [problem] = await asyncio.to_thread(health)
            assert problem["name"] == "whatsapp_access_token_invalid" and problem["accountId"] == "15550001234"
            text = await asyncio.to_thread(cli, "channels", "health")
            assert "whatsapp_access_token_invalid" in text and "inboxd channels update 15550001234" in text
            out = await asyncio.to_thread(cli, "channels", "update", "15550001234", "--access-token", new_token)
            assert new_token not in out

            async def sent() -> bool:
                return (await send("accepted")).status_code == 200

            await eventually(sent, what="a send with the new token")
            assert await asyncio.to_thread(health) == []

            out = await asyncio.to_thread(cli, "sandbox", "fault", "--server", url, "--code", "131031", "--count", "1")
            assert "error 131031" in out
            assert (await send("locked")).status_code == 502
            assert [p["name"] for p in await asyncio.to_thread(health)] == ["whatsapp_account_locked"]
            assert (await send("unlocked")).status_code == 200
            assert await asyncio.to_thread(health) == []

            out = await asyncio.to_thread(cli, "sandbox", "quality", "RED", "--server", url)
            assert "FLAGGED" in out

            async def names() -> list[str]:
                return sorted(p["name"] for p in await asyncio.to_thread(health))

            await eventually(lambda: _has(names, "whatsapp_phone_number_quality_low"), what="the quality problem")
            await asyncio.to_thread(cli, "sandbox", "quality", "GREEN", "--server", url)
            await eventually(lambda: _lacks(names, "whatsapp_phone_number_quality_low"), what="quality back")

            value = json.dumps({"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}})
            await asyncio.to_thread(cli, "sandbox", "account-webhook", "account_update", value, "--server", url)
            await eventually(lambda: _has(names, "whatsapp_account_policy_violation"), what="the violation")
            bad = await asyncio.to_thread(run_cli, "sandbox", "account-webhook", "account_update", "{", "--server", url,
                                          env=env, check=False)
            assert bad.returncode == 2

            assert "webhooks off" in await asyncio.to_thread(cli, "sandbox", "webhooks", "off", "--server", url)
            info = (await http.get("/simulator")).json()
            assert info["config"]["webhooks_enabled"] is False
            await asyncio.to_thread(cli, "sandbox", "webhooks", "on", "--server", url)


async def _has(names: Any, name: str) -> bool:
    return name in await names()


async def _lacks(names: Any, name: str) -> bool:
    return name not in await names()
