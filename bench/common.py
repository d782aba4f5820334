"""Plumbing shared by the scenarios: processes on loopback, peak RSS, wrk, databases, results.

Nothing here is imported by the product; the harness imports the product (to migrate and seed
the database the way the product would).
"""

from __future__ import annotations

import asyncio
import json
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
RESULTS = Path(os.environ.get("INBOXD_BENCH_RESULTS") or BENCH / "results")
LUA = BENCH / "lua"
PY = sys.executable
INBOXD = [PY, "-m", "inboxd"]
WRK = shutil.which("wrk") or "/usr/bin/wrk"
PG_URL = os.environ.get("INBOXD_BENCH_PG_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/test")

WRK_MISSING = (
    "wrk is not installed: it drives the HTTP load. Install it from Debian's packages:\n"
    "    sudo apt-get install wrk"
)


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def require_wrk() -> None:
    if not (shutil.which("wrk") or Path(WRK).exists()):
        raise SystemExit(WRK_MISSING)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def machine() -> dict[str, Any]:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem_gib = 0.0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal"):
                mem_gib = int(line.split()[1]) / 1024 / 1024
    except OSError:
        pass
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_gib, 1),
        "python": platform.python_version(),
        "kernel": platform.release(),
    }


def machine_label(m: dict[str, Any]) -> str:
    return f"{m['cores']} cores, {m['memory_gib']:g} GiB, Python {m['python']}"


# --- processes ---------------------------------------------------------------------------------

_LIVE: list[Proc] = []


@dataclass
class Proc:
    name: str
    args: list[str]
    env: dict[str, str]
    log_path: Path
    cwd: Path | None = None
    popen: subprocess.Popen[bytes] | None = None
    peak_rss_mb: float | None = None

    def start(self) -> Proc:
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        out = self.log_path.open("wb")
        self.popen = subprocess.Popen(
            self.args, env=self.env, stdout=out, stderr=subprocess.STDOUT, cwd=self.cwd, start_new_session=True
        )
        out.close()
        _LIVE.append(self)
        return self

    @property
    def pid(self) -> int:
        assert self.popen is not None
        return self.popen.pid

    def wait_http(self, url: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.popen is not None and self.popen.poll() is not None:
                raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{self.tail()}")
            try:
                if httpx.get(url, timeout=1.0).status_code < 500:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"{self.name} did not answer {url} in {timeout}s:\n{self.tail()}")

    def rss_mb(self) -> dict[str, float]:
        """Current and peak (VmHWM) resident memory of the process, MiB, from /proc."""
        out: dict[str, float] = {}
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith(("VmRSS:", "VmHWM:")):
                    key, value = line.split(":", 1)
                    out[key] = int(value.split()[0]) / 1024
        except OSError:
            pass
        return out

    def record_peak(self) -> float | None:
        peak = self.rss_mb().get("VmHWM")
        if peak is not None:
            self.peak_rss_mb = round(max(peak, self.peak_rss_mb or 0.0), 1)
        return self.peak_rss_mb

    def tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self, timeout: float = 15.0) -> None:
        if self.popen is None or self.popen.poll() is not None:
            if self in _LIVE:
                _LIVE.remove(self)
            return
        self.record_peak()
        self.popen.send_signal(signal.SIGTERM)
        try:
            self.popen.wait(timeout)
        except subprocess.TimeoutExpired:
            self.popen.kill()
            self.popen.wait(5)
        if self in _LIVE:
            _LIVE.remove(self)


def stop_all() -> None:
    for proc in list(reversed(_LIVE)):
        try:
            proc.stop()
        except Exception as exc:  # keep stopping the others
            log(f"stopping {proc.name}: {exc}")


@contextmanager
def processes() -> Iterator[list[Proc]]:
    """Every Proc started inside is stopped on the way out, whatever happens."""
    started: list[Proc] = []
    before = set(map(id, _LIVE))
    try:
        yield started
    finally:
        for proc in [p for p in reversed(_LIVE) if id(p) not in before]:
            try:
                proc.stop()
            except Exception as exc:
                log(f"stopping {proc.name}: {exc}")


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("INBOXD_", "MOCKPOST_"))}
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra or {})
    return env


@dataclass
class DbSpec:
    """Where an inboxd under test keeps its data: a fresh SQLite file or a fresh PG schema."""

    kind: str  # sqlite | postgresql
    url: str
    schema: str | None = None

    def env(self) -> dict[str, str]:
        env = {"INBOXD_DATABASE_URL": self.url}
        if self.schema:
            env["INBOXD_DATABASE_SCHEMA"] = self.schema
        return env


