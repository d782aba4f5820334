"""Labels (reference §6) over HTTP on both databases: list, get, create, update, delete, system
labels, scopes, and bad input reported whole."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
import sqlalchemy as sa

from inboxd.domain.scopes import Scope
from inboxd.store.db import Database
from inboxd.store.tables import labels
from tests.labels.conftest import API

FAILED = {"id": "failed_message", "name": "Failed message", "color": "#e80303", "system": True}
IMPORTANT = {"id": "important", "name": "Important!", "color": "#a83236"}  # the reference's example body


async def _labels(db: Database) -> list[dict[str, Any]]:
    async with db.read() as conn:
        rows = (await conn.execute(sa.select(labels.c.id, labels.c.name, labels.c.color).order_by(labels.c.id))).all()
    return [dict(r._mapping) for r in rows]


async def test_create_get_list_rename_recolour_delete(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    r = await client.post(f"{API}/labels", json=IMPORTANT, headers=admin)
    assert r.status_code == 200, r.text
    assert r.json() == IMPORTANT
    r = await client.post(f"{API}/labels", json={"id": "VIP", "name": "VIP"}, headers=admin)
    assert r.json() == {"id": "VIP", "name": "VIP", "color": "#555555"}  # the default colour

    assert (await client.get(f"{API}/labels/important", headers=admin)).json() == IMPORTANT
    listed = (await client.get(f"{API}/labels", headers=admin)).json()
    assert listed == {"total": 3, "labels": [FAILED, IMPORTANT, {"id": "VIP", "name": "VIP", "color": "#555555"}]}
    page = (await client.get(f"{API}/labels", params={"limit": 1, "skip": 1}, headers=admin)).json()
    assert page == {"total": 3, "labels": [IMPORTANT]}

    r = await client.patch(f"{API}/labels/important", json={"name": "Urgent"}, headers=admin)
    assert r.status_code == 200 and r.json() == "OK" and r.headers["content-type"] == "application/json"
    r = await client.patch(f"{API}/labels/important", json={"color": "#00FF00"}, headers=admin)
    assert r.json() == "OK"
    assert (await client.get(f"{API}/labels/important", headers=admin)).json() == {
        "id": "important", "name": "Urgent", "color": "#00FF00"}

    r = await client.delete(f"{API}/labels/important", headers=admin)
    assert r.status_code == 200 and r.json() == "OK"
    r = await client.get(f"{API}/labels/important", headers=admin)
    assert r.status_code == 404 and r.json()["code"] == "label_not_found"
    assert (await client.delete(f"{API}/labels/important", headers=admin)).status_code == 404
    assert (await client.patch(f"{API}/labels/important", json={"name": "x"}, headers=admin)).status_code == 404


async def test_an_existing_id_is_409(client: httpx.AsyncClient, admin: dict[str, str], db: Database) -> None:
    assert (await client.post(f"{API}/labels", json=IMPORTANT, headers=admin)).status_code == 200
    r = await client.post(f"{API}/labels", json={**IMPORTANT, "name": "Other"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "label_exists"
    assert [x["name"] for x in await _labels(db) if x["id"] == "important"] == ["Important!"]


async def test_system_labels_are_renamed_and_recoloured_never_created_or_deleted(
    client: httpx.AsyncClient, admin: dict[str, str]
) -> None:
    assert (await client.get(f"{API}/labels/failed_message", headers=admin)).json() == FAILED
    r = await client.patch(f"{API}/labels/failed_message", json={"name": "שליחה נכשלה", "color": "#e80304"}, headers=admin)
    assert r.status_code == 200, r.text
    assert (await client.get(f"{API}/labels/failed_message", headers=admin)).json() == {
        "id": "failed_message", "name": "שליחה נכשלה", "color": "#e80304", "system": True}
    r = await client.delete(f"{API}/labels/failed_message", headers=admin)
    assert r.status_code == 422 and r.json()["code"] == "system_label"
    r = await client.post(f"{API}/labels", json={"id": "failed_message", "name": "mine"}, headers=admin)
    assert r.status_code == 409 and r.json()["code"] == "label_exists"
    assert (await client.get(f"{API}/labels/failed_message", headers=admin)).json()["system"] is True


async def test_reading_needs_any_valid_token_and_writing_manage_labels(
    client: httpx.AsyncClient, make_token  # type: ignore[no-untyped-def]
) -> None:
    nothing = {"Authorization": f"Bearer {await make_token()}"}
    assert (await client.get(f"{API}/labels", headers=nothing)).status_code == 200
    assert (await client.get(f"{API}/labels/failed_message", headers=nothing)).status_code == 200
    assert (await client.get(f"{API}/labels")).status_code == 401
    for method, path, body in (("POST", "/labels", IMPORTANT), ("PATCH", "/labels/failed_message", {"name": "x"}),
                               ("DELETE", "/labels/failed_message", None)):
        r = await client.request(method, f"{API}{path}", json=body, headers=nothing)
        assert r.status_code == 403, (method, path, r.text)
        assert r.json()["details"] == [{"scope": "Manage labels", "reason": "missing scope"}]
    labeller = {"Authorization": f"Bearer {await make_token(Scope.MANAGE_LABELS)}"}
    assert (await client.post(f"{API}/labels", json=IMPORTANT, headers=labeller)).status_code == 200


def _paths(r: httpx.Response) -> list[str]:
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["success"] is False and body["code"] == "invalid_request" and body["error"]
    return [d["path"] for d in body["details"]]


@pytest.mark.parametrize(
    ("body", "paths"),
    [
        ({}, ["body.id", "body.name"]),
        ({"id": "", "name": "", "color": "red", "extra": 1}, ["body.extra", "body.id", "body.name", "body.color"]),
        ({"id": "x" * 101, "name": "n" * 101}, ["body.id", "body.name"]),
        ({"id": "a/b", "name": "ok"}, ["body.id"]),
        ({"id": " padded", "name": "ok", "color": "#12345"}, ["body.id", "body.color"]),
        ({"id": 7, "name": ["x"], "color": None}, ["body.id", "body.name", "body.color"]),
        ([], ["body"]),
    ],
)
async def test_a_bad_label_is_400_with_every_problem(
    client: httpx.AsyncClient, admin: dict[str, str], db: Database, body: Any, paths: list[str]
) -> None:
    assert _paths(await client.post(f"{API}/labels", json=body, headers=admin)) == paths
    assert [x["id"] for x in await _labels(db)] == ["failed_message"]  # nothing written


async def test_bad_updates_and_queries(client: httpx.AsyncClient, admin: dict[str, str]) -> None:
    assert (await client.post(f"{API}/labels", json=IMPORTANT, headers=admin)).status_code == 200
    patch = f"{API}/labels/important"
    assert _paths(await client.patch(patch, json={}, headers=admin)) == ["body"]
    assert _paths(await client.patch(patch, json={"id": "new", "name": "", "color": "#GGGGGG"}, headers=admin)) == [
        "body.id", "body.name", "body.color"]
    r = await client.patch(patch, content=b"{not json", headers={**admin, "content-type": "application/json"})
    assert _paths(r) == ["body"]
    assert (await client.get(patch, headers=admin)).json() == IMPORTANT  # unchanged
    r = await client.get(f"{API}/labels", params={"limit": 0, "skip": 100001}, headers=admin)
    assert _paths(r) == ["query.limit", "query.skip"]
    assert _paths(await client.get(f"{API}/labels", params={"limit": "10001"}, headers=admin)) == ["query.limit"]
    assert _paths(await client.get(f"{API}/labels", params={"skip": "-1"}, headers=admin)) == ["query.skip"]
    assert (await client.get(f"{API}/labels", params={"limit": 10000, "skip": 100000}, headers=admin)).json() == {
        "total": 2, "labels": []}
