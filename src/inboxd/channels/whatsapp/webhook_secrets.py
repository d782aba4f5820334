"""The app secrets and verify tokens of the configured WhatsApp accounts, re-read every few
seconds, and at once when a signature does not match (so a newly added account works at once)."""

from __future__ import annotations

import time

from inboxd.store import accounts as accounts_store
from inboxd.store.db import Database


class WebhookSecrets:
    TTL = 5.0
    MIN_FORCED_INTERVAL = 0.5  # a flood of badly signed requests must not become a flood of queries

    def __init__(self, db: Database) -> None:
        self.db = db
        self.loaded_at = float("-inf")
        self.app_secrets: list[str] = []
        self.verify_tokens: list[str] = []

    def invalidate(self) -> None:
        """Read the secrets again on the next request (an account's secrets changed)."""
        self.loaded_at = float("-inf")

    async def load(self, *, force: bool = False) -> None:
        age = time.monotonic() - self.loaded_at
        if age < (self.MIN_FORCED_INTERVAL if force else self.TTL):
            return
        async with self.db.read() as conn:
            accounts = await accounts_store.list_accounts(conn, channel="whatsapp")
        self.app_secrets = sorted({a.app_secret for a in accounts})
        self.verify_tokens = sorted({a.verify_token for a in accounts})
        self.loaded_at = time.monotonic()
