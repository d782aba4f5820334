"""`X-Hub-Signature-256`: HMAC-SHA256 of the raw request body, keyed by the Meta app secret."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable

HEADER = "X-Hub-Signature-256"


def sign(body: bytes, app_secret: str) -> str:
    return "sha256=" + hmac.new(app_secret.encode(), body, hashlib.sha256).hexdigest()


def signature_matches(body: bytes, header: str | None, app_secrets: Iterable[str]) -> bool:
    """True when the header is a valid signature of `body` under any of the app secrets
    (each compared in constant time)."""
    if not header or not header.startswith("sha256="):
        return False
    matched = False
    for secret in app_secrets:
        matched |= hmac.compare_digest(sign(body, secret), header)
    return matched
