"""The Graph API client inboxd uses: send, media upload/lookup/download. One shared
`httpx.AsyncClient` (its transport is pluggable, so tests can run it without a network); each
call is addressed with the account's own Graph URL, API version and access token.

Every answer (or failure) of a call is also told to the `observer`, if one is set: channel
health (`inboxd.health`) raises and resolves problems from them, whoever made the call."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterable, AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, Protocol

import httpx
import orjson

from inboxd.channels.whatsapp.errors import GraphError
from inboxd.store.accounts import ChannelAccount

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)
DEFAULT_LIMITS = httpx.Limits(max_connections=200, max_keepalive_connections=100)


def new_http_client(**kwargs: Any) -> httpx.AsyncClient:
    """The shared client. Its connections are split over `ShardedTransport`'s small pools unless
    the caller brings a transport of its own."""
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    limits = kwargs.pop("limits", DEFAULT_LIMITS)
    if "transport" not in kwargs:
        kwargs["transport"] = ShardedTransport(limits)
    return httpx.AsyncClient(limits=limits, **kwargs)


class ShardedTransport(httpx.AsyncBaseTransport):
    """`limits` as several small connection pools; each request goes to the pool with the fewest
    requests under way (until its response is closed).

    httpcore's pool looks at every one of its connections on each request and on each response
    closed — a `select()` on every idle socket (`has_expired`) and, per idle connection, a count
    of all idle ones — so its cost per request grows with the square of the connections: with the
    ~128 concurrent Graph calls of bench scenario 2 that scan was a third of the server's samples.
    Pools of `SHARD_CONNECTIONS` keep each scan short; picking the least busy pool keeps the
    total the same (a request queues only when every pool is full, as with one pool)."""

    SHARD_CONNECTIONS = 8

    def __init__(self, limits: httpx.Limits = DEFAULT_LIMITS, **transport_kwargs: Any) -> None:
        total = limits.max_connections or 200
        count = max(1, -(-total // self.SHARD_CONNECTIONS))
        keepalive = limits.max_keepalive_connections
        shard_limits = httpx.Limits(
            max_connections=-(-total // count),
            max_keepalive_connections=None if keepalive is None else max(1, -(-keepalive // count)),
            keepalive_expiry=limits.keepalive_expiry,
        )
        self._shards = [httpx.AsyncHTTPTransport(limits=shard_limits, **transport_kwargs) for _ in range(count)]
        self._busy = [0] * count

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        busy = self._busy
        index = busy.index(min(busy))
        busy[index] += 1
        try:
            response = await self._shards[index].handle_async_request(request)
        except BaseException:
            busy[index] -= 1
            raise
        response.stream = _Released(response.stream, busy, index)
        return response

    async def aclose(self) -> None:
        for shard in self._shards:
            await shard.aclose()


class _Released(httpx.AsyncByteStream):
    """A response body that frees its pool's count once closed (once, however often closed)."""

    __slots__ = ("_stream", "_busy", "_index")

    def __init__(self, stream: Any, busy: list[int], index: int) -> None:
        self._stream = stream
        self._busy = busy
        self._index: int | None = index

    async def __aiter__(self) -> AsyncIterator[bytes]:
        async for chunk in self._stream:
            yield chunk

    async def aclose(self) -> None:
        if self._index is not None:
            self._busy[self._index] -= 1
            self._index = None
        await self._stream.aclose()


class MediaUrlExpired(GraphError):
    """A 404 from a media download URL: the URL (valid 5 minutes) is gone, not the media — the
    media id resolves to a fresh one. Whatever body came with the 404 (Meta's CDN answers a bare
    404, a Graph error body, or HTML), so its error code must not decide."""


