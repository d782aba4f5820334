"""A real S3 API server for the tests: moto's server mode (`moto.server`) in a subprocess, over
HTTP on a loopback port. Each test gets a bucket of its own, so tests do not see each other's
objects. Tests choose the store through the `files_backend` fixture (tests/conftest.py)."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import httpx
import pytest

from inboxd.media.filestore import FileStore
from tests.support.cli import free_port

ACCESS_KEY = "testing"
SECRET_KEY = "testing-secret"


@dataclass
class S3Server:
    endpoint: str

    def new_bucket(self) -> str:
        """An empty bucket of its own (the S3 API's CreateBucket, unsigned: moto takes it)."""
        name = f"inboxd-{secrets.token_hex(6)}"
        r = httpx.put(f"{self.endpoint}/{name}", timeout=30)
        assert r.status_code == 200, r.text
        return name

    def settings_env(self, bucket: str, prefix: str = "media") -> dict[str, str]:
        """The settings that point inboxd at `bucket` on this server (as environment variables)."""
        return {
            "INBOXD_FILES_URL": f"s3://{bucket}/{prefix}",
            "INBOXD_S3_ENDPOINT_URL": self.endpoint,
            "INBOXD_S3_REGION": "us-east-1",
            "INBOXD_S3_ACCESS_KEY_ID": ACCESS_KEY,
            "INBOXD_S3_SECRET_ACCESS_KEY": SECRET_KEY,
        }


@contextmanager
def moto_server() -> Iterator[S3Server]:
    port = free_port()
    env = {**os.environ, "MOTO_PORT": str(port)}
    proc = subprocess.Popen(
        [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)],
        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{endpoint}/moto-api/", timeout=2).status_code < 500:
                    break
            except httpx.HTTPError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("moto's S3 server did not start")
            time.sleep(0.1)
        yield S3Server(endpoint)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


async def stored_blobs(files: FileStore) -> list[str]:
    return [sha async for sha in files.blobs()]


async def read_blob(files: FileStore, sha256: str) -> bytes:
    return b"".join([chunk async for chunk in files.read(sha256)])


# Runs a test (or, as `pytestmark`, a module) on the local store and on S3 (moto's server).
both_stores = pytest.mark.parametrize("files_backend", ["local", "s3"], indirect=True)
