from __future__ import annotations

from inboxd.domain.ids import is_id, new_id


def test_ids_are_24_hex_unique_and_time_ordered() -> None:
    ids = [new_id() for _ in range(5000)]
    assert all(is_id(i) for i in ids)
    assert len(set(ids)) == len(ids)
    assert ids == sorted(ids)
    assert new_id(now=1000) < new_id(now=2000)
