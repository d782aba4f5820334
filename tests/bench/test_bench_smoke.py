"""The benchmark harness's plumbing, briefly (bench/): it must not rot. Nothing here asserts a
timing — benchmarks are measured by `make bench`, never by tests."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

wrk_missing = shutil.which("wrk") is None and not Path("/usr/bin/wrk").exists()
pytestmark = [pytest.mark.slow, pytest.mark.skipif(wrk_missing, reason="wrk is not installed (apt-get install wrk)")]


@pytest.fixture
def results(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    from bench import common, report

    out = tmp_path / "results"
    monkeypatch.setattr(common, "RESULTS", out)
    monkeypatch.setattr(report, "RESULTS", out)
    return out


def test_history_at_a_tiny_size_and_the_report(results: Path, tmp_path: Path) -> None:
    from bench.scenarios import Config, history

    from bench import report

    data = history(Config(quick=True, duration=1, warmup=0, sizes=[300, 600], chat_sizes=[300]))
    assert set(data["sizes"]) == {"300", "600"}
    filters = data["chat_sizes"]["300"]
    for key in ("chats_filter_pending_labels", "chats_filter_staff", "chats_filter_labels_only"):
        assert filters[key]["requests"] > 0 and filters[key]["errors"]["status"] == 0, filters[key]
    for figures in data["sizes"].values():
        for key in ("messages_page", "chats_search_term", "chats_search_list"):
            assert figures[key]["requests"] > 0
            assert figures[key]["errors"]["status"] == 0, figures[key]
        assert figures["peak_rss_mb"] > 0
    assert json.loads((results / "history.json").read_text())["scenario"] == "history"
    doc = report.write(tmp_path / "benchmarks.md")
    assert "History scale" in doc.read_text() and "Chat filters" in doc.read_text()


def test_send_async_for_two_seconds_with_the_framework_baseline(results: Path) -> None:
    from bench.scenarios import Config, send_async

    data = send_async(Config(quick=True, duration=2, warmup=0), baselines=("fastapi",))
    inboxd = data["inboxd"]
    assert inboxd["requests"] > 0
    assert inboxd["errors"]["status"] == 0
    assert inboxd["stored_messages"] >= inboxd["requests"]  # every answered send was stored
    assert data["fastapi"]["requests"] > 0
    assert (results / "send_async.json").exists()


def test_live_streams_briefly(results: Path) -> None:
    from bench.live_stream import live
    from bench.scenarios import Config

    data = live(Config(quick=True, duration=2, warmup=0))
    inboxd = data["inboxd"]
    assert inboxd["changes"]["errors"] == 0 and inboxd["events_in_window"] > 0
    assert inboxd["deliveries"] == inboxd["expected_deliveries"]  # every stream got every event of the window
    assert inboxd["gaps"] == 0 and inboxd["duplicates"] == 0
    assert (results / "live.json").exists()
