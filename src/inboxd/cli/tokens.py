"""`inboxd tokens create | list | revoke`."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from inboxd import api_tokens
from inboxd.cli.common import fail, settings, with_db
from inboxd.config import default_policy
from inboxd.domain.scopes import ALL_SCOPES, Scope, parse_scope

app = typer.Typer(help="API tokens: create (shown once), list, revoke.", no_args_is_help=True)


@app.command("create")
def create(
    name: Annotated[str, typer.Option("--name", help="A name to recognise the token by.")],
    scope: Annotated[
        list[str] | None,
        typer.Option("--scope", help='A scope, by name ("Send session message") or slug (send-session-message). Repeat.'),
    ] = None,
    all_scopes: Annotated[bool, typer.Option("--all-scopes", help="Grant every scope (Texter's 19 and inboxd's Manage agents, Manage API tokens).")] = False,
    rate: Annotated[
        float | None,
        typer.Option("--rate", min=0.001, help="Its own rate limit, requests/s (default INBOXD_RATE_LIMIT_PER_SECOND)."),
    ] = None,
    burst: Annotated[
        int | None,
        typer.Option("--burst", min=1, help="Its own burst (default: twice --rate, or INBOXD_RATE_LIMIT_BURST)."),
    ] = None,
) -> None:
    """Create a token and print it (only the token, on one line). It is not shown again."""
    if all_scopes and scope:
        raise fail("give either --scope or --all-scopes, not both", 2)
    if not all_scopes and not scope:
        raise fail("give at least one --scope, or --all-scopes", 2)
    try:
        scopes: list[Scope] = list(ALL_SCOPES) if all_scopes else [parse_scope(s) for s in scope or []]
    except ValueError as exc:
        raise fail(f"{exc}; known scopes: " + "; ".join(s.value for s in ALL_SCOPES), 2) from exc

    async def work(db):  # type: ignore[no-untyped-def]
        return await api_tokens.create(db, api_tokens.NewToken(name, scopes, rate, burst))

    secret, _record = with_db(work)
    typer.echo(secret)


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False) -> None:
    """List tokens (never their secrets)."""

    default = default_policy(settings())
    rows = [api_tokens.token_object(r, default) for r in with_db(api_tokens.list_all)]
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        typer.echo("no tokens")
        return
    typer.echo(f"{'ID':<24}  {'NAME':<20}  {'CREATED':<24}  {'LAST USED':<24}  {'REVOKED':<24}  {'RATE':<14}  SCOPES")
    for row in rows:
        scopes = "all" if len(row["scopes"]) == len(ALL_SCOPES) else ", ".join(row["scopes"])
        limit = row["rateLimit"]
        rate = f"{limit['perSecond']:g}/s,{limit['burst']}" if limit else "default"
        typer.echo(
            f"{row['id']:<24}  {row['name'][:20]:<20}  {row['created'] or '-':<24}  {row['lastUsed'] or '-':<24}  "
            f"{row['revoked'] or '-':<24}  {rate:<14}  {scopes}"
        )


@app.command("revoke")
def revoke(token_id: Annotated[str, typer.Argument(metavar="ID", help="The token's id from `tokens list`.")]) -> None:
    """Revoke a token; requests with it are refused within a second."""

    async def work(db):  # type: ignore[no-untyped-def]
        return await api_tokens.revoke(db, token_id)

    if not with_db(work):
        raise fail(f"no live token with id {token_id}")
    typer.echo(f"revoked {token_id}")
