"""Media for sending: a file from a URL, from an upload, or by `fileId`, checked against
WhatsApp's limits for the requested media type, stored once, and described the same way.

    media = await ingest_url("https://example.com/a.png", "image", db=services.db,
                             files=services.files, settings=services.settings,
                             path="body.media[0].url")
    media = await load_file(file_id, "image", db=services.db, path="body.media[1].fileId")
    # either way: MediaFile(file_id, sha256, size, content_type, filename)

Failures are `ApiError`s whose `details` name the caller's JSON `path`:
- bad URL, forbidden address, unreachable, HTTP error status, timeout, empty, unknown fileId
  → `InvalidRequest` (400);
- larger than the media type's limit → `PayloadTooLarge` (413), found from Content-Length
  before the body is read, or as soon as the bytes pass the limit;
- bytes of a type the media type does not take → `UnsupportedMediaType` (415), usually after
  the first 8 KiB.
A failure leaves nothing behind: the bytes go to a temp file that the file store deletes
unless the whole download succeeds and passes every check, and the `files` row is inserted
only after that.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from dataclasses import dataclass
from typing import Any

from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType, problem
from inboxd.domain.ids import is_id
from inboxd.media.fetch import FetchFailed, FetchOptions, fetch
from inboxd.media.filenames import filename_from_response, sanitize_filename
from inboxd.media.filestore import FileStore, StoredBlob, TooLarge
from inboxd.media.limits import MAX_MEDIA_BYTES, MediaLimit, MediaType, limit_for
from inboxd.media.sniff import Sniffer
from inboxd.media.ssrf import UrlRefused
from inboxd.store import files as files_store
from inboxd.store.db import Database


@dataclass(frozen=True)
class MediaFile:
    file_id: str
    sha256: str
    size: int
    content_type: str
    filename: str | None

    def as_json(self) -> dict[str, Any]:
        return {
            "fileId": self.file_id,
            "filename": self.filename,
            "contentType": self.content_type,
            "size": self.size,
            "sha256": self.sha256,
        }


async def ingest_url(
    url: str,
    media_type: MediaType | str,
    *,
    db: Database,
    files: FileStore,
    settings: Settings,
    path: str,
    filename: str | None = None,
    options: FetchOptions | None = None,
) -> MediaFile:
    """Download `url`, check it as `media_type`, store it and record it (source `url`)."""
    limit = _limit(media_type, path)
    options = options or FetchOptions.from_settings(settings)
    try:
        async with asyncio.timeout(options.total_timeout):
            async with fetch(url, options) as fetched:
                declared = fetched.declared_length
                if declared is not None and declared > limit.max_bytes:
                    raise _too_large(limit.max_bytes, limit, path)
                async with aclosing(fetched.chunks()) as chunks:
                    blob, content_type = await _store_checked(chunks, limit, files, path)
                name = sanitize_filename(filename) or filename_from_response(fetched.response.headers, fetched.url)
    except UrlRefused as exc:
        raise InvalidRequest(exc.reason, code=exc.code, details=[problem(path, exc.reason)]) from None
    except FetchFailed as exc:
        raise InvalidRequest(exc.reason, code=exc.code, details=[problem(path, exc.reason)]) from None
    except TimeoutError:
        reason = f"Downloading the media took longer than {options.total_timeout:g} s."
        raise InvalidRequest(reason, code="media_url_unreachable", details=[problem(path, reason)]) from None
    return await _record(db, blob, content_type, name, source="url")


async def ingest_stream(
    chunks: AsyncIterator[bytes],
    media_type: MediaType | str | None,
    *,
    db: Database,
    files: FileStore,
    path: str,
    filename: str | None = None,
    source: str = "upload",
) -> MediaFile:
    """Store a stream of bytes (an upload) and record it. With `media_type`, that type's rules
    apply; without, any type up to the largest media limit is taken, typed by its bytes."""
    limit = _limit(media_type, path) if media_type is not None else None
    blob, content_type = await _store_checked(chunks, limit, files, path)
    return await _record(db, blob, content_type, sanitize_filename(filename), source=source)


async def load_file(file_id: str, media_type: MediaType | str | None, *, db: Database, path: str) -> MediaFile:
    """An existing file by id, checked against `media_type`'s rules like a fresh one."""
    row = None
    if isinstance(file_id, str) and is_id(file_id):
        async with db.read() as conn:
            row = await files_store.get_file(conn, file_id)
    if row is None:
        reason = f"No file with id {file_id!r}."
        raise InvalidRequest(reason, code="file_not_found", details=[problem(path, reason)])
    media = MediaFile(row["id"], row["sha256"], row["size"], row["content_type"], row["filename"])
    if media_type is not None:
        limit = _limit(media_type, path)
        if not limit.allows(media.content_type):
            raise _unsupported(media.content_type, limit, path)
        if media.size > limit.max_bytes:
            raise _too_large(limit.max_bytes, limit, path)
    return media


