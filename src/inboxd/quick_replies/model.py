"""A quick reply's fields and their rules (reference §8), pure: no I/O.

`parse_create` validates a Create Quick Reply body; `apply_operations` validates an Update body
(an array of single-key operations) and applies it to the current fields, all or nothing: any bad
operation is a 400 naming its index and path (`body[2].updateDisplayPosition`), and nothing is
changed. Every problem is reported at once, each with its JSON path.

Contents are Send a Message bodies, checked by the validator of every channel the quick reply
targets (`CONTENT_VALIDATORS`; inboxd connects WhatsApp only, so a target must be `whatsapp`).
Whether a target's account and chat exist is checked by the caller (`quick_replies.service`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

import orjson

from inboxd.domain import content as send_content
from inboxd.domain.content import SendRequest
from inboxd.domain.errors import Problems, json_path
from inboxd.domain.ids import is_id

Path = tuple[Any, ...]

POSITIONS = ("top", "main")
DEFAULT_POSITION = "main"
MAX_CONTENTS = 10
MAX_DELAY_MS = 60_000
MAX_TARGETS = 100
MAX_TITLE = 255
MAX_NOTE = 4096
MAX_NAMES = 1000  # departments / users
MAX_NAME = 128
MAX_CLIENT_BYTES = 16 * 1024
MAX_OPERATIONS = 1000
# Reference §2.3: the channels a target may name; inboxd validates and sends on these.
CONTENT_VALIDATORS: dict[str, Callable[[Any, Path, Problems], SendRequest | None]] = {
    "whatsapp": send_content.check_send_request,
}
ALL_CHANNELS = ("whatsapp", "messenger", "instagram", "website_chat", "email", "sms")


@dataclass(frozen=True)
class QuickReplyFields:
    contents: list[dict[str, Any]]  # Send a Message bodies, as validated (`{"type", ...content}`)
    target: list[dict[str, str]]  # [{name, accountId, id?}]
    between_messages_delay: int | None = None
    position: str = DEFAULT_POSITION
    title: str | None = None
    note: str | None = None
    departments: list[str] = field(default_factory=list)
    users: list[str] = field(default_factory=list)
    client: dict[str, Any] | None = None

    @property
    def content_types(self) -> list[str]:
        return sorted({c["type"] for c in self.contents})

    def requests(self) -> list[SendRequest]:
        return [send_content.parse_send_request(c) for c in self.contents]


@dataclass(frozen=True)
class Checked:
    """Valid fields, and where the target came from (its existence is checked next)."""

    fields: QuickReplyFields
    target_path: str | None  # None: the target did not change


class _Walk:
    def __init__(self) -> None:
        self.problems = Problems()

    def add(self, path: Path, reason: str) -> None:
        self.problems.add(json_path(path), reason)

    def obj(self, value: Any, path: Path, known: tuple[str, ...]) -> dict[str, Any] | None:
        if not isinstance(value, dict):
            self.add(path, "must be an object")
            return None
        for key in value:
            if key not in known:
                self.add((*path, key), f"is not a known field (known: {', '.join(known)})")
        return value

    def text(self, value: Any, path: Path, limit: int, *, nullable: bool = True) -> str | None:
        if value is None or (nullable and value == ""):
            if not nullable:
                self.add(path, "is required")
            return None
        if not isinstance(value, str):
            self.add(path, "must be a string")
            return None
        if len(value) > limit:
            self.add(path, f"must be at most {limit} characters long (has {len(value)})")
        elif not value.strip():
            self.add(path, "must not be blank")
        elif "\x00" in value:
            self.add(path, "must not contain NUL characters")
        return value

    def names(self, value: Any, path: Path) -> list[str]:
        """Department ids / agent uids: stored as given (agents and departments are another
        module's; see docs/quick-replies.md), so only their shape is checked."""
        if value is None:
            return []
        if not isinstance(value, list):
            self.add(path, "must be an array of strings")
            return []
        if len(value) > MAX_NAMES:
            self.add(path, f"must have at most {MAX_NAMES} items (has {len(value)})")
        out: list[str] = []
        for i, item in enumerate(value):
            if not isinstance(item, str) or not item.strip():
                self.add((*path, i), "must be a non-empty string")
            elif len(item) > MAX_NAME:
                self.add((*path, i), f"must be at most {MAX_NAME} characters long (has {len(item)})")
            elif item not in out:
                out.append(item)
        return out

    def position(self, value: Any, path: Path) -> str:
        if value not in POSITIONS:
            self.add(path, f"must be one of: {', '.join(POSITIONS)}")
            return DEFAULT_POSITION
        return str(value)

    def delay(self, value: Any, path: Path) -> int | None:
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int):
            self.add(path, "must be an integer number of milliseconds, or null")
            return None
        if not 0 <= value <= MAX_DELAY_MS:
            self.add(path, f"must be between 0 and {MAX_DELAY_MS} (milliseconds)")
        return value

    def client(self, value: Any, path: Path) -> dict[str, Any] | None:
        if value is None:
            return None
        if not isinstance(value, dict):
            self.add(path, "must be an object, or null")
            return None
        try:
            size = len(orjson.dumps(value))
        except (TypeError, orjson.JSONEncodeError):
            self.add(path, "must be plain JSON")
            return None
        if size > MAX_CLIENT_BYTES:
            self.add(path, f"must be at most {MAX_CLIENT_BYTES} bytes of JSON (has {size})")
        return value

    def target(self, value: Any, path: Path) -> list[dict[str, str]]:
        if not isinstance(value, list):
            self.add(path, "must be an array")
            return []
        if not 1 <= len(value) <= MAX_TARGETS:
            self.add(path, f"must have 1 to {MAX_TARGETS} items (has {len(value)})")
        out: list[dict[str, str]] = []
        for i, item in enumerate(value):
            at = (*path, i)
            item = self.obj(item, at, ("name", "accountId", "id"))
            if item is None:
                continue
            name, account, chat = item.get("name"), item.get("accountId"), item.get("id")
            if name not in ALL_CHANNELS:
                self.add((*at, "name"), f"must be one of: {', '.join(ALL_CHANNELS)}")
            elif name not in CONTENT_VALIDATORS:
                self.add((*at, "name"), f"is not a channel inboxd connects (it connects: {', '.join(CONTENT_VALIDATORS)})")
            digits = account.lstrip("+") if isinstance(account, str) else None
            if not digits or not digits.isdigit() or len(digits) > 32:
                self.add((*at, "accountId"), "must be the business phone number of a channel account, in digits")
            if chat is not None and not (isinstance(chat, str) and is_id(chat)):
                self.add((*at, "id"), "must be a chat id (24 lowercase hexadecimal characters)")
            entry = {"name": str(name), "accountId": digits or ""}
            if chat is not None:
                entry["id"] = str(chat)
            if entry in out:
                self.add(at, "is listed twice")
            out.append(entry)
        return out

    def contents(self, value: Any, path: Path, channels: set[str]) -> list[dict[str, Any]]:
        if not isinstance(value, list):
            self.add(path, "must be an array")
            return []
        if not 1 <= len(value) <= MAX_CONTENTS:
            self.add(path, f"must have 1 to {MAX_CONTENTS} items (has {len(value)})")
        out: list[dict[str, Any]] = []
        for i, body in enumerate(value):
            at = (*path, i)
            requests = [CONTENT_VALIDATORS[c](body, at, self.problems) for c in sorted(channels)]
            if not requests or any(r is None for r in requests):
                continue
            request = requests[0]
            assert request is not None
            # A quick reply is sent many times, into many chats: a fixed reply-to or idempotency key
            # would be wrong for all but one of them (the send takes its own tmpSendId).
            if request.context is not None:
                self.add((*at, "context"), "is not allowed in a quick reply (it names one chat's message)")
            if request.tmp_send_id is not None:
                self.add((*at, "tmpSendId"), "is not allowed in a quick reply (give it to the send instead)")
            out.append({"type": request.type, **request.content})
        return out

    def channels(self, target: list[dict[str, str]]) -> set[str]:
        return {t["name"] for t in target if t["name"] in CONTENT_VALIDATORS} or {"whatsapp"}


