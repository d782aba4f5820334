"""The S3-compatible file store (AWS S3, MinIO, R2, Ceph …), through aiobotocore.

Keys are `<prefix>/<sha[:2]>/<sha[2:4]>/<sha>`, as in the local store. The hash is known only
once the last byte went by, so a write goes:
- small (up to `PART_BYTES`, most media): kept in memory while hashing, then one `PutObject` to
  its final key (an object appears whole or not at all);
- larger: streamed as a multipart upload to a temporary key `<prefix>/tmp/<random>` (parts of
  `PART_BYTES`: memory stays bounded at one part), completed, copied server-side to its final key,
  the temporary object deleted. A failure aborts the multipart upload; a crash can leave a
  temporary object or an unfinished upload under `tmp/`, never referenced by anything (a bucket
  lifecycle rule expires them; README).
An object already stored under the hash is not written again. The `files` row that refers to a
blob is inserted only after `put_stream` returned, so no row ever names a half-written object.

Credentials, region and endpoint come from `INBOXD_S3_*`, else from botocore's own chain (the
standard `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`, `AWS_SESSION_TOKEN`, `AWS_REGION`,
`AWS_ENDPOINT_URL_S3`, profiles, instance roles).
"""

from __future__ import annotations

import asyncio
import os
import secrets
from collections.abc import AsyncGenerator, AsyncIterator
from typing import TYPE_CHECKING, Any

from aiobotocore.config import AioConfig
from aiobotocore.session import get_session
from botocore.exceptions import ClientError

from inboxd.media.filestore import READ_CHUNK, FileStore, Hashing, MissingBlob, StoredBlob, blob_key

if TYPE_CHECKING:
    from inboxd.config import Settings

