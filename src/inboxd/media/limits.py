"""What WhatsApp accepts per send media type: the content types and the largest size. One table.

Source: Meta's "Supported media types" (`reference/whatsapp-cloud-api.md` §2.3). Stickers
(`image/webp`) are not a Texter send media type, so they are not here.

**MB means 10^6 bytes.** Meta writes "MB" without saying which; the decimal reading is the
smaller one (5 MB = 5,000,000 bytes, not 5,242,880), so a file we accept is within Meta's limit
under either reading and never fails at Graph `/media` for its size.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from types import MappingProxyType

MB = 1_000_000


class MediaType(StrEnum):
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    DOCUMENT = "document"


@dataclass(frozen=True)
class MediaLimit:
    media_type: MediaType
    content_types: tuple[str, ...]  # ordered as Meta lists them, for messages
    max_bytes: int

    def allows(self, content_type: str) -> bool:
        return content_type in self.content_types

    @property
    def max_label(self) -> str:
        return f"{self.max_bytes // MB} MB"


DOCX = "application/vnd.openxmlformats-officedocument.wordprocessingml.document"
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
PPTX = "application/vnd.openxmlformats-officedocument.presentationml.presentation"
DOC = "application/msword"
XLS = "application/vnd.ms-excel"
PPT = "application/vnd.ms-powerpoint"

LIMITS: MappingProxyType[MediaType, MediaLimit] = MappingProxyType(
    {
        MediaType.IMAGE: MediaLimit(MediaType.IMAGE, ("image/jpeg", "image/png"), 5 * MB),
        MediaType.VIDEO: MediaLimit(MediaType.VIDEO, ("video/mp4", "video/3gpp"), 16 * MB),
        MediaType.AUDIO: MediaLimit(
            MediaType.AUDIO, ("audio/aac", "audio/amr", "audio/mpeg", "audio/mp4", "audio/ogg"), 16 * MB
        ),
        MediaType.DOCUMENT: MediaLimit(
            MediaType.DOCUMENT,
            ("text/plain", "application/pdf", DOC, DOCX, XLS, XLSX, PPT, PPTX),
            100 * MB,
        ),
    }
)

# The largest file any send media type takes: the cap for an upload that names no mediaType.
MAX_MEDIA_BYTES = max(limit.max_bytes for limit in LIMITS.values())


def limit_for(media_type: MediaType | str) -> MediaLimit:
    """The limits of one media type; `ValueError` for a name that is not one."""
    return LIMITS[MediaType(media_type)]
