"""Validation of `POST /{version}/{phone-number-id}/messages` bodies against the `Message` schema
of Meta's own OpenAPI description (`meta_openapi/`), loaded once, lazily, and never retyped.

The file is OpenAPI 3.0 and is written for documentation, so it is turned into plain JSON
Schema before use:

- `$ref`s are inlined (the `Message` graph has no cycles).
- `allOf` branches are merged into one object schema. Meta's per-type schemas are
  `allOf: [BaseMessageProperties, {additionalProperties: false, properties: {type, <kind>}}]`;
  validated as written, the second branch's `additionalProperties: false` does not see the
  base's properties and every valid message would be refused. Merged, `additionalProperties`
  applies to the union of the properties, which is what Meta means.
- A `discriminator` with a `mapping` becomes `if type == X then <X's schema>`; for `Message`
  itself the simulator picks the sub-schema by `type` in Python, so each request is validated
  against one small compiled schema only (fast, and the errors are about the right shape).
- A handful of places where the file is stricter than Meta's API (and than Meta's own examples in
  the same file) are relaxed in `_patch`, each with the reason next to it.

Rules Meta enforces that a JSON Schema cannot express live in `rules.py`.
"""

from __future__ import annotations

import copy
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

META_OPENAPI = Path(__file__).parent / "meta_openapi" / "business-messaging-api_v23.0.yaml"
MESSAGES_PATH = "/{Version}/{Phone-Number-ID}/messages"

# Keywords that only document; dropping them keeps the compiled schemas small.
_DOC_KEYWORDS = {"description", "example", "examples", "title", "externalDocs", "xml", "deprecated"}

_load_lock = threading.Lock()


@dataclass(frozen=True)
class Problem:
    """One reason a body is refused: the JSON path of the field and what is wrong with it."""

    field: str
    reason: str


@cache
def openapi_document() -> dict[str, Any]:
    """Meta's OpenAPI description, parsed once (~0.25 s with the C loader)."""
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    with _load_lock, META_OPENAPI.open("rb") as fh:
        return yaml.load(fh, Loader=loader)


def send_examples() -> dict[str, dict[str, Any]]:
    """The request examples of the send endpoint in Meta's file (deep copies)."""
    op = openapi_document()["paths"][MESSAGES_PATH]["post"]
    examples = op["requestBody"]["content"]["application/json"]["examples"]
    return {name: copy.deepcopy(example["value"]) for name, example in examples.items()}


# --- turning the file into plain JSON Schema -------------------------------------------------


def _patch(schemas: dict[str, Any]) -> None:
    """Where Meta's schema file is stricter than Meta's API. Each relaxation is backed by Meta's
    own send examples in the same file (or by its reference pages) and says so."""
    base = schemas["BaseMessageProperties"]
    # "recipient_type" defaults to "individual" and "type" to "text": several of Meta's examples
    # ("Send Contact Message", "Send Text Message with Preview URL") leave them out.
    base["required"] = [name for name in base["required"] if name not in ("recipient_type", "type")]
    # Top-level fields the send reference documents but the schema omits (with
    # additionalProperties: false on every message type they would otherwise be refused).
    base["properties"]["biz_opaque_callback_data"] = {"type": "string", "maxLength": 512}
    base["properties"]["recipient_identity_key_hash"] = {"type": "string"}

    # "policy" is optional: most examples send only {"code": "en_US"}.
    language = schemas["LanguageObject"]
    language["required"] = [name for name in language["required"] if name != "policy"]

    # Coordinates are typed as strings, but Meta's location examples send numbers.
    location = _branch_with(schemas["LocationMessage"], "location")["properties"]["location"]["properties"]
    for axis in ("latitude", "longitude"):
        location[axis]["type"] = ["string", "number"]

    # A template button's index: the file types it as a string with the pattern
    # "^[2-6, 11-14]$", which refuses the "0" of its own examples; the examples also send
    # integers. The description says "Position index of the button (0-9)".
    index = {"type": ["string", "integer"], "pattern": "^[0-9]$", "minimum": 0, "maximum": 9}
    schemas["TemplateComponent"]["properties"]["index"] = dict(index)
    button = _branch_with(schemas["ButtonComponent"], "sub_type")
    button["properties"]["index"] = dict(index)
    # Button sub-types: the examples use "CATALOG" (Graph enums are case-insensitive) and
    # "flow"; the template reference also has copy_code, mpm and voice_call buttons.
    sub_types = ["quick_reply", "url", "catalog", "flow", "copy_code", "mpm", "voice_call"]
    for owner in (schemas["TemplateComponent"], button):
        owner["properties"]["sub_type"]["enum"] = sub_types + [s.upper() for s in sub_types]
    # Catalog, flow and multi-product buttons take an "action" parameter (the catalog and flow
    # template examples); the quick-reply example "sample_issue_resolution" sends a boolean text.
    button_parameter = schemas["ButtonParameterObject"]
    button_parameter["properties"]["type"]["enum"] = ["payload", "text", "action"]
    button_parameter["discriminator"]["mapping"]["action"] = "#/components/schemas/x-ButtonActionParameter"
    schemas["x-ButtonActionParameter"] = {
        "allOf": [
            {"$ref": "#/components/schemas/ButtonParameterObject"},
            {"type": "object", "required": ["action"], "properties": {"action": {"type": "object"}}},
        ]
    }
    _branch_with(schemas["ButtonTextParameter"], "text")["properties"]["text"]["type"] = ["string", "boolean"]

    # Interactive order messages ("Send Order Details Message", "Send Order Status Message")
    # are missing from the interactive type enum and from the action shapes.
    interactive = schemas["InteractiveObject"]["properties"]["type"]
    interactive["enum"] = [*interactive["enum"], "order_details", "order_status"]
    schemas["ActionObject"]["oneOf"].append(
        {
            "required": ["name", "parameters"],
            "properties": {
                "name": {"type": "string", "enum": ["review_and_pay", "review_order"]},
                "parameters": {"type": "object"},
            },
        }
    )


