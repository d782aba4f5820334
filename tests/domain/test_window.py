from __future__ import annotations

from inboxd.domain.window import SESSION_WINDOW_MS, session_window_open


def test_window() -> None:
    now = 10**13
    assert session_window_open(now - SESSION_WINDOW_MS + 1, now)
    assert not session_window_open(now - SESSION_WINDOW_MS, now)
    assert not session_window_open(None, now)
