"""The channel accounts (inboxd addition; scope Manage channels): what `inboxd channels list`
shows, with each account's health — never a secret."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends

from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.responses import JSON
from inboxd.channels.listing import list_with_health
from inboxd.domain.scopes import Scope
from inboxd.services import Services

router = APIRouter(tags=["channels"])


@router.get(
    "/channels",
    summary="List Channel Accounts (inboxd)",
    description="Every channel account: `accountId` (the business number), `phoneNumberId`, `wabaId`, "
                "`defaultDepartment`, `resolutionMessage`, `readReceipts`, `mps`, `sandbox`, and `health` "
                "(`status` ok/warning/error from the active problems, `openProblems`, `qualityRating`). Credentials "
                "(access token, app secret, verify token) are never shown; `inboxd channels update` changes them.",
    **require(Scope.MANAGE_CHANNELS),
    **answers(ok("ChannelAccountList")),
)
async def list_channels(services: Annotated[Services, Depends(get_services)]) -> JSON:
    async with services.db.read() as conn:
        accounts = await list_with_health(conn)
    return JSON({"success": True, "total": len(accounts), "channels": accounts})
