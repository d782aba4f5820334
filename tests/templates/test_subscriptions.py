"""Template (un)subscription over HTTP: Unsubscribe from Templates, Resubscribe, and the lists."""

from __future__ import annotations

import sqlalchemy as sa

from inboxd.store import accounts as accounts_store
from inboxd.store.tables import chats
from tests.support.wa import API, WhatsAppRig

UNSUB = f"{API}/whatsapp/templates/unsubscribe"
SUB = f"{API}/whatsapp/templates/subscribe"
LIST = f"{API}/whatsapp/templates/unsubscribed"


async def second_account(rig: WhatsAppRig) -> accounts_store.ChannelAccount:
    async with rig.db.write() as conn:
        return await accounts_store.add_whatsapp_account(
            conn, account_id="15550009999", phone_number_id="999", access_token="t", app_secret="s",
            verify_token="v", graph_url="http://127.0.0.1:9",
        )


async def test_unsubscribing_a_phone_without_a_chat_lists_it(rig: WhatsAppRig) -> None:
    r = await rig.client.post(UNSUB, json={"phone": "+972 52-123-4567", "accountId": rig.account.account_id})
    assert r.status_code == 200 and r.json() == {"success": True}
    [entry] = (await rig.client.get(LIST)).json()
    assert entry["phone"] == "+972521234567" and entry["accountId"] == rig.account.account_id
    assert entry["date"].endswith("Z") and "title" not in entry
    # The (empty) chat holding it does not show in Search Chats, which lists chats with messages.
    assert (await rig.client.get(f"{API}/chats/search")).json()["total"] == 0


async def test_title_order_limit_skip_and_per_account(rig: WhatsAppRig) -> None:
    other = await second_account(rig)
    await rig.user_writes("972521111111", "hi", name="Eli Cohen")
    await rig.client.post(UNSUB, json={"phone": "972521111111", "accountId": rig.account.account_id})
    await rig.client.post(UNSUB, json={"phone": "0522222222"})  # every WhatsApp account
    everything = (await rig.client.get(LIST)).json()
    assert [(e["phone"], e["accountId"]) for e in everything] == [
        ("+972521111111", rig.account.account_id),
        ("+972522222222", rig.account.account_id),
        ("+972522222222", other.account_id),
    ]  # oldest first; one unsubscribe for every account comes in account order
    assert everything[0]["title"] == "Eli Cohen"
    assert (await rig.client.get(LIST, params={"limit": 1, "skip": 1})).json() == everything[1:2]
    mine = (await rig.client.get(f"{LIST}/{other.account_id}")).json()
    assert [e["phone"] for e in mine] == ["+972522222222"]
    for params in ({"limit": 0}, {"limit": 10001}, {"skip": -1}, {"skip": 100000}):
        assert (await rig.client.get(LIST, params=params)).status_code == 400, params
    assert (await rig.client.get(f"{LIST}/15550000000")).status_code == 404


async def test_a_second_unsubscribe_keeps_the_first_date_and_subscribe_is_idempotent(rig: WhatsAppRig) -> None:
    await rig.client.post(UNSUB, json={"phone": "972521234567"})
    [first] = (await rig.client.get(LIST)).json()
    await rig.client.post(UNSUB, json={"phone": "972521234567"})
    assert (await rig.client.get(LIST)).json() == [first]
    for _ in range(2):
        r = await rig.client.post(SUB, json={"phone": "972521234567"})
        assert r.status_code == 200 and r.json() == {"success": True}
    assert (await rig.client.get(LIST)).json() == []
    nobody = await rig.client.post(SUB, json={"phone": "972529999999"})
    assert nobody.status_code == 200
    async with rig.db.read() as conn:  # resubscribing someone unknown creates no chat
        assert (await conn.execute(sa.select(sa.func.count()).select_from(chats))).scalar_one() == 1


async def test_bad_bodies(rig: WhatsAppRig) -> None:
    for body, path in (({}, "body.phone"), ({"phone": "1234"}, "body.phone"), ({"phone": "abcdef"}, "body.phone"),
                       ({"phone": "972521234567", "x": 1}, "body.x"), ({"phone": "972521234567", "accountId": 5}, "body.accountId")):
        r = await rig.client.post(UNSUB, json=body)
        assert r.status_code == 400 and r.json()["details"][0]["path"] == path, (body, r.text)
    unknown = await rig.client.post(UNSUB, json={"phone": "972521234567", "accountId": "15550000000"})
    assert unknown.status_code == 404 and unknown.json()["code"] == "account_not_found"


async def test_the_chat_shows_unsubscribed(rig: WhatsAppRig) -> None:
    chat_id = await rig.user_writes("972521234567", "hi")
    await rig.client.post(UNSUB, json={"phone": "972521234567"})
    [found] = (await rig.client.get(f"{API}/chats/search")).json()["data"]
    assert found["_id"] == chat_id and found["unsubscribed"]["date"].endswith("Z")
    await rig.client.post(SUB, json={"phone": "972521234567"})
    [found] = (await rig.client.get(f"{API}/chats/search")).json()["data"]
    assert "unsubscribed" not in found
