"""`inboxd sandbox inbound | sent | reset | …`: play a WhatsApp user against a running server's
simulator (the embedded default, or a standalone `inboxd simulator`) through its control API —
and play Meta's side of channel health: faults, a revoked token, quality, account webhooks,
a broken webhook subscription."""

from __future__ import annotations

import base64
import mimetypes
import time
from pathlib import Path
from typing import Annotated, Any

import httpx
import orjson
import typer

from inboxd.cli.common import fail

DEFAULT_SERVER = "http://127.0.0.1:8080"

app = typer.Typer(help="Play WhatsApp users against the simulator of a running server.", no_args_is_help=True)

ServerOption = Annotated[
    str, typer.Option("--server", envvar="INBOXD_SERVER", help="The running inboxd (or inboxd simulator).")
]


def _call(method: str, server: str, path: str, **kwargs: Any) -> Any:
    url = server.rstrip("/") + path
    try:
        response = httpx.request(method, url, timeout=30, **kwargs)
    except httpx.HTTPError as exc:
        raise fail(f"cannot reach {url}: {exc}") from None
    try:
        body = response.json()
    except ValueError:
        body = response.text
    if response.status_code == 404 and (not isinstance(body, dict) or body.get("code") == "not_found"):
        # no such route at all (the simulator's own 404s have codes of their own)
        raise fail(f"{server} has no simulator (is it running with INBOXD_SIMULATOR=true?)")
    if response.status_code >= 400:
        message = body.get("error") if isinstance(body, dict) else body
        raise fail(f"{response.status_code}: {message}")
    return body


def _media(path: Path, caption: str | None = None, **extra: Any) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise fail(f"cannot read {path}: {exc}", 2) from None
    item: dict[str, Any] = {"data": base64.b64encode(data).decode(), "filename": path.name}
    mime = mimetypes.guess_type(path.name)[0]
    if mime:
        item["mime_type"] = mime
    if caption:
        item["caption"] = caption
    return {**item, **{k: v for k, v in extra.items() if v is not None}}


def _location(value: str, name: str | None, address: str | None) -> dict[str, Any]:
    try:
        latitude, longitude = (float(part) for part in value.split(","))
    except ValueError:
        raise fail("--location takes LAT,LON, e.g. 32.0853,34.7818", 2) from None
    return {k: v for k, v in {"latitude": latitude, "longitude": longitude, "name": name, "address": address}.items()
            if v is not None}


def _contact(value: str) -> dict[str, Any]:
    name, _, phone = value.partition(":")
    if not name or not phone:
        raise fail("--contact takes NAME:PHONE, e.g. 'Avi Cohen:+972501234567'", 2)
    return {"name": {"formatted_name": name, "first_name": name.split()[0]},
            "phones": [{"phone": phone, "wa_id": phone.lstrip("+"), "type": "CELL"}]}


