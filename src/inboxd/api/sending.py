"""What the sending endpoints (Send a Message, Send Template Message, Send Quick Reply) do around
accepting: register the new messages' waiters before the commit, wake the delivery workers after
it, and wait (bounded) for the channel's answer unless the client asked for `Prefer:
respond-async`; then answer with the messages, the way Send a Message does."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from typing import Any, Protocol, TypeVar

from inboxd.api.responses import JSON
from inboxd.delivery.accept import Accepted, idempotency_key_reused
from inboxd.delivery.session import window_closed
from inboxd.domain import texter
from inboxd.domain.errors import ApiError, ChannelRejected, PayloadTooLarge, RuleRefused, UnsupportedMediaType, problem
from inboxd.domain.status import MessageStatus
from inboxd.services import Services
from inboxd.store import messages as messages_store
from inboxd.store.db import DatabaseUnavailable


class _Result(Protocol):
    @property
    def message_ids(self) -> list[str]: ...

    @property
    def replay(self) -> bool: ...


R = TypeVar("R", bound=_Result)


async def accept_then_wait(services: Services, ids: list[str], accept: Callable[[], Awaitable[R]], *, wait: bool) -> R:
    if wait:
        services.waiters.expect(ids)
    try:
        result = await accept()
        if result.message_ids and not result.replay:
            services.wake_delivery()
            if wait:
                await services.waiters.wait(result.message_ids, services.settings.send_wait_seconds)
        return result
    finally:
        services.waiters.forget(ids)


async def sent_response(services: Services, chat: Any, accepted: Accepted, *, respond_async: bool) -> JSON:
    """200 with the messages (they carry `channelInfo.id` once the channel answered); 202 with
    `Prefer: respond-async`; a replay with `Idempotent-Replay: true`; 422/502 with the stored,
    failed messages when the channel refused every one of them."""
    if respond_async and accepted.rows is not None:
        rows = accepted.rows  # as committed a moment ago: no second read
    else:
        try:
            async with services.db.read() as conn:
                rows = await messages_store.get_messages(conn, accepted.message_ids)
        except DatabaseUnavailable:
            if accepted.rows is None:
                raise
            # Accepted, then the database went away while the send waited: answer what was
            # committed (as when the wait runs out), never "nothing was done".
            rows = accepted.rows
    info = texter.channel_info(chat["channel"], chat["contact_id"], chat["account_phone"])
    shaped = [texter.message(r, info) for r in rows]
    if accepted.replay:
        return JSON({"success": True, "messages": shaped}, headers={"Idempotent-Replay": "true"})
    if respond_async:
        return JSON({"success": True, "messages": shaped}, status_code=202, headers={"Preference-Applied": "respond-async"})
    refused = _refusal(rows, chat)
    if refused is not None:
        refused.extra["messages"] = shaped
        raise refused
    return JSON({"success": True, "messages": shaped})


def _refusal(rows: Sequence[Any], chat: Any) -> RuleRefused | ChannelRejected | None:
    """The error to answer with when the channel refused every message of the request."""
    failed = [r for r in rows if r["status"] in (MessageStatus.FAILED, MessageStatus.CHANNEL_FAILED)]
    if not rows or len(failed) != len(rows):
        return None
    errors = [r["error"] or {} for r in failed]
    if any(e.get("code") == 131047 for e in errors):
        return window_closed(chat["last_incoming_at"])
    return channel_rejected(errors[0])


def channel_rejected(channel_error: dict[str, Any]) -> ChannelRejected:
    """WhatsApp refused every message of the request (502, with Graph's error)."""
    return ChannelRejected(
        f"WhatsApp refused the message: {channel_error.get('message') or 'unknown error'}",
        code="channel_rejected",
        extra={"channelError": channel_error},
    )


def sending_errors(media_path: str, media_type: str) -> tuple[ApiError, ...]:
    """The errors both sending endpoints give, as the document's examples (api/contract.py)."""
    return (
        idempotency_key_reused(),
        PayloadTooLarge(f"The file is larger than WhatsApp's limit for {media_type} media.",
                        details=[problem(media_path, f"larger than WhatsApp's {media_type} limit")]),
        UnsupportedMediaType(f"The file is text/html, which WhatsApp does not take as {media_type} media.",
                             details=[problem(media_path, f"text/html is not a {media_type} type")]),
        window_closed(1761574714328),
        channel_rejected({"code": 131026, "title": "Message undeliverable", "message": "(#131026) Message undeliverable"}),
    )
