"""`inboxd serve` as a process: migrates a fresh data dir and serves /healthz."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import httpx

from tests.support.cli import INBOXD, cli_env, free_port


def test_serve_starts_on_an_empty_data_dir_and_answers_healthz(tmp_path: Path) -> None:
    port = free_port()
    env = cli_env(tmp_path / "data", {"INBOXD_SIMULATOR": "false"})
    proc = subprocess.Popen([*INBOXD, "serve", "--port", str(port)], env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                r = httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                break
            except httpx.TransportError:
                assert proc.poll() is None, proc.stdout.read() if proc.stdout else ""
                assert time.monotonic() < deadline, "inboxd serve did not come up"
                time.sleep(0.1)
        assert r.status_code == 200 and r.json()["status"] == "ok"
        assert (tmp_path / "data" / "inboxd.db").exists()
    finally:
        proc.terminate()
        output, _ = proc.communicate(timeout=20)
    # uvicorn shuts down cleanly, then re-raises SIGTERM so the exit status tells how it ended
    assert "Application shutdown complete" in output
