"""API tokens from the web inbox's settings (inboxd additions; scope Manage API tokens): list,
create (the secret shown once), revoke. The same operations as `inboxd tokens` (`api_tokens`).

A caller grants only scopes it holds itself (403 otherwise): a token that may manage tokens
cannot mint a more powerful one."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request

from inboxd import api_tokens
from inboxd.api.contract import answers, ok
from inboxd.api.deps import get_services, require
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.config import default_policy
from inboxd.domain.errors import Forbidden
from inboxd.domain.scopes import Scope
from inboxd.services import Services

router = APIRouter(tags=["API tokens"])

Svc = Annotated[Services, Depends(get_services)]
_MANAGE = Scope.MANAGE_API_TOKENS
_EXAMPLE_ID = "6912a3b1d0c2473c648f3cd2"
_CREATE_EXAMPLE = {"value": {"name": "CRM sync", "scopes": ["List all chats", "Send session message"], "rate": 20}}


def beyond_own_scopes(scopes: list[str]) -> Forbidden:
    return Forbidden(
        "A token can only be given scopes its creator holds: " + ", ".join(scopes) + ".",
        code="scope_not_held", details=[{"scope": s, "reason": "not held by the caller"} for s in scopes],
    )


@router.get(
    "/tokens",
    summary="List API Tokens (inboxd)",
    description="Every token, revoked ones too, oldest first: `id, name, scopes, created, lastUsed, revoked, "
                "rateLimit` — never the secret.",
    **require(_MANAGE),
    **answers(ok("TokenList")),
)
async def list_tokens(services: Svc) -> JSON:
    default = default_policy(services.settings)
    tokens = [api_tokens.token_object(r, default) for r in await api_tokens.list_all(services.db)]
    return JSON({"success": True, "total": len(tokens), "tokens": tokens})


@router.post(
    "/tokens",
    summary="Create API Token (inboxd)",
    description="`name` (1–200 characters), `scopes` (names or slugs; only scopes the caller holds), optional "
                "`rate` (requests/s) and `burst` (default: the configured limits). Answers 201 with the token "
                "and its `secret`, shown this once.",
    status_code=201,
    **require(_MANAGE, openapi_extra=body_examples({"token": _CREATE_EXAMPLE})),
    **answers(ok("TokenCreated", 201), beyond_own_scopes(["Manage agents"])),
)
async def create_token(request: Request, services: Svc) -> JSON:
    new = api_tokens.parse_new_token(await json_body(request))
    held = request.state.credential.scopes
    beyond = [s.value for s in new.scopes if s.value not in held]
    if beyond:
        raise beyond_own_scopes(beyond)
    secret, record = await api_tokens.create(services.db, new)
    token = api_tokens.token_object(record, default_policy(services.settings))
    response = JSON({"success": True, "token": token, "secret": secret}, status_code=201)
    response.headers.append("cache-control", "no-store")
    return response


@router.delete(
    "/tokens/{tokenId}",
    summary="Revoke API Token (inboxd)",
    description="Requests with the token are refused within a second, in every process. 404 `token_not_found` "
                "for no live token with this id.",
    **require(_MANAGE),
    **answers(ok("Success"), api_tokens.token_not_found(_EXAMPLE_ID)),
)
async def revoke_token(tokenId: str, services: Svc) -> JSON:  # noqa: N803
    if not await api_tokens.revoke(services.db, tokenId):
        raise api_tokens.token_not_found(tokenId)
    return JSON({"success": True})
