"""Running the real `inboxd` command in a subprocess, against the test's database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

INBOXD = [sys.executable, "-m", "inboxd"]


def cli_env(data_dir: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("INBOXD_")}
    env["INBOXD_DATA_DIR"] = str(data_dir)
    env.update(extra or {})
    return env


def run_cli(*args: str, env: dict[str, str], check: bool = True, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([*INBOXD, *args], env=env, capture_output=True, text=True, timeout=timeout)
    if check and result.returncode != 0:
        raise AssertionError(f"inboxd {' '.join(args)} exited {result.returncode}:\n{result.stdout}\n{result.stderr}")
    return result


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, procs: list[subprocess.Popen[bytes]], log: Path, timeout: float = 60) -> None:
    """Until `url`/healthz answers 200; fails with the log when a process exits or time runs out."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            if httpx.get(f"{url}/healthz", timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            pass
        assert all(p.poll() is None for p in procs) and time.monotonic() < deadline, log.read_text()
        time.sleep(0.1)


def stop_processes(procs: list[subprocess.Popen[bytes]], timeout: float = 20) -> None:
    """SIGTERM each, wait for it (SIGKILL after `timeout`)."""
    for proc in procs:
        if proc.poll() is None:
            proc.terminate()
    for proc in procs:
        try:
            proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)


@contextmanager
def serve_process(env: dict[str, str], *, log: Path | None = None, deadline: float = 60) -> Iterator[str]:
    """`inboxd serve` in a subprocess on a free port (its output in `log`); yields its URL, and
    stops it (SIGTERM, then a clean shutdown) at the end."""
    with inboxd_process(["serve"], "/healthz", env, log=log, deadline=deadline) as url:
        yield url


@contextmanager
def inboxd_process(
    args: list[str], ready_path: str, env: dict[str, str], *, log: Path | None = None, deadline: float = 60
) -> Iterator[str]:
    """`inboxd <args> --port <free port>` in a subprocess, once `ready_path` answers; yields its URL."""
    port = free_port()
    out = open(log, "w") if log else subprocess.DEVNULL  # noqa: SIM115 - closed below
    proc = subprocess.Popen([*INBOXD, *args, "--port", str(port)], env=env, stdout=out, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        until = time.monotonic() + deadline
        while True:
            try:
                httpx.get(f"{url}{ready_path}", timeout=2)
                break
            except httpx.TransportError:
                if proc.poll() is not None:
                    raise AssertionError(f"inboxd {args[0]} exited {proc.returncode}: {log.read_text() if log else ''}") from None
                if time.monotonic() > until:
                    raise AssertionError(f"inboxd {args[0]} did not come up") from None
                time.sleep(0.1)
        yield url
    finally:
        proc.terminate()
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)
        if log:
            out.close()  # type: ignore[union-attr]