@app.command("inbound")
def inbound(
    from_: Annotated[str, typer.Option("--from", help="The user's phone number, e.g. 972521234567.")],
    name: Annotated[str | None, typer.Option("--name", help="The user's WhatsApp profile name.")] = None,
    text: Annotated[str | None, typer.Option("--text", help="A text message.")] = None,
    image: Annotated[Path | None, typer.Option("--image", help="An image file.")] = None,
    video: Annotated[Path | None, typer.Option("--video", help="A video file.")] = None,
    audio: Annotated[Path | None, typer.Option("--audio", help="An audio file.")] = None,
    voice: Annotated[bool, typer.Option("--voice", help="With --audio: a voice note.")] = False,
    document: Annotated[Path | None, typer.Option("--document", help="A document file.")] = None,
    sticker: Annotated[Path | None, typer.Option("--sticker", help="A sticker (WebP).")] = None,
    caption: Annotated[str | None, typer.Option("--caption", help="Caption of an image, video or document.")] = None,
    location: Annotated[str | None, typer.Option("--location", help="LAT,LON")] = None,
    location_name: Annotated[str | None, typer.Option("--location-name")] = None,
    address: Annotated[str | None, typer.Option("--address")] = None,
    contact: Annotated[
        list[str] | None, typer.Option("--contact", help="Share a contact card NAME:PHONE (repeatable).")
    ] = None,
    button_reply: Annotated[
        str | None, typer.Option("--button-reply", help="Tap the reply button with this id (of the last message offering it).")
    ] = None,
    list_reply: Annotated[str | None, typer.Option("--list-reply", help="Pick the list row with this id.")] = None,
    title: Annotated[str | None, typer.Option("--title", help="With --button-reply/--list-reply: the title shown.")] = None,
    template_button: Annotated[
        str | None, typer.Option("--template-button", help="Tap a template quick-reply button with this payload.")
    ] = None,
    reaction: Annotated[str | None, typer.Option("--reaction", help="React with this emoji (needs --to-message).")] = None,
    to_message: Annotated[str | None, typer.Option("--to-message", help="The wamid reacted to.")] = None,
    reply_to: Annotated[str | None, typer.Option("--reply-to", help="Quote this wamid (a reply).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the control API's answer as JSON.")] = False,
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Make a simulated WhatsApp user send a message to the business (exactly one kind)."""
    contents: dict[str, Any] = {}
    if text is not None:
        contents["text"] = {"body": text}
    for kind, path in (("image", image), ("video", video), ("document", document), ("sticker", sticker)):
        if path is not None:
            contents[kind] = _media(path, caption if kind != "sticker" else None)
    if audio is not None:
        contents["audio"] = _media(audio, voice=voice or None)
    if location is not None:
        contents["location"] = _location(location, location_name, address)
    if contact:
        contents["contacts"] = [_contact(c) for c in contact]
    if button_reply is not None:
        contents["interactive"] = {"type": "button_reply", "button_reply": {"id": button_reply, "title": title}}
    if list_reply is not None:
        contents["interactive"] = {"type": "list_reply", "list_reply": {"id": list_reply, "title": title}}
    if template_button is not None:
        contents["button"] = {"payload": template_button}
    if reaction is not None:
        if not to_message:
            raise fail("--reaction needs --to-message WAMID", 2)
        contents["reaction"] = {"message_id": to_message, "emoji": reaction}
    if len(contents) != 1:
        raise fail(
            "give exactly one of --text, --image, --video, --audio, --document, --sticker, --location, --contact, "
            "--button-reply, --list-reply, --template-button, --reaction",
            2,
        )
    body: dict[str, Any] = {"from": from_, **contents}
    if name:
        body["name"] = name
    if reply_to:
        body["context"] = {"id": reply_to}
    answer = _call("POST", server, "/simulator/inbound", content=orjson.dumps(_drop_none(body)),
                   headers={"Content-Type": "application/json"})
    _wait_delivered(server)
    if as_json:
        typer.echo(orjson.dumps(answer, option=orjson.OPT_INDENT_2).decode())
        return
    media = f" (media id {answer['media_id']})" if answer.get("media_id") else ""
    typer.echo(f"{answer['id']}{media}")


def _wait_delivered(server: str, within: float = 10.0) -> None:
    """Return once the simulator has handed its webhooks to the callback (the server stored
    them), so a command run right after sees the message — as a script expects."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        webhooks = _call("GET", server, "/simulator/webhooks")
        if not webhooks.get("pending") and not webhooks.get("in_flight"):
            return
        time.sleep(0.05)
    typer.echo("warning: the simulator's webhook is not delivered yet", err=True)


def _drop_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _drop_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_drop_none(v) for v in value]
    return value


