"""An inbound image whose download fails for a while: the event stays pending, the server
retries it in the background with backoff, and the message lands once with its file."""

from __future__ import annotations

import asyncio
import base64
import time

import sqlalchemy as sa

from inboxd.store.files import get_file
from inboxd.store.tables import messages, webhook_events
from tests.support.filestores import both_stores, read_blob
from tests.support.wa import WhatsAppRig

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


@both_stores
async def test_a_failed_media_download_is_retried_until_the_message_lands(rig: WhatsAppRig) -> None:
    await rig.fault(kind="http_503", endpoint="media", count=4)  # more than one processing attempt tries
    r = await rig.control.post(
        "/simulator/inbound",
        json={"from": "972521234567", "name": "Dana", "image": {"data": base64.b64encode(PNG).decode(), "caption": "hi"}},
    )
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while True:
        async with rig.db.read() as conn:
            rows = (await conn.execute(sa.select(messages).where(messages.c.type != "system"))).mappings().all()
            event = (await conn.execute(sa.select(webhook_events))).mappings().first()
        if rows:
            break
        assert time.monotonic() < deadline, "the image never landed"
        await asyncio.sleep(0.1)
    [row] = rows
    assert event is not None and event["state"] == "done" and event["attempts"] >= 2
    item = row["content"]["media"][0]
    assert item["caption"] == "hi" and item["contentType"] == "image/png"
    async with rig.db.read() as conn:
        stored = await get_file(conn, item["fileId"])
    assert stored is not None
    assert rig.server.services is not None
    assert await read_blob(rig.server.services.files, stored["sha256"]) == PNG
    text = (await rig.client.get("/metrics")).text
    assert 'inboxd_processing_failures_total{stage="inbound_media"}' in text
    assert 'inboxd_webhook_events_total{channel="whatsapp",kind="message_image"}' in text
    assert "inboxd_http_requests_total" in text
