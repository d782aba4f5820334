"""The whole API fuzzed by schemathesis against a started `inboxd serve` (tests/contract/fuzz.py):
every operation, positive and negative data, stateful links; no 5xx, answers as documented, the
error body on every 4xx, nothing written by a refused request.

`make test` gives it `FUZZ_SECONDS` (default 120) of schemathesis time; `make fuzz` gives it
more. It runs in a network namespace of its own where the machine allows one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.fuzz import ROOT, isolated_command

SECONDS = float(os.environ.get("FUZZ_SECONDS", "120"))


@pytest.mark.slow
def test_every_operation_survives_the_fuzzer(tmp_path: Path) -> None:
    command = isolated_command([sys.executable, "-m", "tests.contract.fuzz", "--seconds", str(SECONDS),
                                "--work", str(tmp_path)])
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    assert "Tested: " in output and " passed" in output
    server_log = (tmp_path / "server.log").read_text()
    assert '"status":500' not in server_log, "a 500 reached the access log"
