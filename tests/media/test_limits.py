"""One table of WhatsApp's media limits (reference §2.3), MB read as 10^6 bytes."""

from __future__ import annotations

import pytest

from inboxd.media.limits import LIMITS, MAX_MEDIA_BYTES, MB, MediaType, limit_for


def test_the_table_matches_the_reference() -> None:
    assert MB == 1_000_000  # the conservative reading of Meta's "MB"
    expected = {
        "image": ({"image/jpeg", "image/png"}, 5),
        "video": ({"video/mp4", "video/3gpp"}, 16),
        "audio": ({"audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"}, 16),
        "document": (
            {
                "text/plain",
                "application/pdf",
                "application/msword",
                "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
                "application/vnd.ms-excel",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                "application/vnd.ms-powerpoint",
                "application/vnd.openxmlformats-officedocument.presentationml.presentation",
            },
            100,
        ),
    }
    assert {t.value for t in LIMITS} == set(expected)
    for name, (types, megabytes) in expected.items():
        limit = limit_for(name)
        assert set(limit.content_types) == types
        assert limit.max_bytes == megabytes * 1_000_000
    assert MAX_MEDIA_BYTES == 100 * MB


def test_unknown_media_type() -> None:
    with pytest.raises(ValueError):
        limit_for("sticker")
    assert limit_for(MediaType.IMAGE).allows("image/png") and not limit_for("image").allows("image/webp")
