"""Failures the schemathesis run (tests/contract/test_fuzz.py) found in the product, each fixed
there and kept here as a regression test of its own (the list is in docs/api-contract.md)."""

from __future__ import annotations

import httpx
import pytest

from inboxd.domain.scopes import ALL_SCOPES


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


async def test_a_singular_query_parameter_given_twice_is_a_400(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    """FastAPI took the last of `channel[accountId]=a&channel[accountId]=b`, silently. The list
    parameters (`labels[]`, `statuses[]`) still take many."""
    auth = {"Authorization": f"Bearer {await make_token(*ALL_SCOPES)}"}
    search = "/server/api/v2/chats/search"
    r = await client.get(f"{search}?channel[name]=whatsapp&channel[accountId]=1&channel[accountId]=2&skip=0&skip=1",
                         headers=auth)
    assert r.status_code == 400, r.text
    assert [d["path"] for d in r.json()["details"]] == ["query.channel[accountId]", "query.skip"]
    assert r.json()["requestId"] == r.headers["x-request-id"]
    ok = await client.get(f"{search}?labels[]=VIP&labels[]=gym&statuses[]=PENDING&statuses[]=RESOLVED", headers=auth)
    assert ok.status_code == 200, ok.text


@pytest.mark.parametrize("path", ["/server/api/v2/scenarios/manage?limit=1&limit=2",
                                  "/server/files/shared/0123456789abcdef01234567/ab?x=1&x=2"])
async def test_repeated_parameters_are_refused_on_every_api_path(client: httpx.AsyncClient, path: str) -> None:
    r = await client.get(path)
    assert r.status_code == 400 and r.json()["code"] == "invalid_request"


async def test_a_revision_version_that_names_nothing_is_a_404(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    """Delete Revision answered 400 (`path.version`: FastAPI's bounds on an integer path
    parameter) to `revisions/0`, a status its document does not give: path parameters name a
    thing or nothing, so a version that cannot be one is 404 `revision_not_found`, like one that
    does not exist."""
    auth = {"Authorization": f"Bearer {await make_token(*ALL_SCOPES)}"}
    manage = "/server/api/v2/scenarios/manage"
    made = await client.post(f"{manage}/create", json={"name": "versions"}, headers=auth)
    assert made.status_code == 201, made.text
    sid = made.json()["_id"]
    for version in ("0", "-1", "1.5", "abc", "99999999999", "٣", "9" * 5000):
        r = await client.delete(f"{manage}/{sid}/revisions/{version}", headers=auth)
        assert r.status_code == 404 and r.json()["code"] == "revision_not_found", (version, r.text)
    r = await client.delete(f"{manage}/{sid}/revisions/1", headers=auth)  # a draft only: no revision 1 either
    assert r.status_code == 404 and r.json()["code"] == "revision_not_found", r.text
    document = (await client.get("/server/api/v2/openapi.json")).json()
    assert "400" not in document["paths"][f"{manage}/{{scenarioId}}/revisions/{{version}}"]["delete"]["responses"]


async def test_a_value_with_a_trailing_newline_does_not_pass_a_pattern(client: httpx.AsyncClient, make_token) -> None:  # type: ignore[no-untyped-def]
    """Python's `re.match` with `…$` lets a trailing newline through (`$` matches before it), so
    a label colour `#a83236\\n`, a department id `sales\\n` and an agent email `a@b.example\\n`
    were stored, and answered, outside their documented patterns (JSON Schema's `$` is the end).
    Patterns are now matched whole (`fullmatch`, in `templates.validation.text` and the label
    colour check)."""
    auth = {"Authorization": f"Bearer {await make_token(*ALL_SCOPES)}"}
    api = "/server/api/v2"
    label = await client.post(f"{api}/labels", json={"id": "nl", "name": "n"}, headers=auth)
    assert label.status_code == 200, label.text
    refused = [
        await client.patch(f"{api}/labels/nl", json={"color": "#a83236\n"}, headers=auth),
        await client.post(f"{api}/labels", json={"id": "nl2", "name": "n", "color": "#a83236\n"}, headers=auth),
        await client.post(f"{api}/departments", json={"id": "sales\n", "name": "Sales"}, headers=auth),
        await client.post(f"{api}/agents", json={"email": "a@b.example\n", "displayName": "A"}, headers=auth),
        await client.post(f"{api}/agents", json={"email": "c@d.example", "displayName": "C", "departments": ["x\n"]},
                          headers=auth),
    ]
    for r in refused:
        assert r.status_code == 400, (r.request.url, r.text)
    assert (await client.get(f"{api}/labels/nl", headers=auth)).json()["color"] == "#555555"
    assert (await client.get(f"{api}/departments", headers=auth)).json()["total"] == 0
    assert (await client.get(f"{api}/agents", headers=auth)).json()["total"] == 0
