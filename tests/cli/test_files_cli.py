"""`inboxd files migrate --to s3://…`: a local store moves to S3 (moto's server) and every hash is
verified; corruption and missing files are reported and fail the command."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from inboxd.config import Settings
from inboxd.domain.clock import now_ms
from inboxd.media.local_store import LocalFileStore
from inboxd.media.s3_store import PART_BYTES, S3FileStore
from inboxd.store import files as files_store
from inboxd.store.db import Database
from tests.conftest import DbTarget
from tests.support.cli import cli_env, run_cli
from tests.support.filestores import S3Server, read_blob, stored_blobs


@pytest.fixture
def target(s3_server: S3Server) -> tuple[str, dict[str, str]]:
    env = s3_server.settings_env(s3_server.new_bucket(), prefix="moved")
    return env.pop("INBOXD_FILES_URL"), env


async def local_files(tmp_path: Path, db: Database, contents: list[bytes]) -> tuple[LocalFileStore, list[str]]:
    store = LocalFileStore(tmp_path / "data" / "files")
    hashes = []
    for data in contents:
        blob = await store.put_bytes(data)
        async with db.write() as conn:
            await files_store.add_file(conn, sha256=blob.sha256, size=blob.size, content_type="application/pdf",
                                       filename=None, source="upload", now=now_ms())
        hashes.append(blob.sha256)
    return store, hashes


def s3_store(url: str, env: dict[str, str]) -> S3FileStore:
    settings = Settings(**{k.removeprefix("INBOXD_").lower(): v for k, v in env.items()})
    return S3FileStore.from_url(url, settings)


async def test_a_local_store_moves_to_s3_verified(tmp_path: Path, db_target: DbTarget, db: Database, target) -> None:  # type: ignore[no-untyped-def]
    url, s3_env = target
    big = os.urandom(PART_BYTES) + b"tail"  # a multipart upload on the way
    _, hashes = await local_files(tmp_path, db, [b"%PDF-1 one", b"%PDF-1 two", big])
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), **s3_env})
    result = run_cli("files", "migrate", "--to", url, env=env)
    assert "3 copied" in result.stdout and "0 corrupt" in result.stdout, result.stdout
    progress = result.stderr.splitlines()
    assert sum("copied" in line and "verified" in line for line in progress) == 3, result.stderr
    assert any(line.startswith("[3/3]") for line in progress)
    moved = s3_store(url, s3_env)
    try:
        assert sorted(await stored_blobs(moved)) == sorted(hashes)
        assert await read_blob(moved, hashes[2]) == big
    finally:
        await moved.aclose()
    again = run_cli("files", "migrate", "--to", url, env=env)  # interrupted runs are simply run again
    assert "0 copied" in again.stdout and "3 already there" in again.stdout, again.stdout


async def test_corruption_and_missing_files_fail_the_migration(tmp_path: Path, db_target: DbTarget, db: Database, target) -> None:  # type: ignore[no-untyped-def]
    url, s3_env = target
    store, [good, bad] = await local_files(tmp_path, db, [b"%PDF-1 good", b"%PDF-1 bad"])
    path = store.local_path(bad)
    assert path is not None
    path.write_bytes(b"%PDF-1 flipped")  # a disk error: the bytes no longer match their name
    async with db.write() as conn:  # a row whose bytes were lost altogether
        await files_store.add_file(conn, sha256="f" * 64, size=1, content_type="text/plain", filename=None,
                                   source="upload", now=now_ms())
    env = cli_env(tmp_path / "data", {**db_target.settings_env(), **s3_env})
    result = run_cli("files", "migrate", "--to", url, env=env, check=False)
    assert result.returncode == 1, result.stdout + result.stderr
    assert f"{bad}: CORRUPT in the source" in result.stderr
    assert f"{'f' * 64}: referenced by the database but not in the target" in result.stderr
    assert f"{good}: copied" in result.stderr
    assert "1 copied" in result.stdout and "1 corrupt in the source" in result.stdout
    assert "2 referenced but missing" in result.stdout  # the corrupt one is not copied either
    moved = s3_store(url, s3_env)
    try:
        assert await stored_blobs(moved) == [good]
    finally:
        await moved.aclose()


async def test_the_standard_aws_variables_work_too(tmp_path: Path, db_target: DbTarget, db: Database, s3_server: S3Server) -> None:
    url = f"s3://{s3_server.new_bucket()}/aws"
    await local_files(tmp_path, db, [b"%PDF-1 aws"])
    env = cli_env(tmp_path / "data", {
        **db_target.settings_env(),
        "AWS_ENDPOINT_URL_S3": s3_server.endpoint,
        "AWS_ACCESS_KEY_ID": "aws-style", "AWS_SECRET_ACCESS_KEY": "aws-style-secret", "AWS_REGION": "eu-west-1",
    })
    result = run_cli("files", "migrate", "--to", url, env=env)
    assert "1 copied" in result.stdout, result.stdout + result.stderr