@app.command("sent")
def sent(
    to: Annotated[str, typer.Option("--to", help="The user's phone number.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the exact Graph payloads as JSON.")] = False,
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """What the business sent this simulated user (the Graph payloads, oldest first)."""
    answer = _call("GET", server, f"/simulator/contacts/{to.lstrip('+')}/sent")
    messages = answer["data"]
    if as_json:
        typer.echo(orjson.dumps(messages, option=orjson.OPT_INDENT_2).decode())
        return
    if not messages:
        typer.echo(f"nothing was sent to {to}")
        return
    for message in messages:
        typer.echo(f"{message['id']}  [{message['status']}]  {_summary(message['payload'])}")


def _summary(payload: dict[str, Any]) -> str:
    kind = payload.get("type", "text")
    content = payload.get(kind)
    if kind == "text":
        return f"text: {content.get('body')}"
    if kind == "interactive":
        body = (content.get("body") or {}).get("text", "")
        action = content.get("action") or {}
        options = [b["reply"]["title"] for b in action.get("buttons", [])] or [
            row["title"] for s in action.get("sections", []) for row in s.get("rows", [])
        ]
        return f"interactive {content.get('type')}: {body} {options}"
    if kind == "template":
        return f"template: {content.get('name')} ({(content.get('language') or {}).get('code')})"
    return f"{kind}: {orjson.dumps(content).decode()[:200]}"


@app.command("reset")
def reset(server: ServerOption = DEFAULT_SERVER) -> None:
    """Make the simulator forget its users, messages, media and faults."""
    _call("POST", server, "/simulator/reset")
    typer.echo("simulator reset")


# --- channel health signals (docs/channel-health.md) -------------------------------------------


@app.command("fault")
def fault(
    code: Annotated[int, typer.Option("--code", help="The Graph error code, e.g. 131031, 368, 131042, 133010, 130429.")],
    http_status: Annotated[int | None, typer.Option("--http-status", help="Default: Meta's for the code.")] = None,
    count: Annotated[int, typer.Option("--count", min=1, help="How many calls it applies to.")] = 1,
    endpoint: Annotated[str, typer.Option("--endpoint", help="messages | media | templates | any")] = "messages",
    recipient: Annotated[str | None, typer.Option("--recipient", help="Only sends to this wa_id.")] = None,
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Make the next calls fail with a Graph error (prints the fault's id)."""
    body = _drop_none({"kind": "graph_error", "code": code, "http_status": http_status, "count": count,
                       "endpoint": endpoint, "recipient": recipient})
    answer = _call("POST", server, "/simulator/faults", json=body)
    typer.echo(f"fault {answer['id']}: the next {count} {endpoint} call(s) fail with error {code}")


@app.command("rotate-token")
def rotate_token(
    token: Annotated[str | None, typer.Option("--token", help="The new token (default: a random one).")] = None,
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Replace the simulator's access token: calls with the old one get error 190. Prints the new
    token (give it to inboxd with `inboxd channels update ACCOUNT --access-token`)."""
    typer.echo(_call("POST", server, "/simulator/access-token", json=_drop_none({"token": token}))["access_token"])


@app.command("quality")
def quality(
    rating: Annotated[str, typer.Argument(help="GREEN, YELLOW or RED.")],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Set the number's quality rating (into or out of RED posts Meta's FLAGGED / UNFLAGGED webhook)."""
    answer = _call("PUT", server, "/simulator/quality", json={"rating": rating.upper()})
    _wait_delivered(server)
    event = f" (posted phone_number_quality_update {answer['event']})" if answer.get("event") else ""
    typer.echo(f"quality rating {answer['quality_rating']}{event}")


@app.command("account-webhook")
def account_webhook(
    field: Annotated[str, typer.Argument(help="account_update, account_alerts, business_capability_update, "
                                             "phone_number_quality_update, …")],
    value: Annotated[str, typer.Argument(help="The change's value as JSON, in Meta's shape, e.g. "
                                             '\'{"event": "ACCOUNT_VIOLATION", "violation_info": {"violation_type": "SCAM"}}\'')],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Post one of Meta's WhatsApp Business Account webhooks (signed, for the simulator's WABA)."""
    try:
        parsed = orjson.loads(value)
    except orjson.JSONDecodeError as exc:
        raise fail(f"VALUE is not JSON: {exc}", 2) from None
    if not isinstance(parsed, dict):
        raise fail("VALUE must be a JSON object", 2)
    _call("POST", server, "/simulator/account-webhooks", json={"field": field, "value": parsed})
    _wait_delivered(server)
    typer.echo(f"posted {field}")


@app.command("webhooks")
def webhooks(
    state: Annotated[str, typer.Argument(help="off: drop every webhook (a broken subscription); on: deliver again.")],
    server: ServerOption = DEFAULT_SERVER,
) -> None:
    """Turn the simulator's webhooks off or on."""
    if state not in ("on", "off"):
        raise fail("STATE is on or off", 2)
    _call("PATCH", server, "/simulator/config", json={"webhooks_enabled": state == "on"})
    typer.echo(f"webhooks {state}")
