"""Message templates of the simulated WABA: created PENDING, approved automatically after a
configurable delay (or set by the control API), and checked on every template send."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass, field
from typing import Any

from inboxd.simulator.config import new_numeric_id
from inboxd.simulator.errors import GraphFault, invalid_parameter

CATEGORIES = ("AUTHENTICATION", "MARKETING", "UTILITY")
STATUSES = ("PENDING", "APPROVED", "REJECTED", "PAUSED", "DISABLED")
NAME_PATTERN = re.compile(r"^[a-z0-9_]{1,512}$")
PLACEHOLDER = re.compile(r"\{\{\s*([A-Za-z0-9_]+)\s*\}\}")


@dataclass
class Template:
    id: str
    name: str
    language: str
    category: str
    components: list[dict[str, Any]]
    parameter_format: str = "POSITIONAL"
    status: str = "PENDING"
    reason: str | None = None
    created_at: float = field(default_factory=time.time)

    def view(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "name": self.name,
            "parameter_format": self.parameter_format,
            "components": self.components,
            "language": self.language,
            "status": self.status,
            "category": self.category,
            "id": self.id,
        }
        if self.reason:
            out["rejected_reason"] = self.reason
        return out

    def placeholders(self, component_type: str) -> int:
        """How many distinct variables the template's component of this type has."""
        for component in self.components:
            if str(component.get("type", "")).upper() == component_type.upper():
                return len(set(PLACEHOLDER.findall(str(component.get("text") or ""))))
        return 0


def hello_world() -> Template:
    """Meta gives every new WABA this approved sample template."""
    return Template(
        id=new_numeric_id(16),
        name="hello_world",
        language="en_US",
        category="UTILITY",
        status="APPROVED",
        components=[
            {"type": "HEADER", "format": "TEXT", "text": "Hello World"},
            {
                "type": "BODY",
                "text": "Welcome and congratulations!! This message demonstrates your ability to send a "
                "WhatsApp message notification from the Cloud API, hosted by Meta. Thank you for taking "
                "the time to test with us.",
            },
            {"type": "FOOTER", "text": "WhatsApp Business Platform sample message"},
        ],
    )


class TemplateStore:
    def __init__(self) -> None:
        self.by_id: dict[str, Template] = {}
        self.seed()

    def seed(self) -> None:
        self.by_id.clear()
        sample = hello_world()
        self.by_id[sample.id] = sample

    def create(self, body: Any) -> Template:
        """A new PENDING template from a `POST …/message_templates` body (Graph error 100 when
        the body is not one)."""
        if not isinstance(body, dict):
            raise invalid_parameter("", "The request body must be a JSON object")
        name, language, category = body.get("name"), body.get("language"), body.get("category")
        if not isinstance(name, str) or not NAME_PATTERN.match(name):
            raise invalid_parameter("name", "is required: up to 512 lowercase letters, digits and underscores")
        if not isinstance(language, str) or not language:
            raise invalid_parameter("language", "is required (e.g. en_US)")
        if not isinstance(category, str) or category.upper() not in CATEGORIES:
            raise invalid_parameter("category", f"must be one of {', '.join(CATEGORIES)}")
        components = body.get("components")
        if not isinstance(components, list) or not all(isinstance(c, dict) and c.get("type") for c in components):
            raise invalid_parameter("components", "must be an array of objects with a type")
        if not any(str(c["type"]).upper() == "BODY" for c in components):
            raise invalid_parameter("components", "must include a BODY component")
        if self.find(name, language) is not None:
            raise GraphFault(
                100,
                subcode=2388024,
                message="(#100) Content in this language already exists",
                details=f"There is already {language} content for {name}.",
            )
        parameter_format = str(body.get("parameter_format") or "POSITIONAL").upper()
        template = Template(new_numeric_id(16), name, language, category.upper(), components, parameter_format)
        self.by_id[template.id] = template
        return template

    def find(self, name: str, language: str) -> Template | None:
        return next((t for t in self.by_id.values() if t.name == name and t.language == language), None)

    def listing(self, *, name: str | None = None, status: str | None = None, language: str | None = None) -> list[Template]:
        return [
            t
            for t in self.by_id.values()
            if (name is None or t.name == name)
            and (status is None or t.status == status.upper())
            and (language is None or t.language == language)
        ]

    def delete(self, *, name: str | None, template_id: str | None) -> list[Template]:
        """Delete by name (all its languages), or one language version by id (with its name)."""
        doomed = [
            t
            for t in self.by_id.values()
            if (template_id is None or t.id == template_id) and (name is None or t.name == name)
        ]
        for template in doomed:
            del self.by_id[template.id]
        return doomed


def check_template_send(store: TemplateStore, template: dict[str, Any]) -> Template:
    """The template a send refers to, if it may be sent as given (Graph errors otherwise)."""
    name = template.get("name")
    code = (template.get("language") or {}).get("code")
    found = store.find(str(name), str(code))
    if found is None or found.status in ("PENDING", "REJECTED"):
        why = "does not exist" if found is None else f"is {found.status}, not APPROVED"
        raise GraphFault(132001, details=f"template name ({name}) {why} in {code}")
    if found.status == "PAUSED":
        raise GraphFault(132015, details=f"template {name} is paused")
    if found.status == "DISABLED":
        raise GraphFault(132016, details=f"template {name} is disabled")
    for kind in ("body", "header"):
        expected = found.placeholders(kind)
        given = sum(
            len(c.get("parameters") or [])
            for c in template.get("components") or []
            if str(c.get("type", "")).lower() == kind
        )
        header_media = kind == "header" and _has_media_header(found)
        if not header_media and expected != given:
            raise GraphFault(
                132000,
                details=f"{kind} has {expected} parameter(s) in the template, the message gives {given}",
            )
    return found


def _has_media_header(template: Template) -> bool:
    return any(
        str(c.get("type", "")).upper() == "HEADER" and str(c.get("format", "TEXT")).upper() != "TEXT"
        for c in template.components
    )
