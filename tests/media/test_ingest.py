"""URL ingest end to end against a real origin server on loopback: limits, sniffing, the SSRF
guard on every hop, timeouts, and that a failure leaves no file row and no temp file."""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import socket
from dataclasses import replace
from typing import Any

import pytest
import sqlalchemy as sa

from inboxd.config import Settings
from inboxd.domain.errors import ApiError, InvalidRequest, PayloadTooLarge, UnsupportedMediaType
from inboxd.media.fetch import FetchOptions
from inboxd.media.filestore import FileStore
from inboxd.media.ingest import MediaFile, ingest_url
from inboxd.media.ssrf import AddressPolicy
from inboxd.store.db import Database
from inboxd.store.tables import files as files_table
from tests.media import samples
from tests.media.conftest import LOOPBACK
from tests.media.origin import Origin
from tests.support.filestores import both_stores, read_blob, stored_blobs

PATH = "body.media[2].url"


@pytest.fixture
def ingest(db: Database, files: FileStore, settings: Settings, trusting_origin: FetchOptions):  # type: ignore[no-untyped-def]
    async def run(url: str, media_type: str = "image", **kw: Any) -> MediaFile:
        kw.setdefault("options", trusting_origin)
        return await ingest_url(url, media_type, db=db, files=files, settings=settings, path=PATH, **kw)

    return run


