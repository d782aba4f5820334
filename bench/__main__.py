"""`python -m bench <scenario> [--quick] [--duration S] [--profile]`.

Scenarios: send-async (1), send-e2e (2), inbound (3), history (4), postgres (5), live (6), all,
report. `all` runs 1–6 and writes docs/benchmarks.md; `report` rewrites it from bench/results/*.json.
"""

from __future__ import annotations

import argparse
import sys

from bench import report
from bench.common import log, require_wrk, stop_all
from bench.inbox_first_screen import run as inbox_first_screen
from bench.live_stream import live
from bench.scenarios import Config, history, inbound, postgres, send_async, send_e2e

SCENARIOS = {
    "send-async": lambda cfg: send_async(cfg),
    "send-e2e": lambda cfg: send_e2e(cfg),
    "inbound": lambda cfg: inbound(cfg),
    "history": lambda cfg: history(cfg),
    "postgres": lambda cfg: postgres(cfg),
    "live": lambda cfg: live(cfg),
    "inbox-first-screen": lambda cfg: inbox_first_screen(cfg),
}
ALIASES = {"1": "send-async", "2": "send-e2e", "3": "inbound", "4": "history", "5": "postgres", "6": "live", "7": "inbox-first-screen"}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("scenario", choices=[*SCENARIOS, *ALIASES, "all", "report"])
    parser.add_argument("--quick", action="store_true", help="a smoke run of a few seconds per scenario")
    parser.add_argument("--duration", type=float, help="seconds of measured load per run (overrides defaults)")
    parser.add_argument("--warmup", type=float, help="seconds of warm-up load before a measured run")
    parser.add_argument("--profile", action="store_true", help="py-spy the inboxd server during measured runs")
    parser.add_argument("--sizes", help="scenario 4: comma-separated message counts (default 10000,100000,1000000)")
    parser.add_argument("--chat-sizes", help="scenario 4: comma-separated chat counts of the filter searches "
                        "(default 10000,100000,1000000)")
    parser.add_argument("--no-baselines", action="store_true", help="inboxd alone: no FastAPI, mockpost, pywa, "
                        "granian or rate-limiter arms (a before/after run of another commit)")
    parser.add_argument("--no-report", action="store_true", help="do not rewrite docs/benchmarks.md")
    args = parser.parse_args(argv)
    if args.scenario == "report":
        report.write()
        return 0
    if args.scenario not in ("7", "inbox-first-screen"):
        require_wrk()  # scenario 7 drives a browser, not wrk
    cfg = Config(quick=args.quick, baselines=not args.no_baselines, duration=args.duration, profile=args.profile,
                 warmup=args.warmup,
                 sizes=[int(s) for s in args.sizes.split(",")] if args.sizes else None,
                 chat_sizes=[int(s) for s in args.chat_sizes.split(",")] if args.chat_sizes else None)
    names = list(SCENARIOS) if args.scenario == "all" else [ALIASES.get(args.scenario, args.scenario)]
    try:
        for name in names:
            log(f"scenario {name}")
            SCENARIOS[name](cfg)
    finally:
        stop_all()
    if not args.no_report and not args.quick:
        report.write()
    return 0


if __name__ == "__main__":
    sys.exit(main())
