"""The whole API fuzzed by schemathesis against a started `inboxd serve` (tests/contract/fuzz.py):
every operation, positive and negative data, stateful links; no 5xx, answers as documented, the
error body on every 4xx, nothing written by a refused request.

`make test` gives it `FUZZ_SECONDS` (default 120) of schemathesis time with a fixed seed
(`FUZZ_SEED`), so a build does not fail on a case no earlier build tried; `make fuzz` gives it
15 minutes and a new seed each time (`FUZZ_SEED=random`), to find what is new. It runs in a
network namespace of its own where the machine allows one."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.contract.fuzz import ROOT, isolated_command

SECONDS = float(os.environ.get("FUZZ_SECONDS", "120"))
SEED = os.environ.get("FUZZ_SEED", "256116818041035554423073023841213152448")


@pytest.mark.slow
def test_every_operation_survives_the_fuzzer(tmp_path: Path) -> None:
    seed = [] if SEED == "random" else ["--seed", SEED]
    command = isolated_command([sys.executable, "-m", "tests.contract.fuzz", "--seconds", str(SECONDS),
                                "--work", str(tmp_path), *seed])
    result = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=SECONDS + 300)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-20_000:]
    assert "Tested: " in output and " passed" in output
    server_log = (tmp_path / "server.log").read_text()
    assert '"status":500' not in server_log, "a 500 reached the access log"
