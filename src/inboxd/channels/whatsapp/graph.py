"""The Graph API client inboxd uses: send, media upload/lookup/download. One shared
`httpx.AsyncClient` (its transport is pluggable, so tests can run it without a network); each
call is addressed with the account's own Graph URL, API version and access token."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import httpx
import orjson

from inboxd.channels.whatsapp.errors import GraphError
from inboxd.store.accounts import ChannelAccount

DEFAULT_TIMEOUT = httpx.Timeout(connect=5.0, read=20.0, write=20.0, pool=10.0)


def new_http_client(**kwargs: Any) -> httpx.AsyncClient:
    kwargs.setdefault("timeout", DEFAULT_TIMEOUT)
    kwargs.setdefault("limits", httpx.Limits(max_connections=200, max_keepalive_connections=100))
    return httpx.AsyncClient(**kwargs)


def _auth(account: ChannelAccount) -> dict[str, str]:
    return {"Authorization": f"Bearer {account.access_token}"}


class GraphClient:
    def __init__(self, http: httpx.AsyncClient) -> None:
        self.http = http

    async def _call(
        self, method: str, url: str, account: ChannelAccount, *, json_content: bool = False, **kwargs: Any
    ) -> Any:
        headers = _auth(account)
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
        return await self._call("POST", url, account, content=orjson.dumps(payload), json_content=True)

    async def upload_media(self, account: ChannelAccount, data: bytes, mime_type: str, filename: str) -> str:
        url = f"{account.graph_base}/{account.phone_number_id}/media"
        body = await self._call(
            "POST",
            url,
            account,
            data={"messaging_product": "whatsapp", "type": mime_type},
            files={"file": (filename, data, mime_type)},
        )
        return str(body["id"])

    async def media_info(self, account: ChannelAccount, media_id: str) -> dict[str, Any]:
        url = f"{account.graph_base}/{media_id}"
        return await self._call("GET", url, account, params={"phone_number_id": account.phone_number_id})

    @asynccontextmanager
    async def download(self, account: ChannelAccount, url: str) -> AsyncIterator[httpx.Response]:
        """Stream a media URL (Bearer required). Raises GraphError on an error status."""
        try:
            async with self.http.stream("GET", url, headers=_auth(account)) as response:
                if response.status_code >= 400:
                    await response.aread()
                    try:
                        body = orjson.loads(response.content)
                    except orjson.JSONDecodeError:
                        body = None
                    raise GraphError.from_response(response.status_code, body)
                yield response
        except httpx.TimeoutException as exc:
            raise GraphError(f"timeout downloading media: {type(exc).__name__}") from exc
        except httpx.TransportError as exc:
            raise GraphError(f"cannot download media: {type(exc).__name__}: {exc}") from exc