def parse_create(body: Any) -> Checked:
    walk = _Walk()
    root: Path = ("body",)
    body = walk.obj(body, root, ("send", "display", "metadata"))
    if body is None:
        raise walk.problems.error("The quick reply is not valid")
    send: dict[str, Any] = {}
    if body.get("send") is None:
        walk.add((*root, "send"), "is required")
    else:
        send = walk.obj(body["send"], (*root, "send"), ("contents", "target", "betweenMessagesDelay")) or {}
        for key in ("contents", "target"):
            if isinstance(body["send"], dict) and key not in send:
                walk.add((*root, "send", key), "is required")
    target = walk.target(send["target"], (*root, "send", "target")) if "target" in send else []
    contents: list[dict[str, Any]] = []
    if "contents" in send:
        contents = walk.contents(send["contents"], (*root, "send", "contents"), walk.channels(target))
    delay = walk.delay(send.get("betweenMessagesDelay"), (*root, "send", "betweenMessagesDelay"))
    display = body.get("display")
    display = {} if display is None else walk.obj(
        display, (*root, "display"), ("position", "title", "note", "departments", "users")
    ) or {}
    metadata = body.get("metadata")
    metadata = {} if metadata is None else walk.obj(metadata, (*root, "metadata"), ("client",)) or {}
    fields = QuickReplyFields(
        contents=contents,
        target=target,
        between_messages_delay=delay,
        position=walk.position(display.get("position", DEFAULT_POSITION), (*root, "display", "position")),
        title=walk.text(display.get("title"), (*root, "display", "title"), MAX_TITLE),
        note=walk.text(display.get("note"), (*root, "display", "note"), MAX_NOTE),
        departments=walk.names(display.get("departments"), (*root, "display", "departments")),
        users=walk.names(display.get("users"), (*root, "display", "users")),
        client=walk.client(metadata.get("client"), (*root, "metadata", "client")),
    )
    walk.problems.raise_if_any("The quick reply is not valid")
    return Checked(fields, "body.send.target")


