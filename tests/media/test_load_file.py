"""A `fileId` source: it must exist (400 naming the path) and pass the media type's rules."""

from __future__ import annotations

import pytest

from inboxd.domain.clock import now_ms
from inboxd.domain.errors import InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from inboxd.media.filestore import FileStore
from inboxd.media.ingest import MediaFile, ingest_stream, load_file
from inboxd.store import files as files_store
from inboxd.store.db import Database
from tests.media import samples
from tests.support.filestores import both_stores

PATH = "body.media[1].fileId"


async def _one(data: bytes):  # type: ignore[no-untyped-def]
    yield data


@both_stores
async def test_an_existing_file_loads_like_a_fresh_one(db: Database, files: FileStore) -> None:
    stored = await ingest_stream(_one(samples.JPEG), "image", db=db, files=files, path="body.file", filename="cat.jpg")
    loaded = await load_file(stored.file_id, "image", db=db, path=PATH)
    assert loaded == stored == MediaFile(stored.file_id, stored.sha256, len(samples.JPEG), "image/jpeg", "cat.jpg")
    assert (await load_file(stored.file_id, None, db=db, path=PATH)) == stored


@pytest.mark.parametrize("file_id", ["0123456789abcdef01234567", "nope", "", "../../etc/passwd"])
async def test_an_unknown_file_id_is_400_with_the_path(db: Database, file_id: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await load_file(file_id, "image", db=db, path=PATH)
    assert caught.value.status == 400 and caught.value.code == "file_not_found"
    assert caught.value.details[0]["path"] == PATH


@both_stores
async def test_a_file_of_another_type_is_415(db: Database, files: FileStore) -> None:
    stored = await ingest_stream(_one(samples.PDF), None, db=db, files=files, path="body.file")
    with pytest.raises(UnsupportedMediaType) as caught:
        await load_file(stored.file_id, "image", db=db, path=PATH)
    assert caught.value.details[0] == caught.value.details[0] | {"path": PATH, "contentType": "application/pdf"}
    assert (await load_file(stored.file_id, "document", db=db, path=PATH)).content_type == "application/pdf"


async def test_a_file_over_the_media_types_limit_is_413(db: Database) -> None:
    # e.g. a 6 MB PNG uploaded without mediaType, then sent as an image
    async with db.write() as conn:
        file_id = await files_store.add_file(
            conn, sha256="0" * 64, size=6_000_000, content_type="image/png", filename=None, source="upload", now=now_ms()
        )
    with pytest.raises(PayloadTooLarge) as caught:
        await load_file(file_id, "image", db=db, path=PATH)
    assert caught.value.details[0]["path"] == PATH
