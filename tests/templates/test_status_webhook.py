"""`message_template_status_update` webhooks (inboxd.templates.sync.on_status_update), posted
signed to inboxd as Meta posts them."""

from __future__ import annotations

from typing import Any

import httpx

from tests.support.wa import WhatsAppRig
from tests.support.webhooks import post_webhook, wait_processed
from tests.templates.conftest import create, localize, submit, wait_status


def status_webhook(waba_id: str, **value: Any) -> dict[str, Any]:
    return {"object": "whatsapp_business_account", "entry": [{"id": waba_id, "changes": [
        {"field": "message_template_status_update", "value": value}]}]}


async def post(rig: WhatsAppRig, waba_id: str | None = None, **value: Any) -> None:
    async with httpx.AsyncClient(base_url=rig.server.url) as http:
        r = await post_webhook(http, status_webhook(waba_id or rig.sim.config.waba_id, **value), rig.account.app_secret)
    assert r.status_code == 200, r.text
    await wait_processed(rig.db)


async def pending_template(rig: WhatsAppRig) -> tuple[str, str]:
    await rig.control.patch("/simulator/config", json={"template_approval_delay": -1})
    name = (await create(rig))["name"]
    await localize(rig, name, {"language": "en", "components": [{"type": "BODY", "text": "Hello"}]})
    submitted = await submit(rig, name)
    return name, submitted["provider_template"]["localizations"][0]["metadata"]["providerTemplateId"]


async def test_statuses_by_metas_id(rig: WhatsAppRig) -> None:
    name, meta_id = await pending_template(rig)
    await post(rig, event="REJECTED", message_template_id=int(meta_id), message_template_name=name,
               message_template_language="en", reason="INCORRECT_CATEGORY")
    loc = (await wait_status(rig, name, "en", "REJECTED"))["provider_template"]["localizations"][0]
    assert loc["rejectionReason"] == "INCORRECT_CATEGORY"
    await post(rig, event="REINSTATED", message_template_id=int(meta_id), reason="NONE")
    loc = (await wait_status(rig, name, "en", "APPROVED"))["provider_template"]["localizations"][0]
    assert loc["rejectionReason"] == "NONE"
    await post(rig, event="FLAGGED", message_template_id=int(meta_id))
    loc = (await wait_status(rig, name, "en", "APPROVED"))["provider_template"]["localizations"][0]
    assert loc["metadata"]["flagged"] is True  # a quality warning: still sendable
    await post(rig, event="PAUSED", message_template_id=int(meta_id))
    await wait_status(rig, name, "en", "PAUSED")


async def test_by_name_and_language_when_the_id_is_not_known_yet(rig: WhatsAppRig) -> None:
    name, _meta_id = await pending_template(rig)
    await post(rig, event="APPROVED", message_template_id=1234, message_template_name=name.upper(),
               message_template_language="en")
    loc = (await wait_status(rig, name, "en", "APPROVED"))["provider_template"]["localizations"][0]
    assert loc["metadata"]["providerTemplateId"] == "1234"


async def test_unknown_templates_and_other_wabas_change_nothing(rig: WhatsAppRig) -> None:
    name, meta_id = await pending_template(rig)
    await post(rig, event="APPROVED", message_template_id=99, message_template_name="someone_else", message_template_language="en")
    await post(rig, waba_id="000000", event="APPROVED", message_template_id=int(meta_id))
    await post(rig, event=None, message_template_id=int(meta_id))
    await wait_status(rig, name, "en", "PENDING")
