"""inboxd's own checks for the schemathesis run (loaded with `SCHEMATHESIS_HOOKS`; see fuzz.py),
beside schemathesis' built-in ones (no 5xx, status / content type / headers / schema conform
to the document, negative data refused, auth not ignored, …):

- every answer carries `X-Request-Id`;
- every 4xx carries the error body, whose `requestId` is that header;
- nothing is written by a request that was refused (4xx/5xx): the database's rows are the same
  after it as before. The server runs without workers, so only requests write; the columns that
  any request touches by design are left out (a token's `last_used_at`, the rate-limit buckets).
"""

from __future__ import annotations

import hashlib
import json
import os
import sqlite3
from typing import Any

import schemathesis

DATABASE = os.environ.get("INBOXD_FUZZ_DATABASE", "")
# Bookkeeping that refusals write by design: rate-limit buckets, failed sign-ins (the lockout
# counts them, docs/sign-in.md).
SKIP_TABLES = {"rate_limit_buckets", "alembic_version", "login_failures"}
SKIP_COLUMNS = {("api_tokens", "last_used_at")}


class Fingerprint:
    """A digest of every row, recomputed only when another connection committed something."""

    def __init__(self, path: str) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, check_same_thread=False)
        self.version: int | None = None
        self.digest = ""

    def now(self) -> str:
        version = self.conn.execute("PRAGMA data_version").fetchone()[0]
        if version != self.version:
            self.version, self.digest = version, self._digest()
        return self.digest

    def _digest(self) -> str:
        out = hashlib.sha256()
        # Ordinary tables only: a virtual table and its shadow tables (the search index, FTS5) are
        # derived from `chats` by triggers, so the chats' rows already tell of a write there.
        tables = sorted((r[1], bool(r[4])) for r in self.conn.execute("PRAGMA main.table_list") if r[2] == "table")
        for table, without_rowid in tables:
            if table in SKIP_TABLES or table.startswith("sqlite_"):
                continue
            columns = [r[1] for r in self.conn.execute(f'PRAGMA table_info("{table}")') if (table, r[1]) not in SKIP_COLUMNS]
            names = ", ".join(f'"{c}"' for c in columns)
            order = ", ".join(str(i + 1) for i in range(len(columns))) if without_rowid else "rowid"
            out.update(table.encode())
            for row in self.conn.execute(f'SELECT {names} FROM "{table}" ORDER BY {order}'):
                out.update(repr(row).encode())
        return out.hexdigest()


_fingerprint = Fingerprint(DATABASE) if DATABASE else None
_before: dict[int, str] = {}


@schemathesis.hook
def before_call(context: Any, case: Any, kwargs: Any) -> None:
    if _fingerprint is not None:
        _before[id(case)] = _fingerprint.now()


def _header(response: Any, name: str) -> str | None:
    values = response.headers.get(name)  # lowercase names, lists of values
    return values[0] if values else None


TEXT_LOCATIONS = {"query", "path", "header", "cookie"}
TYPE_KEYWORDS = {"type", "anyOf", "oneOf"}


@schemathesis.hook
def filter_failure(context: Any, failure: Any, case: Any, response: Any) -> bool:
    """Drop one kind of false alarm: "negative" data whose only fault is its JSON type, in a value
    that travels as text (a query, path or header parameter, a multipart field). `labels[]=5` is
    the string "5" to any server, and an empty array of form fields is no field at all; there is
    nothing to reject. (schemathesis excuses some of these itself, not arrays or multipart.)"""
    if getattr(failure, "code", "") != "ST201":
        return True
    data = getattr(getattr(case.meta, "phase", None), "data", None)
    mutations = getattr(data, "mutations", None) or []
    multipart = (case.media_type or "").startswith("multipart/")

    def as_text(mutation: Any) -> bool:
        location = mutation.parameter_location.value
        return location in TEXT_LOCATIONS or (location == "body" and multipart)

    def only_its_type(mutation: Any) -> bool:  # a type change, or breaking a union of types
        return mutation.operator.value == "change_type" or set(mutation.keywords) <= TYPE_KEYWORDS

    return not (mutations and all(only_its_type(m) and as_text(m) for m in mutations))


@schemathesis.check
def request_id_on_every_answer(ctx: Any, response: Any, case: Any) -> bool | None:
    if not _header(response, "x-request-id"):
        raise AssertionError("The answer has no X-Request-Id header")
    return None


@schemathesis.check
def error_body_on_every_4xx(ctx: Any, response: Any, case: Any) -> bool | None:
    if not 400 <= response.status_code < 500:
        return None
    try:
        body = json.loads(response.content)
    except ValueError:
        raise AssertionError(f"A {response.status_code} without a JSON error body: {response.content[:200]!r}") from None
    if not (isinstance(body, dict) and body.get("success") is False and isinstance(body.get("error"), str)
            and isinstance(body.get("code"), str) and isinstance(body.get("details"), list)):
        raise AssertionError(f"A {response.status_code} whose body is not the error body: {body!r:.300}")
    header = _header(response, "x-request-id")
    if header and body.get("requestId") != header:
        raise AssertionError(f"requestId {body.get('requestId')!r} is not the X-Request-Id {header!r}")
    return None


@schemathesis.check
def nothing_written_when_refused(ctx: Any, response: Any, case: Any) -> bool | None:
    before = _before.pop(id(case), None)
    if _fingerprint is None or before is None or response.status_code < 400:
        return None
    if _fingerprint.now() != before:
        raise AssertionError(f"The request was refused ({response.status_code}) but the database changed")
    return None