async def rows(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        return [dict(r) for r in (await conn.execute(sa.select(files_table))).mappings()]


async def assert_nothing_stored(db: Database, files: FileStore) -> None:
    assert await rows(db) == []
    assert await stored_blobs(files) == []
    assert await files.unfinished_writes() == []


def assert_error(exc: ApiError, status: int, code: str, *words: str) -> None:
    assert exc.status == status, exc.body()
    assert exc.code == code, exc.body()
    assert exc.details and exc.details[0]["path"] == PATH
    for word in words:
        assert word in exc.message, exc.message


# --- success --------------------------------------------------------------------------

@both_stores
async def test_an_image_is_stored_by_hash_and_recorded(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    # The URL says .html and the server says text/html: the bytes say PNG.
    media = await ingest(f"{origin.url}/files/page.html")
    assert media.content_type == "image/png"
    assert media.size == len(samples.PNG)
    assert media.sha256 == hashlib.sha256(samples.PNG).hexdigest()
    assert await read_blob(files, media.sha256) == samples.PNG
    [row] = await rows(db)
    assert row["id"] == media.file_id and row["source"] == "url" and row["content_type"] == "image/png"
    assert row["filename"] == "page.html" == media.filename
    assert await files.unfinished_writes() == []


@both_stores
async def test_the_same_bytes_are_stored_once(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    first = await ingest(f"{origin.url}/files/photo.png")
    second = await ingest(f"{origin.url}/files/page.html")
    assert first.file_id != second.file_id and first.sha256 == second.sha256
    assert len(await stored_blobs(files)) == 1
    assert len(await rows(db)) == 2


@pytest.mark.parametrize(
    ("name", "media_type", "content_type"),
    [
        ("clip.mp4", "video", "video/mp4"),
        ("voice.ogg", "audio", "audio/ogg"),
        ("report.docx", "document", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"),
        ("notes.txt", "document", "text/plain"),
        ("download", "document", "application/pdf"),
    ],
)
@both_stores
async def test_each_media_type(ingest, origin: Origin, name: str, media_type: str, content_type: str) -> None:
    media = await ingest(f"{origin.url}/files/{name}", media_type)
    assert media.content_type == content_type


async def test_filename_from_the_request_then_content_disposition_then_the_path(ingest, origin: Origin) -> None:
    assert (await ingest(f"{origin.url}/files/download", "document", filename="../My\u202e report.pdf")).filename == "My report.pdf"
    assert (await ingest(f"{origin.url}/files/download", "document")).filename == "Q3 report.pdf"
    assert (await ingest(f"{origin.url}/files/photo.png?sig=abc")).filename == "photo.png"
    assert (await ingest(f"{origin.url}/files/photo.png", filename="   ")).filename == "photo.png"


async def test_redirects_are_followed(ingest, origin: Origin) -> None:
    media = await ingest(f"{origin.url}/hops/3")
    assert media.content_type == "image/png" and media.filename == "photo.png"
    assert [path for path, _ in origin.hits] == ["/hops/3", "/hops/2", "/hops/1", "/hops/0", "/files/photo.png"]


# --- 413 and 415 ------------------------------------------------------------------------

@both_stores
async def test_a_6_mb_image_is_413_and_the_download_stops_at_the_limit(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(PayloadTooLarge) as caught:
        await ingest(f"{origin.url}/big/6000000")
    assert_error(caught.value, 413, "payload_too_large", "5 MB", "image")
    assert caught.value.details[0]["limit"] == 5_000_000
    await assert_nothing_stored(db, files)


@both_stores
async def test_a_declared_6_mb_image_is_413_before_its_body_is_read(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(PayloadTooLarge):
        await ingest(f"{origin.url}/declared-big")
    assert origin.streamed.get("/declared-big", 0) < 6_000_000
    await assert_nothing_stored(db, files)


@both_stores
async def test_an_image_at_the_limit_is_accepted(ingest, origin: Origin) -> None:
    media = await ingest(f"{origin.url}/big/5000000")
    assert media.size == 5_000_000


@both_stores
async def test_an_html_page_sent_as_image_is_415(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(UnsupportedMediaType) as caught:
        await ingest(f"{origin.url}/files/fake.png")  # Content-Type: image/png, URL ends .png
    assert_error(caught.value, 415, "unsupported_media_type", "text/html", "image/jpeg, image/png")
    assert caught.value.details[0]["contentType"] == "text/html"
    await assert_nothing_stored(db, files)


@both_stores
async def test_an_html_page_sent_as_document_is_415(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(UnsupportedMediaType):
        await ingest(f"{origin.url}/files/fake.pdf", "document")
    await assert_nothing_stored(db, files)


@both_stores
async def test_a_wrong_type_is_refused_without_downloading_everything(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    # 50 MB of PNG sent as video: refused after the head, long before the 16 MB limit.
    with pytest.raises(UnsupportedMediaType):
        await ingest(f"{origin.url}/big/50000000", "video")
    assert origin.streamed["/big/50000000"] < 16_000_000
    await assert_nothing_stored(db, files)


@both_stores
async def test_an_empty_file_is_400(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/files/empty.png")
    assert_error(caught.value, 400, "invalid_request", "empty")
    await assert_nothing_stored(db, files)


# --- the SSRF guard -----------------------------------------------------------------------

@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "127.1", "0x7f.0.0.1", "[::ffff:127.0.0.1]", "0.0.0.0"],
)
async def test_loopback_is_refused_by_default(
    host: str, origin: Origin, db: Database, files: FileStore, settings: Settings
) -> None:
    assert settings.media_allow_private_urls is False
    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidRequest) as caught:
        await ingest_url(f"http://{host}:{port}/files/photo.png", "image", db=db, files=files, settings=settings, path=PATH)
    assert_error(caught.value, 400, "media_url_refused", "public addresses")
    assert origin.hits == []  # refused before connecting
    await assert_nothing_stored(db, files)


async def test_allow_private_urls_setting_lets_loopback_through(origin: Origin, db: Database, files: FileStore, settings: Settings) -> None:
    allowed = settings.model_copy(update={"media_allow_private_urls": True})
    media = await ingest_url(f"{origin.url}/files/photo.png", "image", db=db, files=files, settings=allowed, path=PATH)
    assert media.content_type == "image/png"


@pytest.mark.parametrize(
    "target",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://10.0.0.1/a.png",
        "http://127.0.0.2:{port}/files/photo.png",
        "http://[::1]:{port}/files/photo.png",
        "http://[::ffff:169.254.169.254]/",
    ],
)
async def test_every_redirect_hop_is_checked(ingest, origin: Origin, target: str, db: Database, files: FileStore) -> None:
    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/redirect?to={target.format(port=port)}")
    assert_error(caught.value, 400, "media_url_refused")
    assert [path for path, _ in origin.hits] == ["/redirect"]
    await assert_nothing_stored(db, files)


async def test_a_redirect_to_an_unparseable_url_is_400(ingest, origin: Origin) -> None:
    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidRequest) as caught:  # httpx itself refuses the octal host
        await ingest(f"{origin.url}/redirect?to=http://0177.0.0.2:{port}/files/photo.png")
    assert_error(caught.value, 400, "media_url_unreachable", "Invalid URL in location header")
    assert [path for path, _ in origin.hits] == ["/redirect"]


@pytest.mark.parametrize("target", ["file:///etc/passwd", "ftp://example.com/a.png", "gopher://127.0.0.1:70/"])
async def test_redirect_to_another_scheme_is_refused(ingest, origin: Origin, target: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/redirect?to={target}")
    assert_error(caught.value, 400, "invalid_media_url", "redirected")


async def test_too_many_redirects(ingest, origin: Origin) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/hops/6")
    assert_error(caught.value, 400, "media_url_unreachable", "redirected more than 5 times")


async def test_the_connection_goes_to_the_checked_address(ingest, origin: Origin, trusting_origin: FetchOptions) -> None:
    """No second DNS lookup: `media.test` does not exist, so only a connection to the address
    the guard checked can succeed, and the server sees the name in Host."""
    lookups: list[str] = []

    async def resolve(host: str, port: int) -> list[Any]:
        lookups.append(host)
        return [ipaddress.ip_address("127.0.0.1")]

    port = origin.url.rsplit(":", 1)[1]
    options = replace(trusting_origin, resolver=resolve)
    media = await ingest(f"http://media.test:{port}/hops/1", options=options)
    assert media.content_type == "image/png"
    assert lookups == ["media.test", "media.test", "media.test"]  # once per hop
    assert {host for _, host in origin.hits} == {f"media.test:{port}"}


async def test_a_name_resolving_to_a_forbidden_address_is_refused(ingest, origin: Origin, trusting_origin: FetchOptions) -> None:
    async def resolve(host: str, port: int) -> list[Any]:
        return [ipaddress.ip_address("127.0.0.1"), ipaddress.ip_address("10.1.2.3")]  # one trusted, one not

    port = origin.url.rsplit(":", 1)[1]
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"http://rebind.test:{port}/files/photo.png", options=replace(trusting_origin, resolver=resolve))
    assert_error(caught.value, 400, "media_url_refused", "10.1.2.3", "private")
    assert origin.hits == []


# --- bad URLs, unreachable, errors, timeouts ------------------------------------------------

@pytest.mark.parametrize("url", ["ftp://example.com/a.png", "file:///etc/passwd", "not a url", "http://", "javascript:alert(1)"])
async def test_bad_urls_are_400(ingest, url: str) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(url)
    assert_error(caught.value, 400, "invalid_media_url")


async def test_an_unresolvable_host_is_400(ingest, trusting_origin: FetchOptions) -> None:
    async def resolve(host: str, port: int) -> list[Any]:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    with pytest.raises(InvalidRequest) as caught:
        await ingest("https://no-such-host.invalid/a.png", options=replace(trusting_origin, resolver=resolve))
    assert_error(caught.value, 400, "media_url_unreachable", "could not be resolved")


async def test_a_slow_name_lookup_is_a_connect_timeout(ingest, trusting_origin: FetchOptions) -> None:
    async def stuck(host: str, port: int) -> list[Any]:
        await asyncio.sleep(10)
        return []

    with pytest.raises(InvalidRequest) as caught:
        await ingest("https://slow-dns.example/a.png", options=replace(trusting_origin, resolver=stuck, connect_timeout=0.2))
    assert_error(caught.value, 400, "media_url_unreachable", "Resolving", "timed out")


async def test_a_closed_port_is_400(ingest) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]  # bound, not listening: connections are refused
        with pytest.raises(InvalidRequest) as caught:
            await ingest(f"http://127.0.0.1:{port}/a.png")
    assert_error(caught.value, 400, "media_url_unreachable", "Could not connect")


@pytest.mark.parametrize("code", [404, 403, 500, 304])
async def test_an_http_error_status_is_400(ingest, origin: Origin, code: int) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/status/{code}")
    assert_error(caught.value, 400, "media_url_unreachable", f"HTTP {code}")


@both_stores
async def test_a_read_timeout_is_400(ingest, origin: Origin, trusting_origin: FetchOptions, db: Database, files: FileStore) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/slow", options=replace(trusting_origin, read_timeout=0.3))
    assert_error(caught.value, 400, "media_url_unreachable", "timed out")
    await assert_nothing_stored(db, files)


@both_stores
async def test_the_read_timeout_comes_from_the_settings(origin: Origin, db: Database, files: FileStore, settings: Settings) -> None:
    quick = settings.model_copy(update={"media_allow_private_urls": True, "media_read_timeout": 0.3})
    assert FetchOptions.from_settings(quick).read_timeout == 0.3
    with pytest.raises(InvalidRequest) as caught:
        await ingest_url(f"{origin.url}/slow", "image", db=db, files=files, settings=quick, path=PATH)
    assert "timed out" in caught.value.message


@both_stores
async def test_a_slow_drip_hits_the_total_timeout(ingest, origin: Origin, trusting_origin: FetchOptions, db: Database, files: FileStore) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/drip", options=replace(trusting_origin, total_timeout=0.5))
    assert_error(caught.value, 400, "media_url_unreachable", "longer than 0.5 s")
    await assert_nothing_stored(db, files)


@both_stores
async def test_a_dropped_connection_is_400_and_leaves_nothing(ingest, origin: Origin, db: Database, files: FileStore) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/cut")
    assert_error(caught.value, 400, "media_url_unreachable", "failed")
    await assert_nothing_stored(db, files)


async def test_a_compressed_body_is_400(ingest, origin: Origin) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/gzip")
    assert_error(caught.value, 400, "media_url_unreachable", "gzip")


async def test_messages_do_not_echo_the_query_string(ingest, origin: Origin) -> None:
    with pytest.raises(InvalidRequest) as caught:
        await ingest(f"{origin.url}/status/404?token=s3cret")
    assert "s3cret" not in str(caught.value.body())


def test_policy_from_settings(settings: Settings) -> None:
    assert FetchOptions.from_settings(settings).policy == AddressPolicy(allow_private=False)
    assert FetchOptions.from_settings(settings, policy=AddressPolicy(allowed_networks=(LOOPBACK,))).policy.allowed_networks
