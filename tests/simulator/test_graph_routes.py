"""The Graph endpoints over HTTP: sends (validated, answered as Meta answers), Graph's error shape,
the access token, media and templates."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import httpx
import pytest

from inboxd.simulator.media import MEDIA_URL_TTL_SECONDS
from tests.simulator.examples import filled_examples
from tests.simulator.support import PNG, RunningSimulator, eventually
from tests.simulator.test_schema import buttons, list_message

DANA = "972521234567"


def graph_error(r: httpx.Response) -> dict[str, Any]:
    body = r.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"message", "type", "code", "fbtrace_id"} <= set(error), error
    return error


def text(to: str = DANA, body: str = "Hello") -> dict[str, Any]:
    return {"messaging_product": "whatsapp", "recipient_type": "individual", "to": to, "type": "text", "text": {"body": body}}


async def test_an_accepted_send_is_answered_as_meta_answers(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    r = await simulator.send(text(to="+972 52-123-4567"))
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["messaging_product"] == "whatsapp"
    assert body["contacts"] == [{"input": "+972 52-123-4567", "wa_id": DANA}]
    assert body["messages"][0]["id"].startswith("wamid.")


@pytest.mark.parametrize(
    ("case", "field"),
    [
        ("title of 21 characters", "interactive.action.buttons[0].reply.title"),
        ("4 reply buttons", "interactive.action.buttons"),
        ("11 rows", "interactive.action.sections"),
        ("body of 1025 characters", "interactive.body.text"),
        ("no to", "to"),
    ],
)
async def test_invalid_sends_get_error_100_naming_the_field(simulator: RunningSimulator, case: str, field: str) -> None:
    await simulator.user_writes(DANA)
    body = {
        "title of 21 characters": lambda: buttons("x" * 21),
        "4 reply buttons": lambda: buttons("a", "b", "c", "d"),
        "11 rows": lambda: list_message(6, 5),
        "body of 1025 characters": lambda: _long_body(),
        "no to": lambda: {k: v for k, v in buttons("Yes").items() if k != "to"},
    }[case]()
    r = await simulator.send(body)
    assert r.status_code == 400
    error = graph_error(r)
    assert error["code"] == 100
    assert field in error["message"] and field in error["error_data"]["details"]
    assert await simulator.sent_to(DANA) == []


def _long_body() -> dict[str, Any]:
    body = buttons("Yes")
    body["interactive"]["body"]["text"] = "x" * 1025
    return body


async def test_every_send_example_in_metas_file_is_accepted(simulator: RunningSimulator) -> None:
    """Each example, sent for real: to a user who wrote (the window is open), with media ids
    that were uploaded, and templates that exist and are approved."""
    simulator.sim.reconfigure(pair_burst=0)  # ~50 messages to one user is past Meta's pair burst
    wamid = await simulator.user_writes(DANA)
    examples = filled_examples(DANA)
    for name, body in examples.items():
        await _make_sendable(simulator, body, inbound_wamid=wamid)
        r = await simulator.send(body)
        assert r.status_code == 200, f"{name}: {r.text}"
    sent = await simulator.sent_to(DANA)
    assert len(sent) == len([b for b in examples.values() if b.get("status") != "read"])


async def _make_sendable(simulator: RunningSimulator, body: dict[str, Any], inbound_wamid: str) -> None:
    if body.get("status") == "read":
        body["message_id"] = inbound_wamid
        return
    for media in _media_objects(body):
        if "id" in media:
            media["id"] = await _upload(simulator)
    template = body.get("template")
    if template:
        counts = {
            kind: sum(len(c.get("parameters") or []) for c in template.get("components") or [] if c["type"] == kind)
            for kind in ("body", "header")
        }
        components = [{"type": "BODY", "text": " ".join(f"{{{{{i + 1}}}}}" for i in range(counts["body"])) or "Hi"}]
        if counts["header"]:
            components.append({"type": "HEADER", "format": "IMAGE"})
        r = await simulator.graph.post(
            f"/{simulator.config.waba_id}/message_templates",
            json={"name": _template_name(template["name"]), "language": template["language"]["code"],
                  "category": "UTILITY", "components": components},
        )
        assert r.status_code in (200, 400), r.text  # 400: the same name and language exist already
        template["name"] = _template_name(template["name"])
        await eventually(lambda: simulator.sim.templates.find(template["name"], template["language"]["code"]).status
                         == "APPROVED")


def _template_name(name: str) -> str:
    return "".join(c if c.isalnum() else "_" for c in name.lower()).strip("_") or "t"


def _media_objects(node: Any) -> list[dict[str, Any]]:
    found = []
    if isinstance(node, dict):
        for key, value in node.items():
            if key in ("image", "video", "audio", "document", "sticker") and isinstance(value, dict):
                found.append(value)
            found += _media_objects(value)
    elif isinstance(node, list):
        for item in node:
            found += _media_objects(item)
    return found


async def _upload(simulator: RunningSimulator, data: bytes = PNG, mime: str = "image/png") -> str:
    r = await simulator.graph.post(
        f"/{simulator.config.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": ("a.png", data, mime)},
    )
    assert r.status_code == 200, r.text
    return r.json()["id"]


# --- the access token and the addressing --------------------------------------------------------


async def test_a_bad_or_missing_token_is_refused_with_190(simulator: RunningSimulator) -> None:
    url = f"{simulator.url}/v23.0/{simulator.config.phone_number_id}/messages"
    async with httpx.AsyncClient() as http:
        for headers in ({}, {"Authorization": "Bearer wrong"}, {"Authorization": "Basic abc"}):
            r = await http.post(url, json=text(), headers=headers)
            assert r.status_code == 401
            assert graph_error(r)["code"] == 190


async def test_any_version_segment_is_accepted_and_the_number_must_be_ours(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    r = await simulator.graph.post(f"{simulator.url}/v19.0/{simulator.config.phone_number_id}/messages", json=text())
    assert r.status_code == 200
    r = await simulator.graph.post("/123456789/messages", json=text())
    assert r.status_code == 400 and graph_error(r)["code"] == 100


@pytest.mark.parametrize("raw", [b"{not json", b"[1, 2]", b"", "{\"to\": \"\u00e9\"".encode()])
async def test_bad_bodies_are_error_100_never_500(simulator: RunningSimulator, raw: bytes) -> None:
    r = await simulator.graph.post(
        f"/{simulator.config.phone_number_id}/messages", content=raw, headers={"Content-Type": "application/json"}
    )
    assert r.status_code == 400 and graph_error(r)["code"] == 100


# --- Meta's rules ---------------------------------------------------------------------------------


async def test_outside_the_window_a_free_form_message_gets_131047(simulator: RunningSimulator) -> None:
    r = await simulator.send(text())
    assert r.status_code == 400 and graph_error(r)["code"] == 131047
    # the user wrote 25 hours ago (on WhatsApp's clock): still closed
    await simulator.inbound(**{"from": DANA, "text": {"body": "old"}, "timestamp": int(time.time()) - 25 * 3600})
    r = await simulator.send(text())
    assert graph_error(r)["code"] == 131047
    await simulator.user_writes(DANA)
    assert (await simulator.send(text())).status_code == 200
    # closed again through the control API
    r = await simulator.control.put(f"/simulator/contacts/{DANA}/window", json={"open": False})
    assert r.status_code == 200 and r.json()["window_open"] is False
    assert graph_error(await simulator.send(text()))["code"] == 131047


async def test_a_template_may_go_outside_the_window(simulator: RunningSimulator) -> None:
    body = {"messaging_product": "whatsapp", "to": DANA, "type": "template",
            "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    assert (await simulator.send(body)).status_code == 200
    body["template"]["name"] = "no_such_template"
    r = await simulator.send(body)
    assert r.status_code == 404 and graph_error(r)["code"] == 132001


async def test_past_the_throughput_cap_sends_get_130429(simulator: RunningSimulator) -> None:
    simulator.sim.reconfigure(mps=5)
    await simulator.user_writes(DANA)
    responses = await asyncio.gather(*(simulator.send(text(body=str(i))) for i in range(12)))
    codes = [r.status_code for r in responses]
    assert codes.count(200) >= 5
    refused = [graph_error(r)["code"] for r in responses if r.status_code != 200]
    assert refused and set(refused) == {130429}
    await asyncio.sleep(1.1)  # the bucket refills
    assert (await simulator.send(text())).status_code == 200


async def test_past_the_pair_burst_sends_to_one_user_get_131056(simulator: RunningSimulator) -> None:
    simulator.sim.reconfigure(pair_burst=3, pair_interval_seconds=60)
    await simulator.user_writes(DANA)
    await simulator.user_writes("972500000001")
    codes = [(await simulator.send(text())).status_code for _ in range(3)]
    assert codes == [200, 200, 200]
    r = await simulator.send(text())
    assert graph_error(r)["code"] == 131056
    assert (await simulator.send(text(to="972500000001"))).status_code == 200  # other users are unaffected


async def test_an_unknown_media_id_gets_131053(simulator: RunningSimulator) -> None:
    await simulator.user_writes(DANA)
    body = {"messaging_product": "whatsapp", "to": DANA, "type": "image", "image": {"id": "999999"}}
    r = await simulator.send(body)
    assert r.status_code == 400 and graph_error(r)["code"] == 131053
    body["image"]["id"] = await _upload(simulator)
    assert (await simulator.send(body)).status_code == 200


async def test_mark_as_read(simulator: RunningSimulator) -> None:
    wamid = await simulator.user_writes(DANA)
    body = {"messaging_product": "whatsapp", "status": "read", "message_id": wamid}
    r = await simulator.send(body)
    assert r.status_code == 200 and r.json() == {"success": True}
    r = await simulator.send({**body, "typing_indicator": {"type": "text"}})
    assert r.json() == {"success": True}
    assert (await simulator.control.get(f"/simulator/contacts/{DANA}")).json()["marked_read"] == [wamid, wamid]
    r = await simulator.send({**body, "message_id": "wamid.unknown"})
    assert graph_error(r)["code"] == 100


# --- media --------------------------------------------------------------------------------------


async def test_media_upload_lookup_download_and_delete(simulator: RunningSimulator) -> None:
    media_id = await _upload(simulator)
    r = await simulator.graph.get(f"/{media_id}", params={"phone_number_id": simulator.config.phone_number_id})
    assert r.status_code == 200, r.text
    info = r.json()
    assert info["mime_type"] == "image/png" and info["file_size"] == len(PNG) and info["id"] == media_id
    assert len(info["sha256"]) == 64
    async with httpx.AsyncClient() as http:
        assert (await http.get(info["url"])).status_code == 401  # the URL needs the token
        download = await http.get(info["url"], headers=simulator.graph.headers)
        assert download.status_code == 200 and download.content == PNG
        assert download.headers["content-type"].startswith("image/png")
    assert (await simulator.graph.delete(f"/{media_id}")).json() == {"success": True}
    assert graph_error(await simulator.graph.get(f"/{media_id}"))["code"] == 100
    async with httpx.AsyncClient() as http:
        assert (await http.get(info["url"], headers=simulator.graph.headers)).status_code == 404


async def test_a_media_url_expires_after_5_minutes(simulator: RunningSimulator) -> None:
    media = simulator.sim.media.get(await _upload(simulator))
    assert media is not None
    old = simulator.sim.media.url_query(media, now=time.time() - MEDIA_URL_TTL_SECONDS - 1)
    async with httpx.AsyncClient() as http:
        r = await http.get(f"{simulator.url}/whatsapp_business/attachments/?{old}", headers=simulator.graph.headers)
        assert r.status_code == 404
        forged = old.replace("hash=", "hash=0")
        r = await http.get(f"{simulator.url}/whatsapp_business/attachments/?{forged}", headers=simulator.graph.headers)
        assert r.status_code == 404


@pytest.mark.parametrize(
    ("mime", "data", "code"),
    [("application/x-msdownload", b"MZ", 131053), ("image/png", b"x" * (5 * 1024 * 1024 + 1), 131053)],
)
async def test_uploads_meta_refuses(simulator: RunningSimulator, mime: str, data: bytes, code: int) -> None:
    r = await simulator.graph.post(
        f"/{simulator.config.phone_number_id}/media",
        data={"messaging_product": "whatsapp", "type": mime},
        files={"file": ("f", data, mime)},
    )
    assert r.status_code == 400 and graph_error(r)["code"] == code


async def test_an_upload_without_a_file_or_product_is_error_100(simulator: RunningSimulator) -> None:
    url = f"/{simulator.config.phone_number_id}/media"
    r = await simulator.graph.post(url, data={"messaging_product": "whatsapp"})
    assert graph_error(r)["code"] == 100 and "file" in graph_error(r)["message"]
    r = await simulator.graph.post(url, files={"file": ("a.png", PNG, "image/png")})
    assert graph_error(r)["code"] == 100
    r = await simulator.graph.post(url, content=b"garbage", headers={"Content-Type": "multipart/form-data; boundary=x"})
    assert r.status_code == 400 and graph_error(r)["code"] == 100


# --- templates ----------------------------------------------------------------------------------


async def test_templates_are_created_pending_approved_after_the_delay_listed_and_deleted(
    simulator: RunningSimulator,
) -> None:
    simulator.sim.reconfigure(template_approval_delay=0.3)
    waba = simulator.config.waba_id
    body = {"name": "order_update", "language": "en_US", "category": "utility",
            "components": [{"type": "BODY", "text": "Your order {{1}} is on its way"}]}
    r = await simulator.graph.post(f"/{waba}/message_templates", json=body)
    assert r.status_code == 200, r.text
    created = r.json()
    assert created["status"] == "PENDING" and created["category"] == "UTILITY"
    send = {"messaging_product": "whatsapp", "to": DANA, "type": "template",
            "template": {"name": "order_update", "language": {"code": "en_US"},
                         "components": [{"type": "body", "parameters": [{"type": "text", "text": "42"}]}]}}
    assert graph_error(await simulator.send(send))["code"] == 132001  # not approved yet
    await eventually(lambda: simulator.sim.templates.by_id[created["id"]].status == "APPROVED")
    assert (await simulator.send(send)).status_code == 200
    send["template"]["components"] = []
    assert graph_error(await simulator.send(send))["code"] == 132000  # parameter count
    listed = (await simulator.graph.get(f"/{waba}/message_templates", params={"name": "order_update"})).json()
    assert [t["status"] for t in listed["data"]] == ["APPROVED"]
    assert (await simulator.graph.get(f"/{created['id']}")).json()["name"] == "order_update"
    r = await simulator.graph.post(f"/{waba}/message_templates", json=body)
    assert graph_error(r)["code"] == 100  # the same name and language again
    r = await simulator.graph.delete(f"/{waba}/message_templates", params={"name": "order_update"})
    assert r.json() == {"success": True}
    assert graph_error(await simulator.send(send))["code"] == 132001


async def test_template_approval_posts_a_status_update_webhook(simulator: RunningSimulator, receiver) -> None:  # type: ignore[no-untyped-def]
    body = {"name": "promo", "language": "en", "category": "MARKETING", "components": [{"type": "BODY", "text": "Hi"}]}
    created = (await simulator.graph.post(f"/{simulator.config.waba_id}/message_templates", json=body)).json()
    updates = await eventually(lambda: [
        c["value"] for p in receiver.payloads() for e in p["entry"] for c in e["changes"]
        if c["field"] == "message_template_status_update"
    ])
    assert updates[0]["event"] == "APPROVED"
    assert updates[0]["message_template_id"] == int(created["id"])
    assert updates[0]["message_template_name"] == "promo"


@pytest.mark.parametrize(
    "body",
    [{"language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]},
     {"name": "Bad Name", "language": "en_US", "category": "UTILITY", "components": [{"type": "BODY", "text": "x"}]},
     {"name": "ok", "language": "en_US", "category": "SPAM", "components": [{"type": "BODY", "text": "x"}]},
     {"name": "ok", "language": "en_US", "category": "UTILITY", "components": []}],
)
async def test_invalid_templates_are_error_100(simulator: RunningSimulator, body: dict[str, Any]) -> None:
    r = await simulator.graph.post(f"/{simulator.config.waba_id}/message_templates", json=body)
    assert r.status_code == 400 and graph_error(r)["code"] == 100


async def test_the_phone_number_and_waba_objects(simulator: RunningSimulator) -> None:
    number = (await simulator.graph.get(f"/{simulator.config.phone_number_id}")).json()
    assert number["display_phone_number"] == simulator.config.display_phone_number
    assert (await simulator.graph.get(f"/{simulator.config.waba_id}")).json()["id"] == simulator.config.waba_id
    assert graph_error(await simulator.graph.get("/424242"))["code"] == 100
