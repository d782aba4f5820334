"""A 404 from a media download URL means the 5-minute URL expired, whatever body comes with it:
inbound resolves the media id again and the message lands with its file. (Meta's CDN may answer a
bare 404 or a Graph error body whose code alone would read as a permanent refusal.)"""

from __future__ import annotations

import asyncio
import base64
import time

import sqlalchemy as sa

from inboxd.store.tables import messages
from tests.support.wa import WhatsAppRig

PNG = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg=="
)


async def test_a_404_with_a_graph_error_body_re_resolves_the_media_id(rig: WhatsAppRig) -> None:
    # code 100 ("invalid parameter") is a recipient-side refusal anywhere else
    await rig.fault(kind="graph_error", endpoint="download", code=100, http_status=404, count=1,
                    message="Unsupported get request. The object does not exist")
    r = await rig.control.post("/simulator/inbound", json={
        "from": "972521234567", "name": "Dana", "image": {"data": base64.b64encode(PNG).decode()}})
    assert r.status_code == 200, r.text
    deadline = time.monotonic() + 30
    while True:
        async with rig.db.read() as conn:
            rows = (await conn.execute(sa.select(messages))).mappings().all()
        if rows:
            break
        assert time.monotonic() < deadline, "the image never landed"
        await asyncio.sleep(0.05)
    [item] = rows[0]["content"]["media"]
    assert "error" not in item and len(item["fileId"]) == 24 and item["contentType"] == "image/png"
    assert (await rig.control.get("/simulator/faults")).json()["data"] == []  # the fault was used up