@contextmanager
def fresh_db(kind: str, workdir: Path) -> Iterator[DbSpec]:
    if kind == "sqlite":
        yield DbSpec("sqlite", f"sqlite+aiosqlite:///{(workdir / 'data' / 'inboxd.db').as_posix()}")
        return
    schema = f"inboxd_bench_{os.getpid()}_{secrets.token_hex(3)}"
    spec = DbSpec("postgresql", PG_URL, schema)
    try:
        yield spec
    finally:
        asyncio.run(drop_schema(schema))


async def drop_schema(schema: str) -> None:
    import sqlalchemy as sa

    from inboxd.store.db import Database

    db = Database(PG_URL)
    try:
        for attempt in range(1, 6):
            try:
                async with db.write() as conn:
                    await conn.execute(sa.text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
                return
            except sa.exc.DBAPIError as exc:
                # A server process still winding down can hold locks in the schema (PostgreSQL
                # then reports a deadlock with the DROP): wait for it and try again.
                if attempt == 5:
                    raise
                log(f"dropping schema {schema} failed ({str(exc.orig).splitlines()[0]}); trying again")
                await asyncio.sleep(attempt)
    finally:
        await db.dispose()


def start_inboxd(
    name: str, spec: DbSpec, workdir: Path, port: int, extra_env: dict[str, str] | None = None
) -> Proc:
    env = clean_env(
        {
            "INBOXD_DATA_DIR": str(workdir / "data"),
            "INBOXD_SIMULATOR": "false",
            "INBOXD_LOG_LEVEL": "warning",
            **spec.env(),
            **(extra_env or {}),
        }
    )
    proc = Proc(name, [*INBOXD, "serve", "--host", "127.0.0.1", "--port", str(port)], env, workdir / f"{name}.log")
    proc.start()
    proc.wait_http(f"http://127.0.0.1:{port}/healthz")
    return proc


@dataclass
class SimulatorSpec:
    port: int
    phone_number_id: str
    access_token: str
    app_secret: str
    display_phone_number: str
    proc: Proc | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


def start_simulator(name: str, workdir: Path, callback_url: str, *, mps: int, display_phone_number: str) -> SimulatorSpec:
    spec = SimulatorSpec(
        port=free_port(),
        phone_number_id=str(100000000000000 + secrets.randbelow(10**14)),
        access_token="BENCH" + secrets.token_hex(16),
        app_secret=secrets.token_hex(16),
        display_phone_number=display_phone_number,
    )
    args = [
        *INBOXD, "simulator", "--port", str(spec.port), "--callback-url", callback_url,
        "--app-secret", spec.app_secret, "--phone-number-id", spec.phone_number_id,
        "--access-token", spec.access_token, "--display-phone-number", display_phone_number,
        "--mps", str(mps), "--pair-burst", "0", "--no-window",
        "--sent-delay", "0", "--delivered-delay", "0", "--read-delay", "0",
    ]
    spec.proc = Proc(name, args, clean_env(), workdir / f"{name}.log").start()
    spec.proc.wait_http(f"{spec.url}/simulator")
    return spec


# --- wrk ---------------------------------------------------------------------------------------


@dataclass
class WrkResult:
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p90_ms: float
    p99_ms: float
    max_ms: float
    errors: dict[str, int]
    non_2xx: int = 0
    raw: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        return {
            "requests": self.requests, "duration_s": round(self.duration_s, 2), "rps": round(self.rps, 1),
            "p50_ms": round(self.p50_ms, 2), "p90_ms": round(self.p90_ms, 2), "p99_ms": round(self.p99_ms, 2),
            "max_ms": round(self.max_ms, 2), "errors": self.errors,
        }


def wrk_start(
    url: str, script: Path, *, connections: int, threads: int, duration: float, args: list[str], timeout_s: int = 30
) -> subprocess.Popen[str]:
    require_wrk()
    cmd = [
        WRK, "-t", str(threads), "-c", str(connections), "-d", f"{max(1, round(duration))}s",
        "--timeout", f"{timeout_s}s", "-s", str(script), url, "--", *args, str(threads),  # scripts read the count last
    ]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)


