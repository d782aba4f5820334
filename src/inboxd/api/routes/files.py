"""Files: Generate Public Media URL (reference §4) and the public link itself."""

from __future__ import annotations

import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse
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


@public_router.get(
    f"{SHARED_PATH}/{{fileId}}/{{token}}",
    summary="A public file link (no token needed)",
    **answers(ok("FileContent", media_type="*/*", description="The file, inline, with its stored type and name.",
                 example="(the file's bytes)"), link_gone()),
)
async def shared_file(fileId: str, token: str, services: Annotated[Services, Depends(get_services)]) -> FileResponse:  # noqa: N803
    gone = link_gone()
    if not is_id(fileId) or len(token) > 256:
        raise gone
    async with services.db.read() as conn:
        row = await files_store.shared_file(conn, fileId, token, now_ms())
    if row is None or not services.files.exists(row["sha256"]):
        raise gone
    return FileResponse(
        services.files.path(row["sha256"]),
        media_type=row["content_type"],
        filename=row["filename"],
        content_disposition_type="inline",
        headers={"X-Content-Type-Options": "nosniff"},  # the stored type, never the browser's guess
    )
