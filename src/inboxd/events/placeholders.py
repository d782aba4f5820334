"""Data injection in scenario parameters: the two placeholder forms Texter's templates use.

- `{"##provide": {"provider": "message", "key": "parent_chat"}}` — an object that is replaced
  by the provider's value at `key` (any JSON type).
- `"%chat:agent.uid%"` — Texter's string form. A string that is exactly one placeholder becomes
  the value itself (a number stays a number, `%messageStatusRequest:ids%` stays an array); a
  placeholder inside a longer string is replaced by the value's text.

`key` is a dotted path into the provider's value; a key equal to the provider's own name means
the whole value (`message`/`message`, `chat`/`chat`, `problem`/`problem`). A value that is not
there renders as null (or as nothing inside a longer string).

Templates are checked once at import (`references`: which providers they use, and where) and
rendered per event (`render`); the pipe transformers of Texter's bots (`%chat:x|toString%`) are
not supported and are refused at import.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import orjson

from inboxd.events.expression import MISSING, lookup

PROVIDE = "##provide"
MAX_KEY_LENGTH = 200
MAX_TEMPLATE_DEPTH = 32

# `%provider:path%` — the provider is an identifier, the path has no spaces, `%` or `|`.
_INLINE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*):([^%|\s]+)%")
# The same with transformers, only to name them in an error.
_INLINE_WITH_PIPE = re.compile(r"%([A-Za-z_][A-Za-z0-9_]*):([^%\s]*\|[^%\s]*)%")
_KEY = re.compile(r"^[^.\s]+(\.[^.\s]+)*$")


@dataclass(frozen=True)
class Reference:
    provider: str
    key: str
    path: str  # where in the request body, for error messages


class TemplateProblem(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(reason)
        self.path = path
        self.reason = reason


def _provide_spec(value: dict[str, Any], path: str) -> tuple[str, str]:
    if len(value) != 1:
        others = ", ".join(sorted(k for k in value if k != PROVIDE))
        raise TemplateProblem(path, f"an object with {PROVIDE!r} may hold nothing else (found {others})")
    spec = value[PROVIDE]
    where = f"{path}.{PROVIDE}"
    if not isinstance(spec, dict):
        raise TemplateProblem(where, "must be an object {provider, key}")
    provider, key = spec.get("provider"), spec.get("key")
    if not isinstance(provider, str) or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", provider):
        raise TemplateProblem(f"{where}.provider", "must be a provider name such as \"message\" or \"chat\"")
    if not isinstance(key, str) or not key or len(key) > MAX_KEY_LENGTH or not _KEY.match(key):
        raise TemplateProblem(f"{where}.key", f"must be a dotted path of at most {MAX_KEY_LENGTH} characters")
    unknown = set(spec) - {"provider", "key"}
    if unknown:
        raise TemplateProblem(where, f"unknown field(s) {', '.join(sorted(unknown))}")
    return provider, key


def references(template: Any, path: str) -> Iterator[Reference]:
    """Every placeholder in `template`; `TemplateProblem` for a malformed one."""
    yield from _references(template, path, 0)


def _references(template: Any, path: str, depth: int) -> Iterator[Reference]:
    if depth > MAX_TEMPLATE_DEPTH:
        raise TemplateProblem(path, f"nested more than {MAX_TEMPLATE_DEPTH} levels deep")
    if isinstance(template, dict):
        if PROVIDE in template:
            provider, key = _provide_spec(template, path)
            yield Reference(provider, key, path)
            return
        for name, value in template.items():
            yield from _references(value, f"{path}.{name}", depth + 1)
    elif isinstance(template, list):
        for i, value in enumerate(template):
            yield from _references(value, f"{path}[{i}]", depth + 1)
    elif isinstance(template, str):
        piped = _INLINE_WITH_PIPE.search(template)
        if piped:
            raise TemplateProblem(path, f"transformers are not supported: {piped.group()!r}")
        for match in _INLINE.finditer(template):
            yield Reference(match.group(1), match.group(2), path)


def resolve(providers: Mapping[str, Any], provider: str, key: str) -> Any:
    """The value of `provider` at `key` (None when absent)."""
    if provider not in providers:
        return None
    value = providers[provider]
    if key != provider:
        value = lookup(value, key.split("."))
    return None if value is MISSING else value


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return orjson.dumps(value).decode()


def render(template: Any, providers: Mapping[str, Any]) -> Any:
    """`template` with every placeholder replaced by its value from `providers`."""
    if isinstance(template, dict):
        if PROVIDE in template:
            spec = template[PROVIDE]
            return resolve(providers, spec["provider"], spec["key"])
        return {name: render(value, providers) for name, value in template.items()}
    if isinstance(template, list):
        return [render(value, providers) for value in template]
    if isinstance(template, str):
        whole = _INLINE.fullmatch(template)
        if whole:
            return resolve(providers, whole.group(1), whole.group(2))
        if "%" in template:
            return _INLINE.sub(lambda m: _as_text(resolve(providers, m.group(1), m.group(2))), template)
    return template


def used_providers(template: Any) -> set[str]:
    """The providers a (valid) template reads."""
    return {ref.provider for ref in references(template, "")}
