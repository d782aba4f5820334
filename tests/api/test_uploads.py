"""POST /server/api/v2/files: multipart upload → fileId, with the same type and size rules as
a media URL when `mediaType` is given."""

from __future__ import annotations

import hashlib

import httpx
import pytest
import sqlalchemy as sa

from inboxd.domain.scopes import ALL_SCOPES, Scope
from inboxd.media.ingest import load_file
from inboxd.store.db import Database
from inboxd.store.tables import files as files_table
from tests.media import samples
from tests.support.filestores import both_stores, read_blob, stored_blobs
from tests.support.server import LiveServer

pytestmark = both_stores  # every test here runs on the local store and on S3

URL = "/server/api/v2/files"


@pytest.fixture
async def auth(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {await make_token(Scope.SEND_SESSION_MESSAGE)}"}


async def file_rows(db: Database) -> list[dict]:
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(files_table))).mappings()]


async def temp_files(server: LiveServer) -> list[str]:
    assert server.services is not None
    return await server.services.files.unfinished_writes()


async def test_upload_an_image(client: httpx.AsyncClient, auth: dict[str, str], server: LiveServer, db: Database) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("cat.jpg", samples.JPEG, "image/jpeg")}, data={"mediaType": "image"})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body == {
        "success": True,
        "fileId": body["fileId"],
        "filename": "cat.jpg",
        "contentType": "image/jpeg",
        "size": len(samples.JPEG),
        "sha256": hashlib.sha256(samples.JPEG).hexdigest(),
    }
    [row] = await file_rows(db)
    assert row["id"] == body["fileId"] and row["source"] == "upload"
    assert server.services is not None
    assert await read_blob(server.services.files, body["sha256"]) == samples.JPEG
    # usable as a send's fileId
    media = await load_file(body["fileId"], "image", db=db, path="body.media[0].fileId")
    assert media.content_type == "image/jpeg"


async def test_the_filename_field_wins_and_is_sanitised(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("x.bin", samples.PDF)}, data={"filename": "../../Q3\u202e report.pdf"})
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == "Q3 report.pdf" and r.json()["contentType"] == "application/pdf"


async def test_an_unusable_filename_field_falls_back_to_the_parts_name(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("notes.txt", samples.TEXT)}, data={"filename": " / "})
    assert r.status_code == 200, r.text
    assert r.json()["filename"] == "notes.txt" and r.json()["contentType"] == "text/plain"


async def test_without_media_type_any_file_is_taken_and_typed_by_its_bytes(client: httpx.AsyncClient, auth: dict[str, str], db: Database) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("photo.png", samples.HTML, "image/png")})
    assert r.status_code == 200, r.text
    assert r.json()["contentType"] == "text/html"
    # …and then it cannot be sent as an image
    from inboxd.domain.errors import UnsupportedMediaType

    with pytest.raises(UnsupportedMediaType):
        await load_file(r.json()["fileId"], "image", db=db, path="body.media[0].fileId")


async def test_the_same_bytes_are_stored_once(client: httpx.AsyncClient, auth: dict[str, str], server: LiveServer) -> None:
    a = (await client.post(URL, headers=auth, files={"file": ("a.png", samples.PNG)})).json()
    b = (await client.post(URL, headers=auth, files={"file": ("b.png", samples.PNG)})).json()
    assert a["fileId"] != b["fileId"] and a["sha256"] == b["sha256"]
    assert server.services is not None
    assert len(await stored_blobs(server.services.files)) == 1


async def test_html_as_image_is_415(client: httpx.AsyncClient, auth: dict[str, str], db: Database, server: LiveServer) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("photo.png", samples.HTML, "image/png")}, data={"mediaType": "image"})
    assert r.status_code == 415, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "unsupported_media_type"
    assert body["details"][0]["path"] == "body.file" and body["details"][0]["contentType"] == "text/html"
    assert await file_rows(db) == [] and await temp_files(server) == []


