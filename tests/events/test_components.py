"""List Components names exactly what the validator accepts: every trigger event of the catalogue,
and every loader, condition and action kind with its parameters — checked against Import itself
(what it refuses names the same kinds; each listed kind, parameter and value imports; each
required parameter is required; anything unlisted is refused)."""

from __future__ import annotations

import copy
import re
from typing import Any

import httpx
import pytest

from inboxd.events.catalogue import TRIGGERS
from tests.events.conftest import API

MANAGE = f"{API}/scenarios/manage"
URL = "https://receiver.example.com/hooks"
KINDS = {"loaders": "loader", "conditions": "condition", "actions": "action"}


@pytest.fixture
async def listed(api: httpx.AsyncClient) -> dict[str, Any]:
    r = await api.get(f"{MANAGE}/components")
    assert r.status_code == 200, r.text
    return r.json()


def scenario(*, triggers: list[str] | None = None, loaders: list[Any] | None = None,
             conditions: list[Any] | None = None, actions: list[Any] | None = None) -> dict[str, Any]:
    return {"asStatus": "inactive", "data": {
        "name": "components", "triggerEvents": triggers or ["domain.message.created"],
        "loaders": {"afterConditions": loaders or []},
        "conditions": [[c] for c in conditions or []],
        "actions": actions or [{"name": "request", "params": {"url": URL, "data": {"eventName": "x"}}}],
    }}


def with_item(section: str, item: dict[str, Any]) -> dict[str, Any]:
    return scenario(**{section: [item]})


def item_path(section: str) -> str:
    return {"loaders": "body.data.loaders.afterConditions[0]", "conditions": "body.data.conditions[0][0]",
            "actions": "body.data.actions[0]"}[section]


async def problems(api: httpx.AsyncClient, body: dict[str, Any]) -> list[dict[str, Any]]:
    r = await api.post(f"{MANAGE}/import", json=body)
    assert r.status_code in (201, 400), r.text
    return [] if r.status_code == 201 else r.json()["details"]


def names(entries: list[dict[str, Any]]) -> list[str]:
    return [e["name"] for e in entries]


async def test_every_trigger_event_of_the_catalogue_is_listed_and_imports(
    api: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    assert names(listed["triggerEvents"]) == list(TRIGGERS)
    for entry in listed["triggerEvents"]:
        assert entry["providers"] == sorted(TRIGGERS[entry["name"]].providers)
        assert entry["description"] == TRIGGERS[entry["name"]].description
        # a scenario on this trigger that reads each of its providers imports
        data = {p: {"##provide": {"provider": p, "key": p}} for p in entry["providers"]}
        body = scenario(triggers=[entry["name"]], actions=[{"name": "request", "params": {"url": URL, "data": data}}])
        assert await problems(api, body) == [], entry["name"]
    # what the validator names as known when it refuses a trigger is the same list
    [refused] = await problems(api, scenario(triggers=["domain.nothing"]))
    known = re.search(r"\(known: (.*)\)$", refused["reason"])
    assert known and known.group(1).split(", ") == names(listed["triggerEvents"])


@pytest.mark.parametrize("section", list(KINDS))
async def test_the_kinds_listed_are_the_kinds_the_validator_accepts(
    api: httpx.AsyncClient, listed: dict[str, Any], section: str
) -> None:
    kinds = listed[section]
    assert kinds, section
    [refused] = await problems(api, with_item(section, {"name": "noSuchKind", "params": {}}))
    assert refused["path"] == f"{item_path(section)}.name"
    available = re.search(r"\(available: (.*)\)$", refused["reason"])
    assert available and sorted(available.group(1).split(", ")) == sorted(names(kinds))

    for kind in kinds:
        example = kind["example"]
        assert example["name"] == kind["name"] and kind["description"]
        assert await problems(api, with_item(section, example)) == [], kind["name"]
        where = f"{item_path(section)}.params"
        for param in kind["params"]:
            # listed: never an unknown parameter
            trial = copy.deepcopy(example)
            trial["params"].setdefault(param["name"], (param.get("values") or [param.get("default", "x")])[0])
            found = await problems(api, with_item(section, trial))
            assert not [p for p in found if p["path"] == f"{where}.{param['name']}" and "unknown parameter" in p["reason"]]
            # required: leaving it out is refused, naming it
            if param["required"]:
                trial = copy.deepcopy(example)
                trial["params"].pop(param["name"], None)
                found = await problems(api, with_item(section, trial))
                assert [p for p in found if p["path"] == f"{where}.{param['name']}" and "missing" in p["reason"]], found
            # an enumeration: each value is accepted, another one is not
            for value in param.get("values") or []:
                trial = copy.deepcopy(example)
                trial["params"][param["name"]] = value
                assert await problems(api, with_item(section, trial)) == [], (kind["name"], param["name"], value)
            if param.get("values"):
                trial = copy.deepcopy(example)
                trial["params"][param["name"]] = "not-one-of-them"
                assert [p["path"] for p in await problems(api, with_item(section, trial))] == [f"{where}.{param['name']}"]
        # and a parameter not listed is refused
        trial = copy.deepcopy(example)
        trial["params"]["notListed"] = 1
        found = await problems(api, with_item(section, trial))
        assert [p["path"] for p in found] == [f"{where}.notListed"] and "unknown parameter" in found[0]["reason"]


async def test_the_operations_listed_are_the_operations_update_draft_accepts(
    api: httpx.AsyncClient, listed: dict[str, Any]
) -> None:
    created = (await api.post(f"{MANAGE}/create", json={"name": "ops"})).json()
    r = await api.patch(f"{MANAGE}/{created['_id']}/draft", json=[{"op": "noSuchOp"}])
    [refused] = r.json()["details"]
    assert refused["reason"] == "must be one of " + ", ".join(o["op"] for o in listed["draftOperations"])
    for operation in listed["draftOperations"]:
        r = await api.patch(f"{MANAGE}/{created['_id']}/draft", json=[{"op": operation["op"], "notAField": 1}])
        details = r.json()["details"]
        unknown = next(d for d in details if d["path"] == "body[0].notAField")
        assert unknown["reason"].endswith(f"(its fields: {', '.join(f['name'] for f in operation['fields'])})")
        required = {f["name"] for f in operation["fields"] if f["required"]}
        assert {d["path"] for d in details if d["reason"] == "missing"} == {f"body[0].{f}" for f in required}


async def test_list_components_needs_a_token_with_the_view_scopes(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{MANAGE}/components", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
