"""What both sending endpoints (Send a Message, Send Template Message) do around accepting:
register the new messages' waiters before the commit, wake the delivery workers after it, and
wait (bounded) for the channel's answer unless the client asked for `Prefer: respond-async`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

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
