"""The limits of templates, in one table: the components of a localization (what Meta reviews)
and the values of a send.

`source` as in `inboxd.domain.limits`:
- "meta": stated in Meta's OpenAPI description of the Cloud API. These are READ from the file
  (`simulator/meta_openapi/`, shipped in the package; parsed once, lazily, ~0.25 s, and shared
  with the simulator), never retyped: `parameter_text()` below.
- "meta-docs": in Meta's template pages but not in its OpenAPI file, which describes template
  creation by example only (no lengths or counts: `tests/templates/test_limits_vs_meta.py`
  checks that it still states none, so a bound appearing there shows up as a failing test);
- "texter": the Texter reference (§7.3, §7.4, §7.5);
- "inboxd": our decision where both are silent (docs/templates.md).
"""

from __future__ import annotations

from functools import cache
from typing import Any

from inboxd.domain import limits as send_limits
from inboxd.domain.limits import Bounds

# --- template attributes (Create New Template, Update Existing Template)
TEMPLATE_NAME = Bounds(1, 512, "meta-docs")  # Meta: up to 512 characters, lowercase a-z, 0-9 and _
TITLE = Bounds(1, 512, "inboxd")
DEPARTMENTS = Bounds(0, 100, "inboxd")
DEPARTMENT = Bounds(1, 128, "inboxd")
BOT_FIELD = Bounds(1, 256, "inboxd")  # setBotNode, bot, responsibleAgent, responsibleDepartment
REPLY_TEXT = send_limits.TEXT  # sent as a text message, so the text message's limit (meta)
ATTACHED_FILE_FIELD = Bounds(1, 2048, "inboxd")

# --- localization components (Create or Update Localization)
LANGUAGE = Bounds(2, 16, "inboxd")  # en, he, en_US, zh_Hant: see components.LANGUAGE_PATTERN
HEADER_TEXT = Bounds(1, 60, "meta-docs")
HEADER_VARIABLES = Bounds(0, 1, "meta-docs")
BODY_TEXT = Bounds(1, 1024, "meta-docs")
FOOTER_TEXT = Bounds(1, 60, "meta-docs")
BUTTON_TEXT = Bounds(1, 25, "meta-docs")
QUICK_REPLY_BUTTONS = Bounds(1, 3, "texter")  # "up to 3 QUICK_REPLY"
CALL_TO_ACTION_BUTTONS = Bounds(1, 2, "texter")  # "or up to 2 call-to-action", not mixed
PHONE_NUMBER_BUTTONS = Bounds(0, 1, "meta-docs")
BUTTON_URL = Bounds(1, 2000, "meta-docs")
URL_VARIABLES = Bounds(0, 1, "meta-docs")  # one {{1}}, at the end of the URL
BUTTON_PHONE_NUMBER = Bounds(1, 20, "meta-docs")
HEADER_HANDLE = Bounds(1, 4096, "inboxd")  # an upload handle of Meta's Resumable Upload API
FLOW_FIELD = Bounds(1, 4096, "inboxd")
FLOW_JSON = Bounds(1, 100_000, "inboxd")

# --- a send (Send Template Message)
# The rendered (hydrated) body: Meta refuses longer ones with 132005 "hydrated text too long".
RENDERED_BODY = Bounds(1, 1024, "meta-docs")
RENDERED_HEADER = HEADER_TEXT
# Values may not contain line breaks or tabs, nor more than four consecutive spaces (Texter §7.3;
# Meta answers 132018 otherwise).
MAX_CONSECUTIVE_SPACES = 4
QUICK_REPLY_PAYLOAD = Bounds(1, 256, "inboxd")  # like an interactive reply id (meta: 256)
URL_SUFFIX = Bounds(1, 2000, "inboxd")
BODY_VALUES = Bounds(0, 100, "inboxd")
TO = Bounds(5, 30, "texter")  # the phone of Unsubscribe from Templates: 5–30 characters
# A reply action runs when the contact answers within this many seconds of the send (Texter's
# example `expirationTime` is 259200).
REPLY_EXPIRATION_DEFAULT = 259_200
REPLY_EXPIRATION = Bounds(60, 30 * 86_400, "inboxd")

# --- the unsubscribed list (List All Unsubscribed Users)
UNSUBSCRIBED_LIMIT = Bounds(1, 10_000, "texter")  # "1–9999, default 10000 (sic)": 10000 allowed
UNSUBSCRIBED_SKIP = Bounds(0, 99_999, "texter")


@cache
def parameter_text() -> Bounds:
    """A text parameter's length (a body value, a header value): Meta's `TextParameter.text`."""
    return Bounds(1, meta_stated("TextParameter", "text", "maxLength"), "meta")


def meta_stated(schema_name: str, prop: str, keyword: str) -> Any:
    """`keyword` of property `prop` of a component schema of Meta's file (through `allOf`)."""
    from inboxd.simulator.schema import openapi_document  # the file's one loader

    schemas = openapi_document()["components"]["schemas"]
    stack = [schemas[schema_name]]
    while stack:
        node = stack.pop()
        if "$ref" in node:
            stack.append(schemas[node["$ref"].rsplit("/", 1)[1]])
            continue
        found = (node.get("properties") or {}).get(prop)
        if isinstance(found, dict) and keyword in found:
            return found[keyword]
        stack.extend(node.get("allOf") or [])
    raise LookupError(f"Meta's {schema_name}.{prop} states no {keyword}")
