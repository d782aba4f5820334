"""`inboxd simulator`: the WhatsApp Cloud API simulator as a server of its own, for tests,
benchmarks and users' integration tests. It prints the values it uses (they are the simulator's,
not real secrets) so a client can be pointed at it."""

from __future__ import annotations

from dataclasses import MISSING, fields
from typing import Annotated

import typer

from inboxd.cli.common import setup_logging
from inboxd.simulator.config import SimulatorConfig, StatusDelays

# The defaults live in the configuration classes; the options show them.
_DEFAULT = {f.name: f.default for f in fields(SimulatorConfig) if f.default is not MISSING}
_DELAYS = StatusDelays()


def run_simulator(
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="Port to listen on.")] = 8090,
    callback_url: Annotated[
        str | None, typer.Option("--callback-url", help="Where webhooks go, e.g. http://127.0.0.1:8080/webhooks/whatsapp.")
    ] = None,
    app_secret: Annotated[
        str | None, typer.Option("--app-secret", help="Signs the webhooks (default: generated).")
    ] = None,
    phone_number_id: Annotated[str | None, typer.Option("--phone-number-id", help="Default: generated.")] = None,
    access_token: Annotated[
        str | None, typer.Option("--access-token", help="The Bearer token Graph calls need (default: generated).")
    ] = None,
    waba_id: Annotated[str | None, typer.Option("--waba-id", help="Default: generated.")] = None,
    display_phone_number: Annotated[
        str, typer.Option("--display-phone-number", help="The business number in webhooks.")
    ] = _DEFAULT["display_phone_number"],
    public_url: Annotated[
        str | None, typer.Option("--public-url", help="Base URL clients reach this server at (media URLs in webhooks).")
    ] = None,
    mps: Annotated[int, typer.Option("--mps", min=0, help="Throughput cap, messages/s (0: none).")] = _DEFAULT["mps"],
    pair_burst: Annotated[
        int, typer.Option("--pair-burst", min=0, help="Burst of messages to one user (0: no pair limit).")
    ] = _DEFAULT["pair_burst"],
    pair_interval: Annotated[
        float, typer.Option("--pair-interval", min=0, help="Seconds per message to one user after a burst.")
    ] = _DEFAULT["pair_interval_seconds"],
    sent_delay: Annotated[float, typer.Option("--sent-delay", min=0, help="Seconds to the `sent` status.")] = _DELAYS.sent,
    delivered_delay: Annotated[
        float, typer.Option("--delivered-delay", help="Seconds from sent to `delivered` (-1: never).")
    ] = _DELAYS.delivered if _DELAYS.delivered is not None else -1,
    read_delay: Annotated[float, typer.Option("--read-delay", help="Seconds from delivered to `read` (-1: never).")] = (
        _DELAYS.read if _DELAYS.read is not None else -1
    ),
    no_window: Annotated[
        bool, typer.Option("--no-window", help="Do not enforce the 24-hour window (no 131047).")
    ] = False,
    template_approval_delay: Annotated[
        float, typer.Option("--template-approval-delay", help="Seconds until a new template is approved (-1: never).")
    ] = _DEFAULT["template_approval_delay"],
    webhook_batch_max: Annotated[
        int, typer.Option("--webhook-batch-max", min=1, max=1000, help="Most updates in one webhook POST.")
    ] = _DEFAULT["webhook_batch_max"],
    log_level: Annotated[str, typer.Option("--log-level")] = "warning",
) -> None:
    """Run the WhatsApp Cloud API simulator on its own."""
    import uvicorn

    from inboxd.simulator import Simulator, create_simulator_app

    setup_logging(log_level)
    config = SimulatorConfig(
        display_phone_number=display_phone_number,
        callback_url=callback_url,
        status_delays=StatusDelays(
            sent=sent_delay,
            delivered=None if delivered_delay < 0 else delivered_delay,
            read=None if read_delay < 0 else read_delay,
        ),
        mps=mps,
        pair_burst=pair_burst,
        pair_interval_seconds=pair_interval,
        enforce_window=not no_window,
        template_approval_delay=template_approval_delay,
        webhook_batch_max=webhook_batch_max,
    )
    for name, value in (
        ("app_secret", app_secret),
        ("phone_number_id", phone_number_id),
        ("access_token", access_token),
        ("waba_id", waba_id),
    ):
        if value:
            setattr(config, name, value)
    base = (public_url or f"http://{'127.0.0.1' if host in ('0.0.0.0', '') else host}:{port}").rstrip("/")
    config.public_graph_url = base
    sim = Simulator(config)
    # Printed, not logged: these are what a client needs to talk to the simulator.
    typer.echo(f"graph url:            {base}  (e.g. {base}/v23.0/{config.phone_number_id}/messages)")
    typer.echo(f"control api:          {base}/simulator  (docs: {base}/docs)")
    typer.echo(f"phone number id:      {config.phone_number_id}")
    typer.echo(f"display phone number: {config.display_phone_number}")
    typer.echo(f"waba id:              {config.waba_id}")
    typer.echo(f"access token:         {config.access_token}")
    typer.echo(f"app secret:           {config.app_secret}")
    typer.echo(f"callback url:         {config.callback_url or '(none: webhooks are not sent)'}")
    typer.echo(f"mps: {mps}  pair burst: {pair_burst}/{pair_interval:g}s  window: {'off' if no_window else '24h'}")
    uvicorn.run(
        create_simulator_app(sim),
        host=host,
        port=port,
        loop="uvloop",
        http="httptools",
        log_level=log_level,
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
