"""The file store interface on both implementations (the local directory and S3 on moto's server):
large files stream through in bounded memory, a failed write leaves nothing, keys are the hash."""

from __future__ import annotations

import hashlib
import tracemalloc
from collections.abc import AsyncIterator

import httpx
import pytest

from inboxd.config import Settings
from inboxd.media.filestore import FileStore, MissingBlob, TooLarge, hash_of, open_file_store
from inboxd.media.s3_store import PART_BYTES, S3FileStore
from tests.support.filestores import both_stores, stored_blobs

pytestmark = both_stores

MIB = 1024 * 1024


async def pattern(total: int, *, fail_after: int | None = None) -> AsyncIterator[bytes]:
    """`total` bytes in 1 MiB chunks, each different (so no part is a copy of another)."""
    sent = 0
    while sent < total:
        if fail_after is not None and sent >= fail_after:
            raise ValueError("the check failed mid-stream")
        chunk = hashlib.sha256(str(sent).encode()).digest() * (MIB // 32)
        chunk = chunk[: total - sent]
        sent += len(chunk)
        yield chunk


async def expected_hash(total: int) -> str:
    digest = hashlib.sha256()
    async for chunk in pattern(total):
        digest.update(chunk)
    return digest.hexdigest()


async def test_a_large_file_streams_in_and_out_in_bounded_memory(files: FileStore) -> None:
    total = 8 * PART_BYTES + 123  # several multipart parts on S3, and a short last one
    await files.put_bytes(b"warm up")  # the S3 client and its connection pool are made once
    tracemalloc.start()
    try:
        blob = await files.put_stream(pattern(total), max_size=None)
        stored_peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.reset_peak()
        read_back = await hash_of(files, blob.sha256)
        read_peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert blob.sha256 == await expected_hash(total) == read_back and blob.size == total
    # Never the whole file: a few parts at most (S3 keeps the part being uploaded in memory, and
    # botocore copies it once or twice on its way out); measured ~3.2 parts whatever the size.
    assert stored_peak < 5 * PART_BYTES < total, stored_peak
    assert read_peak < 2 * MIB, read_peak
    assert blob.sha256 in await stored_blobs(files)
    assert await files.unfinished_writes() == []


async def test_a_stream_that_fails_midway_leaves_nothing(files: FileStore) -> None:
    with pytest.raises(ValueError, match="mid-stream"):
        await files.put_stream(pattern(4 * PART_BYTES, fail_after=2 * PART_BYTES + MIB), max_size=None)
    with pytest.raises(TooLarge):
        await files.put_stream(pattern(3 * PART_BYTES), max_size=2 * PART_BYTES + 5)
    assert await stored_blobs(files) == []
    assert await files.unfinished_writes() == []


async def test_the_same_bytes_are_stored_once_under_their_hash(files: FileStore) -> None:
    small = await files.put_bytes(b"hello")
    again = await files.put_bytes(b"hello")
    large = await files.put_stream(pattern(PART_BYTES + 1), max_size=None)
    large_again = await files.put_stream(pattern(PART_BYTES + 1), max_size=None)
    assert small == again and large == large_again
    assert small.sha256 == hashlib.sha256(b"hello").hexdigest() and small.head == b"hello"
    assert sorted(await stored_blobs(files)) == sorted([small.sha256, large.sha256])
    assert await files.exists(small.sha256) and not await files.exists("0" * 64)
    assert await files.unfinished_writes() == []
    with pytest.raises(MissingBlob):
        async for _ in files.read("0" * 64):
            pass


async def test_keys_are_the_hash_under_the_prefix(files: FileStore, settings: Settings) -> None:
    blob = await files.put_bytes(b"where am I")
    sha = blob.sha256
    if isinstance(files, S3FileStore):
        s3 = await files.client()
        listed = await s3.list_objects_v2(Bucket=files.bucket)
        assert [o["Key"] for o in listed["Contents"]] == [f"media/{sha[:2]}/{sha[2:4]}/{sha}"]
    else:
        assert files.local_path(sha) == settings.resolved_files_dir / sha[:2] / sha[2:4] / sha


async def test_a_presigned_url_serves_the_bytes(files: FileStore) -> None:
    blob = await files.put_bytes(b"%PDF-1.4 presigned")
    url = await files.presigned_url(
        blob.sha256, seconds=60, content_type="application/pdf", content_disposition='inline; filename="a.pdf"'
    )
    if not isinstance(files, S3FileStore):
        assert url is None  # a local file is served by inboxd itself
        return
    assert url is not None
    async with httpx.AsyncClient() as http:
        r = await http.get(url)
    assert r.status_code == 200 and r.content == b"%PDF-1.4 presigned"
    assert r.headers["content-type"] == "application/pdf"
    assert r.headers["content-disposition"] == 'inline; filename="a.pdf"'


def test_the_url_chooses_the_store(settings: Settings, files_backend: str, tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = open_file_store(settings)
    assert store.kind == files_backend
    assert open_file_store(settings, f"file://{tmp_path}/x").kind == "local"
    with pytest.raises(ValueError, match="unsupported file store"):
        open_file_store(settings, "ftp://somewhere")
    with pytest.raises(ValueError, match="no bucket"):
        open_file_store(settings, "s3://")

