"""The README's quick start, run as written (the port and the data directory are the test's own)
against a started `inboxd serve`: a sandbox user writes, a token is made, the chat is found, a
message is sent, and the simulator shows what WhatsApp received."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.support.cli import INBOXD, cli_env, free_port, wait_healthy

ROOT = Path(__file__).parent.parent


def quickstart_block() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    return re.search(r"```bash\n(.*?)```", section, flags=re.S).group(1)  # type: ignore[union-attr]


def test_readme_quickstart(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path / "data", {"INBOXD_SERVER": f"http://127.0.0.1:{port}"})
    server = subprocess.Popen([*INBOXD, "serve", "--port", str(port)], env=env, cwd=ROOT,
                              stdout=(tmp_path / "serve.log").open("wb"), stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", [server], tmp_path / "serve.log")
        script = quickstart_block().replace("127.0.0.1:8080", f"127.0.0.1:{port}")
        script = script.replace("source .venv/bin/activate", f'export PATH="{Path(sys.executable).parent}:$PATH"')
        result = subprocess.run(["bash", "-euo", "pipefail", "-c", script], env={**env, "HOME": os.environ.get("HOME", "/tmp")},
                                cwd=ROOT, capture_output=True, text=True, timeout=120)
        assert result.returncode == 0, result.stdout + result.stderr
        assert '"success":true' in result.stdout.replace(" ", "")
        assert "wamid." in result.stdout
        assert "Hey there!" in result.stdout  # `inboxd sandbox sent` shows the payload WhatsApp got
    finally:
        server.terminate()
        server.wait(timeout=20)
