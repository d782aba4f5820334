"""Agents' browser sessions (the web inbox's sign-in), their rules in one place (docs/sign-in.md):
the cookie, the CSRF token, the lockout after failed sign-ins. Pure: no I/O.

- The cookie `inboxd_session` holds a random 256-bit secret; the database keeps its SHA-256 only.
- The CSRF token is derived from the secret (a second hash, so it reveals nothing of the cookie
  and needs no column): a page reads it from `auth/login` or `auth/me` and sends it as
  `X-CSRF-Token` with every unsafe request. A cross-site form can send the cookie, never the header.
- 10 failed sign-ins for one email within 15 minutes lock that email out until the oldest of them
  is 15 minutes old (429 with `Retry-After`), whether or not an agent has it.
"""

from __future__ import annotations

import hashlib
import hmac
import math
import secrets

COOKIE_NAME = "inboxd_session"
CSRF_HEADER = "X-CSRF-Token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})

LOCKOUT_FAILURES = 10
LOCKOUT_WINDOW_MS = 15 * 60 * 1000

WRONG_CREDENTIALS = "Wrong email or password."


def new_secret() -> str:
    return secrets.token_urlsafe(32)


def csrf_token_for(secret: str) -> str:
    return hashlib.sha256(b"inboxd-csrf\x00" + secret.encode()).hexdigest()


def csrf_matches(secret: str, given: str | None) -> bool:
    return given is not None and hmac.compare_digest(csrf_token_for(secret), given.strip())


def lockout_retry_after(failures_ms: list[int], now: int) -> int | None:
    """Seconds until a sign-in for the email may be tried again, or None when it may be now.
    `failures_ms`: the times of its failures within the window, any order."""
    recent = sorted(t for t in failures_ms if t > now - LOCKOUT_WINDOW_MS)
    if len(recent) < LOCKOUT_FAILURES:
        return None
    # The lock lifts when enough of them have aged out that fewer than the limit remain.
    freeing = recent[len(recent) - LOCKOUT_FAILURES]
    return max(1, math.ceil((freeing + LOCKOUT_WINDOW_MS - now) / 1000))


def cookie_header(secret: str, *, max_age: int, secure: bool) -> str:
    """The `Set-Cookie` value of a new session (or, with an empty secret and max_age 0, its removal)."""
    parts = [f"{COOKIE_NAME}={secret}", "HttpOnly", "SameSite=Lax", "Path=/", f"Max-Age={max_age}"]
    if secure:
        parts.append("Secure")
    return "; ".join(parts)