def _branch_with(schema: dict[str, Any], prop: str) -> dict[str, Any]:
    """The `allOf` branch of `schema` that declares the property `prop`."""
    for branch in schema["allOf"]:
        if prop in branch.get("properties", {}):
            return branch
    raise KeyError(prop)


class _Resolver:
    def __init__(self, schemas: dict[str, Any]) -> None:
        self.schemas = schemas

    def resolve(self, node: Any, stack: tuple[str, ...] = (), plain: frozenset[str] = frozenset()) -> Any:
        """`node` with refs inlined, allOf merged and discriminators expanded. `plain` names the
        schemas whose discriminator is being expanded: inside their mapped sub-schemas (which
        include them again through allOf) they stand for their base properties only."""
        if isinstance(node, list):
            return [self.resolve(item, stack, plain) for item in node]
        if not isinstance(node, dict):
            return node
        if "$ref" in node:  # OpenAPI 3.0: siblings of $ref are ignored
            name = node["$ref"].rsplit("/", 1)[-1]
            if name in stack:
                raise ValueError(f"cyclic schema reference through {name}")
            target = self.schemas[name]
            if name in plain:
                target = {k: v for k, v in target.items() if k != "discriminator"}
            return self.resolve(target, (*stack, name), plain)
        out = {}
        for key, value in node.items():
            if key in ("properties", "patternProperties"):  # names here are data, not keywords
                out[key] = {name: self.resolve(spec, stack, plain) for name, spec in value.items()}
            elif key not in _DOC_KEYWORDS and key != "discriminator":
                out[key] = self.resolve(value, stack, plain)
        if "allOf" in out:
            out = _merge_all_of(out)
        mapping = (node.get("discriminator") or {}).get("mapping")
        if mapping:
            prop = node["discriminator"]["propertyName"]
            owner = stack[-1] if stack else ""
            out.pop("oneOf", None)  # the discriminator says which branch applies
            cases = [
                {
                    "if": {"properties": {prop: {"const": value}}, "required": [prop]},
                    "then": self.resolve({"$ref": target}, stack[:-1], plain | {owner}),
                }
                for value, target in mapping.items()
            ]
            out["allOf"] = [*out.get("allOf", []), *cases]
        return out


def _merge_all_of(schema: dict[str, Any]) -> dict[str, Any]:
    """One object schema from `allOf` branches: properties united (a later branch refines an
    earlier one keyword by keyword), `required` united, `additionalProperties: false` applied to
    all the properties together. Other keywords that differ are kept side by side in `allOf`."""
    merged: dict[str, Any] = {}
    rest: list[dict[str, Any]] = []
    own = {k: v for k, v in schema.items() if k != "allOf"}
    for branch in [own, *schema["allOf"]]:
        for key, value in branch.items():
            if key == "properties":
                props = merged.setdefault("properties", {})
                for name, spec in value.items():
                    props[name] = {**props.get(name, {}), **spec} if isinstance(spec, dict) else spec
            elif key == "required":
                merged["required"] = list(dict.fromkeys([*merged.get("required", []), *value]))
            elif key == "additionalProperties":
                if value is False or "additionalProperties" not in merged:
                    merged["additionalProperties"] = value
            elif key == "allOf":
                rest.extend(value)
            elif key not in merged:
                merged[key] = value
            elif merged[key] != value:
                rest.append({key: value})
    if rest:
        merged["allOf"] = rest
    return merged


@cache
def _message_schemas() -> dict[str, dict[str, Any]]:
    """`type` → plain JSON Schema of that message type."""
    schemas = copy.deepcopy(openapi_document()["components"]["schemas"])
    _patch(schemas)
    resolver = _Resolver(schemas)
    mapping = schemas["Message"]["discriminator"]["mapping"]
    return {kind: resolver.resolve({"$ref": ref}, ("Message",)) for kind, ref in mapping.items()}


