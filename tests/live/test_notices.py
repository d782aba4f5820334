"""The live stream carries the lists the web inbox shows besides chats, with their REST shapes:
labels and quick replies created, changed and deleted; agents changed (the Agent object)."""

from __future__ import annotations

import httpx

from tests.quick_replies.conftest import API, EXAMPLE_CREATE, EXAMPLE_PATCH, api, create, example_account  # noqa: F401
from tests.support.live import LiveReader
from tests.support.server import LiveServer


async def test_labels_quick_replies_and_agents_arrive_as_their_objects(server: LiveServer, api: httpx.AsyncClient) -> None:  # noqa: F811
    token = api.headers["Authorization"].removeprefix("Bearer ")
    async with LiveReader(server.url, token) as stream:
        assert (await api.post(f"{API}/labels", json={"id": "vip", "name": "VIP", "color": "#a83236"})).status_code == 200
        assert (await api.patch(f"{API}/labels/vip", json={"name": "Very important"})).status_code == 200
        label = (await api.get(f"{API}/labels/vip")).json()
        assert (await api.delete(f"{API}/labels/vip")).status_code == 200

        created = await create(api, EXAMPLE_CREATE)
        r = await api.patch(f"{API}/quick-replies/{created['_id']}", json=EXAMPLE_PATCH)
        assert r.status_code == 200, r.text
        changed = r.json()
        assert (await api.delete(f"{API}/quick-replies/{created['_id']}")).status_code == 200

        r = await api.post(f"{API}/agents", json={"email": "noa@example.com", "displayName": "Noa"})
        assert r.status_code == 201
        agent = (await api.get(f"{API}/agents/{r.json()['uid']}")).json()

        events = await stream.wait_count(7)
    assert [(e.type, e.data) for e in events] == [
        ("label.updated", {"id": "vip", "name": "VIP", "color": "#a83236"}),
        ("label.updated", label),
        ("label.deleted", {"id": "vip", "deleted": True}),
        ("quick_reply.updated", created),
        ("quick_reply.updated", changed),
        ("quick_reply.deleted", {"_id": created["_id"], "deleted": True}),
        ("agent.updated", agent),
    ]
