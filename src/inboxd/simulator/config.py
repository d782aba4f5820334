"""What a simulated WhatsApp Business number looks like and how Meta treats it.

One `SimulatorConfig` describes one business phone number of one WABA. It is mutable on
purpose: the control API changes delays and limits of a running simulator
(`PATCH /simulator/config`).
"""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from typing import Any

# Meta's documented defaults (reference §5): 80 messages/s per number; the pair rate limit is
# about one message per 6 s to one user, with bursts of up to 45.
DEFAULT_MPS = 80
DEFAULT_PAIR_BURST = 45
DEFAULT_PAIR_INTERVAL_SECONDS = 6.0
WINDOW_SECONDS = 24 * 60 * 60
MEDIA_URL_TTL_SECONDS = 5 * 60


def new_numeric_id(digits: int = 15) -> str:
    """Graph object ids are decimal strings (phone number ids, WABA ids, media ids)."""
    return str(10 ** (digits - 1) + secrets.randbelow(9 * 10 ** (digits - 1)))


@dataclass
class StatusDelays:
    """Seconds between an accepted message and its `sent` webhook, then between `sent` and
    `delivered`, and between `delivered` and `read`. `None` for delivered/read: never."""

    sent: float = 0.0
    delivered: float | None = 0.2
    read: float | None = 1.0


@dataclass
class SimulatorConfig:
    phone_number_id: str = field(default_factory=new_numeric_id)
    display_phone_number: str = "15550783881"
    access_token: str = field(default_factory=lambda: "SIM" + secrets.token_urlsafe(32))
    app_secret: str = field(default_factory=lambda: secrets.token_hex(16))
    waba_id: str = field(default_factory=new_numeric_id)
    callback_url: str | None = None
    # Base URL of the Graph routes as others reach them (for media URLs in inbound webhooks,
    # which are built outside any request). Answers to requests use the request's own URL.
    public_graph_url: str | None = None
    status_delays: StatusDelays = field(default_factory=StatusDelays)
    mps: int = DEFAULT_MPS  # 0: no throughput cap
    pair_burst: int = DEFAULT_PAIR_BURST  # 0: no pair rate limit
    pair_interval_seconds: float = DEFAULT_PAIR_INTERVAL_SECONDS
    enforce_window: bool = True
    template_approval_delay: float = 1.0  # seconds; negative: never approve automatically
    webhook_batch_max: int = 100  # Meta batches up to 1000 updates; smaller keeps POSTs quick
    webhook_batch_linger: float = 0.02  # seconds to gather updates that fall due together
    webhook_concurrency: int = 8
    webhook_timeout: float = 10.0
    webhook_max_attempts: int = 12
    webhook_max_backoff: float = 60.0
    # false: every webhook is dropped (counted `dropped_disabled`), as when the app's webhook
    # subscription or callback URL is broken — what inboxd's webhook-silence warning detects.
    webhooks_enabled: bool = True
    max_sent_per_contact: int = 10_000  # memory bound for long benchmark runs

    def __repr__(self) -> str:  # secrets stay out of logs and tracebacks
        return f"SimulatorConfig(phone_number_id={self.phone_number_id!r}, waba_id={self.waba_id!r})"

    def public_view(self) -> dict[str, Any]:
        """The configuration without its secrets (the control API shows this)."""
        view = asdict(self)
        for secret in ("access_token", "app_secret"):
            view.pop(secret)
        return view
