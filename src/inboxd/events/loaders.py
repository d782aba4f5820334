"""Scenario loaders: data fetched for a scenario while it runs, under an alias that later
placeholders read as a provider.

Only Texter's `chat` loader exists: the chat by its id (`params.id`, e.g. the message's
`parent_chat`), or by its channel identity (`params.name`, `accountId`, `idByChannel`, as the
status templates use). A chat that does not exist loads as null.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from inboxd.domain.errors import Problems
from inboxd.events.catalogue import EventContext

LoadFn = Callable[[EventContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True)
class LoaderKind:
    params: frozenset[str]
    check: Callable[[dict[str, Any], str, Problems], None]
    load: LoadFn


def _check_chat(params: dict[str, Any], path: str, problems: Problems) -> None:
    by_channel = ("name", "accountId", "idByChannel")
    if "id" in params:
        if any(k in params for k in by_channel):
            problems.add(path, "give either id, or name + accountId + idByChannel, not both")
    elif not all(k in params for k in by_channel):
        problems.add(path, "the chat loader needs params.id, or params.name + params.accountId + params.idByChannel")


async def _load_chat(ctx: EventContext, params: dict[str, Any]) -> Any:
    chat_id = params.get("id")
    if "id" in params:
        return await ctx.chat(chat_id) if isinstance(chat_id, str) and chat_id else None
    name, account_id, contact_id = params.get("name"), params.get("accountId"), params.get("idByChannel")
    if not all(isinstance(v, str) and v for v in (name, account_id, contact_id)):
        return None
    return await ctx.chat_by_channel(name, account_id, contact_id)


LOADERS: dict[str, LoaderKind] = {
    "chat": LoaderKind(frozenset({"id", "name", "accountId", "idByChannel"}), _check_chat, _load_chat),
}
