"""The file store: content-addressed bytes (the same bytes are stored once, under their SHA-256),
written atomically (nothing is ever visible under its final name half-written) and streamed in
and out (a 100 MB document never sits in memory whole).

Two implementations, chosen by the settings (`open_file_store`):
- `LocalFileStore` (`media/local_store.py`): a directory, `<root>/<sha[:2]>/<sha[2:4]>/<sha>`;
  the embedded default.
- `S3FileStore` (`media/s3_store.py`): an S3-compatible bucket (`INBOXD_FILES_URL=s3://bucket/prefix`),
  the same key layout under the prefix; for several machines.

Every caller (ingest, uploads, inbound media, delivery's Graph upload, share links, `inboxd files
migrate`) goes through this interface; only the share link asks for the store's own shortcut
(`local_path` for a file response, `presigned_url` for a redirect).
"""

from __future__ import annotations

import hashlib
from abc import ABC, abstractmethod
from collections.abc import AsyncGenerator, AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from inboxd.config import Settings

HEAD_BYTES = 8192
READ_CHUNK = 256 * 1024


class TooLarge(Exception):
    def __init__(self, limit: int) -> None:
        super().__init__(f"larger than {limit} bytes")
        self.limit = limit


class MissingBlob(Exception):
    """No bytes are stored under this hash."""


@dataclass(frozen=True)
class StoredBlob:
    sha256: str
    size: int
    head: bytes  # the first bytes, for type sniffing


def blob_key(sha256: str) -> str:
    """Where a blob lives, relative to the store's root or prefix (both stores use it)."""
    return f"{sha256[:2]}/{sha256[2:4]}/{sha256}"


@dataclass
class Hashing:
    """What a store computes while bytes stream in: hash, size (checked against the limit) and
    the first bytes."""

    max_size: int | None
    digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    size: int = 0
    head: bytearray = field(default_factory=bytearray)

    def feed(self, chunk: bytes) -> None:
        self.size += len(chunk)
        if self.max_size is not None and self.size > self.max_size:
            raise TooLarge(self.max_size)
        if len(self.head) < HEAD_BYTES:
            self.head += chunk[: HEAD_BYTES - len(self.head)]
        self.digest.update(chunk)

    def blob(self) -> StoredBlob:
        return StoredBlob(self.digest.hexdigest(), self.size, bytes(self.head))


class FileStore(ABC):
    """Content-addressed bytes; see the module docstring."""

    kind: str

    @abstractmethod
    async def put_stream(self, chunks: AsyncIterator[bytes], *, max_size: int | None) -> StoredBlob:
        """Store the bytes `chunks` yields. An exception from `chunks` (a failed check) or
        `TooLarge` leaves nothing behind."""

    async def put_bytes(self, data: bytes) -> StoredBlob:
        async def one() -> AsyncIterator[bytes]:
            yield data

        return await self.put_stream(one(), max_size=None)

    @abstractmethod
    async def exists(self, sha256: str) -> bool: ...

    @abstractmethod
    def read(self, sha256: str, chunk_size: int = READ_CHUNK) -> AsyncGenerator[bytes, None]:
        """The stored bytes in chunks; `MissingBlob` when there are none."""

    @abstractmethod
    def blobs(self) -> AsyncIterator[str]:
        """The hash of every stored blob (for `inboxd files migrate` and checks)."""

    @abstractmethod
    async def unfinished_writes(self) -> list[str]:
        """Temporary objects of writes that did not finish (a crash's leftovers; tests check that
        a refused file leaves none)."""

    def local_path(self, sha256: str) -> Path | None:
        """The blob's path when it is a local file (served with sendfile), else None."""
        return None

    async def presigned_url(
        self, sha256: str, *, seconds: int, content_type: str, content_disposition: str | None
    ) -> str | None:
        """A time-limited URL that serves the blob without inboxd (with these response headers),
        where the store has one."""
        return None

    async def aclose(self) -> None:
        return None

    @abstractmethod
    def describe(self) -> str:
        """Where the files are, for logs and the CLI (never a credential)."""


async def hash_of(store: FileStore, sha256: str) -> str:
    """The SHA-256 of what is stored under `sha256`, read back in chunks (verification)."""
    digest = hashlib.sha256()
    chunks = store.read(sha256)
    try:
        async for chunk in chunks:
            digest.update(chunk)
    finally:
        await chunks.aclose()
    return digest.hexdigest()


def open_file_store(settings: Settings, url: str | None = None) -> FileStore:
    """The store `url` names (default: `INBOXD_FILES_URL`, else the local directory)."""
    url = url if url is not None else settings.files_url
    if url and url.startswith("s3://"):
        from inboxd.media.s3_store import S3FileStore

        return S3FileStore.from_url(url, settings)
    if url and not url.startswith("file://"):
        raise ValueError(f"unsupported file store URL {url!r}: use s3://bucket/prefix or file:///path")
    from inboxd.media.local_store import LocalFileStore

    return LocalFileStore(Path(url[len("file://") :]) if url else settings.resolved_files_dir)
