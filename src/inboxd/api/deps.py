"""Shared dependencies: the services container and `require(...)`, the one permission check.

Every route declares its scopes next to itself, Sentry-style:

    @router.get("/chats/search", **require(Scope.LIST_ALL_CHATS))

The caller — an API token, or an agent signed in to the web inbox (their session's scopes come
from their role: `domain.agents.scopes_for_roles`) — must hold all of them; `require()` with no
scopes accepts any valid credential. An unsafe request (POST, PUT, PATCH, DELETE) made with a
session cookie must also carry the session's CSRF token in `X-CSRF-Token` (403 `csrf_failed`);
API tokens need none. `require_session()` is for the sign-in routes that only make sense for a
signed-in agent (`auth/me`, `auth/logout`). The scopes also appear in the OpenAPI document
(`x-required-scopes` and the operation's security).
"""

from __future__ import annotations

from typing import Any

from fastapi import Depends, Request

from inboxd.agents.sessions import AgentSession
from inboxd.api.auth import Credential, authenticate, bearer_secret, session_secret
from inboxd.domain import sessions as session_rules
from inboxd.domain.errors import Forbidden, Unauthorized
from inboxd.domain.scopes import Scope, missing_scopes
from inboxd.services import Services

BEARER_SCHEME = "BearerToken"
SESSION_SCHEME = "SessionCookie"


def get_services(request: Request) -> Services:
    return request.app.state.services


def csrf_failed() -> Forbidden:
    return Forbidden(
        f"This request is made with a session cookie: it needs the session's CSRF token in {session_rules.CSRF_HEADER} "
        "(from auth/login or auth/me).",
        code="csrf_failed", details=[{"path": f"header.{session_rules.CSRF_HEADER}", "reason": "missing or wrong"}],
    )


async def authenticated(request: Request, scopes: tuple[Scope, ...] = (), *, sessions_only: bool = False) -> Credential:
    """The request's credential, checked: valid, holding `scopes`, and for a session on an unsafe
    method, the CSRF token. Sets `request.state.token` (a token) or `request.state.agent` (the
    session's agent's row; `api.caller`)."""
    services: Services = request.app.state.services
    record = await authenticate(request.scope, services.tokens, services.sessions)
    if record is None:
        if bearer_secret(request.scope) is not None:
            raise Unauthorized("The API token is invalid or has been revoked.")
        if session_secret(request.scope) is not None:
            raise Unauthorized("The session has ended (signed out, expired, or the agent was deactivated): "
                               "sign in again.", code="session_ended")
        raise Unauthorized()
    if isinstance(record, AgentSession):
        if request.method not in session_rules.SAFE_METHODS:
            secret = session_secret(request.scope)
            if secret is None or not session_rules.csrf_matches(secret, request.headers.get(session_rules.CSRF_HEADER)):
                raise csrf_failed()
        request.state.agent = record.agent
        request.state.token = None
        who = "The signed-in agent's role does not allow this"
    else:
        if sessions_only:
            raise Unauthorized("This is for an agent signed in to the web inbox (the session cookie), not an API "
                               "token.", code="session_required", headers={})
        request.state.token = record
        who = "The API token lacks the scopes this endpoint requires"
    request.state.credential = record
    missing = missing_scopes(record.scopes, scopes)
    if missing:
        raise Forbidden(
            f"{who}: " + ", ".join(s.value for s in missing) + ".",
            details=[{"scope": s.value, "reason": "missing scope"} for s in missing],
        )
    return record


def require(*scopes: Scope, openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route keyword arguments that make the route demand a valid credential holding `scopes`
    (`openapi_extra`, if the route has its own, is merged in)."""

    async def check(request: Request) -> Credential:
        return await authenticated(request, scopes)

    names = [s.value for s in scopes]
    return {
        "dependencies": [Depends(check)],
        "openapi_extra": {**(openapi_extra or {}), "x-required-scopes": names,
                          "security": [{BEARER_SCHEME: names}, {SESSION_SCHEME: []}]},
    }


def require_session(openapi_extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """Route keyword arguments for a route only a signed-in agent may call (any role)."""

    async def check(request: Request) -> Credential:
        return await authenticated(request, sessions_only=True)

    return {
        "dependencies": [Depends(check)],
        "openapi_extra": {**(openapi_extra or {}), "x-required-scopes": [], "security": [{SESSION_SCHEME: []}]},
    }