OPERATIONS = (
    "updateSendContents", "updateSendTarget", "updateBetweenMessagesDelay", "updateDisplayTitle",
    "updateDisplayNote", "updateDisplayPosition", "updateDisplayDepartments", "updateDisplayUsers",
    "updateClientMetadata",
)


def apply_operations(current: QuickReplyFields, body: Any) -> Checked:
    """The fields after every operation, in order (a later one on the same field wins)."""
    walk = _Walk()
    if not isinstance(body, list):
        walk.add(("body",), "must be an array of operations")
        raise walk.problems.error("The update is not valid")
    if not 1 <= len(body) <= MAX_OPERATIONS:
        walk.add(("body",), f"must have 1 to {MAX_OPERATIONS} operations (has {len(body)})")
        raise walk.problems.error("The update is not valid")
    fields = current
    target_path: str | None = None
    contents_ops: list[tuple[Path, Any]] = []
    for i, op in enumerate(body):
        at: Path = ("body", i)
        if not isinstance(op, dict) or len(op) != 1:
            walk.add(at, "must be an object with exactly one operation")
            continue
        [(name, value)] = op.items()
        path = (*at, name)
        if name == "updateSendContents":
            contents_ops.append((path, value))  # checked below, against the final target's channels
            fields = replace(fields, contents=value)
        elif name == "updateSendTarget":
            fields = replace(fields, target=walk.target(value, path))
            target_path = json_path(path)
        elif name == "updateBetweenMessagesDelay":
            fields = replace(fields, between_messages_delay=walk.delay(value, path))
        elif name == "updateDisplayTitle":
            fields = replace(fields, title=walk.text(value, path, MAX_TITLE))
        elif name == "updateDisplayNote":
            fields = replace(fields, note=walk.text(value, path, MAX_NOTE))
        elif name == "updateDisplayPosition":
            fields = replace(fields, position=walk.position(value, path))
        elif name == "updateDisplayDepartments":
            fields = replace(fields, departments=walk.names(value, path) if value is not None else _array(walk, path))
        elif name == "updateDisplayUsers":
            fields = replace(fields, users=walk.names(value, path) if value is not None else _array(walk, path))
        elif name == "updateClientMetadata":
            fields = replace(fields, client=walk.client(value, path))
        else:
            walk.add(path, f"is not a known operation (known: {', '.join(OPERATIONS)})")
    channels = walk.channels(fields.target)
    for path, value in contents_ops:
        checked = walk.contents(value, path, channels)
        if path == contents_ops[-1][0]:
            fields = replace(fields, contents=checked)
    if target_path is not None and not contents_ops:
        # New channels: the stored contents must suit them too.
        fields = replace(fields, contents=walk.contents(fields.contents, ("quickReply", "send", "contents"), channels))
    walk.problems.raise_if_any("The update is not valid")
    return Checked(fields, target_path)


def _array(walk: _Walk, path: Path) -> list[str]:
    walk.add(path, "must be an array of strings")
    return []
