"""Failures the schemathesis run (tests/contract/test_fuzz.py) found in the product, each fixed
there and kept here as a regression test of its own (the list is in docs/api-contract.md)."""

from __future__ import annotations

import httpx


async def test_a_405_allows_every_method_of_the_path(client: httpx.AsyncClient) -> None:
    """Starlette's 405 named only the first route's methods (`Allow: PATCH` where the template
    also takes DELETE; `Allow: GET` on Meta's webhook, which also takes POST). A concrete path
    is not taken for a templated one that also matches it."""
    cases = {
        "/server/api/v2/whatsapp/templates/15550001234/order_ready": "DELETE, PATCH",
        "/webhooks/whatsapp": "GET, POST",
        "/server/api/v2/chats/search": "GET",
        "/server/api/v2/scenarios/manage/import": "POST",  # not /scenarios/manage/{scenarioId} (DELETE)
        "/server/api/v2/whatsapp/templates/unsubscribed/15550001234": "GET",
    }
    for path, allowed in cases.items():
        r = await client.request("OPTIONS", path)
        assert r.status_code == 405, (path, r.text)
        assert r.headers["allow"] == allowed, path
        assert r.json()["code"] == "method_not_allowed"