PART_BYTES = 8 * 1024 * 1024  # S3's smallest part is 5 MiB (all but the last)
NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3FileStore(FileStore):
    kind = "s3"

    def __init__(
        self,
        bucket: str,
        prefix: str = "",
        *,
        endpoint_url: str | None = None,
        region: str | None = None,
        access_key_id: str | None = None,
        secret_access_key: str | None = None,
        addressing_style: str | None = None,
        connect_timeout: float = 5.0,
        read_timeout: float = 30.0,
    ) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        # botocore reads these too; read here so that a custom endpoint also means path style
        endpoint_url = endpoint_url or os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL")
        self.endpoint_url = endpoint_url
        self._client_args: dict[str, Any] = {
            "endpoint_url": endpoint_url,
            "region_name": region or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
            "config": AioConfig(
                connect_timeout=connect_timeout,
                read_timeout=read_timeout,
                retries={"max_attempts": 3, "mode": "standard"},
                max_pool_connections=50,
                # Path style for a custom endpoint (MinIO, Ceph and R2 take it; a bucket name
                # as a host name needs DNS they often lack), virtual hosts on AWS itself.
                s3={"addressing_style": addressing_style or ("path" if endpoint_url else "virtual")},
            ),
        }
        if access_key_id and secret_access_key:
            self._client_args["aws_access_key_id"] = access_key_id
            self._client_args["aws_secret_access_key"] = secret_access_key
        # One client per event loop (its connection pool belongs to the loop that made it).
        self._clients: dict[asyncio.AbstractEventLoop, tuple[Any, Any]] = {}

    @classmethod
    def from_url(cls, url: str, settings: Settings) -> S3FileStore:
        rest = url[len("s3://") :]
        bucket, _, prefix = rest.partition("/")
        if not bucket:
            raise ValueError(f"no bucket in file store URL {url!r}: use s3://bucket/prefix")
        return cls(
            bucket,
            prefix,
            endpoint_url=settings.s3_endpoint_url,
            region=settings.s3_region,
            access_key_id=settings.s3_access_key_id,
            secret_access_key=settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None,
            addressing_style=settings.s3_addressing_style,
        )

    def describe(self) -> str:
        where = f" at {self.endpoint_url}" if self.endpoint_url else ""
        return f"s3://{self.bucket}/{self.prefix}{where}"

    def key(self, sha256: str) -> str:
        return f"{self.prefix}/{blob_key(sha256)}" if self.prefix else blob_key(sha256)

    def _temp_key(self) -> str:
        name = f"tmp/{secrets.token_hex(16)}"
        return f"{self.prefix}/{name}" if self.prefix else name

    async def client(self) -> Any:
        loop = asyncio.get_running_loop()
        found = self._clients.get(loop)
        if found is not None:
            return found[1]
        creator = get_session().create_client("s3", **self._client_args)
        client = await creator.__aenter__()
        self._clients[loop] = (creator, client)
        return client

    async def aclose(self) -> None:
        loop = asyncio.get_running_loop()
        found = self._clients.pop(loop, None)
        if found is not None:
            await found[0].__aexit__(None, None, None)

    async def exists(self, sha256: str) -> bool:
        s3 = await self.client()
        try:
            await s3.head_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in NOT_FOUND:
                return False
            raise
        return True

    async def put_stream(self, chunks: AsyncIterator[bytes], *, max_size: int | None) -> StoredBlob:
        s3 = await self.client()
        hashing = Hashing(max_size)
        buffer = bytearray()
        upload: _Multipart | None = None
        try:
            async for chunk in chunks:
                hashing.feed(chunk)
                buffer += chunk
                if len(buffer) >= PART_BYTES:
                    upload = upload or await _Multipart.start(s3, self.bucket, self._temp_key())
                    await upload.add(bytes(buffer))
                    buffer.clear()
            blob = hashing.blob()
            final = self.key(blob.sha256)
            if await self.exists(blob.sha256):
                if upload is not None:
                    await upload.abort()
                return blob
            if upload is None:
                await s3.put_object(Bucket=self.bucket, Key=final, Body=bytes(buffer))
                return blob
            if buffer:
                await upload.add(bytes(buffer))
            await upload.complete()
            try:
                await s3.copy_object(Bucket=self.bucket, Key=final, CopySource={"Bucket": self.bucket, "Key": upload.key})
            finally:
                await s3.delete_object(Bucket=self.bucket, Key=upload.key)
            return blob
        except BaseException:
            if upload is not None and not upload.completed:
                await asyncio.shield(upload.abort())
            raise

    async def read(self, sha256: str, chunk_size: int = READ_CHUNK) -> AsyncGenerator[bytes, None]:
        s3 = await self.client()
        try:
            response = await s3.get_object(Bucket=self.bucket, Key=self.key(sha256))
        except ClientError as exc:
            if _code(exc) in NOT_FOUND:
                raise MissingBlob(sha256) from None
            raise
        async with response["Body"] as body:
            async for chunk in body.iter_chunks(chunk_size):
                yield chunk

    async def blobs(self) -> AsyncIterator[str]:
        s3 = await self.client()
        paginator = s3.get_paginator("list_objects_v2")
        start = f"{self.prefix}/" if self.prefix else ""
        async for page in paginator.paginate(Bucket=self.bucket, Prefix=start):
            for item in page.get("Contents", []):
                name = item["Key"][len(start) :]
                if not name.startswith("tmp/") and len(name.rsplit("/", 1)[-1]) == 64:
                    yield name.rsplit("/", 1)[-1]

    async def unfinished_writes(self) -> list[str]:
        s3 = await self.client()
        start = f"{self.prefix}/tmp/" if self.prefix else "tmp/"
        listed = await s3.list_objects_v2(Bucket=self.bucket, Prefix=start)
        uploads = await s3.list_multipart_uploads(Bucket=self.bucket, Prefix=start)
        return [o["Key"] for o in listed.get("Contents", [])] + [u["Key"] for u in uploads.get("Uploads", [])]

    async def presigned_url(
        self, sha256: str, *, seconds: int, content_type: str, content_disposition: str | None
    ) -> str | None:
        s3 = await self.client()
        params: dict[str, Any] = {"Bucket": self.bucket, "Key": self.key(sha256), "ResponseContentType": content_type}
        if content_disposition:
            params["ResponseContentDisposition"] = content_disposition
        return str(await s3.generate_presigned_url("get_object", Params=params, ExpiresIn=seconds))


class _Multipart:
    def __init__(self, s3: Any, bucket: str, key: str, upload_id: str) -> None:
        self.s3, self.bucket, self.key, self.upload_id = s3, bucket, key, upload_id
        self.parts: list[dict[str, Any]] = []
        self.completed = False

    @classmethod
    async def start(cls, s3: Any, bucket: str, key: str) -> _Multipart:
        created = await s3.create_multipart_upload(Bucket=bucket, Key=key)
        return cls(s3, bucket, key, created["UploadId"])

    async def add(self, data: bytes) -> None:
        number = len(self.parts) + 1
        answer = await self.s3.upload_part(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, PartNumber=number, Body=data
        )
        self.parts.append({"PartNumber": number, "ETag": answer["ETag"]})

    async def complete(self) -> None:
        await self.s3.complete_multipart_upload(
            Bucket=self.bucket, Key=self.key, UploadId=self.upload_id, MultipartUpload={"Parts": self.parts}
        )
        self.completed = True

    async def abort(self) -> None:
        try:
            await self.s3.abort_multipart_upload(Bucket=self.bucket, Key=self.key, UploadId=self.upload_id)
        except ClientError:  # gone already; an unfinished upload is expired by the bucket's lifecycle rule
            pass


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))
