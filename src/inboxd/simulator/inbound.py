"""Messages from simulated WhatsApp users: the control API's request shape, and the Meta
webhook message object it becomes (the shapes of reference §3.5, which inboxd's parser reads)."""

from __future__ import annotations

import base64
import binascii
import mimetypes
import secrets
import time
from typing import Any, Literal

import filetype
from pydantic import BaseModel, ConfigDict, Field

MEDIA_KINDS = ("image", "video", "audio", "document", "sticker")
DEFAULT_MIME = {
    "image": "image/jpeg",
    "video": "video/mp4",
    "audio": "audio/ogg; codecs=opus",
    "document": "application/pdf",
    "sticker": "image/webp",
}


class InboundText(BaseModel):
    body: str = Field(min_length=1, max_length=65536)


class InboundMedia(BaseModel):
    """A file the user sends: its bytes (base64), or a media id the simulator already holds."""

    data: str | None = Field(default=None, description="The file's bytes, base64-encoded.")
    media_id: str | None = Field(default=None, description="Instead of `data`: an existing media id.")
    mime_type: str | None = Field(default=None, description="Default: sniffed from the bytes or the filename.")
    filename: str | None = Field(default=None, max_length=240)
    caption: str | None = Field(default=None, max_length=4096)
    voice: bool | None = Field(default=None, description="audio: a voice note.")
    animated: bool | None = Field(default=None, description="sticker: an animated sticker.")


class InboundLocation(BaseModel):
    latitude: float = Field(ge=-90, le=90)
    longitude: float = Field(ge=-180, le=180)
    name: str | None = None
    address: str | None = None
    url: str | None = None


class InboundReply(BaseModel):
    id: str = Field(min_length=1, max_length=256)
    title: str | None = Field(default=None, description="Default: the title of the button or row with this id.")
    description: str | None = None


class InboundInteractive(BaseModel):
    type: Literal["button_reply", "list_reply"]
    button_reply: InboundReply | None = None
    list_reply: InboundReply | None = None


class InboundButton(BaseModel):
    """A tap on a template's quick-reply button."""

    payload: str
    text: str | None = Field(default=None, description="The button label. Default: the payload.")


class InboundReaction(BaseModel):
    message_id: str = Field(description="The wamid reacted to.")
    emoji: str | None = Field(default=None, description="Left out: the reaction is removed.")


class InboundContext(BaseModel):
    id: str = Field(description="The wamid of the business message this one answers or quotes.")
    from_: str | None = Field(default=None, alias="from")

    model_config = ConfigDict(populate_by_name=True)


class InboundRequest(BaseModel):
    """What a simulated user sends. Give `from` and exactly one of the content fields (or
    `raw`: any Meta message object, for kinds without a field here, such as `order`,
    `system` or `unsupported`)."""

    model_config = ConfigDict(
        populate_by_name=True,
        json_schema_extra={"examples": [{"from": "972521234567", "name": "Dana", "text": {"body": "Hi"}}]},
    )

    from_: str = Field(alias="from", pattern=r"^\+?[0-9]{5,20}$", description="The user's phone number (wa_id).")
    name: str | None = Field(default=None, max_length=200, description="The user's WhatsApp profile name.")
    id: str | None = Field(default=None, description="The wamid to use (default: a new one). Reuse one to test dedup.")
    timestamp: int | None = Field(default=None, description="Unix seconds on WhatsApp's clock (default: now).")
    context: InboundContext | None = None
    text: InboundText | None = None
    image: InboundMedia | None = None
    video: InboundMedia | None = None
    audio: InboundMedia | None = None
    document: InboundMedia | None = None
    sticker: InboundMedia | None = None
    location: InboundLocation | None = None
    contacts: list[dict[str, Any]] | None = Field(default=None, description="Meta's contact objects.")
    interactive: InboundInteractive | None = None
    button: InboundButton | None = None
    reaction: InboundReaction | None = None
    raw: dict[str, Any] | None = Field(
        default=None, description="A Meta inbound message object; `from`, `id` and `timestamp` are filled in."
    )

    def kind(self) -> str:
        given = [k for k in CONTENT_FIELDS if getattr(self, k) is not None]
        if len(given) != 1:
            raise ValueError(f"give exactly one of {', '.join(CONTENT_FIELDS)} (got {', '.join(given) or 'none'})")
        return given[0]

    @property
    def wa_id(self) -> str:
        return self.from_.lstrip("+")


CONTENT_FIELDS = (
    "text", "image", "video", "audio", "document", "sticker", "location", "contacts",
    "interactive", "button", "reaction", "raw",
)


def new_wamid() -> str:
    # Meta's wamids are base64 of an opaque binary id; only their uniqueness matters.
    return "wamid." + base64.b64encode(b"\x15\x02\x00\x12\x18" + secrets.token_bytes(22)).decode()


def decode_media(media: InboundMedia, kind: str) -> tuple[bytes, str]:
    """(bytes, MIME type) of a media object with `data`. ValueError when it is not base64."""
    try:
        data = base64.b64decode(media.data or "", validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ValueError(f"{kind}.data is not valid base64") from exc
    if not data:
        raise ValueError(f"{kind}.data is empty")
    mime = media.mime_type
    if not mime:
        sniffed = filetype.guess(data)
        guessed = mimetypes.guess_type(media.filename)[0] if media.filename else None
        mime = (sniffed.mime if sniffed else None) or guessed or DEFAULT_MIME[kind]
    return data, mime


def message_object(
    request: InboundRequest, kind: str, *, wamid: str, media: dict[str, Any] | None, context: dict[str, Any] | None
) -> dict[str, Any]:
    """The `value.messages[i]` object Meta would post for this user message. `media` is the
    already-stored media's webhook fields (id, mime_type, sha256, url) for media kinds."""
    timestamp = request.timestamp if request.timestamp is not None else int(time.time())
    message: dict[str, Any] = {"from": request.wa_id, "id": wamid, "timestamp": str(timestamp)}
    if context:
        message["context"] = context
    if kind == "raw":
        assert request.raw is not None
        body = {k: v for k, v in request.raw.items() if k not in ("from", "id", "timestamp")}
        message.update(body)
        message.setdefault("type", "unsupported")
        return message
    message["type"] = kind
    if kind == "text":
        assert request.text is not None
        message["text"] = {"body": request.text.body}
    elif kind in MEDIA_KINDS:
        item: InboundMedia = getattr(request, kind)
        body = dict(media or {})
        if item.caption and kind in ("image", "video", "document"):
            body["caption"] = item.caption
        if item.filename and kind == "document":
            body["filename"] = item.filename
        if kind == "audio":
            body["voice"] = bool(item.voice)
        if kind == "sticker":
            body["animated"] = bool(item.animated)
        message[kind] = body
    elif kind == "location":
        assert request.location is not None
        message["location"] = request.location.model_dump(exclude_none=True)
    elif kind == "contacts":
        message["contacts"] = request.contacts
    elif kind == "interactive":
        assert request.interactive is not None
        reply_kind = request.interactive.type
        reply = getattr(request.interactive, reply_kind)
        message["interactive"] = {"type": reply_kind, reply_kind: reply.model_dump(exclude_none=True)}
    elif kind == "button":
        assert request.button is not None
        message["button"] = {"payload": request.button.payload, "text": request.button.text or request.button.payload}
    elif kind == "reaction":
        assert request.reaction is not None
        message["reaction"] = request.reaction.model_dump(exclude_none=True)
    return message
