"""Fuzzing every operation of the API with schemathesis, against a started `inboxd serve`.

    python -m tests.contract.fuzz --seconds 120      # what `make test` runs (tests/contract/test_fuzz.py)
    make fuzz                                         # a longer run, for before a release

The server: SQLite in a fresh data directory, no workers (only requests write, so the
"nothing written when refused" check can see what each request did), sends answering at once,
a token holding every scope with a rate limit the fuzzer will not reach. Seeded first, through
the store and the API, with what the operations need to get past their 404s: a channel account
(its Graph URL a closed loopback port), chats whose 24-hour window is open, a stored file and a
public link to it, a template with an APPROVED localization, a scenario, a quick reply. The account's Graph is a
standalone `inboxd simulator` (no webhooks back: they would be writes no request made). schemathesis gets
their ids as dictionaries for the path parameters, positive and negative data, the document's
links for stateful sequences, and time-boxed phases (examples, coverage, fuzzing, stateful).

Checks: schemathesis' (no 5xx; status codes, content types, headers and bodies as documented;
negative data refused; auth not ignored; …) and ours (`fuzz_checks.py`: the error body on every
4xx, `X-Request-Id` on every answer, nothing written by a refused request).

Run inside a network namespace of its own (`unshare --net`, loopback only) when the machine
allows it, so nothing a fuzzed request makes the server fetch can leave the machine.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

from inboxd.domain.clock import now_ms
from inboxd.domain.scopes import ALL_SCOPES
from inboxd.store import accounts as accounts_store
from inboxd.store import tokens as tokens_store
from inboxd.store.db import Database
from inboxd.store.migrate import migrate
from inboxd.templates import store as templates_store
from tests.media.samples import PNG
from tests.support.cli import cli_env, inboxd_process, serve_process
from tests.support.seed import chat_with_messages

ROOT = Path(__file__).resolve().parents[2]
API = "/server/api/v2"
ACCOUNT = "15550001234"
CONTACTS = ["972521234567", "972541111111", "34673494148"]
_BODY = [{"type": "BODY", "text": "Hi {{1}}, order {{2}} is ready", "example": {"body_text": [["Dana", "15033"]]}}]
TEMPLATES = [
    ("order_ready", "he", _BODY),
    ("inbox_utility_66", "en", _BODY),
    ("inbox_marketing_98", "en", [{"type": "BODY", "text": "Our new season is here"}]),
]
GRAPH = {"--phone-number-id": "100000000000001", "--access-token": "fuzz-access-token",
         "--app-secret": "fuzz-app-secret", "--waba-id": "100000000000002", "--display-phone-number": ACCOUNT}
CHECKS = [
    "not_a_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_headers_conformance",
    "response_schema_conformance",
    "negative_data_rejection",
    "missing_required_header",
    "unsupported_method",
    "allow_header_conformance",
    "ignored_auth",
    "use_after_free",
    "ensure_resource_availability",
    # ours (fuzz_checks.py)
    "request_id_on_every_answer",
    "error_body_on_every_4xx",
    "nothing_written_when_refused",
]


async def seed_database(url: str, graph_url: str) -> dict[str, Any]:
    db = Database(url)
    try:
        await migrate(db)
        async with db.write() as conn:
            secret, _ = await tokens_store.create_token(conn, "fuzz", list(ALL_SCOPES), rate_per_second=10_000,
                                                         rate_burst=20_000)
            account = await accounts_store.add_whatsapp_account(
                conn, account_id=ACCOUNT, phone_number_id=GRAPH["--phone-number-id"], access_token=GRAPH["--access-token"],
                app_secret=GRAPH["--app-secret"], verify_token="fuzz-verify-token", graph_url=graph_url,
                waba_id=GRAPH["--waba-id"],
            )
        now = now_ms()
        chats = [
            await chat_with_messages(db, account, contact, title=f"Contact {i}", texts=[(now - 60_000, "hi"), (now, "hello")])
            for i, contact in enumerate(CONTACTS)
        ]
        return {"token": secret, "chats": chats, "account": account}
    finally:
        await db.dispose()


def seed_through_the_api(url: str, token: str, db_url: str) -> dict[str, Any]:
    auth = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=url, headers=auth, timeout=30) as http:
        upload = http.post(f"{API}/files", files={"file": ("dot.png", PNG, "image/png")}, data={"mediaType": "image"})
        upload.raise_for_status()
        file_id = upload.json()["fileId"]
        share = http.post(f"{API}/files/share/{file_id}", json={"ttl": 86400})
        share.raise_for_status()
        approved = []
        for name, language, components in TEMPLATES:  # the names the document's examples send
            made = http.post(f"{API}/whatsapp/templates/{ACCOUNT}",
                             json={"name": name, "title": name, "category": "UTILITY", "chatStatus": 1, "usage": "inbox"})
            made.raise_for_status()
            http.post(f"{API}/whatsapp/templates/{ACCOUNT}/{name}/localizations",
                      json={"language": language, "components": components}).raise_for_status()
            approved.append((made.json()["_id"], language, components))
        scenario = http.post(f"{API}/scenarios/manage/import", json=_scenario())
        scenario.raise_for_status()
        quick_reply = http.post(f"{API}/quick-replies", json={
            "send": {"contents": [{"type": "text", "text": "Thanks for reaching out!"}],
                     "target": [{"name": "whatsapp", "accountId": ACCOUNT}]},
            "display": {"position": "top", "title": "Greeting"},
        })
        quick_reply.raise_for_status()

    async def approve() -> None:  # what Meta's approval webhook would do (the simulator sends none here)
        db = Database(db_url)
        try:
            async with db.write() as conn:
                for i, (template_id, language, components) in enumerate(approved):
                    await templates_store.put_localization(conn, {
                        "template_id": template_id, "language": language, "status": "APPROVED",
                        "components": components, "rejection_reason": None,
                        "provider_template_id": f"10437890123456{i:02d}", "meta": {}, "quality_score": None,
                        "created_at": now_ms(), "updated_at": now_ms(),
                    })
        finally:
            await db.dispose()

    asyncio.run(approve())
    return {"file": file_id, "share_token": share.json()["token"], "scenario": scenario.json()["_id"],
            "quick_reply": quick_reply.json()["_id"]}


def _scenario() -> dict[str, Any]:
    return {
        "data": {
            "version": "v1", "name": "fuzz", "triggerEvents": ["domain.message.created"],
            "actions": [{"name": "request", "params": {"url": "https://receiver.invalid/events", "method": "post",
                                                       "json": True, "data": {"eventName": "newMessage"}}}],
        },
        "asStatus": "active",
    }


def config_file(work: Path, token: str, ids: dict[str, Any], *, seconds: float, seed: int | None) -> Path:
    """schemathesis.toml: the token, the seeded ids as dictionaries of the path parameters."""
    values = {
        "chats": ids["chats"], "files": [ids["file"]], "tokens": [ids["share_token"]], "accounts": [ACCOUNT],
        "templates": [name for name, _, _ in TEMPLATES], "scenarios": [ids["scenario"]], "languages": ["en", "he"],
        "quick_replies": [ids["quick_reply"]],
    }
    bindings = {
        "path.chatId": "chats", "path.fileId": "files", "path.token": "tokens", "path.accountId": "accounts",
        "path.templateName": "templates", "path.scenarioId": "scenarios", "path.language": "languages",
        "path.quickReplyId": "quick_replies",
    }
    lines = [
        f'headers = {{ Authorization = "Bearer {token}" }}',
        f"max-time = {int(seconds)}",
        "workers = 1",  # one request at a time: the write check compares the database around each
        "continue-on-failure = true",
        "request-timeout = 30",
        'suppress-health-check = ["too_slow", "filter_too_much", "data_too_large", "large_base_example"]',
        *([f"seed = {seed}"] if seed is not None else []),
        "",
        "[parameters]",
        *(f'"{key}" = {{ dictionary = "{name}", probability = 0.8 }}' for key, name in bindings.items()),
        "",
    ]
    for name, items in values.items():
        lines += [f"[dictionaries.{name}]", "values = [" + ", ".join(f'"{v}"' for v in items) + "]", ""]
    # The live stream never ends: schemathesis reads it for this long (or 2 events), then checks
    # what it got, instead of spending the whole request timeout on each call.
    lines += ["[[operations]]", f'include-path = "{API}/live"', "request-timeout = 2", "max-stream-events = 2", ""]
    path = work / "schemathesis.toml"
    path.write_text("\n".join(lines))
    return path


def run(seconds: float, work: Path, *, seed: int | None = None) -> int:
    data = work / "data"
    db_path = data / "inboxd.db"
    with inboxd_process(["simulator", *[x for pair in GRAPH.items() for x in pair]], "/simulator",
                        cli_env(data), log=work / "simulator.log") as graph_url:
        return _run(seconds, work, data, db_path, graph_url, seed)


def _run(seconds: float, work: Path, data: Path, db_path: Path, graph_url: str, seed: int | None) -> int:
    db_url = f"sqlite+aiosqlite:///{db_path}"
    seeded = asyncio.run(seed_database(db_url, graph_url))
    env = cli_env(data, {
        "INBOXD_DATABASE_URL": db_url, "INBOXD_SIMULATOR": "false", "INBOXD_WORKERS": "0",
        "INBOXD_SEND_WAIT_SECONDS": "0", "INBOXD_LOG_FORMAT": "json",
        "INBOXD_RATE_LIMIT_PER_SECOND": "10000", "INBOXD_RATE_LIMIT_BURST": "20000",
    })
    with serve_process(env, log=work / "server.log") as url:
        ids = {**seeded, **seed_through_the_api(url, seeded["token"], db_url)}
        config = config_file(work, seeded["token"], ids, seconds=seconds, seed=seed)
        command = [
            str(Path(sys.executable).with_name("schemathesis")), "--config-file", str(config), "--no-color", "run",
            f"{url}{API}/openapi.json", "--mode", "all", "--checks", ",".join(CHECKS),
            "--phases", "examples,coverage,fuzzing,stateful", "--report", "junit", "--report-dir", str(work / "report"),
        ]
        st_env = {**os.environ, "SCHEMATHESIS_HOOKS": "tests.contract.fuzz_checks", "INBOXD_FUZZ_DATABASE": str(db_path),
                  "PYTHONPATH": str(ROOT)}
        print("+", " ".join(command), flush=True)
        return subprocess.run(command, env=st_env, cwd=ROOT).returncode


def isolated_command(command: list[str]) -> list[str]:
    """`command` inside a network namespace with only loopback, when this machine allows one."""
    if shutil.which("unshare") is None or shutil.which("ip") is None:
        return command
    probe = subprocess.run(["unshare", "--net", "ip", "link", "set", "lo", "up"], capture_output=True)
    if probe.returncode != 0:
        return command
    quoted = " ".join(f"'{part}'" for part in command)
    return ["unshare", "--net", "sh", "-c", f"ip link set lo up && exec {quoted}"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.contract.fuzz", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=120, help="schemathesis' time budget (default 120)")
    parser.add_argument("--work", type=Path, help="directory for the data, logs and report (default: a temporary one)")
    parser.add_argument("--seed", type=int, help="a fixed seed (make test's), or one a failed run printed")
    args = parser.parse_args(argv)
    if args.work:
        args.work.mkdir(parents=True, exist_ok=True)
        return run(args.seconds, args.work, seed=args.seed)
    with tempfile.TemporaryDirectory(prefix="inboxd-fuzz-") as work:
        return run(args.seconds, Path(work), seed=args.seed)


if __name__ == "__main__":
    sys.exit(main())
