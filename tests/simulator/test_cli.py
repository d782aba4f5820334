"""The simulator's command-line faces, as processes: `inboxd serve` with the embedded default
(the quick start: `inboxd sandbox inbound …` makes a chat that Search Chats finds), `inboxd
serve` without it, and `inboxd simulator` on its own."""

from __future__ import annotations

import asyncio
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from inboxd.channels.whatsapp.signature import sign
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.simulator.support import PNG, Receiver, eventually
from tests.support.cli import INBOXD, cli_env, free_port, run_cli

API = "/server/api/v2"
DANA = "972521234567"


@contextmanager
def process(args: list[str], env: dict[str, str], health: str) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([*INBOXD, *args], env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(health, timeout=1).status_code < 500:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None:
                raise AssertionError(f"inboxd {' '.join(args)} exited:\n{proc.stdout.read() if proc.stdout else ''}")
            assert time.monotonic() < deadline, f"inboxd {' '.join(args)} did not come up"
            time.sleep(0.1)
        yield proc
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


def server_env(tmp_path: Path, db_target: DbTarget, **extra: str) -> dict[str, str]:
    # SQLite: nothing configured, as after a fresh clone (the database goes in the data dir)
    db_env = db_target.settings_env() if db_target.backend == "postgresql" else {}
    return cli_env(tmp_path / "data", {**db_env, **extra})


async def find_chat(url: str, token: str, phone: str) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
        async def search() -> dict[str, Any] | None:
            r = await http.get(f"{API}/chats/search", params={"search": phone})
            assert r.status_code == 200, r.text
            return r.json()["data"][0] if r.json()["total"] else None

        chat = await eventually(search, within=15)
        r = await http.get(f"{API}/chats/{chat['_id']}")
        assert r.status_code == 200, r.text
        return {**chat, "lastMessage": r.json()["lastMessage"]}


async def test_quick_start_sandbox_inbound_makes_a_chat_that_search_finds(
    tmp_path: Path, db_target: DbTarget, db: Database
) -> None:
    env = server_env(tmp_path, db_target)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(["serve", "--port", str(port)], env, f"{url}/healthz"):
        out = run_cli("sandbox", "inbound", "--server", url, "--from", DANA, "--name", "Dana", "--text", "Hi there",
                      env=env).stdout
        assert out.strip().startswith("wamid.")
        token = run_cli("tokens", "create", "--name", "quick start", "--all-scopes", env=env).stdout.strip()
        chat = await find_chat(url, token, DANA)
        assert chat["title"] == "Dana" and chat["lastMessage"]["text"] == "Hi there"
        assert chat["channelInfo"]["accountId"] == "15550001234"
        [account] = orjson.loads(run_cli("channels", "list", "--json", env=env).stdout)
        assert account["sandbox"] is True and account["graphUrl"] == f"{url}/simulator/graph"
        sent = run_cli("sandbox", "sent", "--server", url, "--to", DANA, env=env).stdout
        assert "nothing was sent" in sent
        # an image too: downloaded by inboxd through the mounted simulator's media endpoints
        image = tmp_path / "dot.png"
        image.write_bytes(PNG)
        run_cli("sandbox", "inbound", "--server", url, "--from", DANA, "--image", str(image), "--caption", "dot",
                env=env)
        async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {token}"}) as http:
            async def media_message() -> Any:
                r = await http.get(f"{API}/messages/chat/{chat['_id']}",
                                   params={"beforeTime": 9_999_999_999_999, "beforeId": "z"})
                return [m for m in r.json()["messages"] if m["type"] == "media" and m["media"][0].get("fileId")]

            [message] = await eventually(media_message, within=15)
            assert message["media"][0]["caption"] == "dot"
            # the control API is part of inboxd's OpenAPI document
            paths = (await http.get(f"{API}/openapi.json")).json()["paths"]
            assert "/simulator/inbound" in paths and not any(p.startswith("/simulator/graph") for p in paths)

    # a restart on another port keeps the one sandbox account (and its secrets) and follows the port
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(["serve", "--port", str(port)], env, f"{url}/healthz"):
        run_cli("sandbox", "inbound", "--server", url, "--from", "972500000003", "--text", "after restart", env=env)
        chat = await find_chat(url, token, "972500000003")
        assert chat["lastMessage"]["text"] == "after restart"
        [account] = orjson.loads(run_cli("channels", "list", "--json", env=env).stdout)
        assert account["graphUrl"] == f"{url}/simulator/graph"


def test_serve_without_the_simulator(tmp_path: Path, db_target: DbTarget, db: Database) -> None:
    env = server_env(tmp_path, db_target, INBOXD_SIMULATOR="false")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with process(["serve", "--port", str(port)], env, f"{url}/healthz"):
        assert httpx.get(f"{url}/simulator").status_code == 404
        result = run_cli("sandbox", "inbound", "--server", url, "--from", DANA, "--text", "x", env=env, check=False)
        assert result.returncode != 0 and "no simulator" in result.stderr
        assert orjson.loads(run_cli("channels", "list", "--json", env=env).stdout) == []


async def test_standalone_simulator_command(tmp_path: Path, receiver: Receiver) -> None:
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    args = ["simulator", "--port", str(port), "--callback-url", receiver.url, "--app-secret", "s3cret",
            "--phone-number-id", "106540352242922", "--access-token", "tok", "--waba-id", "102290129340398",
            "--sent-delay", "0", "--delivered-delay", "0", "--read-delay", "-1"]
    env = cli_env(tmp_path / "data")
    # the CLI runs in a thread: the receiver answering the simulator's webhooks lives in this loop
    with process(args, env, f"{url}/simulator") as proc:
        await asyncio.to_thread(run_cli, "sandbox", "inbound", "--server", url, "--from", DANA, "--text", "Hi", env=env)
        body = {"messaging_product": "whatsapp", "to": DANA, "type": "text", "text": {"body": "Hello Dana"}}
        async with httpx.AsyncClient() as http:
            r = await http.post(f"{url}/v23.0/106540352242922/messages", json=body,
                                headers={"Authorization": "Bearer tok"})
        assert r.status_code == 200, r.text
        listed = await asyncio.to_thread(run_cli, "sandbox", "sent", "--server", url, "--to", DANA, "--json", env=env)
        sent = orjson.loads(listed.stdout)
        assert [m["payload"] for m in sent] == [body]
        await eventually(lambda: len(receiver.statuses()) == 2)
        assert [s["status"] for s in receiver.statuses()] == ["sent", "delivered"]
        for headers, raw in receiver.posts:
            assert headers["x-hub-signature-256"] == sign(raw, "s3cret")
        assert all(p["entry"][0]["id"] == "102290129340398" for p in receiver.payloads())
        proc.terminate()
        output = proc.communicate(timeout=20)[0]
    for value in ("106540352242922", "102290129340398", "tok", "s3cret", receiver.url, f"{url}"):
        assert value in output


@pytest.mark.parametrize(
    "args",
    [["--from", DANA], ["--from", DANA, "--text", "a", "--location", "1,2"], ["--from", DANA, "--location", "north"],
     ["--from", DANA, "--reaction", "👍"]],
)
def test_sandbox_inbound_needs_exactly_one_valid_kind(tmp_path: Path, args: list[str]) -> None:
    result = run_cli("sandbox", "inbound", "--server", "http://127.0.0.1:9", *args, env=cli_env(tmp_path), check=False)
    assert result.returncode == 2, result.stderr
