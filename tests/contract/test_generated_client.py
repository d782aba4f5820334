"""A client generated from the live OpenAPI document (openapi-python-client, into a temporary
directory: nothing generated is kept) imports, and sends a message through `inboxd serve` to the
sandbox WhatsApp number (the embedded simulator), reading the typed answers back."""

from __future__ import annotations

import importlib
import subprocess
import sys
import time
from pathlib import Path
from types import ModuleType

import pytest

from tests.support.cli import cli_env, run_cli, serve_process

CONTACT = "972521234567"


def generate(url: str, into: Path) -> ModuleType:
    into.mkdir(parents=True, exist_ok=True)
    config = into / "generator.yaml"
    config.write_text("post_hooks: []\n")  # no formatter run on the generated code
    package = into / "inboxd_api_client"
    result = subprocess.run(
        [str(Path(sys.executable).with_name("openapi-python-client")), "generate", "--url",
         f"{url}/server/api/v2/openapi.json", "--meta", "none", "--output-path", str(package), "--config", str(config)],
        capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0 and package.is_dir(), result.stdout + result.stderr
    sys.path.insert(0, str(into))
    return importlib.import_module("inboxd_api_client")


def operation(package: str, name_start: str) -> ModuleType:
    """The generated module of an operation, by the start of its name (the names carry the path)."""
    folder = Path(importlib.import_module(package).__path__[0])
    [match] = [p.stem for p in folder.glob(f"{name_start}*.py")]
    return importlib.import_module(f"{package}.{match}")


@pytest.mark.slow
def test_a_generated_client_sends_a_message_to_the_sandbox(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data")
    token = run_cli("tokens", "create", "--name", "generated", "--all-scopes", env=env).stdout.strip()
    with serve_process(env, log=tmp_path / "serve.log") as url:
        client_package = generate(url, tmp_path / "generated")
        try:
            _send_through_the_generated_client(client_package, url, token)
        finally:
            sys.path.remove(str(tmp_path / "generated"))
            for name in [m for m in sys.modules if m.startswith("inboxd_api_client")]:
                del sys.modules[name]


def _send_through_the_generated_client(client_package: ModuleType, url: str, token: str) -> None:
    models = importlib.import_module("inboxd_api_client.models")
    client = client_package.AuthenticatedClient(base_url=url, token=token, raise_on_unexpected_status=True)
    simulator = "inboxd_api_client.api.simulator_control"
    # The sandbox user writes first (the 24-hour window opens), through the simulator's control API.
    inbound = operation(simulator, "inbound_").sync(
        client=client, body=models.InboundRequest.from_dict({"from": CONTACT, "name": "Dana", "text": {"body": "Hi"}})
    )
    assert isinstance(inbound, models.SimulatorInbound) and inbound.success

    search = operation("inboxd_api_client.api.chats", "search_chats_")
    deadline = time.monotonic() + 60
    while True:
        page = search.sync(client=client)
        assert isinstance(page, models.ChatSearchPage), page
        chats = [c for c in page.data if c.channel_info.id == CONTACT]
        if chats:
            break
        assert time.monotonic() < deadline, "the inbound message never made a chat"
        time.sleep(0.2)
    chat_id = chats[0].field_id

    send = operation("inboxd_api_client.api.messages", "send_message_")
    body = models.SendMessageServerApiV2MessagesSendChatIdPostBody.from_dict(
        {"type": "text", "text": "Hello from a generated client", "tmpSendId": "generated-1"}
    )
    answer = send.sync_detailed(chat_id=chat_id, client=client, body=body)
    assert answer.status_code == 200, answer.content
    sent = answer.parsed
    assert isinstance(sent, models.SentMessages) and sent.success
    [message] = sent.messages
    assert message.text == "Hello from a generated client" and message.parent_chat == chat_id
    assert message.channel_info.id.startswith("wamid."), message  # WhatsApp (the simulator) took it
    assert answer.headers["x-request-id"]

    delivered = operation(simulator, "sent_").sync(wa_id=CONTACT, client=client)
    assert isinstance(delivered, models.SimulatorSent)
    assert [m.id for m in delivered.data] == [message.channel_info.id]

    # A documented error comes back typed too.
    missing = operation("inboxd_api_client.api.chats", "get_chat_")
    client_lenient = client_package.AuthenticatedClient(base_url=url, token=token)
    error = missing.sync_detailed(chat_id="0123456789abcdef01234567", client=client_lenient)
    assert error.status_code == 404 and isinstance(error.parsed, models.Error)
    assert error.parsed.code == "chat_not_found" and error.parsed.request_id == error.headers["x-request-id"]
