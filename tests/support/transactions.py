"""Counting the write transactions a piece of code opens (grouping tests)."""

from __future__ import annotations

from typing import Any

import pytest

from inboxd.store.db import Database


def count_write_transactions(db: Database, monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """`db.write` counted from now on: the returned list's one item is the count so far."""
    calls = [0]
    real = db.write

    def counting(**kwargs: Any) -> Any:
        calls[0] += 1
        return real(**kwargs)

    monkeypatch.setattr(db, "write", counting)
    return calls
