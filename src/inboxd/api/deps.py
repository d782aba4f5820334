"""Shared dependencies: the services container and `require(...)`, the one permission check.

Every route declares its scopes next to itself, Sentry-style:

    @router.get("/chats/search", **require(Scope.LIST_ALL_CHATS))

A token must hold all of them; `require()` with no scopes accepts any valid token. The scopes
also appear in the OpenAPI document (`x-required-scopes` and the operation's security).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from inboxd.api.auth import TokenCache, authenticate, bearer_secret
from inboxd.domain.errors import Forbidden, Unauthorized
from inboxd.domain.scopes import Scope, missing_scopes
from inboxd.services import Services
from inboxd.store.tokens import TokenRecord

BEARER_SCHEME = "BearerToken"


def get_services(request: Request) -> Services:
    return request.app.state.services


async def authorize(scope: dict[str, Any], tokens: TokenCache, scopes: tuple[Scope, ...]) -> TokenRecord:
    """The request's live token holding `scopes` (401/403 otherwise), kept as `request.state.token`;
    `require()`'s check, and the hot routes' (api/hot.py), which skip FastAPI's dependencies."""
    record = await authenticate(scope, tokens)
    if record is None:
        if bearer_secret(scope) is None:
            raise Unauthorized()
        raise Unauthorized("The API token is invalid or has been revoked.")
    missing = missing_scopes(record.scopes, scopes)
    if missing:
        raise Forbidden(
            "The API token lacks the scopes this endpoint requires: " + ", ".join(s.value for s in missing) + ".",
            details=[{"scope": s.value, "reason": "missing scope"} for s in missing],
        )
    scope.setdefault("state", {})["token"] = record
    return record


def require(*scopes: Scope, openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route keyword arguments that make the route demand a valid token holding `scopes`
    (`openapi_extra`, if the route has its own, is merged in)."""

    async def check(request: Request) -> TokenRecord:
        return await authorize(request.scope, request.app.state.services.tokens, scopes)

    names = [s.value for s in scopes]
    return {
        "dependencies": [Depends(check)],
        "openapi_extra": {**(openapi_extra or {}), "x-required-scopes": names, "security": [{BEARER_SCHEME: names}]},
    }
