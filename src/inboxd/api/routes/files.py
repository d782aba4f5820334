"""Files: Generate Public Media URL (reference §4) and the public link itself."""

from __future__ import annotations

import secrets
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, RedirectResponse, Response, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from inboxd.api.contract import answers, link, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import json_body, model_body, parse_model
from inboxd.api.responses import JSON
from inboxd.api.schemas import FILE_ID
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import NotFound, file_not_found
from inboxd.domain.ids import is_id
from inboxd.domain.scopes import Scope
from inboxd.services import Services
from inboxd.store import files as files_store

router = APIRouter(tags=["files"])
public_router = APIRouter(tags=["files"])

SHARED_PATH = "/server/files/shared"


def link_gone() -> NotFound:
    return NotFound("This link does not exist or has expired.", code="link_not_found")


class ShareRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)
    ttl: int | None = Field(default=None, ge=10, le=630720000, description="Seconds; omit for a link that never expires")


def public_base(services: Services, request: Request) -> str:
    return (services.settings.public_url or str(request.base_url)).rstrip("/")


@router.post(
    "/files/share/{fileId}",
    summary="Generate Public Media URL",
    **require(Scope.VIEW_ALL_CHATS, Scope.VIEW_ALL_FILES, openapi_extra=model_body(ShareRequest, required=False)),
    **answers(
        ok("FileShare", links={"ReadTheLink": link("A public file link (no token needed)", "Read the file through its public link", fileId="$request.path.fileId",
            token="$response.body#/token")}),
        file_not_found(FILE_ID),
    ),
)
async def share_file(
    fileId: str,  # noqa: N803
    request: Request,
    services: Annotated[Services, Depends(get_services)],
) -> JSON:
    raw = await json_body(request, empty=None)
    body = None if raw is None else parse_model(ShareRequest, raw)
    if not is_id(fileId):
        raise file_not_found(fileId)
    token = secrets.token_hex(50)
    now = now_ms()
    ttl = body.ttl if body else None
    async with services.db.write() as conn:
        if await files_store.get_file(conn, fileId) is None:
            raise file_not_found(fileId)
        await files_store.add_share(conn, fileId, token, now + ttl * 1000 if ttl else None, now)
    url = f"{public_base(services, request)}{SHARED_PATH}/{fileId}/{token}"
    return JSON({"token": token, "url": url})


def inline_disposition(filename: str) -> str:
    """`Content-Disposition: inline` with the filename, as Starlette's FileResponse writes it."""
    quoted = quote(filename)
    return f"inline; filename*=utf-8''{quoted}" if quoted != filename else f'inline; filename="{filename}"'


@public_router.get(
    f"{SHARED_PATH}/{{fileId}}/{{token}}",
    summary="A public file link (no token needed)",
    **answers(ok("FileContent", media_type="*/*", description="The file, inline, with its stored type and name "
                 "(or, with `INBOXD_FILES_PUBLIC_LINKS=redirect` and an S3 store, a 303 to a presigned URL).",
                 example="(the file's bytes)"), link_gone()),
)
async def shared_file(fileId: str, token: str, services: Annotated[Services, Depends(get_services)]) -> Response:  # noqa: N803
    """Served by inboxd (a local file with sendfile, an S3 object streamed through), or, with
    `INBOXD_FILES_PUBLIC_LINKS=redirect` and a store that has presigned URLs, a 303 to one."""
    gone = link_gone()
    if not is_id(fileId) or len(token) > 256:
        raise gone
    async with services.db.read() as conn:
        row = await files_store.shared_file(conn, fileId, token, now_ms())
    store = services.files
    if row is None or not await store.exists(row["sha256"]):
        raise gone
    headers = {"X-Content-Type-Options": "nosniff"}  # the stored type, never the browser's guess
    path = store.local_path(row["sha256"])
    if path is not None:
        return FileResponse(
            path, media_type=row["content_type"], filename=row["filename"], content_disposition_type="inline",
            headers=headers,
        )
    if services.settings.files_public_links == "redirect":
        seconds = services.settings.files_presign_seconds
        if row["share_expires_at"] is not None:  # never outlive the link itself
            seconds = max(1, min(seconds, (row["share_expires_at"] - now_ms()) // 1000))
        url = await store.presigned_url(
            row["sha256"], seconds=seconds, content_type=row["content_type"],
            content_disposition=inline_disposition(row["filename"]) if row["filename"] else None,
        )
        if url is not None:
            return RedirectResponse(url, status_code=303, headers={"Cache-Control": "no-store"})
    headers["Content-Length"] = str(row["size"])
    if row["filename"]:
        headers["Content-Disposition"] = inline_disposition(row["filename"])
    return StreamingResponse(store.read(row["sha256"]), media_type=row["content_type"], headers=headers)
