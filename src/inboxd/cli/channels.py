"""`inboxd channels add-whatsapp | list | update | health`."""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from inboxd.channels.listing import account_object
from inboxd.cli.common import fail, with_db
from inboxd.domain.clock import iso_from_ms
from inboxd.health import problems as problems_store
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

    rows = [account_object(a) for a in with_db(work)]
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


# --- credentials, chat settings and channel health (docs/channel-health.md, docs/chats.md) --------


@app.command("update")
def update(
    account: Annotated[str, typer.Argument(metavar="ACCOUNT", help="The account: its business number (accountId) or its inboxd id.")],
    access_token: Annotated[
        str | None, typer.Option("--access-token", envvar="INBOXD_WHATSAPP_ACCESS_TOKEN", help="A new Graph access token.")
    ] = None,
    app_secret: Annotated[
        str | None, typer.Option("--app-secret", envvar="INBOXD_WHATSAPP_APP_SECRET", help="A new Meta app secret.")
    ] = None,
    verify_token: Annotated[
        str | None, typer.Option("--verify-token", envvar="INBOXD_WHATSAPP_VERIFY_TOKEN", help="A new webhook verify token.")
    ] = None,
    graph_url: Annotated[str | None, typer.Option("--graph-url", help="Graph API base URL.")] = None,
    api_version: Annotated[str | None, typer.Option("--api-version")] = None,
    mps: Annotated[int | None, typer.Option("--mps", min=1, max=1000, help="Messages per second cap.")] = None,
    waba_id: Annotated[str | None, typer.Option("--waba-id", help="WhatsApp Business Account id.")] = None,
    department: Annotated[
        str | None,
        typer.Option("--department", help='Department of the chats its contacts open or reopen ("" for none).'),
    ] = None,
    resolution_message: Annotated[
        str | None,
        typer.Option("--resolution-message", help='Sent by Resolve Chat with notifyClient ("" for none).'),
    ] = None,
) -> None:
    """Change an account's credentials, connection or chat settings (running servers see
    credentials within seconds; on PostgreSQL at once). A token problem resolves with the next
    successful send."""
    from inboxd.domain.limits import TEXT
    from inboxd.store import agents as agents_store

    changes = {k: v for k, v in {"access_token": access_token, "app_secret": app_secret, "verify_token": verify_token,
                                 "graph_url": graph_url, "api_version": api_version, "mps": mps,
                                 "waba_id": waba_id}.items() if v is not None}
    settings_: dict[str, object] = {}
    if department is not None:
        settings_["default_department_id"] = department or None
    if resolution_message is not None:
        if len(resolution_message) not in TEXT and resolution_message:
            raise fail(f"--resolution-message must be at most {int(TEXT.max or 0)} characters", 2)
        settings_["resolution_message"] = resolution_message or None
    if not changes and not settings_:
        raise fail("nothing to change: give at least one of --access-token, --app-secret, --verify-token, "
                   "--graph-url, --api-version, --mps, --waba-id, --department, --resolution-message", 2)

    async def work(db):  # type: ignore[no-untyped-def]
        async with db.write() as conn:
            found = await accounts_store.find_account(conn, account)
            if found is None:
                raise fail(f"no channel account {account!r} (see inboxd channels list)")
            chosen = settings_.get("default_department_id")
            if isinstance(chosen, str) and await agents_store.get_department(conn, chosen) is None:
                raise fail(f"no department {chosen!r} (see inboxd departments list)", 2)
            await accounts_store.update_lifecycle_settings(conn, found.id, settings_)
            return await accounts_store.update_account(conn, found.id, **changes)

    updated = with_db(work)
    names = ", ".join(k.replace("_", " ") for k in [*changes, *settings_])  # never the values: some are secrets
    typer.echo(f"updated {updated.channel} account {updated.account_id} (id {updated.id}): {names}")


@app.command("health")
def health(
    include_resolved: Annotated[bool, typer.Option("--all", help="Also resolved problems.")] = False,
    as_json: Annotated[bool, typer.Option("--json", help="Print the Problem objects as a JSON array.")] = False,
) -> None:
    """Channel health problems: the active ones (newest first)."""

    async def work(db):  # type: ignore[no-untyped-def]
        async with db.read() as conn:
            query = problems_store.ProblemQuery(include_resolved=include_resolved, limit=10_000)
            return (await problems_store.list_problems(conn, query))[0]

    found = with_db(work)
    if as_json:
        typer.echo(orjson.dumps(found, option=orjson.OPT_INDENT_2).decode())
        return
    if not found:
        typer.echo("no channel health problems" if include_resolved else "no active channel health problems")
        return
    for p in found:
        state = f"resolved {iso_from_ms(p['resolvedAt'])}" if "resolvedAt" in p else "active"
        typer.echo(f"{p['severity'].upper():7}  {p['channel']} {p['accountId']}  {p['name']}  "
                   f"(since {iso_from_ms(p['startedAt'])}, {state}, id {p['_id']})")
        typer.echo(f"         {p['message']}")
        if p.get("instruction"):
            typer.echo(f"         → {p['instruction']}")
