"""Settings, in one place: every `INBOXD_*` environment variable the server reads.

The README's configuration table lists the same variables; `tests/test_config.py` checks that
the two agree.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

from inboxd.domain.rate_limits import Policy


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="INBOXD_", extra="ignore")

    data_dir: Path = Field(
        default=Path(".inboxd"),
        description="Directory for the embedded SQLite database and the local file store.",
    )
    database_url: str | None = Field(
        default=None,
        description=(
            "SQLAlchemy async URL: `sqlite+aiosqlite:///path.db` or "
            "`postgresql+asyncpg://user@host:5432/db`. Default: SQLite at `<data_dir>/inboxd.db`."
        ),
    )
    database_schema: str | None = Field(
        default=None,
        description="PostgreSQL schema to keep inboxd's tables in (default: the server's search_path).",
    )
    files_dir: Path | None = Field(
        default=None, description="Local file store directory. Default: `<data_dir>/files`."
    )
    public_url: str | None = Field(
        default=None,
        description="Base URL of public file links. Default: the URL the request came in on.",
    )
    host: str = Field(default="127.0.0.1", description="Address `inboxd serve` listens on.")
    port: int = Field(default=8080, description="Port `inboxd serve` listens on.")
    simulator: bool = Field(
        default=True,
        description=(
            "Mount the WhatsApp Cloud API simulator in `serve` and create the sandbox channel "
            "account on first start. `false` leaves both out."
        ),
    )
    send_wait_seconds: float = Field(
        default=10.0,
        ge=0,
        description="How long Send a Message waits for the channel's answer before responding.",
    )
    media_allow_private_urls: bool = Field(
        default=False,
        description="Allow media URLs on private, loopback and link-local addresses (tests only).",
    )
    media_connect_timeout: float = Field(default=5.0, description="Media download connect timeout, s.")
    media_read_timeout: float = Field(default=30.0, description="Media download read timeout, s.")
    workers: int = Field(
        default=2, ge=0, description="Delivery and inbound worker tasks inside `serve` (0: none)."
    )
    graph_timeout_seconds: float = Field(
        default=20.0, gt=0, description="Read timeout of calls to the Graph API (connect: 5 s)."
    )
    delivery_lease_seconds: float = Field(
        default=30.0, gt=0, description="How long a worker holds an outgoing message it is sending."
    )
    delivery_doubt_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "When a send's outcome is unknown (worker died, timeout after the request went out), how long to "
            "wait for the channel's status webhook before sending again."
        ),
    )
    delivery_max_attempts: int = Field(
        default=12, ge=1, description="Attempts before an outgoing message is marked channel failed (status 5)."
    )
    delivery_retry_max_seconds: float = Field(
        default=60.0, gt=0, description="Longest backoff between two attempts to send a message."
    )
    webhook_retention_days: float = Field(
        default=7.0,
        gt=0,
        description="How long processed raw webhook bodies are kept (Meta offers no way to fetch them again).",
    )
    inbound_retry_max_seconds: float = Field(
        default=300.0, description="Longest backoff between retries of a failed inbound webhook event."
    )
    default_country_code: str | None = Field(
        default=None,
        description="Country calling code for national phone numbers (e.g. `972`), used by Send Template.",
    )
    template_stop_words: str = Field(
        default="הסר,STOP",
        description=(
            "Comma-separated words that unsubscribe a contact from template messages when the contact "
            "writes one of them as the whole message (case-insensitive)."
        ),
    )
    events_retry_horizon_seconds: float = Field(
        default=86400.0,
        gt=0,
        description=(
            "How long inboxd keeps retrying an event subscription delivery (network error, 5xx, 408, 429) "
            "before giving up on that event, counted from the event."
        ),
    )
    events_retry_max_seconds: float = Field(
        default=600.0, gt=0, description="Longest backoff between two attempts to deliver an event."
    )
    events_timeout_seconds: float = Field(
        default=10.0, gt=0, description="Time limit of one event delivery request, connect to last response byte."
    )
    events_allow_private_urls: bool = Field(
        default=False,
        description=(
            "Allow event subscription URLs on private, loopback and link-local addresses (receivers on the "
            "operator's own network, tests). Off: only public addresses, checked on every connection."
        ),
    )
    events_runs_retention_days: float = Field(
        default=7.0, gt=0, description="How long finished event deliveries (runs) and their attempts are kept."
    )
    # --- several machines: the file store, shutdown, database timeouts (README "Several machines") ---
    files_url: str | None = Field(
        default=None,
        description=(
            "Where files are stored: `s3://bucket/prefix` for an S3-compatible bucket (AWS S3, MinIO, R2, Ceph), "
            "`file:///path` for a directory. Default: the local directory `INBOXD_FILES_DIR`."
        ),
    )
    s3_endpoint_url: str | None = Field(
        default=None,
        description="S3 endpoint (MinIO, R2, Ceph: `https://host:port`). Default: `AWS_ENDPOINT_URL_S3`, else AWS.",
    )
    s3_region: str | None = Field(default=None, description="S3 region. Default: `AWS_REGION`, else `us-east-1`.")
    s3_access_key_id: str | None = Field(
        default=None, description="S3 access key id. Default: the standard AWS chain (`AWS_ACCESS_KEY_ID`, profiles, roles)."
    )
    s3_secret_access_key: SecretStr | None = Field(
        default=None, description="S3 secret access key (with `INBOXD_S3_ACCESS_KEY_ID`). Default: the standard AWS chain."
    )
    s3_addressing_style: Literal["path", "virtual", "auto"] | None = Field(
        default=None, description="S3 addressing style. Default: `path` with a custom endpoint, `virtual` on AWS."
    )
    files_public_links: Literal["stream", "redirect"] = Field(
        default="stream",
        description=(
            "How a public file link serves an S3-stored file: `stream` (through inboxd) or `redirect` (303 to a "
            "presigned S3 URL valid `INBOXD_FILES_PRESIGN_SECONDS`). Local files are always served by inboxd."
        ),
    )
    files_presign_seconds: int = Field(
        default=300, ge=1, le=604800, description="Lifetime of the presigned URL a redirected public link points to."
    )
    shutdown_seconds: float = Field(
        default=20.0,
        gt=0,
        description=(
            "On SIGTERM, how long a process may finish the work it holds before it gives back what is left "
            "(outgoing messages, webhook events, event deliveries) and exits."
        ),
    )
    database_connect_timeout: float = Field(
        default=5.0, gt=0, description="PostgreSQL: how long opening a connection may take, s."
    )
    database_statement_timeout: float = Field(
        default=15.0, gt=0, description="PostgreSQL: how long one statement may run before it is cancelled, s."
    )
    database_pool_timeout: float = Field(
        default=10.0, gt=0, description="How long a request waits for a free database connection, s."
    )
    # --- channel health (docs/channel-health.md) ---
    health_webhook_silence_hours: float = Field(
        default=6.0,
        gt=0,
        description=(
            "A channel whose sends succeed but from which no webhook at all has arrived for this long gets the "
            "warning `whatsapp_webhooks_not_received`."
        ),
    )
    health_quality_check_minutes: float = Field(
        default=60.0,
        gt=0,
        description=(
            "How often each number's quality rating is read from Graph (also at once after a "
            "`phone_number_quality_update` webhook)."
        ),
    )
    # --- the live stream (docs/live.md)
    live_retention_hours: float = Field(
        default=24.0,
        gt=0,
        description=(
            "How long the live event log keeps events for streams that reconnect with Last-Event-ID; a stream "
            "resuming from an older id gets a `resync` event."
        ),
    )
    live_ping_seconds: float = Field(
        default=15.0, gt=0, description="Interval of the comment line that keeps idle live streams open through proxies."
    )
    live_buffer_events: int = Field(
        default=1000,
        ge=1,
        description=(
            "Events a live stream may fall behind before it is dropped (its client reconnects with Last-Event-ID "
            "and is replayed the rest from the log)."
        ),
    )
    log_level: str = Field(default="info", description="Log level: debug, info, warning, error.")
    # --- API contract: log format, access log, rate limits (docs/api-contract.md) ---
    log_format: Literal["text", "json"] = Field(
        default="text",
        description="`text` lines, or `json`: one object a line (time, level, logger, message, request_id; "
        "access lines add method, route, status, duration_ms).",
    )
    access_log: bool = Field(
        default=True, description="One log line per HTTP request (route template, status, duration; never the query)."
    )
    rate_limits: bool = Field(
        default=True,
        description="Limit requests per API token (and per client address without one): a token bucket shared by "
        "all processes through the database. `false` turns the limiter off.",
    )
    rate_limit_per_second: float = Field(
        default=50.0, gt=0, description="Default sustained rate of a token (or client address), requests/s."
    )
    rate_limit_burst: int = Field(
        default=100, ge=1, description="Default burst of a token (or client address): the bucket's size, requests."
    )

    # --- sign-in and presence (docs/sign-in.md) ---
    session_hours: float = Field(
        default=12.0,
        gt=0,
        description="How long an agent's browser session (the web inbox's sign-in cookie) lasts after sign-in, hours.",
    )
    presence_grace_seconds: float = Field(
        default=30.0,
        ge=0,
        description=(
            "After an agent's last live stream closes, how long before they turn `offline` (a reload or a short "
            "network drop reconnects within it)."
        ),
    )

    @cached_property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'inboxd.db').as_posix()}"

    @cached_property
    def resolved_files_dir(self) -> Path:
        return self.files_dir or (self.data_dir / "files")


def default_policy(settings: Settings) -> Policy:
    """The rate limit of a token without its own, and of a client address."""
    return Policy(settings.rate_limit_per_second, settings.rate_limit_burst)


def load_settings(**overrides: object) -> Settings:
    return Settings(**overrides)  # type: ignore[arg-type]