def _limit(media_type: MediaType | str, path: str) -> MediaLimit:
    try:
        return limit_for(media_type)
    except ValueError:
        reason = f"Unknown media type {media_type!r}: use one of {', '.join(MediaType)}."
        raise InvalidRequest(reason, details=[problem(path, reason)]) from None


async def _store_checked(
    chunks: AsyncIterator[bytes], limit: MediaLimit | None, files: FileStore, path: str
) -> tuple[StoredBlob, str]:
    max_bytes = limit.max_bytes if limit else MAX_MEDIA_BYTES
    sniffer = Sniffer()
    verdict: list[str] = []

    async def checked() -> AsyncIterator[bytes]:
        # Every check raises inside the stream the file store is consuming, so its temp file is
        # deleted and nothing reaches the store unless the last check passed.
        size = 0
        async for chunk in chunks:
            sniffer.feed(chunk)
            candidates = sniffer.candidates
            if limit and candidates is not None and not any(map(limit.allows, candidates)):
                raise _unsupported(sniffer.provisional or "", limit, path)
            size += len(chunk)
            if size > max_bytes:
                raise _too_large(max_bytes, limit, path)
            yield chunk
        if size == 0:
            raise InvalidRequest("The file is empty.", details=[problem(path, "empty file")])
        content_type = sniffer.finish()
        if limit and not limit.allows(content_type):
            raise _unsupported(content_type, limit, path)
        verdict.append(content_type)

    try:
        blob = await files.put_stream(checked(), max_size=max_bytes)
    except TooLarge:  # not reached (checked() stops first); kept so the store's own guard maps too
        raise _too_large(max_bytes, limit, path) from None
    return blob, verdict[0]


async def _record(db: Database, blob: StoredBlob, content_type: str, filename: str | None, *, source: str) -> MediaFile:
    async with db.write() as conn:
        file_id = await files_store.add_file(
            conn,
            sha256=blob.sha256,
            size=blob.size,
            content_type=content_type,
            filename=filename,
            source=source,
            now=now_ms(),
        )
    return MediaFile(file_id, blob.sha256, blob.size, content_type, filename)


def _too_large(max_bytes: int, limit: MediaLimit | None, path: str) -> PayloadTooLarge:
    if limit:
        reason = (
            f"The file is larger than WhatsApp's limit for {limit.media_type} media: "
            f"{limit.max_label} ({max_bytes} bytes)."
        )
    else:
        reason = f"The file is larger than the largest media WhatsApp takes ({max_bytes} bytes)."
    return PayloadTooLarge(reason, details=[problem(path, reason, limit=max_bytes)])


def _unsupported(content_type: str, limit: MediaLimit, path: str) -> UnsupportedMediaType:
    allowed = ", ".join(limit.content_types)
    reason = (
        f"The file is {content_type}, which WhatsApp does not take as {limit.media_type} media "
        f"(allowed: {allowed}). The type is read from the file's bytes, not from its name or "
        "Content-Type."
    )
    return UnsupportedMediaType(
        reason, details=[problem(path, reason, contentType=content_type, allowed=list(limit.content_types))]
    )
