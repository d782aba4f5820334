"""What both sending endpoints (Send a Message, Send Template Message) do around accepting:
register the new messages' waiters before the commit, wake the delivery workers after it, and
wait (bounded) for the channel's answer unless the client asked for `Prefer: respond-async`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any, Protocol, TypeVar

from inboxd.delivery.accept import idempotency_key_reused
from inboxd.delivery.session import window_closed
from inboxd.domain.errors import ApiError, ChannelRejected, PayloadTooLarge, UnsupportedMediaType, problem
from inboxd.services import Services


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
