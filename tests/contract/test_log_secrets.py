"""A full run of `inboxd serve` with JSON logs at debug level: every line is one JSON object
(time, level, request id where a request caused it; access lines with route, status, duration),
and no token or secret the run created appears anywhere in the log: API tokens (live, refused,
revoked), app secrets, Graph access tokens, webhook verify tokens, a scenario's signing secret,
a public file link's token."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import orjson
import pytest

from inboxd.channels.whatsapp.signature import HEADER, sign
from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database
from tests.media.samples import PNG
from tests.support.cli import cli_env, run_cli, serve_process
from tests.support.webhooks import text_webhook

API = "/server/api/v2"
SECOND = {"account": "15550009999", "phone_number_id": "200000000000002", "access_token": "EAAG-second-access-token-9f3",
          "app_secret": "second-app-secret-7d1c", "verify_token": "second-verify-token-44aa"}


@pytest.mark.slow
def test_a_full_run_logs_json_lines_and_never_a_secret(tmp_path: Path) -> None:
    data = tmp_path / "data"
    env = cli_env(data, {"INBOXD_LOG_FORMAT": "json", "INBOXD_LOG_LEVEL": "debug",
                         "INBOXD_EVENTS_ALLOW_PRIVATE_URLS": "true", "INBOXD_SEND_WAIT_SECONDS": "5"})
    secrets: dict[str, str] = {}
    token = secrets["api token"] = run_cli("tokens", "create", "--name", "all", "--all-scopes", env=env).stdout.strip()
    secrets["narrow api token"] = run_cli("tokens", "create", "--name", "narrow", "--scope", "list-all-chats",
                                          env=env).stdout.strip()
    revoked = secrets["revoked api token"] = run_cli("tokens", "create", "--name", "gone", "--all-scopes", env=env).stdout.strip()
    listed = orjson.loads(run_cli("tokens", "list", "--json", env=env).stdout)
    run_cli("tokens", "revoke", next(t["id"] for t in listed if t["name"] == "gone"), env=env)
    log = tmp_path / "serve.log"
    with serve_process(env, log=log) as url:
        # The second account's Graph is the sandbox's simulator, which refuses its access token.
        run_cli("channels", "add-whatsapp", "--account-id", SECOND["account"], "--phone-number-id",
                SECOND["phone_number_id"], "--access-token", SECOND["access_token"], "--app-secret", SECOND["app_secret"],
                "--verify-token", SECOND["verify_token"], "--graph-url", f"{url}/simulator/graph", env=env)
        secrets.update({k: SECOND[k] for k in ("access_token", "app_secret", "verify_token")})
        secrets.update(asyncio.run(_sandbox_secrets(env)))
        secrets.update(_exercise(url, token, secrets["narrow api token"], revoked))
    lines = log.read_text().splitlines()
    assert len(lines) > 30
    records = [orjson.loads(line) for line in lines]  # every line is one JSON object
    assert all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "inboxd.access"]
    assert access and all({"request_id", "method", "route", "status", "duration_ms"} <= set(r) for r in access)
    assert {r["status"] for r in access} >= {200, 401, 403, 404}
    assert any(r["level"] == "debug" for r in records) or any(r["level"] == "warning" for r in records)
    text = log.read_text()
    leaked = {name: value for name, value in secrets.items() if value and value in text}
    assert leaked == {}, leaked


async def _sandbox_secrets(env: dict[str, str]) -> dict[str, str]:
    db = Database(env.get("INBOXD_DATABASE_URL") or f"sqlite+aiosqlite:///{env['INBOXD_DATA_DIR']}/inboxd.db")
    try:
        async with db.read() as conn:
            sandbox = await accounts_store.find_sandbox(conn)
    finally:
        await db.dispose()
    assert sandbox is not None
    return {"sandbox access token": sandbox.access_token, "sandbox app secret": sandbox.app_secret,
            "sandbox verify token": sandbox.verify_token}


def _exercise(url: str, token: str, narrow: str, revoked: str) -> dict[str, str]:
    """Requests that succeed and fail on every path a secret travels: returns the secrets they made."""
    made: dict[str, str] = {}
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, timeout=30) as http:
        # Meta's handshake carries the verify token in the query; a wrong one too.
        assert http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": SECOND["verify_token"],
                                                      "hub.challenge": "42"}).text == "42"
        assert http.get("/webhooks/whatsapp", params={"hub.mode": "subscribe", "hub.verify_token": "nope"}).status_code == 403
        # A contact writes to the second account (signed with its app secret), and once unsigned.
        body = orjson.dumps(text_webhook(phone_number_id=SECOND["phone_number_id"], wa_id="972521234567",
                                         wamid="wamid.secret-run-1", text="hi", timestamp=int(time.time()),
                                         display_phone_number=SECOND["account"]))
        signed = http.post("/webhooks/whatsapp", content=body, headers={HEADER: sign(body, SECOND["app_secret"])})
        assert signed.status_code == 200
        assert http.post("/webhooks/whatsapp", content=body, headers={HEADER: "sha256=00"}).status_code == 401
        # A sandbox user writes too (the simulator's own signed webhook).
        assert http.post("/simulator/inbound", json={"from": "972541111111", "text": {"body": "hello"}}).status_code == 200
        chats = _wait_for_chats(http, auth, 2)
        for chat in chats:  # the second account's Graph refuses its token: a failure on the way
            http.post(f"{API}/messages/send/{chat['_id']}", json={"type": "text", "text": "hi back"}, headers=auth)
        # Tokens refused: revoked, unknown, and one without the scope.
        assert http.get(f"{API}/chats/search", headers={"Authorization": f"Bearer {revoked}"}).status_code == 401
        assert http.get(f"{API}/chats/search", headers={"Authorization": "Bearer inboxd_not-a-token"}).status_code == 401
        # A scenario (its signing secret is shown once) and a public file link (its token is in the path).
        scenario = http.post(f"{API}/scenarios/manage/import", headers=auth, json={
            "data": {"version": "v1", "name": "logs", "triggerEvents": ["domain.message.created"],
                     "actions": [{"name": "request", "params": {"url": "http://127.0.0.1:9/events", "method": "post",
                                                                "json": True, "data": {"eventName": "x"}}}]},
            "asStatus": "active"})
        assert scenario.status_code == 201, scenario.text
        made["signing secret"] = scenario.json()["signingSecret"]
        upload = http.post(f"{API}/files", headers=auth, files={"file": ("dot.png", PNG, "image/png")})
        share = http.post(f"{API}/files/share/{upload.json()['fileId']}", headers=auth, json={})
        made["file link token"] = share.json()["token"]
        link = share.json()["url"]
        assert http.get(url + link[link.index("/server/files/shared/"):]).status_code == 200
        assert http.get(f"{API}/files/share/{upload.json()['fileId']}", headers=auth).status_code == 405
        assert http.get(f"{API}/chats/{'0' * 24}", headers=auth).status_code == 404
        assert http.get(f"{API}/scenarios/manage", headers={"Authorization": f"Bearer {narrow}"}).status_code == 403
        # Another contact writes, so the scenario's delivery runs (and fails: nothing listens there).
        assert http.post("/simulator/inbound", json={"from": "972541111111", "text": {"body": "again"}}).status_code == 200
        time.sleep(1.0)
    return made


def _wait_for_chats(http: httpx.Client, auth: dict[str, str], count: int) -> list[dict[str, object]]:
    deadline = time.monotonic() + 60
    while True:
        page = http.get(f"{API}/chats/search", headers=auth).json()
        if len(page["data"]) >= count:
            return page["data"]
        assert time.monotonic() < deadline, page
        time.sleep(0.2)
