"""Meta's OpenAPI description (copied into the package, see src/inboxd/simulator/meta_openapi)
as test data: webhook and send examples, schemas and limits."""

from __future__ import annotations

import copy
from functools import cache
from pathlib import Path
from typing import Any

import yaml

import inboxd

META_OPENAPI = Path(inboxd.__file__).parent / "simulator" / "meta_openapi" / "business-messaging-api_v23.0.yaml"


@cache
def _document() -> dict[str, Any]:
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with META_OPENAPI.open("rb") as fh:
        return yaml.load(fh, Loader=loader)


def document() -> dict[str, Any]:
    return copy.deepcopy(_document())


def webhook_examples() -> dict[str, dict[str, Any]]:
    op = _document()["paths"]["/whatsapp/webhooks"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {name: copy.deepcopy(ex["value"]) for name, ex in examples.items()}


def send_examples() -> dict[str, dict[str, Any]]:
    op = _document()["paths"]["/{Version}/{Phone-Number-ID}/messages"]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {name: copy.deepcopy(ex["value"]) for name, ex in examples.items()}


def schema(name: str) -> dict[str, Any]:
    return copy.deepcopy(_document()["components"]["schemas"][name])
