# inboxd — the two commands that matter: `make run` and `make test`.
# Both create .venv on first use (Python 3.11+ is all they need).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
HOST ?= 127.0.0.1
PORT ?= 8080

.PHONY: run test fuzz bench install clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/inboxd migrate
	$(BIN)/inboxd agents first-admin --url http://$(HOST):$(PORT)/
	$(BIN)/inboxd serve --host $(HOST) --port $(PORT)

# The whole suite: every file but the browser tests in TEST_WORKERS processes (pytest-xdist, one
# file per worker at a time: module fixtures stay whole; each worker has its own PostgreSQL schema
# and SQLite files), then the browser tests (tests/web) on their own — Playwright's sync API holds
# an event loop for its whole session, which the asyncio tests of the same process cannot share.
# PYTEST_ARGS (a file, -k ...) runs just that, in one process: tests/web or other files, not both in one run.
TEST_WORKERS ?= 2
test: $(STAMP)
	@test -x /usr/bin/chromium || echo "notice: Chromium is not installed (Debian: apt-get install chromium): the web inbox's browser tests (tests/web) are skipped" >&2
ifeq ($(strip $(PYTEST_ARGS)),)
	$(BIN)/python -m pytest -n $(TEST_WORKERS) --dist loadfile --ignore=tests/web --durations=15
	$(BIN)/python -m pytest tests/web --durations=5
else
	$(BIN)/python -m pytest $(PYTEST_ARGS)
endif

# The schemathesis run of `make test` (tests/contract/test_fuzz.py), for longer and with a new
# seed each time: before a release. A failure prints its seed (FUZZ_SEED=<seed> replays it).
FUZZ_SECONDS ?= 900
fuzz: $(STAMP)
	FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_SEED=$${FUZZ_SEED:-random} $(BIN)/python -m pytest tests/contract/test_fuzz.py -q $(PYTEST_ARGS)

# Benchmarks (docs/benchmarks.md): needs wrk (Debian: apt-get install wrk) and PostgreSQL on
# 127.0.0.1:5432 for scenario 5 (INBOXD_BENCH_PG_URL). BENCH_ARGS=--quick for a smoke run.
bench: $(STAMP)
	@command -v wrk >/dev/null 2>&1 || { echo "wrk is not installed: it drives the load. Install it with: sudo apt-get install wrk" >&2; exit 1; }
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m bench all $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
