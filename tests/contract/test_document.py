"""The OpenAPI document documents what every operation answers (api/contract.py).

The walk covers the app as `inboxd serve` builds it by default (simulator mounted): an operation
without a declared success answer, an error without the error body, an example that does not
match its schema, or a link to nowhere fails it. Routes added later fail it until they declare
`**answers(...)` — intended."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import jsonschema
import pytest
from fastapi import APIRouter, FastAPI
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from inboxd.api.app import create_app
from inboxd.api.contract import answers, ok
from inboxd.config import Settings
from inboxd.simulator.sandbox import embedded

METHODS = ("get", "post", "put", "patch", "delete")


def build(tmp_path, **settings: Any) -> FastAPI:  # type: ignore[no-untyped-def]
    sandbox = embedded("http://127.0.0.1:8080")
    return create_app(Settings(data_dir=tmp_path, **settings), extra_routers=sandbox.routers,
                      startup_hooks=sandbox.startup_hooks)


def operations(document: dict[str, Any]) -> Iterator[tuple[str, str, dict[str, Any]]]:
    for path, item in document["paths"].items():
        for method, operation in item.items():
            if method in METHODS:
                yield method.upper(), path, operation


def resolve(document: dict[str, Any], node: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in node:
        target: Any = document
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def validator(document: dict[str, Any], schema: dict[str, Any]) -> jsonschema.protocols.Validator:
    registry = Registry().with_resource("urn:doc", Resource.from_contents(document, default_specification=DRAFT202012))
    rebased = _rebase(schema)
    return jsonschema.Draft202012Validator(rebased, registry=registry)


def _rebase(node: Any) -> Any:
    """`#/components/...` references, made to point into the document's resource."""
    if isinstance(node, dict):
        return {k: (f"urn:doc{v}" if k == "$ref" and isinstance(v, str) and v.startswith("#") else _rebase(v))
                for k, v in node.items()}
    if isinstance(node, list):
        return [_rebase(v) for v in node]
    return node


def contract_problems(document: dict[str, Any]) -> list[str]:
    """Everything the contract test objects to, one line each."""
    problems: list[str] = []
    operation_ids = {op.get("operationId") for _, _, op in operations(document)}
    for method, path, operation in operations(document):
        name = f"{method} {path}"
        responses = operation.get("responses", {})
        if not any(status.startswith("2") for status in responses):
            problems.append(f"{name}: no success answer")
        for status, response in responses.items():
            where = f"{name} {status}"
            content = response.get("content")
            if not content:
                problems.append(f"{where}: no content")
                continue
            if "X-Request-Id" not in response.get("headers", {}):
                problems.append(f"{where}: X-Request-Id not documented")
            for media_type, media in content.items():
                schema = media.get("schema") or {}
                if "$ref" not in schema:
                    problems.append(f"{where} {media_type}: the schema is not a shared component: {schema}")
                    continue
                examples = [media["example"]] if "example" in media else [e["value"] for e in media.get("examples", {}).values()]
                if not examples:
                    problems.append(f"{where} {media_type}: no example")
                if status[0] in "45" and schema["$ref"] != "#/components/schemas/Error":
                    problems.append(f"{where}: an error without the error body")
                if media_type in ("application/json",):
                    check = validator(document, schema)
                    for example in examples:
                        for error in check.iter_errors(example):
                            problems.append(f"{where}: the example does not match: {error.message}")
            for link_name, spec in response.get("links", {}).items():
                if spec.get("operationId") not in operation_ids:
                    problems.append(f"{where}: link {link_name} goes nowhere")
        if "500" not in responses:
            problems.append(f"{name}: 500 not documented")
        if operation.get("security") and "401" not in responses:
            problems.append(f"{name}: 401 not documented")
    return problems


@pytest.mark.parametrize("rate_limits", [True, False])
def test_every_operation_documents_its_answers(tmp_path, rate_limits: bool) -> None:  # type: ignore[no-untyped-def]
    document = build(tmp_path, rate_limits=rate_limits).openapi()
    assert len(list(operations(document))) >= 40
    assert contract_problems(document) == []
    limited = [path for _, path, op in operations(document) if "429" in op["responses"]]
    if rate_limits:
        assert any(p.startswith("/server/api/v2/") for p in limited)
        assert not any(p.startswith(("/webhooks/", "/healthz", "/simulator")) for p in limited)
    else:  # only sign-in's lockout (its own 429, counted per email) stays without the rate limiter
        assert limited == ["/server/api/v2/auth/login"]


def test_a_route_without_declared_answers_fails_the_walk(tmp_path) -> None:  # type: ignore[no-untyped-def]
    extra = APIRouter()

    @extra.get("/server/api/v2/undocumented", summary="A new route")
    async def undocumented() -> dict[str, str]:
        return {}

    @extra.get("/server/api/v2/documented", summary="A documented new route", **answers(ok("Success")))
    async def documented() -> dict[str, str]:
        return {}

    sandbox = embedded("http://127.0.0.1:8080")
    app = create_app(Settings(data_dir=tmp_path), extra_routers=[*sandbox.routers, extra])
    problems = contract_problems(app.openapi())
    assert problems and all(p.startswith("GET /server/api/v2/undocumented") for p in problems), problems


def test_shapes_are_defined_once_and_reused(tmp_path) -> None:  # type: ignore[no-untyped-def]
    document = build(tmp_path).openapi()
    schemas = document["components"]["schemas"]
    for name in ("Message", "ChatFull", "ChatPublic", "Template", "Scenario", "Error", "FileShare"):
        assert name in schemas, name
    uses: dict[str, int] = {}
    for _, _, operation in operations(document):
        for response in operation["responses"].values():
            for media in response["content"].values():
                ref = media["schema"]["$ref"].rsplit("/", 1)[1]
                uses[ref] = uses.get(ref, 0) + 1
    assert uses["Error"] >= 40 and uses["Template"] >= 4 and uses["Scenario"] >= 2
    assert "HTTPValidationError" not in schemas  # inboxd answers 400, not FastAPI's 422
    message_refs = str(document).count("'#/components/schemas/Message'")
    assert message_refs >= 4  # the page, the sent messages, the template send, the error body


def test_answers_keep_their_statuses_and_types(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Spot checks that the declarations say what the routes do."""
    document = build(tmp_path).openapi()
    paths = document["paths"]
    send = paths["/server/api/v2/messages/send/{chatId}"]["post"]["responses"]
    assert {"200", "202", "400", "401", "403", "404", "409", "413", "415", "422", "429", "500", "502"} <= set(send)
    assert "session_window_closed" in send["422"]["content"]["application/json"]["examples"]
    delete = paths["/server/api/v2/whatsapp/templates/{accountId}/{templateName}"]["delete"]["responses"]["200"]
    assert delete["content"]["application/json"]["example"] == "OK"
    verify = paths["/webhooks/whatsapp"]["get"]["responses"]["200"]
    assert list(verify["content"]) == ["text/plain"]
    assert list(paths["/metrics"]["get"]["responses"]["200"]["content"]) == ["text/plain"]
    imported = paths["/server/api/v2/scenarios/manage/import"]["post"]["responses"]
    assert "201" in imported and {"Activate", "Delete"} <= set(imported["201"]["links"])
    assert "Retry-After" in paths["/server/api/v2/chats/search"]["get"]["responses"]["429"]["headers"]