def wrk_finish(popen: subprocess.Popen[str]) -> WrkResult:
    out, _ = popen.communicate()
    for line in out.splitlines():
        if line.startswith("BENCHJSON "):
            data = json.loads(line[len("BENCHJSON ") :])
            break
    else:
        raise RuntimeError(f"wrk printed no result:\n{out}")
    duration = data["duration_us"] / 1e6
    return WrkResult(
        requests=data["requests"],
        duration_s=duration,
        rps=data["requests"] / duration if duration else 0.0,
        p50_ms=data["p50_us"] / 1000,
        p90_ms=data["p90_us"] / 1000,
        p99_ms=data["p99_us"] / 1000,
        max_ms=data["max_us"] / 1000,
        errors=data["errors"],
        raw=data,
    )


def wrk(url: str, script: Path, **kwargs: Any) -> WrkResult:
    return wrk_finish(wrk_start(url, script, **kwargs))


def merge_wrk(results: list[WrkResult]) -> dict[str, Any]:
    """Several wrk instances run side by side (one per API process): requests add up; the
    percentiles are the request-weighted mean for p50 and the worst for p99 (conservative)."""
    total = sum(r.requests for r in results)
    duration = max(r.duration_s for r in results)
    errors: dict[str, int] = {}
    for r in results:
        for k, v in r.errors.items():
            errors[k] = errors.get(k, 0) + v
    return {
        "requests": total,
        "duration_s": round(duration, 2),
        "rps": round(sum(r.rps for r in results), 1),
        "p50_ms": round(sum(r.p50_ms * r.requests for r in results) / max(total, 1), 2),
        "p99_ms": round(max(r.p99_ms for r in results), 2),
        "max_ms": round(max(r.max_ms for r in results), 2),
        "errors": errors,
        "per_process": [r.as_dict() for r in results],
    }


# --- profiling ---------------------------------------------------------------------------------


def pyspy_start(pid: int, out: Path, duration: float) -> subprocess.Popen[bytes] | None:
    """py-spy samples the process while the load runs (collapsed stacks, summarised later)."""
    exe = shutil.which("py-spy") or str(Path(PY).parent / "py-spy")
    if not Path(exe).exists():
        log("py-spy not found (pip install py-spy into .venv): no profile")
        return None
    return subprocess.Popen(
        [exe, "record", "--pid", str(pid), "--duration", str(max(1, int(duration))), "--rate", "200",
         "--format", "raw", "--output", str(out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )


def summarize_collapsed(path: Path, top: int = 60) -> dict[str, Any]:
    """Self and inclusive sample shares per function from py-spy's collapsed stacks, of the
    samples of the event loop's thread (SQLAlchemy's greenlet-run parts appear as roots of their
    own, e.g. `Connection.execute`)."""
    self_counts: dict[str, int] = {}
    incl_counts: dict[str, int] = {}
    total = 0
    try:
        lines = path.read_text(errors="replace").splitlines()
    except OSError:
        return {}
    for line in lines:
        stack, _, count_s = line.rpartition(" ")
        try:
            count = int(count_s)
        except ValueError:
            continue
        frames = [f for f in stack.split(";") if f]
        if not frames or any(f.startswith("Thread._bootstrap") for f in frames):
            continue  # idle helper threads (thread pools waiting for work): the event loop's thread only
        total += count
        names = [_frame_name(f) for f in frames]
        self_counts[names[-1]] = self_counts.get(names[-1], 0) + count
        for name in set(names):
            incl_counts[name] = incl_counts.get(name, 0) + count

    def share(d: dict[str, int]) -> list[tuple[str, float]]:
        return [(k, round(100 * v / total, 1)) for k, v in sorted(d.items(), key=lambda kv: -kv[1])[:top]]

    return {"samples": total, "self_pct": share(self_counts), "inclusive_pct": share(incl_counts)}


def _frame_name(frame: str) -> str:
    # py-spy raw frames look like "function (path/to/file.py:123)"
    name, _, where = frame.partition(" (")
    where = where.rstrip(")")
    file = where.rsplit(":", 1)[0]
    for marker in ("site-packages/", "src/"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{name} ({file})"


# --- results -----------------------------------------------------------------------------------


def save_result(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(parents=True, exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps(data, indent=1, sort_keys=False) + "\n")
    log(f"wrote {path}")
    return path


@contextmanager
def workdir(prefix: str) -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix=f"inboxd-bench-{prefix}-"))
    try:
        yield path
    finally:
        if not os.environ.get("INBOXD_BENCH_KEEP"):
            shutil.rmtree(path, ignore_errors=True)


def run_async(coro: Any) -> Any:
    return asyncio.run(coro)
