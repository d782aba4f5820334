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
from inboxd.events.params import Kind, Param

LoadFn = Callable[[EventContext, dict[str, Any]], Awaitable[Any]]


@dataclass(frozen=True, kw_only=True)
class LoaderKind(Kind):
    # How the parameters go together, beyond each one alone.
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


_PROVIDE_CHAT_ID = {"##provide": {"provider": "message", "key": "parent_chat"}}

LOADERS: dict[str, LoaderKind] = {
    "chat": LoaderKind(
        description="The Chat object (reference §5.1), by its id or by its channel identity; null when there is no "
                    "such chat. Later placeholders read it under the loader's alias.",
        params=(
            Param("id", "the chat's _id (give either id, or name + accountId + idByChannel)", placeholders=True),
            Param("name", "the channel's name, e.g. whatsapp (with accountId and idByChannel)", placeholders=True),
            Param("accountId", "the business account on the channel, e.g. the business phone number",
                  placeholders=True),
            Param("idByChannel", "the contact's id on the channel, e.g. their phone number", placeholders=True),
        ),
        example={"name": "chat", "alias": "chat", "params": {"id": _PROVIDE_CHAT_ID}},
        check=_check_chat,
        load=_load_chat,
    ),
}
