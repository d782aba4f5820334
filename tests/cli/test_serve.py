"""`inboxd serve` as a process: migrates a fresh data dir and serves /healthz."""

from __future__ import annotations

import os
import signal
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


def _children(pid: int) -> list[int]:
    """The server processes `--processes` started (multiprocessing's spawned children)."""
    found = []
    for child in Path(f"/proc/{pid}/task/{pid}/children").read_text().split():
        cmdline = Path(f"/proc/{child}/cmdline").read_bytes()
        if b"spawn_main" in cmdline:
            found.append(int(child))
    return found


def _start_processes(tmp_path: Path, port: int) -> tuple[subprocess.Popen[str], Path]:
    """`inboxd serve --processes 2`, its output in a file; returns once *both* servers have started
    (one answering /healthz proves only one: SIGTERM to a child still importing ends it before
    uvicorn has its handlers, with no shutdown line)."""
    env = cli_env(tmp_path / "data", {"INBOXD_SIMULATOR": "false", "INBOXD_WORKERS": "0"})
    tmp_path.mkdir(parents=True, exist_ok=True)
    log = tmp_path / "serve.log"
    with log.open("w") as out:
        proc = subprocess.Popen([*INBOXD, "serve", "--processes", "2", "--port", str(port)], env=env,
                                stdout=out, stderr=subprocess.STDOUT, text=True)
    deadline = time.monotonic() + 60
    while log.read_text().count("Application startup complete") < 2 or not _healthy(port):
        assert proc.poll() is None, log.read_text()
        assert time.monotonic() < deadline, "inboxd serve --processes 2 did not come up:\n" + log.read_text()
        time.sleep(0.2)
    assert len(_children(proc.pid)) == 2
    return proc, log


def _stop(proc: subprocess.Popen[str], log: Path) -> str:
    proc.terminate()
    proc.wait(timeout=60)
    return log.read_text()


def _healthy(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def test_serve_processes_runs_n_servers_on_one_socket_and_stops_them_together(tmp_path: Path) -> None:
    """`--processes 2`: two server processes accept on the one listening socket — either serves
    alone when the other is gone — and SIGTERM to the parent stops both cleanly."""
    port = free_port()
    proc, log = _start_processes(tmp_path / "clean", port)
    try:
        children = _children(proc.pid)
        assert len(children) == 2
        assert all(_healthy(port) for _ in range(20))
    finally:
        output = _stop(proc, log)
    assert proc.returncode == 0, output
    assert output.count("Application shutdown complete") == 2
    assert not any(Path(f"/proc/{c}").exists() and b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
                   for c in children)

    port = free_port()
    proc, log = _start_processes(tmp_path / "one_killed", port)
    try:
        first, second = _children(proc.pid)
        os.kill(first, signal.SIGKILL)
        assert all(_healthy(port) for _ in range(20))  # the other one accepts every connection
        assert _children(proc.pid) == [second]
    finally:
        output = _stop(proc, log)
    assert proc.returncode != 0 and f"a server process exited with {-signal.SIGKILL}" in output


def test_serve_processes_refuses_the_embedded_simulator(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data", {"INBOXD_SIMULATOR": "true"})
    result = subprocess.run([*INBOXD, "serve", "--processes", "2", "--port", str(free_port())], env=env,
                            capture_output=True, text=True, timeout=60)
    assert result.returncode != 0
    assert "--processes > 1 needs INBOXD_SIMULATOR=false" in result.stderr
