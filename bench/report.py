"""docs/benchmarks.md from bench/results/*.json (one run on one machine) and the hand-written
analysis in bench/analysis.md (what limited each missed target, with the profile evidence)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from bench import inbox_first_screen
from bench.common import RESULTS, ROOT, machine, machine_label

DOC = ROOT / "docs" / "benchmarks.md"
ANALYSIS = ROOT / "bench" / "analysis.md"
RSS_LIMIT = 250.0


def _load(name: str) -> dict[str, Any] | None:
    path = RESULTS / f"{name}.json"
    if not path.exists():
        return None
    return json.loads(path.read_text())


def _before(name: str) -> dict[str, Any] | None:
    """The same scenario run on the commit before issue 14's hot-path work, same day
    (`INBOXD_BENCH_RESULTS=bench/results/before`, the old commit's code on PYTHONPATH, `--no-baselines`)."""
    path = RESULTS / "before" / f"{name}.json"
    return json.loads(path.read_text()) if path.exists() else None


def _fmt(v: Any, unit: str = "") -> str:
    if v is None:
        return "–"
    if isinstance(v, float):  # three significant digits below 10 (a CPU time of 0.283 ms), else one decimal
        v = f"{v:.3g}" if abs(v) < 10 else f"{v:,.1f}" if abs(v) < 100 else f"{v:,.0f}"
    elif isinstance(v, int):
        v = f"{v:,}"
    return f"{v}{unit}"


def _ratio(a: float | None, b: float | None, invert: bool = False) -> str:
    if not a or not b:
        return "–"
    r = (b / a) if invert else (a / b)
    return f"{r:.2f}×"


def _load_average(figures: dict[str, Any]) -> str:
    """The 1-minute load average before and after a run: `a → b`."""
    load = figures.get("load_average") or []
    return f"{load[0]:g} → {load[3]:g}" if len(load) == 6 else "–"


def _latencies(figures: dict[str, Any] | None) -> str:
    if not figures:
        return "–"
    return " / ".join(_fmt(figures[f"commit_to_stream_{p}_ms"]) for p in ("p50", "p90", "p99", "max")) + " ms"


def _ok(flag: bool | None) -> str:
    return "–" if flag is None else ("**met**" if flag else "**missed**")


Row = tuple[str, str, str, str, str, str, str]


def rows() -> tuple[list[Row], list[tuple[str, bool | None]], str]:
    out: list[Row] = []
    targets: list[tuple[str, bool | None]] = []
    label = machine_label(machine())
    rss_all: list[float] = []

    s1 = _load("send_async")
    if s1:
        label = machine_label(s1["machine"])
        i, f, m = s1["inboxd"], s1.get("fastapi") or {}, s1.get("mockpost") or {}
        rss = max(x for x in i["peak_rss_mb"] if x)
        rss_all.append(rss)
        out += [
            ("1 Send async (SQLite, 1 process, 64 conns)", "requests/s", _fmt(i["rps"]),
             f"FastAPI ceiling {_fmt(f.get('rps'))}", _ratio(i["rps"], f.get("rps")), "≥ 4,000 and ≥ 0.5× ceiling", ""),
            ("", "requests/s vs mockpost", _fmt(i["rps"]), f"mockpost {_fmt(m.get('rps'))}", _ratio(i["rps"], m.get("rps")),
             "ahead (> 1×)", ""),
            ("", "p50 / p99 latency", f"{_fmt(i['p50_ms'])} / {_fmt(i['p99_ms'])} ms",
             f"FastAPI {_fmt(f.get('p50_ms'))} / {_fmt(f.get('p99_ms'))} ms; mockpost {_fmt(m.get('p50_ms'))} / "
             f"{_fmt(m.get('p99_ms'))} ms", "", "p99 ≤ 50 ms", ""),
            ("", "peak RSS", _fmt(rss, " MB"), f"FastAPI {_fmt(f.get('peak_rss_mb'), ' MB')}; mockpost "
             f"{_fmt(m.get('peak_rss_mb'), ' MB')}", "", "≤ 250 MB", ""),
            ("", "stored / answered", f"{_fmt(i['stored_messages'])} / {_fmt(i['requests'])}", "", "", "equal", ""),
        ]
        cpu_req = i.get("server_cpu_ms_per_request")
        b1 = (_before("send_async") or {}).get("inboxd") or {}
        out.append(("", "server CPU per request (/proc, the measured run)", _fmt(cpu_req, " ms"),
                    f"FastAPI {_fmt(f.get('server_cpu_ms_per_request'), ' ms')}; mockpost "
                    f"{_fmt(m.get('server_cpu_ms_per_request'), ' ms')}"
                    + (f"; before (same day) {_fmt(b1.get('server_cpu_ms_per_request'), ' ms')}, "
                       f"{_fmt(b1.get('rps'))} requests/s" if b1 else ""),
                    _ratio(cpu_req, f.get("server_cpu_ms_per_request")), "≤ 0.3 ms", ""))
        g = s1.get("granian") or {}
        if g.get("rps"):
            out.append(("", "the same app on granian (ASGI, uvloop): requests/s; p99; CPU per request",
                        f"{_fmt(g['rps'])}; {_fmt(g['p99_ms'])} ms; {_fmt(g.get('server_cpu_ms_per_request'), ' ms')}",
                        f"uvicorn (inboxd serve) {_fmt(i['rps'])}", _ratio(g["rps"], i["rps"]), "the faster is the default", ""))
        limiter = s1.get("limiter")
        if limiter:
            on, off = limiter["median_rps"]["on"], limiter["median_rps"]["off"]
            cpu = limiter.get("server_cpu_ms_per_request") or {}
            out.append(("", "rate limiter's cost: requests/s (median of paired ratios, ABBA rounds); server CPU/request",
                        f"{_fmt(on)} with / {_fmt(off)} without; {_fmt(cpu.get('on'))} / {_fmt(cpu.get('off'))} ms",
                        "", f"cost {limiter['cost_pct']} %; CPU {limiter.get('cpu_cost_pct')} %", "≤ 5 %", ""))
            targets.append(("Scenario 1: the rate limiter costs ≤ 5 %", limiter["cost_pct"] is not None
                            and limiter["cost_pct"] <= 5))
        targets += [
            ("Scenario 1: p99 ≤ 50 ms", i["p99_ms"] <= 50),
            ("Scenario 1: server CPU per request ≤ 0.3 ms", cpu_req is not None and cpu_req <= 0.3),
            ("Scenario 1: ≥ 0.5× the FastAPI ceiling", bool(f.get("rps")) and i["rps"] >= 0.5 * f["rps"]),
            ("Scenario 1: ahead of mockpost", bool(m.get("rps")) and i["rps"] > m["rps"]),
        ]

    s2 = _load("send_e2e")
    if s2:
        i = s2["inboxd"]
        rss = max(x for x in i["peak_rss_mb"] if x)
        rss_all.append(rss)
        backlog = i.get("backlog_at_load_end") or {}
        out += [
            (f"2 Send end to end (SQLite, sync, {s2['numbers']} numbers × 1,000 mps, {s2['connections']} conns, "
             f"{s2['duration_s']:g} s)", "messages/s fully delivered (status 3 applied during the load)",
             _fmt(i["delivered_per_s"]), "2 × 1,000 mps cap", "", "≥ 1,000 sustained 60 s", ""),
            ("", "sync sends accepted/s; all of them read, ÷ time to the last read",
             f"{_fmt(i.get('accepted_per_s'))}; {_fmt(i.get('accepted_to_read_per_s'))}", "", "", "", ""),
            ("", "read per second during the load: min / p10 / median", f"{_fmt(i['sustained_min_per_s'])} / "
             f"{_fmt(i['sustained_p10_per_s'])} / {_fmt(i['sustained_median_per_s'])}", "", "", "", ""),
            ("", "sync send p50 / p99", f"{_fmt(i['http']['p50_ms'])} / {_fmt(i['http']['p99_ms'])} ms", "", "", "", ""),
            ("", "accept→read p50 / p99", f"{_fmt(i['accept_to_read_p50_ms'])} / {_fmt(i['accept_to_read_p99_ms'])} ms",
             "", "", "", ""),
            ("", "backlog at load end: simulators' webhooks pending; inboxd events pending; not yet read",
             f"{backlog.get('simulator_webhooks_pending')}; {backlog.get('inboxd_events_pending')}; "
             f"{backlog.get('outgoing_not_read')}", "", "", "", ""),
            ("", "server CPU per fully delivered message (load start → all read)",
             _fmt(i.get("server_cpu_ms_per_message"), " ms"),
             *(_e2e_before(i)), "≤ 1.5 ms; read/s ≥ 3× before", ""),
            ("", "lost / duplicated", f"{i['lost']} / {i['duplicated']}", "", "", "0 / 0", ""),
            ("", "peak RSS (inboxd; simulators)", _fmt(rss, " MB"),
             f"simulators {', '.join(_fmt(x, ' MB') for x in i['simulator_peak_rss_mb'])}", "", "≤ 250 MB", ""),
        ]
        cpu2 = i.get("server_cpu_ms_per_message")
        targets.append(("Scenario 2: server CPU per fully delivered message ≤ 1.5 ms", cpu2 is not None and cpu2 <= 1.5))
        b2 = (_before("send_e2e") or {}).get("inboxd")
        targets.append(("Scenario 2: messages read per second ≥ 3× before (same day)",
                        None if not b2 else i["delivered_per_s"] >= 3 * b2["delivered_per_s"]))
        targets.append(("Scenario 2: 0 lost, 0 duplicated (on its own)", i["lost"] == 0 and i["duplicated"] == 0))

    s3 = _load("inbound")
    if s3:
        i, p = s3["inboxd"], s3.get("pywa") or {}
        rss_all.append(i["peak_rss_mb"] or 0)
        out += [
            (f"3 Inbound webhooks (SQLite, {s3['payloads']:,} signed payloads × {s3['events_per_payload']} events)",
             "events/s stored and processed", _fmt(i["events_per_s"]),
             f"pywa {_fmt(p.get('events_handled_per_s'))} handled (it dispatches the first event of each webhook; "
             f"{_fmt(p.get('events_received_per_s'))}/s acknowledged)",
             _ratio(i["events_per_s"], p.get("events_handled_per_s")), "≥ 5,000; ahead of pywa", ""),
            ("", "webhooks/s acknowledged (stored) while posting", _fmt(i["ingest_webhooks_per_s"]),
             f"pywa {_fmt(p.get('webhooks_per_s'))}", _ratio(i["ingest_webhooks_per_s"], p.get("webhooks_per_s")), "", ""),
            ("", "webhook POST p50 / p99", f"{_fmt(i['post_p50_ms'])} / {_fmt(i['post_p99_ms'])} ms",
             f"pywa {_fmt(p.get('post_p50_ms'))} / {_fmt(p.get('post_p99_ms'))} ms", "", "", ""),
            ("", "stored messages / expected", f"{_fmt(i['incoming_stored'])} / {_fmt(i['messages_expected'])}", "", "",
             "equal", ""),
            ("", "peak RSS", _fmt(i["peak_rss_mb"], " MB"), f"pywa {_fmt(p.get('peak_rss_mb'), ' MB')}", "", "≤ 250 MB", ""),
        ]
        b3 = (_before("inbound") or {}).get("inboxd")
        if b3:
            out.append(("", "before (same day): events/s; webhooks/s acknowledged", f"{_fmt(b3['events_per_s'])}; "
                        f"{_fmt(b3['ingest_webhooks_per_s'])}", "", _ratio(i["events_per_s"], b3["events_per_s"]),
                        "events/s ≥ 2× before", ""))
        targets.append(("Scenario 3: events/s ≥ 2× before (same day)",
                        None if not b3 else i["events_per_s"] >= 2 * b3["events_per_s"]))
        targets.append(("Scenario 3: ahead of pywa in events handled", bool(p.get("events_handled_per_s"))
                        and i["events_per_s"] > p["events_handled_per_s"]))
        targets.append(("Scenario 3: ahead of pywa in webhooks acknowledged per second", bool(p.get("webhooks_per_s"))
                        and i["ingest_webhooks_per_s"] > p["webhooks_per_s"]))

    s4 = _load("history")
    if s4:
        sizes = sorted(s4["sizes"], key=int)
        first, last = s4["sizes"][sizes[0]], s4["sizes"][sizes[-1]]
        for key, label_ in (("messages_page", "GET /messages/chat/{id} (deep pages of hot chats)"),
                            ("chats_search_term", "GET /chats/search?search=…"),
                            ("chats_search_list", "GET /chats/search (first pages)")):
            cells = "; ".join(f"{int(s):,}: {s4['sizes'][s][key]['p50_ms']:.2f} / {s4['sizes'][s][key]['p99_ms']:.2f} ms"
                              for s in sizes)
            out.append(("4 History scale (SQLite)" if key == "messages_page" else "", f"{label_} p50 / p99", cells,
                         f"p99 at {int(sizes[0]):,}", _ratio(last[key]["p99_ms"], first[key]["p99_ms"]),
                         "p99 at 1 M ≤ 2× p99 at 10 k", ""))
        rss = max(s4["sizes"][s]["peak_rss_mb"] or 0 for s in sizes)
        rss_all.append(rss)
        out.append(("", "peak RSS (largest)", _fmt(rss, " MB"), "", "", "≤ 250 MB", ""))
        full = int(sizes[-1]) >= 1_000_000 and int(sizes[0]) <= 10_000
        for k, what in (("messages_page", "GET /messages/chat/{id}"), ("chats_search_term", "GET /chats/search?search=…"),
                        ("chats_search_list", "GET /chats/search (no term)")):
            ok = last[k]["p99_ms"] <= 2 * first[k]["p99_ms"] if full else None
            targets.append((f"Scenario 4: {what} p99 at 1 M ≤ 2× p99 at 10 k "
                            f"({last[k]['p99_ms']:.1f} vs {first[k]['p99_ms']:.1f} ms)", ok))
        chat_out, chat_targets = _chat_scale_rows(s4.get("chat_sizes") or {})
        out += chat_out
        targets += chat_targets


    s5 = {k: _load(k) for k in ("send_async_postgresql_1api", "send_async_postgresql_2api",
                                "send_e2e_postgresql_1api", "send_e2e_postgresql_2api")}
    f_rps = (s1 or {}).get("fastapi", {}).get("rps") if s1 else None
    for key, r in s5.items():
        if not r:
            continue
        i = r["inboxd"]
        rss = max(x for x in i["peak_rss_mb"] if x)
        rss_all.append(rss)
        if key.startswith("send_async"):
            cpu5, cpu1 = i.get("server_cpu_ms_per_request"), (s1 or {}).get("inboxd", {}).get("server_cpu_ms_per_request")
            out.append((f"5 Send async, PostgreSQL, {r['api_processes']} API process(es)",
                        "requests/s, p50 / p99; server CPU per request",
                        f"{_fmt(i['rps'])}, {_fmt(i['p50_ms'])} / {_fmt(i['p99_ms'])} ms; {_fmt(cpu5, ' ms')}; "
                        f"peak RSS {_fmt(rss, ' MB')}",
                        f"FastAPI ceiling {_fmt(f_rps)}; SQLite's CPU {_fmt(cpu1, ' ms')}", _ratio(cpu5, cpu1),
                        "CPU ≤ 1.3× SQLite's", ""))
            if r["api_processes"] == 1:
                targets.append(("Scenario 5: CPU per async send on PostgreSQL ≤ 1.3× SQLite's",
                                None if not (cpu5 and cpu1) else cpu5 <= 1.3 * cpu1))
        else:
            out.append((f"5 Send e2e, PostgreSQL, {r['api_processes']} API process(es), {r['duration_s']:g} s",
                        "msg/s read; accept→read p50 / p99; lost / dup",
                        f"{_fmt(i['delivered_per_s'])}; {_fmt(i['accept_to_read_p50_ms'])} / "
                        f"{_fmt(i['accept_to_read_p99_ms'])} ms; {i['lost']} / {i['duplicated']}; peak RSS {_fmt(rss, ' MB')}",
                        "", "", "(scenario 2's)", ""))
    s6 = _load("live")
    if s6:
        i, ref = s6["inboxd"], s6.get("reference_2_streams")
        rss_all.append(i["peak_rss_mb"] or 0)
        base = s6.get("baseline_no_streams") or {}
        out += [
            (f"6 Live streams (SQLite, 1 process, {s6['streams']} streams, {s6['changes_per_s']:g} changes/s, "
             f"{s6['duration_s']:g} s; the shared machine's 1-min load average {_load_average(i)})",
             "commit → event on the stream p50 / p90 / p99 / max",
             _latencies(i), f"2 streams, same load: {_latencies(ref)}" if ref else "",
             _ratio(i["commit_to_stream_p99_ms"], (ref or {}).get("commit_to_stream_p99_ms")), "p99 ≤ 100 ms", ""),
            ("", "events/s; deliveries (events × streams) / expected; gaps / duplicates",
             f"{_fmt(i['events_per_s'])}; {_fmt(i['deliveries'])} / {_fmt(i['expected_deliveries'])}; "
             f"{i['gaps']} / {i['duplicates']}", "", "", "all; 0 / 0", ""),
            ("", "server CPU per event per stream (with streams − the changes' own CPU per event without)",
             _fmt(i["cpu_us_per_event_per_stream"], " µs"),
             f"server CPU per event without streams {_fmt(round(base['server_cpu_s'] / max(base['events'], 1) * 1e6) if base else None, ' µs')}",
             "", "reported", ""),
            ("", "peak RSS", _fmt(i["peak_rss_mb"], " MB"), "", "", "≤ 250 MB", ""),
        ]
        for kind, cost in (s6.get("send_path") or {}).items():
            if "with_log" not in cost:
                continue
            w, wo = cost["with_log"], cost["without_log"]
            out.append(("", f"send path ({kind}): accept CPU per send, statements per group transaction "
                        f"({cost['sends']:,} sends, {cost['concurrency']} at a time, median of {cost['rounds']})",
                        f"{_fmt(w['cpu_us_per_send'], ' µs')}; {_fmt(w['statements_per_transaction'])}",
                        f"without the log {_fmt(wo['cpu_us_per_send'], ' µs')}; {_fmt(wo['statements_per_transaction'])}",
                        f"{cost['cpu_ratio']:.2f}×", "a few statements per group", ""))
        p99 = i["commit_to_stream_p99_ms"]
        targets.append(("Scenario 6: commit → event on the stream p99 ≤ 100 ms", p99 is not None and p99 <= 100))
        targets.append(("Scenario 6: every stream gets every event, no gap, no duplicate",
                        i["deliveries"] == i["expected_deliveries"] and i["gaps"] == 0 and i["duplicates"] == 0))
    if rss_all:
        targets.append((f"Peak RSS of one server process ≤ 250 MB in every scenario (max {max(rss_all):.0f} MB)",
                        max(rss_all) <= RSS_LIMIT))
    return out, targets, label


def _e2e_before(i: dict[str, Any]) -> tuple[str, str]:
    b = (_before("send_e2e") or {}).get("inboxd")
    if not b:
        return "", ""
    return (f"before (same day): {_fmt(b.get('server_cpu_ms_per_message'), ' ms')}, {_fmt(b['delivered_per_s'])} read/s",
            _ratio(i["delivered_per_s"], b["delivered_per_s"]))


_CHAT_FILTERS = (
    ("chats_filter_pending_labels", "GET /chats/search?statuses[]=PENDING&labels[]=… (1–2 labels)", True),
    ("chats_filter_staff", "GET /chats/search?statuses[]=ASSIGNED&agentUid=… / PENDING&departmentId=…", False),
    ("chats_filter_labels_only", "GET /chats/search?labels[]=… (no other filter: counts the label's every chat)", False),
)


def _chat_scale_rows(by_size: dict[str, Any]) -> tuple[list[Row], list[tuple[str, bool | None]]]:
    """Scenario 4's chat scale: the filter searches at 10 k … 1 M chats of a worked inbox."""
    if not by_size:
        return [], []
    sizes = sorted(by_size, key=int)
    first, last = by_size[sizes[0]], by_size[sizes[-1]]
    out: list[Row] = []
    targets: list[tuple[str, bool | None]] = []
    full = int(sizes[-1]) >= 1_000_000 and int(sizes[0]) <= 10_000
    for i, (key, label_, has_target) in enumerate(_CHAT_FILTERS):
        cells = "; ".join(f"{int(s):,} chats: {by_size[s][key]['p50_ms']:.2f} / {by_size[s][key]['p99_ms']:.2f} ms"
                          for s in sizes)
        out.append(("4 Chat filters (SQLite, chats of a worked inbox)" if i == 0 else "", f"{label_} p50 / p99", cells,
                    f"p99 at {int(sizes[0]):,} chats", _ratio(last[key]["p99_ms"], first[key]["p99_ms"]),
                    "p99 at 1 M ≤ 2× p99 at 10 k" if has_target else "", ""))
        if has_target:
            ok = last[key]["p99_ms"] <= 2 * first[key]["p99_ms"] if full else None
            targets.append((f"Scenario 4: statuses[]=PENDING&labels[]=… p99 at 1 M chats ≤ 2× p99 at 10 k chats "
                            f"({last[key]['p99_ms']:.1f} vs {first[key]['p99_ms']:.1f} ms)", ok))
    return out, targets


PROFILED = (("send_async", "Scenario 1 (async send)"), ("send_e2e", "Scenario 2 (end to end)"))
PROFILE_ROWS = 15


def profiles_side_by_side() -> list[str]:
    """The py-spy summaries of the commit before issue 14 (`results/before/profile-*.json`) and of
    this one (`results/profile-*.json`), one table per scenario: the functions with the largest
    self share in either (where the CPU is spent: inclusive shares are led by the server's outer
    frames), their self and inclusive shares before and after. A function below a summary's
    cut-off (its 60 largest) shows as –."""
    lines: list[str] = []
    for name, title in PROFILED:
        after, before = _load(f"profile-{name}"), _before(f"profile-{name}")
        if not after or not before:
            continue
        if not lines:
            lines += ["", "## Profiles before and after issue 14 (scenarios 1 and 2)", "",
                      "`python -m bench <n> --no-baselines --profile` on the commit before issue 14's work and on "
                      "this one, in the same session (py-spy, shares of the event loop thread's samples; a "
                      "profiled run is slower, so shares, not times)."]
        incl_b, incl_a = dict(before["inclusive_pct"]), dict(after["inclusive_pct"])
        self_b, self_a = dict(before["self_pct"]), dict(after["self_pct"])
        names = sorted(set(self_b) | set(self_a), key=lambda f: -max(self_b.get(f, 0.0), self_a.get(f, 0.0)))
        lines += ["", f"### {title}: {before['samples']:,} samples before, {after['samples']:,} after", "",
                  "| function | self before | self after | inclusive before | inclusive after |",
                  "|---|---|---|---|---|"]
        for function in names[:PROFILE_ROWS]:
            cells = [_pct(d.get(function)) for d in (self_b, self_a, incl_b, incl_a)]
            lines.append(f"| `{function}` | " + " | ".join(cells) + " |")
    return lines


def _pct(share: float | None) -> str:
    return "–" if share is None else f"{share:.1f} %"


def write(doc: Path = DOC) -> Path:
    table, targets, label = rows()
    lines = [
        "# Benchmarks",
        "",
        "Produced by `make bench` (`python -m bench all`): every figure below comes from one run on one machine,",
        "with each baseline measured in the same run. The raw figures are in `bench/results/*.json`; how to run",
        "and what each scenario does is in `bench/README.md`. Benchmarks are never timed tests: nothing in the",
        "test suite asserts a figure.",
        "",
        f"Machine: {label}. Load: `wrk` (Debian's package, `apt-get install wrk`) with Lua scripts in `bench/lua/`,",
        "or, for webhooks that must be sent exactly once, `bench/loadgen.py` (its own CPU time is reported).",
        "",
        "| Scenario | Figure | inboxd | Baseline | Ratio | Target | Machine |",
        "|---|---|---|---|---|---|---|",
    ]
    for scenario, figure, value, baseline, ratio, target, _ in table:
        lines.append(f"| {scenario} | {figure} | {value} | {baseline} | {ratio} | {target} | {label if scenario else ''} |")
    lines += ["", "## Targets", ""]
    for text, flag in targets:
        lines.append(f"- {text}: {_ok(flag)}")
    lines += inbox_first_screen.report_section()
    lines += profiles_side_by_side()
    if ANALYSIS.exists():
        lines += ["", ANALYSIS.read_text().strip()]
    doc.write_text("\n".join(lines) + "\n")
    return doc
