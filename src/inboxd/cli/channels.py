"""`inboxd channels add-whatsapp | list`."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from inboxd.cli.common import fail, with_db
from inboxd.domain.clock import iso_from_ms
from inboxd.store import accounts as accounts_store
from inboxd.store.db import is_unique_violation

app = typer.Typer(help="Channel accounts (WhatsApp Business numbers).", no_args_is_help=True)


@app.command("add-whatsapp")
def add_whatsapp(
    account_id: Annotated[str, typer.Option("--account-id", help="The business phone number, digits only.")],
    phone_number_id: Annotated[str, typer.Option("--phone-number-id", help="Meta's phone number id.")],
    access_token: Annotated[
        str, typer.Option("--access-token", envvar="INBOXD_WHATSAPP_ACCESS_TOKEN", help="Graph access token.")
    ],
    app_secret: Annotated[
        str, typer.Option("--app-secret", envvar="INBOXD_WHATSAPP_APP_SECRET", help="Meta app secret (webhook signatures).")
    ],
    verify_token: Annotated[
        str, typer.Option("--verify-token", envvar="INBOXD_WHATSAPP_VERIFY_TOKEN", help="Webhook verify token.")
    ],
    graph_url: Annotated[str, typer.Option("--graph-url", help="Graph API base URL.")] = accounts_store.META_GRAPH_URL,
    api_version: Annotated[str, typer.Option("--api-version")] = accounts_store.DEFAULT_API_VERSION,
    mps: Annotated[int, typer.Option("--mps", min=1, max=1000, help="Messages per second cap.")] = accounts_store.DEFAULT_MPS,
    waba_id: Annotated[str | None, typer.Option("--waba-id", help="WhatsApp Business Account id.")] = None,
    read_receipts: Annotated[
        bool,
        typer.Option("--read-receipts/--no-read-receipts",
                     help="Tell WhatsApp the contact's last message was read when an agent reads the chat."),
    ] = False,
) -> None:
    """Connect a WhatsApp Business number (Cloud API)."""
    digits = account_id.lstrip("+")
    if not digits.isdigit():
        raise fail("--account-id must be the business phone number in digits, e.g. 972509876543", 2)

    async def work(db):  # type: ignore[no-untyped-def]
        async with db.write() as conn:
            return await accounts_store.add_whatsapp_account(
                conn,
                account_id=digits,
                phone_number_id=phone_number_id,
                access_token=access_token,
                app_secret=app_secret,
                verify_token=verify_token,
                graph_url=graph_url,
                api_version=api_version,
                mps=mps,
                waba_id=waba_id,
                read_receipts=read_receipts,
            )

    try:
        account = with_db(work)
    except Exception as exc:
        if is_unique_violation(exc):
            raise fail("a WhatsApp account with this --account-id or --phone-number-id already exists") from None
        raise
    typer.echo(f"added whatsapp account {account.account_id} (id {account.id}, phone number id {phone_number_id})")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array.")] = False) -> None:
    """List channel accounts (secrets are never shown)."""

    async def work(db):  # type: ignore[no-untyped-def]
        async with db.read() as conn:
            return await accounts_store.list_accounts(conn)

    rows = [
        {
            "id": a.id,
            "channel": a.channel,
            "accountId": a.account_id,
            "phoneNumberId": a.phone_number_id,
            "wabaId": a.waba_id,
            "graphUrl": a.graph_url,
            "apiVersion": a.api_version,
            "mps": a.mps,
            "sandbox": a.sandbox,
            "readReceipts": a.read_receipts,
            "created": iso_from_ms(a.created_at),
        }
        for a in with_db(work)
    ]
    if as_json:
        typer.echo(orjson.dumps(rows, option=orjson.OPT_INDENT_2).decode())
        return
    if not rows:
        typer.echo("no channel accounts")
        return
    for r in rows:
        sandbox = " (sandbox)" if r["sandbox"] else ""
        receipts = " read-receipts" if r["readReceipts"] else ""
        typer.echo(
            f"{r['id']}  {r['channel']}  {r['accountId']}  phone-number-id={r['phoneNumberId']}  "
            f"graph={r['graphUrl']}/{r['apiVersion']}  mps={r['mps']}{sandbox}{receipts}"
        )
