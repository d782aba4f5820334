"""The web inbox's browser tests: Playwright driving Debian's Chromium (/usr/bin/chromium; a
browser download fails on this network) against a started `inboxd serve` with its simulator,
one server and one browser for the whole run (each test writes as its own contact and names what
it creates, so the tests share them; starting a server costs seconds).

Without Chromium the tests skip, saying so — unless INBOXD_REQUIRE_BROWSER=1 (CI sets it), then
they fail. INBOXD_SCREENSHOTS=1 writes the README's screenshots to docs/screenshots/."""

from __future__ import annotations

import os
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.support.cli import INBOXD, cli_env, free_port, stop_processes, wait_healthy

CHROMIUM = os.environ.get("INBOXD_CHROMIUM", "/usr/bin/chromium")
# As root in a sandboxed container, on a closed network (/work/.library/env/machines/python-svc.md):
# no sandbox, no GPU, none of Chromium's own calls home.
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]
ROOT = Path(__file__).resolve().parents[2]
SCREENSHOTS = ROOT / "docs" / "screenshots"
ADMIN = ("admin@example.com", "admin-password-1")
AGENT = ("tyler@example.com", "agent-password-1")
API = "/server/api/v2"
SANDBOX_NUMBER = "15550001234"
RESOLUTION_MESSAGE = "Thanks for writing! This conversation is closed."


def browser_available() -> bool:
    return os.path.exists(CHROMIUM) and os.access(CHROMIUM, os.X_OK)


MISSING = f"Chromium is not installed at {CHROMIUM} (Debian: apt-get install chromium): the web inbox's browser tests"


def browser_required() -> bool:
    return os.environ.get("INBOXD_REQUIRE_BROWSER") == "1"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if browser_available() or browser_required():
        return  # with INBOXD_REQUIRE_BROWSER=1 and no Chromium, need_browser() fails each test
    skip = pytest.mark.skip(reason=f"{MISSING} are skipped")
    for item in items:
        if "tests/web/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(skip)


def need_browser() -> None:
    if not browser_available():
        pytest.fail(f"INBOXD_REQUIRE_BROWSER=1 but {MISSING} cannot run")


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    need_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield chromium
        finally:
            chromium.close()


@dataclass
class Inbox:
    """A started `inboxd serve` (SQLite, the embedded simulator), an admin and an agent, and an
    API token with every scope for checking what the browser did through the REST API."""

    url: str
    data_dir: Path
    env: dict[str, str]
    token: str
    admin_uid: str = ""
    agent_uid: str = ""
    _phones: Iterator[int] = field(default_factory=lambda: iter(range(972500000101, 972500099999)))

    def rest(self) -> httpx.Client:
        return httpx.Client(base_url=self.url + API, headers={"Authorization": f"Bearer {self.token}"}, timeout=30)

    def phone(self) -> str:
        return str(next(self._phones))

    def inbound(self, phone: str, *, name: str | None = None, **content: Any) -> dict[str, Any]:
        """A simulated WhatsApp user writes (the simulator's control API): content as Graph's,
        e.g. text={"body": "Hi"}."""
        body: dict[str, Any] = {"from": phone, **content}
        if name:
            body["name"] = name
        r = httpx.post(f"{self.url}/simulator/inbound", json=body, timeout=30)
        assert r.status_code == 200, r.text
        return r.json()

    def simulator(self, method: str, path: str, **kw: Any) -> Any:
        r = httpx.request(method, f"{self.url}/simulator{path}", timeout=30, **kw)
        assert r.status_code < 300, r.text
        return r.json()

    def chat_of(self, phone: str, timeout: float = 20) -> dict[str, Any]:
        """The phone's chat, once the server has stored the simulator's webhook."""
        with self.rest() as http:
            return wait_for(lambda: next(iter(http.get("/chats/search", params={"search": phone}).json()["data"]), None),
                            timeout, f"a chat for {phone}")

    def sign_in(self, context: Any, who: tuple[str, str] = ADMIN) -> Any:
        from playwright.sync_api import expect

        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("dialog", lambda d: errors.append(f"a dialog opened: {d.message}"))
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(self.url + "/")
        page.get_by_label("Email").fill(who[0])
        page.get_by_label("Password").fill(who[1])
        page.get_by_role("button", name="Sign in").click()
        expect(page.get_by_role("button", name="Sign out")).to_be_visible()
        return page


def wait_for(probe: Callable[[], Any], timeout: float, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = probe()
        if value:
            return value
        assert time.monotonic() < deadline, f"waited {timeout}s for {what}"
        time.sleep(0.1)


def _cli(env: dict[str, str], *args: str, stdin: str | None = None) -> str:
    result = subprocess.run([*INBOXD, *args], env=env, input=stdin, capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout.strip()


@pytest.fixture(scope="session")
def inbox(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Inbox]:
    need_browser()
    data = tmp_path_factory.mktemp("inbox") / "data"
    port = free_port()
    env = cli_env(data, {"INBOXD_SERVER": f"http://127.0.0.1:{port}",
                         "INBOXD_RATE_LIMIT_PER_SECOND": "1000", "INBOXD_RATE_LIMIT_BURST": "5000",
                         # event subscriptions may deliver to the tests' receiver on 127.0.0.1
                         "INBOXD_EVENTS_ALLOW_PRIVATE_URLS": "true"})
    _cli(env, "migrate")
    admin_uid = _cli(env, "agents", "create", "--email", ADMIN[0], "--name", "Ada Admin", "--role", "admin",
                     "--password-stdin", stdin=ADMIN[1] + "\n")
    agent_uid = _cli(env, "agents", "create", "--email", AGENT[0], "--name", "Tyler", "--role", "agent",
                     "--password-stdin", stdin=AGENT[1] + "\n")
    token = _cli(env, "tokens", "create", "--name", "web-tests", "--all-scopes")
    log = data.parent / "serve.log"
    server = subprocess.Popen([*INBOXD, "serve", "--port", str(port)], env=env, stdout=log.open("wb"),
                              stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", [server], log)
        # what Resolve with "Notify customer" sends (the sandbox account exists once serve started)
        _cli(env, "channels", "update", SANDBOX_NUMBER, "--resolution-message", RESOLUTION_MESSAGE)
        yield Inbox(f"http://127.0.0.1:{port}", data, env, token, admin_uid.splitlines()[-1], agent_uid.splitlines()[-1])
    finally:
        stop_processes([server])


@pytest.fixture
def context(browser: Any) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield ctx
    finally:
        ctx.close()


def screenshot(page: Any, name: str) -> None:
    """Into docs/screenshots/ when INBOXD_SCREENSHOTS=1 (the README's pictures), else nowhere."""
    if os.environ.get("INBOXD_SCREENSHOTS") == "1":
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / name))
