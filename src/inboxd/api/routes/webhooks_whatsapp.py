"""Meta's webhook: the verification handshake (GET) and signed events (POST).

A POST is checked against the app secrets of the configured accounts over the raw bytes before
anything is parsed, stored as it came, acknowledged, and processed by the inbound workers.
"""

from __future__ import annotations

from fastapi import APIRouter, Depends, Request
from fastapi.responses import PlainTextResponse

from inboxd import metrics
from inboxd.api.contract import answers, ok, text
from inboxd.api.deps import get_services
from inboxd.api.hot import hot
from inboxd.api.responses import JSON
from inboxd.channels.whatsapp.signature import HEADER, signature_matches
from inboxd.domain.clock import now_ms
from inboxd.domain.errors import Forbidden, Unauthorized
from inboxd.services import Services
from inboxd.store import webhook_events as events_store

router = APIRouter(tags=["webhooks"])


def verification_failed() -> Forbidden:
    return Forbidden("The verify token does not match any WhatsApp channel account.", code="verification_failed")


def invalid_signature() -> Unauthorized:
    return Unauthorized(
        f"Missing or invalid {HEADER}: it must be the HMAC-SHA256 of the raw body with the app secret.",
        code="invalid_signature",
        headers={},
    )


@router.get(
    "/webhooks/whatsapp",
    summary="Meta's webhook verification handshake",
    response_class=PlainTextResponse,
    **answers(text("`hub.challenge`, echoed.", example="1158201444"), verification_failed()),
)
async def verify(request: Request, services: Services = Depends(get_services)) -> PlainTextResponse:
    params = request.query_params
    cache = services.webhook_secrets
    await cache.load(force=True)
    token = params.get("hub.verify_token", "")
    if params.get("hub.mode") != "subscribe" or not any(token == t for t in cache.verify_tokens):
        raise verification_failed()
    return PlainTextResponse(params.get("hub.challenge", ""))


@router.post(
    "/webhooks/whatsapp",
    summary="Signed WhatsApp Cloud API events",
    **answers(ok("WebhookAccepted"), invalid_signature()),
)
async def receive(request: Request, services: Services = Depends(get_services)) -> JSON:
    return await _receive(request, services)


async def _receive(request: Request, services: Services) -> JSON:
    body = await request.body()
    header = request.headers.get(HEADER)
    cache = services.webhook_secrets
    await cache.load()
    if not signature_matches(body, header, cache.app_secrets):
        await cache.load(force=True)
        if not signature_matches(body, header, cache.app_secrets):
            metrics.webhook_rejected.labels("signature").inc()
            raise invalid_signature()
    async with services.db.write(urgent=True) as conn:  # Meta waits for this answer: ahead of the processor
        event_id = await events_store.add_event(conn, "whatsapp", body, now_ms())
    services.inbound.wake()
    return JSON({"success": True, "eventId": event_id})


hot(receive, _receive)  # api/hot.py: answered without FastAPI's dependency solving
