"""The local file store (the embedded default): bytes at `<root>/<sha[:2]>/<sha[2:4]>/<sha>`; a
write is a rename of a finished, fsynced temp file (a crash never leaves a half-written file
under its final name)."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from collections.abc import AsyncGenerator, AsyncIterator
from pathlib import Path

from inboxd.media.filestore import READ_CHUNK, FileStore, Hashing, MissingBlob, StoredBlob, blob_key


class LocalFileStore(FileStore):
    kind = "local"

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        (self.root / "tmp").mkdir(parents=True, exist_ok=True)

    def path(self, sha256: str) -> Path:
        return self.root / blob_key(sha256)

    def local_path(self, sha256: str) -> Path | None:
        return self.path(sha256)

    def describe(self) -> str:
        return f"local directory {self.root}"

    async def exists(self, sha256: str) -> bool:
        return self.path(sha256).is_file()

    async def put_stream(self, chunks: AsyncIterator[bytes], *, max_size: int | None) -> StoredBlob:
        hashing = Hashing(max_size)
        fd, tmp_name = tempfile.mkstemp(dir=self.root / "tmp")
        try:
            with os.fdopen(fd, "wb") as tmp:
                async for chunk in chunks:
                    hashing.feed(chunk)
                    tmp.write(chunk)
                tmp.flush()
                os.fsync(tmp.fileno())
            blob = hashing.blob()
            final = self.path(blob.sha256)
            if final.exists():
                os.unlink(tmp_name)
            else:
                final.parent.mkdir(parents=True, exist_ok=True)
                os.replace(tmp_name, final)
            return blob
        except BaseException:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(tmp_name)
            raise

    async def read(self, sha256: str, chunk_size: int = READ_CHUNK) -> AsyncGenerator[bytes, None]:
        try:
            handle = open(self.path(sha256), "rb")  # noqa: ASYNC230 (opening is not the slow part)
        except FileNotFoundError:
            raise MissingBlob(sha256) from None
        with handle:
            while chunk := await asyncio.to_thread(handle.read, chunk_size):
                yield chunk

    async def blobs(self) -> AsyncIterator[str]:
        for first in sorted(self.root.iterdir()):
            if first.name == "tmp" or not first.is_dir():
                continue
            for path in sorted(first.rglob("*")):
                if path.is_file() and len(path.name) == 64:
                    yield path.name

    async def unfinished_writes(self) -> list[str]:
        return [path.name for path in (self.root / "tmp").iterdir()]
