"""Delivery signatures: `X-Inboxd-Signature: sha256=<hex>`, the HMAC-SHA256 of the raw request
body keyed by the subscription's signing secret (the secret's UTF-8 bytes), so a receiver can
tell inboxd's requests from anyone else's. The secret is generated at import and shown once."""

from __future__ import annotations

import hashlib
import hmac
import secrets

SIGNATURE_HEADER = "X-Inboxd-Signature"
EVENT_ID_HEADER = "X-Inboxd-Event-Id"
PREFIX = "sha256="


def new_secret() -> str:
    return "whsec_" + secrets.token_urlsafe(32)


def sign(secret: str, body: bytes) -> str:
    return PREFIX + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def verify(secret: str, body: bytes, header: str | None) -> bool:
    """What a receiver does: recompute and compare in constant time."""
    return header is not None and hmac.compare_digest(sign(secret, body), header.strip())
