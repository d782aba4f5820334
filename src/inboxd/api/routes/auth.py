"""Sign-in for the web inbox (inboxd additions; docs/sign-in.md): `auth/login`, `auth/logout`,
`auth/me`, and an agent's own presence. A session is a cookie (`inboxd_session`: HttpOnly,
SameSite=Lax, Secure behind https); every other route accepts it like an API token, with the
scopes of the agent's role, and a CSRF token on unsafe methods."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from inboxd.agents import sessions
from inboxd.agents.requests import parse_presence, parse_sign_in
from inboxd.agents.service import Directory
from inboxd.agents.sessions import AgentSession
from inboxd.api.auth import session_secret
from inboxd.api.contract import answers, ok
from inboxd.api.deps import csrf_failed, get_services, require_session
from inboxd.api.request_body import body_examples, json_body
from inboxd.api.responses import JSON
from inboxd.domain import sessions as rules
from inboxd.domain.errors import RateLimited
from inboxd.services import Services

router = APIRouter(tags=["sign-in"])

Svc = Annotated[Services, Depends(get_services)]
_LOGIN_EXAMPLE = {"value": {"email": "tyler@example.com", "password": "a long passphrase"}}


def _secure(services: Services) -> bool:
    return (services.settings.public_url or "").lower().startswith("https://")


def _session(request: Request) -> AgentSession:
    credential = request.state.credential
    assert isinstance(credential, AgentSession)
    return credential


async def _signed_in(services: Services, session_or_uid: AgentSession | str, csrf_token: str) -> dict[str, Any]:
    uid = session_or_uid.agent_uid if isinstance(session_or_uid, AgentSession) else session_or_uid
    agent = await Directory(services.db, services.events).get_agent(uid)
    return {"success": True, "agent": agent, "csrfToken": csrf_token}


@router.post(
    "/auth/login",
    summary="Sign In (inboxd)",
    description=(
        "*inboxd addition (the web inbox).* `email` (any case) and `password` of an active agent: answers the Agent "
        "and the session's `csrfToken`, and sets the session cookie `inboxd_session` (HttpOnly, SameSite=Lax, "
        "Secure when INBOXD_PUBLIC_URL is https; it lasts INBOXD_SESSION_HOURS). A wrong password and an unknown "
        "email get the same 401 `wrong_credentials`; 10 failures for one email within 15 minutes lock it out "
        "(429 with Retry-After) until the oldest is 15 minutes old."
    ),
    # Public (no credential): `security: []`.
    openapi_extra={**body_examples({"sign in": _LOGIN_EXAMPLE}), "x-required-scopes": [], "security": []},
    **answers(ok("SignedIn", headers=["Set-Cookie"]), sessions.wrong_credentials(),
              RateLimited("Too many failed sign-ins for this email: try again in 840 s.",
                          headers={"Retry-After": "840"})),
)
async def login(request: Request, services: Svc) -> JSON:
    given = parse_sign_in(await json_body(request))
    secret, uid = await sessions.sign_in(services.db, given.email, given.password,
                                         session_hours=services.settings.session_hours)
    response = JSON(await _signed_in(services, uid, rules.csrf_token_for(secret)))
    max_age = int(services.settings.session_hours * 3600)
    response.headers.append("set-cookie", rules.cookie_header(secret, max_age=max_age, secure=_secure(services)))
    response.headers.append("cache-control", "no-store")
    return response


@router.post(
    "/auth/logout",
    summary="Sign Out (inboxd)",
    description="Ends the session (in every process at once) and clears the cookie. Needs the CSRF token.",
    **require_session(),
    **answers(ok("Success", headers=["Set-Cookie"]), csrf_failed()),
)
async def logout(request: Request, services: Svc) -> JSON:
    secret = session_secret(request.scope)
    assert secret is not None
    await sessions.sign_out(services.db, services.sessions, _session(request), secret)
    response = JSON({"success": True})
    response.headers.append("set-cookie", rules.cookie_header("", max_age=0, secure=_secure(services)))
    return response


@router.get(
    "/auth/me",
    summary="Signed-in Agent (inboxd)",
    description="The signed-in agent, the session's `csrfToken` (send it as X-CSRF-Token with every POST, PUT, "
                "PATCH and DELETE) and the scopes their role gives. 401 without a valid session.",
    **require_session(),
    **answers(ok("SignedInSession")),
)
async def me(request: Request, services: Svc) -> JSON:
    session = _session(request)
    body = await _signed_in(services, session, session.csrf_token)
    body["scopes"] = sorted(session.scopes)
    response = JSON(body)
    response.headers.append("cache-control", "no-store")
    return response


@router.put(
    "/auth/me/presence",
    summary="Set My Presence (inboxd)",
    description="The signed-in agent's own presence: `online`, `away` or `offline` (Set Agent Presence, for "
                "oneself, with any role). Answers the Agent.",
    **require_session(openapi_extra=body_examples({"away": {"value": {"presence": "away"}}})),
    **answers(ok("Agent"), csrf_failed()),
)
async def my_presence(request: Request, services: Svc) -> JSON:
    presence = parse_presence(await json_body(request))
    return JSON(await Directory(services.db, services.events).set_presence(_session(request).agent_uid, presence))
