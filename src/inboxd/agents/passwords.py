"""Agents' passwords: argon2id (argon2-cffi, its RFC 9106 defaults). Hashing costs ~0.1-0.5 s of
CPU and 64 MiB by design, so it runs in a thread, never on the event loop."""

from __future__ import annotations

import asyncio
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

_HASHER = PasswordHasher()


async def hash_password(password: str) -> str:
    return await asyncio.to_thread(_HASHER.hash, password)


async def verify_password(password_hash: str | None, password: str) -> bool:
    """Whether `password` matches. With no hash (an unknown email, an agent without a password)
    a hash is still checked, so the answer takes as long either way."""
    target = password_hash or _unmatchable()
    try:
        return await asyncio.to_thread(_HASHER.verify, target, password) and password_hash is not None
    except (VerificationError, InvalidHashError):
        return False


def needs_rehash(password_hash: str) -> bool:
    """True when the hash was made with weaker parameters than today's (rehash at sign-in)."""
    return _HASHER.check_needs_rehash(password_hash)


@lru_cache(maxsize=1)
def _unmatchable() -> str:
    return _HASHER.hash("no agent has this password: it is only checked to take the usual time")
