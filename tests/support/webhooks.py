"""Posting signed WhatsApp webhooks to a live server, and waiting until they are processed."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import orjson
import sqlalchemy as sa

from inboxd.channels.whatsapp.signature import HEADER, sign
from inboxd.store.db import Database
from inboxd.store.tables import webhook_events


async def post_webhook(client: httpx.AsyncClient, payload: Any, app_secret: str | None) -> httpx.Response:
    body = payload if isinstance(payload, bytes) else orjson.dumps(payload)
    headers = {"Content-Type": "application/json"}
    if app_secret is not None:
        headers[HEADER] = sign(body, app_secret)
    return await client.post("/webhooks/whatsapp", content=body, headers=headers)


async def wait_processed(db: Database, timeout: float = 10.0) -> None:
    """Until no stored webhook event is still pending."""
    deadline = time.monotonic() + timeout
    while True:
        async with db.read() as conn:
            pending = (
                await conn.execute(sa.select(sa.func.count()).where(webhook_events.c.state == "pending"))
            ).scalar_one()
        if pending == 0:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{pending} webhook events still pending after {timeout}s")
        await asyncio.sleep(0.02)


def text_webhook(
    *,
    phone_number_id: str,
    wa_id: str,
    wamid: str,
    text: str,
    timestamp: int,
    name: str = "Dana",
    display_phone_number: str = "15550783881",
) -> dict[str, Any]:
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": display_phone_number, "phone_number_id": phone_number_id},
                            "contacts": [{"profile": {"name": name}, "wa_id": wa_id}],
                            "messages": [
                                {"from": wa_id, "id": wamid, "timestamp": str(timestamp), "type": "text",
                                 "text": {"body": text}}
                            ],
                        },
                    }
                ],
            }
        ],
    }


def status_webhook(
    *, phone_number_id: str, wamid: str, status: str, timestamp: int, recipient: str, errors: list[Any] | None = None
) -> dict[str, Any]:
    item: dict[str, Any] = {"id": wamid, "status": status, "timestamp": str(timestamp), "recipient_id": recipient}
    if errors:
        item["errors"] = errors
    return {
        "object": "whatsapp_business_account",
        "entry": [
            {
                "id": "102290129340398",
                "changes": [
                    {
                        "field": "messages",
                        "value": {
                            "messaging_product": "whatsapp",
                            "metadata": {"display_phone_number": "15550783881", "phone_number_id": phone_number_id},
                            "statuses": [item],
                        },
                    }
                ],
            }
        ],
    }