_validators: dict[str, Draft202012Validator] = {}


def _validator(kind: str) -> Draft202012Validator | None:
    validator = _validators.get(kind)
    if validator is None:
        schema = _message_schemas().get(kind)
        if schema is None:
            return None
        validator = _validators[kind] = Draft202012Validator(schema)
    return validator


def message_types() -> list[str]:
    return sorted(_message_schemas())


def warm_up() -> None:
    """Load and compile everything now (a server calls this at start, off the request path)."""
    for kind in message_types():
        _validator(kind)


# --- validating ------------------------------------------------------------------------------


def message_kind(body: dict[str, Any]) -> Any:
    """The message type: `type`, or when it is left out (as in two of Meta's examples) the one
    message object the body carries, and `text` when it carries none (Meta's default)."""
    if "type" in body:
        return body["type"]
    carried = [kind for kind in _message_schemas() if kind in body]
    return carried[0] if len(carried) == 1 else "text"


def validate_message(body: Any) -> Problem | None:
    """The first problem of a send body under Meta's schema, or None when it conforms."""
    if not isinstance(body, dict):
        return Problem("", "The request body must be a JSON object")
    kind = message_kind(body)
    if not isinstance(kind, str):
        return Problem("type", "must be a string")
    validator = _validator(kind)
    if validator is None:
        return Problem("type", f"must be one of {', '.join(message_types())} (got {kind!r})")
    if validator.is_valid(body):  # the fast path: conforming bodies pay for one pass only
        return None
    errors = _leaf_errors(validator.iter_errors(body))
    return _describe(errors[0]) if errors else Problem("", "does not match the message schema")


def _leaf_errors(errors: Iterable[ValidationError]) -> list[ValidationError]:
    """Replace each `oneOf`/`anyOf` failure by the errors of the branch the body was aimed at
    (the one whose required properties it has), so the report names the real field."""
    out: list[ValidationError] = []
    for error in errors:
        if error.validator in ("oneOf", "anyOf") and error.context:
            branch = _intended_branch(error)
            if branch is not None:
                inner = [e for e in error.context if e.relative_schema_path and e.relative_schema_path[0] == branch]
                out.extend(_leaf_errors(inner))
                continue
        out.append(error)
    return sorted(out, key=lambda e: _sort_key(e))


def _sort_key(error: ValidationError) -> tuple[int, str]:
    # `required` and `type` problems first (a missing `to` before a too-long title elsewhere),
    # then in document order of the path.
    rank = {"required": 0, "type": 1, "additionalProperties": 2}.get(str(error.validator), 3)
    return rank, _path(error.absolute_path)


def _intended_branch(error: ValidationError) -> int | None:
    instance = error.instance
    if not isinstance(instance, dict):
        return None
    candidates = [
        i
        for i, branch in enumerate(error.validator_value)
        if branch.get("required") and all(name in instance for name in branch["required"])
    ]
    return candidates[0] if len(candidates) == 1 else None


def _path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


def _join(base: str, name: str) -> str:
    return f"{base}.{name}" if base else name


def _describe(error: ValidationError) -> Problem:
    path = _path(error.absolute_path)
    kind, value, instance = error.validator, error.validator_value, error.instance
    if kind == "required":
        missing = next((name for name in value if name not in instance), value[0])
        return Problem(_join(path, missing), "is required")
    if kind == "additionalProperties":
        extra = sorted(set(instance) - set(error.schema.get("properties", {})))
        name = extra[0] if extra else "?"
        return Problem(_join(path, name), "is not a known parameter here")
    if kind == "maxLength":
        return Problem(path, f"must be at most {value} characters long (got {len(instance)})")
    if kind == "minLength":
        return Problem(path, f"must be at least {value} characters long")
    if kind == "maxItems":
        return Problem(path, f"must have at most {value} items (got {len(instance)})")
    if kind == "minItems":
        return Problem(path, f"must have at least {value} item{'s' if value != 1 else ''}")
    if kind == "enum":
        return Problem(path, f"must be one of {', '.join(map(str, value))} (got {instance!r})")
    if kind == "const":
        return Problem(path, f"must be {value!r}")
    if kind == "type":
        expected = " or ".join(value) if isinstance(value, list) else value
        return Problem(path, f"must be of type {expected}")
    if kind == "pattern":
        return Problem(path, f"does not match the pattern {value}")
    if kind in ("minimum", "maximum"):
        return Problem(path, f"must be {'at least' if kind == 'minimum' else 'at most'} {value}")
    if kind in ("oneOf", "anyOf"):
        branches = error.validator_value
        keys = [b["required"][0] for b in branches if len(b.get("required", [])) == 1]
        if not error.context and len(keys) == len(branches):
            return Problem(path, f"must have exactly one of {', '.join(keys)}")
        if len(keys) == len(branches):
            return Problem(path, f"must have one of {', '.join(keys)}")
        return Problem(path, "does not match any allowed shape for this object")
    return Problem(path, error.message)
