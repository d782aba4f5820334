"""Generate Public Media URL and the public link it makes."""

from __future__ import annotations

import httpx
import pytest

from inboxd.domain.clock import now_ms
from inboxd.domain.scopes import Scope
from inboxd.store import files as files_store
from inboxd.store.db import Database
from tests.support.filestores import both_stores
from tests.support.server import LiveServer, start_server

pytestmark = both_stores  # every test here runs on the local store and on S3

API = "/server/api/v2"
PDF = b"%PDF-1.4\n% a tiny test document\n"


@pytest.fixture
async def auth(make_token) -> dict[str, str]:  # type: ignore[no-untyped-def]
    return {"Authorization": f"Bearer {await make_token(Scope.VIEW_ALL_CHATS, Scope.VIEW_ALL_FILES)}"}


@pytest.fixture
async def file_id(server: LiveServer, db: Database) -> str:
    assert server.services is not None
    blob = await server.services.files.put_bytes(PDF)
    async with db.write() as conn:
        return await files_store.add_file(
            conn, sha256=blob.sha256, size=blob.size, content_type="application/pdf", filename="offer.pdf",
            source="upload", now=now_ms(),
        )


async def test_share_then_download_without_a_token(client: httpx.AsyncClient, auth, file_id, server) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(f"{API}/files/share/{file_id}", headers=auth)
    assert r.status_code == 200, r.text
    body = r.json()
    assert set(body) == {"token", "url"} and len(body["token"]) == 100
    assert body["url"] == f"{server.url}/server/files/shared/{file_id}/{body['token']}"
    download = await client.get(body["url"])
    assert download.status_code == 200 and download.content == PDF
    assert download.headers["content-type"] == "application/pdf"
    assert "offer.pdf" in download.headers["content-disposition"]


async def test_several_links_coexist_and_a_wrong_token_is_404(client, auth, file_id) -> None:  # type: ignore[no-untyped-def]
    first = (await client.post(f"{API}/files/share/{file_id}", headers=auth)).json()
    second = (await client.post(f"{API}/files/share/{file_id}", json={"ttl": 3600}, headers=auth)).json()
    assert first["token"] != second["token"]
    assert (await client.get(first["url"])).status_code == 200
    assert (await client.get(second["url"])).status_code == 200
    r = await client.get(first["url"][:-4] + "0000")
    assert r.status_code == 404 and r.json()["code"] == "link_not_found"


async def test_expired_link_is_404(client, file_id, db: Database) -> None:  # type: ignore[no-untyped-def]
    async with db.write() as conn:
        await files_store.add_share(conn, file_id, "t" * 100, expires_at=now_ms() - 1, now=now_ms() - 20_000)
        await files_store.add_share(conn, file_id, "u" * 100, expires_at=now_ms() + 60_000, now=now_ms())
    assert (await client.get(f"/server/files/shared/{file_id}/{'t' * 100}")).status_code == 404
    assert (await client.get(f"/server/files/shared/{file_id}/{'u' * 100}")).status_code == 200


async def test_share_tokens_are_stored_hashed(client, auth, file_id, db: Database) -> None:  # type: ignore[no-untyped-def]
    import sqlalchemy as sa

    from inboxd.store.tables import file_shares

    token = (await client.post(f"{API}/files/share/{file_id}", headers=auth)).json()["token"]
    async with db.read() as conn:
        stored = (await conn.execute(sa.select(file_shares.c.token_hash))).scalars().all()
    assert token not in stored and files_store.hash_share_token(token) in stored


@pytest.mark.parametrize("body", [{"ttl": 9}, {"ttl": 630720001}, {"ttl": "10"}, {"other": 1}])
async def test_bad_ttl_is_400(client, auth, file_id, body) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(f"{API}/files/share/{file_id}", json=body, headers=auth)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


@pytest.mark.parametrize("missing", ["0123456789abcdef01234567", "nope"])
async def test_unknown_file_is_404(client, auth, missing) -> None:  # type: ignore[no-untyped-def]
    r = await client.post(f"{API}/files/share/{missing}", headers=auth)
    assert r.status_code == 404 and r.json()["code"] == "file_not_found"


async def test_redirect_setting_sends_s3_links_to_a_presigned_url(settings, db: Database, auth) -> None:  # type: ignore[no-untyped-def]
    """`INBOXD_FILES_PUBLIC_LINKS=redirect`: an S3-stored file's link is a 303 to a presigned URL that
    serves the stored type and name and expires no later than the link; local files stay served."""
    redirecting = settings.model_copy(update={"files_public_links": "redirect"})
    async with start_server(redirecting, db) as live, httpx.AsyncClient(base_url=live.url) as http:
        assert live.services is not None
        blob = await live.services.files.put_bytes(PDF)
        async with db.write() as conn:
            file_id = await files_store.add_file(
                conn, sha256=blob.sha256, size=blob.size, content_type="application/pdf", filename="offer.pdf",
                source="upload", now=now_ms(),
            )
        link = (await http.post(f"{API}/files/share/{file_id}", json={"ttl": 60}, headers=auth)).json()["url"]
        r = await http.get(link)
        if live.services.files.kind == "local":
            assert r.status_code == 200 and r.content == PDF
            return
        assert r.status_code == 303 and r.headers["cache-control"] == "no-store"
        target = r.headers["location"]
        assert "X-Amz-Expires=" in target or "Expires=" in target
        if "X-Amz-Expires=" in target:
            assert int(target.split("X-Amz-Expires=")[1].split("&")[0]) <= 60
        followed = await http.get(target)
        assert followed.status_code == 200 and followed.content == PDF
        assert followed.headers["content-type"] == "application/pdf"
        assert followed.headers["content-disposition"] == 'inline; filename="offer.pdf"'