def _auth(account: ChannelAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


class GraphObserver(Protocol):
    """Told about every call (`operation`: send, upload, media, download, templates, phone_number)."""

    async def graph_succeeded(self, account: ChannelAccount, operation: str) -> None: ...

    async def graph_failed(self, account: ChannelAccount, operation: str, error: GraphError) -> None: ...


class GraphClient:
    def __init__(self, http: httpx.AsyncClient, observer: GraphObserver | None = None) -> None:
        self.http = http
        self.observer = observer

    async def _call(
        self,
        method: str,
        url: str,
        account: ChannelAccount,
        *,
        operation: str,
        json_content: bool = False,
        extra_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        try:
            body = await self._request(
                method, url, account, json_content=json_content, extra_headers=extra_headers, **kwargs
            )
        except GraphError as exc:
            await self._observe_failure(account, operation, exc)
            raise
        if self.observer is not None:
            await self.observer.graph_succeeded(account, operation)
        return body

    async def _observe_failure(self, account: ChannelAccount, operation: str, exc: GraphError) -> None:
        if self.observer is not None:
            await self.observer.graph_failed(account, operation, exc)

    async def _request(
        self,
        method: str,
        url: str,
        account: ChannelAccount,
        *,
        json_content: bool = False,
        extra_headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> Any:
        headers = {**_auth(account), **(extra_headers or {})}
        if json_content:
            headers["Content-Type"] = "application/json"
        try:
            response = await self.http.request(method, url, headers=headers, **kwargs)
        except httpx.TimeoutException as exc:
            raise GraphError(f"timeout calling Graph: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise GraphError(f"cannot reach Graph: {type(exc).__name__}: {exc}") from exc
        try:
            body = orjson.loads(response.content) if response.content else None
        except orjson.JSONDecodeError:
            body = None
        if response.status_code >= 400 or body is None or (isinstance(body, dict) and "error" in body):
            raise GraphError.from_response(response.status_code, body)
        return body

    async def send_message(self, account: ChannelAccount, payload: dict[str, Any]) -> dict[str, Any]:
        url = f"{account.graph_base}/{account.phone_number_id}/messages"
        return await self._call("POST", url, account, operation="send", content=orjson.dumps(payload), json_content=True)

    async def mark_read(self, account: ChannelAccount, wamid: str) -> None:
        """WhatsApp's read receipt for a message the contact sent (the blue ticks on their phone)."""
        payload = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
        await self.send_message(account, payload)

    async def upload_media(
        self, account: ChannelAccount, chunks: AsyncIterable[bytes], size: int, mime_type: str, filename: str
    ) -> str:
        """`POST /{phone-number-id}/media`, the file streamed from `chunks` (`size` bytes)."""
        url = f"{account.graph_base}/{account.phone_number_id}/media"
        fields = {"messaging_product": "whatsapp", "type": mime_type}
        content_type, length, body_stream = streamed_multipart(fields, "file", filename, mime_type, chunks, size)
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
        body = await self._call(
            "POST", url, account, operation="upload", content=body_stream, extra_headers=headers
        )
        return str(body["id"])

    async def media_info(self, account: ChannelAccount, media_id: str) -> dict[str, Any]:
        url = f"{account.graph_base}/{media_id}"
        return await self._call(
            "GET", url, account, operation="media", params={"phone_number_id": account.phone_number_id}
        )

    async def phone_number(self, account: ChannelAccount, fields: str) -> dict[str, Any]:
        """`GET /{phone-number-id}?fields=…` (e.g. `quality_rating`)."""
        url = f"{account.graph_base}/{account.phone_number_id}"
        return await self._call("GET", url, account, operation="phone_number", params={"fields": fields})

    @asynccontextmanager
    async def download(self, account: ChannelAccount, url: str) -> AsyncIterator[httpx.Response]:
        """Stream a media URL (Bearer required). Raises GraphError on an error status, and
        MediaUrlExpired on a 404 whatever its body says."""
        try:
            async with self.http.stream("GET", url, headers=_auth(account)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    try:
                        body = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        body = None
                    kind = MediaUrlExpired if response.status_code == 404 else GraphError
                    error = kind.from_response(response.status_code, body)
                    await self._observe_failure(account, "download", error)
                    raise error
                yield response
        except httpx.TimeoutException as exc:
            raise GraphError(f"timeout downloading media: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise GraphError(f"cannot download media: {type(exc).__name__}: {exc}") from exc

    # --- message templates of the account's WhatsApp Business Account (WABA) ----------------

    def _templates_url(self, account: ChannelAccount) -> str:
        if not account.waba_id:
            raise ValueError(f"channel account {account.account_id} has no WhatsApp Business Account id")
        return f"{account.graph_base}/{account.waba_id}/message_templates"

    async def create_template(self, account: ChannelAccount, body: dict[str, Any]) -> dict[str, Any]:
        """`POST /{waba-id}/message_templates` → `{"id", "status", "category"}`."""
        url = self._templates_url(account)
        return await self._call(
            "POST", url, account, operation="templates", content=orjson.dumps(body), json_content=True
        )

    async def list_templates(self, account: ChannelAccount, *, page_size: int = 100, max_pages: int = 100) -> list[dict[str, Any]]:
        """Every template of the WABA (all languages), following Graph's `after` cursors."""
        url = self._templates_url(account)
        params: dict[str, Any] = {"limit": page_size, "fields": TEMPLATE_FIELDS}
        found: list[dict[str, Any]] = []
        for _ in range(max_pages):
            body = await self._call("GET", url, account, operation="templates", params=params)
            found.extend(t for t in body.get("data") or [] if isinstance(t, dict))
            paging = body.get("paging") or {}
            after = (paging.get("cursors") or {}).get("after")
            if not paging.get("next") or not after:
                return found
            params = {**params, "after": after}
        raise GraphError(f"more than {max_pages} pages of templates")

    async def delete_template(self, account: ChannelAccount, name: str, template_id: str | None = None) -> None:
        """`DELETE /{waba-id}/message_templates?name=` (every language of the name, or the one
        language whose Meta id is `template_id`)."""
        params = {"name": name}
        if template_id:
            params["hsm_id"] = template_id
        await self._call("DELETE", self._templates_url(account), account, operation="templates", params=params)


def streamed_multipart(
    fields: dict[str, str], name: str, filename: str, mime_type: str, chunks: AsyncIterable[bytes], size: int
) -> tuple[str, int, AsyncIterator[bytes]]:
    """A multipart/form-data body whose file part is streamed (httpx's own multipart reads files
    synchronously and whole-file objects only): its Content-Type, exact length and the body."""
    boundary = secrets.token_hex(16)

    def quoted(value: str) -> str:  # as browsers and httpx do (HTML's form encoding)
        return value.replace("\\", "\\\\").replace('"', "%22").replace("\r", "%0D").replace("\n", "%0A")

    head = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(key)}"\r\n\r\n{value}\r\n'.encode()
        for key, value in fields.items()
    ) + (
        f'--{boundary}\r\nContent-Disposition: form-data; name="{quoted(name)}"; filename="{quoted(filename)}"\r\n'
        f"Content-Type: {mime_type}\r\n\r\n"
    ).encode()
    tail = f"\r\n--{boundary}--\r\n".encode()

    async def body() -> AsyncIterator[bytes]:
        yield head
        async for chunk in chunks:
            yield chunk
        yield tail

    return f"multipart/form-data; boundary={boundary}", len(head) + size + len(tail), body()


# What inboxd reads of a template listing (Meta's default fields leave some of these out).
TEMPLATE_FIELDS = "id,name,language,status,category,components,rejected_reason,quality_score,parameter_format"
