from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from inboxd.domain.status import MessageStatus as S
from inboxd.domain.status import advances, apply_status


def test_read_before_delivered_keeps_read_and_records_both() -> None:
    status, history, changed = apply_status(S.SENT, [{"status": 1, "timestamp": 1000}], S.READ, 3000)
    assert (status, changed) == (S.READ, True)
    status, history, changed = apply_status(status, history, S.DELIVERED, 2000)
    assert status == S.READ and changed
    assert [e["status"] for e in history] == [1, 2, 3]


def test_repeat_changes_nothing() -> None:
    history = [{"status": 0, "timestamp": 1}, {"status": 2, "timestamp": 5}]
    assert apply_status(S.DELIVERED, history, S.DELIVERED, 9) == (S.DELIVERED, history, False)


def test_failed_is_terminal_and_provider_word_beats_channel_failed() -> None:
    assert advances(S.SENT, S.FAILED)
    assert not advances(S.FAILED, S.READ)
    assert advances(S.CHANNEL_FAILED, S.SENT)
    assert not advances(S.SENT, S.CHANNEL_FAILED)
    assert not advances(S.SENT, S.ACCEPTED)


@given(st.lists(st.tuples(st.sampled_from([S.SENT, S.DELIVERED, S.READ]), st.integers(0, 10**6)), max_size=12))
def test_status_never_moves_backwards_whatever_the_arrival_order(reports) -> None:  # type: ignore[no-untyped-def]
    status, history = int(S.ACCEPTED), [{"status": 0, "timestamp": 0}]
    seen = {0}
    for new, ts in reports:
        before = status
        status, history, _ = apply_status(status, history, new, ts)
        assert not advances(status, before)
        seen.add(int(new))
    assert status == max(seen)
    assert sorted(e["status"] for e in history) == sorted(seen)
