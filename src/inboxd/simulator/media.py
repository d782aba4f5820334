"""Media objects: uploaded by the business (`POST …/media`) or sent by a simulated user. Bytes go
to a temporary directory; the metadata stays in memory.

Download URLs imitate Meta's (`…/whatsapp_business/attachments/?mid=…&ext=…&hash=…`): signed,
valid for 5 minutes, and useless without the Bearer token, so a client that caches URLs or
forgets the token fails here as it would against Meta.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import shutil
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from inboxd.simulator.config import MEDIA_URL_TTL_SECONDS, new_numeric_id

MB = 1024 * 1024

# What the Cloud API accepts for upload, with its size limits (reference §2.3).
UPLOAD_LIMITS: dict[str, int] = {
    "audio/aac": 16 * MB,
    "audio/amr": 16 * MB,
    "audio/mpeg": 16 * MB,
    "audio/mp4": 16 * MB,
    "audio/ogg": 16 * MB,
    "text/plain": 100 * MB,
    "application/pdf": 100 * MB,
    "application/vnd.ms-excel": 100 * MB,
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": 100 * MB,
    "application/msword": 100 * MB,
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": 100 * MB,
    "application/vnd.ms-powerpoint": 100 * MB,
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": 100 * MB,
    "image/jpeg": 5 * MB,
    "image/png": 5 * MB,
    "image/webp": 500 * 1024,  # stickers (animated ones; static ones are 100 KB)
    "video/3gpp": 16 * MB,
    "video/mp4": 16 * MB,
}
INBOUND_MAX = 100 * MB  # a user's file over this arrives as error 131052 on Meta


def base_mime(mime_type: str) -> str:
    return mime_type.split(";")[0].strip().lower()


def upload_problem(mime_type: str, size: int) -> str | None:
    """Why Meta would refuse this upload, or None."""
    limit = UPLOAD_LIMITS.get(base_mime(mime_type))
    if limit is None:
        return f"Unsupported media type {mime_type!r}; supported: {', '.join(sorted(UPLOAD_LIMITS))}"
    if size > limit:
        return f"The {base_mime(mime_type)} file is {size} bytes; the limit is {limit} bytes"
    if size == 0:
        return "The file is empty"
    return None


@dataclass(frozen=True)
class Media:
    id: str
    mime_type: str
    sha256: bytes
    size: int
    filename: str | None
    origin: str  # "upload" (by the business) or "inbound" (from a simulated user)
    created_at: float
    path: Path

    @property
    def sha256_hex(self) -> str:
        return self.sha256.hex()

    @property
    def sha256_b64(self) -> str:  # inbound webhooks carry the digest base64-encoded
        return base64.b64encode(self.sha256).decode()


class MediaStore:
    def __init__(self, directory: Path | None = None) -> None:
        self._own_dir = directory is None
        self.directory = Path(tempfile.mkdtemp(prefix="inboxd-simulator-media-")) if directory is None else directory
        self.directory.mkdir(parents=True, exist_ok=True)
        self._key = secrets.token_bytes(32)
        self.items: dict[str, Media] = {}

    def add(self, data: bytes, mime_type: str, *, filename: str | None, origin: str) -> Media:
        media_id = new_numeric_id(16)
        path = self.directory / media_id
        path.write_bytes(data)
        media = Media(
            id=media_id,
            mime_type=mime_type,
            sha256=hashlib.sha256(data).digest(),
            size=len(data),
            filename=filename,
            origin=origin,
            created_at=time.time(),
            path=path,
        )
        self.items[media_id] = media
        return media

    def get(self, media_id: str) -> Media | None:
        return self.items.get(media_id)

    def delete(self, media_id: str) -> bool:
        media = self.items.pop(media_id, None)
        if media is None:
            return False
        media.path.unlink(missing_ok=True)
        return True

    # --- download URLs -----------------------------------------------------------------------

    def _signature(self, media_id: str, expires: int) -> str:
        return hmac.new(self._key, f"{media_id}:{expires}".encode(), hashlib.sha256).hexdigest()[:32]

    def url_query(self, media: Media, now: float | None = None) -> str:
        expires = int(now if now is not None else time.time()) + MEDIA_URL_TTL_SECONDS
        return f"mid={media.id}&ext={expires}&hash={self._signature(media.id, expires)}"

    def resolve_url(self, media_id: str, expires: str, signature: str, now: float | None = None) -> Media | None:
        """The media a download URL points to, or None if it is forged, expired or deleted."""
        try:
            deadline = int(expires)
        except ValueError:
            return None
        if not hmac.compare_digest(self._signature(media_id, deadline), signature):
            return None
        if (now if now is not None else time.time()) > deadline:
            return None
        return self.items.get(media_id)

    def clear(self) -> None:
        for media_id in list(self.items):
            self.delete(media_id)

    def close(self) -> None:
        self.items.clear()
        if self._own_dir:
            shutil.rmtree(self.directory, ignore_errors=True)