async def test_a_6_mb_image_is_413(client: httpx.AsyncClient, auth: dict[str, str], db: Database, server: LiveServer) -> None:
    big = samples.padded(samples.PNG, 6_000_000)
    r = await client.post(URL, headers=auth, files={"file": ("big.png", big, "image/png")}, data={"mediaType": "image"})
    assert r.status_code == 413, r.text
    assert r.json()["code"] == "payload_too_large" and r.json()["details"][0]["limit"] == 5_000_000
    assert await file_rows(db) == [] and await temp_files(server) == []
    # the same file as a document is fine… except that a PNG is not a document type
    r = await client.post(URL, headers=auth, files={"file": ("big.png", big)}, data={"mediaType": "document"})
    assert r.status_code == 415


async def test_each_media_type_takes_its_types(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    cases = [("video", samples.THREE_GP, "video/3gpp"), ("audio", samples.MP3_ID3, "audio/mpeg"), ("document", samples.XLSX, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")]
    for media_type, data, content_type in cases:
        r = await client.post(URL, headers=auth, files={"file": ("f", data)}, data={"mediaType": media_type})
        assert r.status_code == 200, (media_type, r.text)
        assert r.json()["contentType"] == content_type


@pytest.mark.parametrize(
    ("kwargs", "paths"),
    [
        ({"data": {"mediaType": "image"}}, ["body.file"]),
        ({"files": {"file": ("a.png", samples.PNG)}, "data": {"mediaType": "sticker"}}, ["body.mediaType"]),
        ({"files": {"file": ("a.png", samples.PNG)}, "data": {"caption": "hi", "mediaType": "gif"}}, ["body.caption", "body.mediaType"]),
        ({"files": {"other": ("a.png", samples.PNG)}}, ["body.other", "body.file"]),
        ({"data": {"file": "not a file part"}}, ["body.file"]),
        ({"json": {"file": "abc"}}, ["body.file"]),
    ],
)
async def test_invalid_forms_are_400_listing_every_problem(client: httpx.AsyncClient, auth: dict[str, str], kwargs: dict, paths: list[str]) -> None:
    r = await client.post(URL, headers=auth, **kwargs)
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "invalid_request"
    assert [d["path"] for d in body["details"]] == paths


async def test_two_files_are_400(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(URL, headers=auth, files=[("file", ("a.png", samples.PNG)), ("file", ("b.png", samples.PNG))])
    assert r.status_code == 400, r.text
    assert r.json()["code"] == "invalid_request"


async def test_an_empty_file_is_400(client: httpx.AsyncClient, auth: dict[str, str]) -> None:
    r = await client.post(URL, headers=auth, files={"file": ("a.txt", b"")})
    assert r.status_code == 400 and "empty" in r.json()["error"]


async def test_scope_is_send_session_message(client: httpx.AsyncClient, make_token, db: Database) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(URL, files={"file": ("a.png", samples.PNG)})
    assert r.status_code == 401
    others = await make_token(*[s for s in ALL_SCOPES if s is not Scope.SEND_SESSION_MESSAGE])
    r = await client.post(URL, headers={"Authorization": f"Bearer {others}"}, files={"file": ("a.png", samples.PNG)})
    assert r.status_code == 403 and r.json()["details"] == [{"scope": "Send session message", "reason": "missing scope"}]
    assert await file_rows(db) == []


async def test_without_media_type_the_cap_is_the_largest_media_limit(
    client: httpx.AsyncClient, auth: dict[str, str], tmp_path, db: Database, server: LiveServer  # type: ignore[no-untyped-def]
) -> None:
    # 100.5 MB (a sparse file, streamed by the client): over WhatsApp's 100 MB document limit,
    # under the endpoint's 101 MiB body limit, so it is the upload's own check that answers.
    path = tmp_path / "huge.pdf"
    with path.open("wb") as out:
        out.write(samples.PDF)
        out.truncate(100_500_000)
    with path.open("rb") as handle:
        r = await client.post(URL, headers=auth, files={"file": ("huge.pdf", handle)})
    assert r.status_code == 413, r.text
    assert r.json()["details"][0]["limit"] == 100_000_000
    assert await file_rows(db) == [] and await temp_files(server) == []


async def test_the_operation_is_in_the_openapi_document(client: httpx.AsyncClient) -> None:
    op = (await client.get("/server/api/v2/openapi.json")).json()["paths"][URL]["post"]
    assert op["x-required-scopes"] == ["Send session message"]
    schema = op["requestBody"]["content"]["multipart/form-data"]["schema"]
    assert schema["required"] == ["file"] and set(schema["properties"]) == {"file", "filename", "mediaType"}
