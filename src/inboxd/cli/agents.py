"""`inboxd agents create | list | update | deactivate | set-password` (docs/chats.md)."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import orjson
import typer

from inboxd.agents.requests import parse_agent
from inboxd.agents.service import Directory
from inboxd.cli.common import fail, with_services
from inboxd.domain.agents import Presence, Role

app = typer.Typer(help="Agents: the people who work the inbox.", no_args_is_help=True)

RoleOpt = Annotated[Role | None, typer.Option("--role", help="admin or agent.")]
Departments = Annotated[list[str] | None, typer.Option("--department", help="A department id. Repeat for several.")]
CrmId = Annotated[str | None, typer.Option("--crm-id", help="The agent's id in your CRM (unique).")]
MaxOpen = Annotated[
    int | None, typer.Option("--max-open-chats", min=0, help="Most open chats round robin gives them (0: no limit).")
]
PasswordStdin = Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard input.")]


def _password(from_stdin: bool) -> str:
    """Asked for (twice, not echoed) or read from stdin; never an argument (shell history, ps)."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return str(typer.prompt("Password", hide_input=True, confirmation_prompt=True, err=True))


def _run(work: Any) -> Any:
    return with_services(lambda services: work(Directory(services.db, services.events)))


@app.command("create")
def create(
    email: Annotated[str, typer.Option("--email", help="Their sign-in email (unique, any case).")],
    name: Annotated[str, typer.Option("--name", help="The name chats show.")],
    role: RoleOpt = Role.AGENT,
    department: Departments = None,
    crm_id: CrmId = None,
    max_open_chats: MaxOpen = None,
    password_stdin: PasswordStdin = False,
) -> None:
    """Create an agent and print their uid. Asks for their password (or reads --password-stdin)."""
    body: dict[str, Any] = {"email": email, "displayName": name, "roles": [(role or Role.AGENT).value],
                            "departments": department or [], "password": _password(password_stdin)}
    if crm_id:
        body["crmId"] = crm_id
    if max_open_chats:
        body["maxOpenChats"] = max_open_chats
    agent = _run(lambda d: d.create_agent(parse_agent(body, creating=True)))
    typer.echo(agent["uid"])


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of Agent objects.")] = False) -> None:
    """List agents (never their passwords)."""
    agents = _run(lambda d: d.list_agents())
    if as_json:
        typer.echo(orjson.dumps(agents, option=orjson.OPT_INDENT_2).decode())
        return
    if not agents:
        typer.echo("no agents")
        return
    typer.echo(f"{'UID':<36}  {'EMAIL':<28}  {'NAME':<20}  {'ROLES':<11}  {'PRESENCE':<8}  {'OPEN':>9}  DEPARTMENTS")
    for a in agents:
        state = a["presence"] if a["active"] else "inactive"
        capacity = f"{a['openChats']}/{a['maxOpenChats'] or '-'}"
        typer.echo(f"{a['uid']:<36}  {a['email'][:28]:<28}  {a['displayName'][:20]:<20}  {','.join(a['roles']):<11}  "
                   f"{state:<8}  {capacity:>9}  {', '.join(a['departments']) or '-'}")


@app.command("update")
def update(
    uid: Annotated[str, typer.Argument(metavar="UID", help="The agent's uid (agents list).")],
    email: Annotated[str | None, typer.Option("--email")] = None,
    name: Annotated[str | None, typer.Option("--name")] = None,
    role: RoleOpt = None,
    department: Departments = None,
    no_departments: Annotated[bool, typer.Option("--no-departments", help="Remove them from every department.")] = False,
    crm_id: Annotated[str | None, typer.Option("--crm-id", help='Their CRM id ("" removes it).')] = None,
    max_open_chats: MaxOpen = None,
    presence: Annotated[Presence | None, typer.Option("--presence")] = None,
    activate: Annotated[bool, typer.Option("--activate", help="Make a deactivated agent active again.")] = False,
) -> None:
    """Change an agent: only the options given (--department replaces their departments)."""
    if department and no_departments:
        raise fail("give --department or --no-departments, not both", 2)
    body: dict[str, Any] = {}
    for key, value in (("email", email), ("displayName", name)):
        if value is not None:
            body[key] = value
    if role is not None:
        body["roles"] = [role.value]
    if department or no_departments:
        body["departments"] = department or []
    if crm_id is not None:
        body["crmId"] = crm_id or None
    if max_open_chats is not None:
        body["maxOpenChats"] = max_open_chats or None
    if presence is not None:
        body["presence"] = presence.value
    if activate:
        body["active"] = True
    if not body:
        raise fail("nothing to change: give at least one option", 2)
    agent = _run(lambda d: d.update_agent(uid, parse_agent(body, creating=False)))
    typer.echo(f"updated {agent['uid']} ({agent['email']})")


@app.command("deactivate")
def deactivate(uid: Annotated[str, typer.Argument(metavar="UID")]) -> None:
    """Deactivate an agent: they get no chats, and their open chats wait in their departments again."""
    agent = _run(lambda d: d.update_agent(uid, parse_agent({"active": False}, creating=False)))
    typer.echo(f"deactivated {agent['uid']} ({agent['email']})")


@app.command("set-password")
def set_password(uid: Annotated[str, typer.Argument(metavar="UID")], password_stdin: PasswordStdin = False) -> None:
    """Set an agent's password (asked for, or read with --password-stdin)."""
    body = {"password": _password(password_stdin)}
    agent = _run(lambda d: d.update_agent(uid, parse_agent(body, creating=False)))
    typer.echo(f"password set for {agent['uid']} ({agent['email']})")


@app.command("first-admin")
def first_admin(
    email: Annotated[str, typer.Option("--email", envvar="INBOXD_FIRST_ADMIN_EMAIL", help="The admin's sign-in email.")]
    = "admin@example.com",
    url: Annotated[str, typer.Option("--url", help="The inbox's address, printed with the password.")]
    = "http://127.0.0.1:8080/",
) -> None:
    """On a data directory without agents: create an admin with a random password and print the
    email, the password (shown this once, nowhere else) and the inbox URL. With agents: nothing."""
    import secrets

    def work(d: Directory) -> Any:
        async def go() -> dict[str, Any] | None:
            if await d.list_agents():
                return None
            password = secrets.token_urlsafe(12)
            body = {"email": email, "displayName": "Admin", "roles": [Role.ADMIN.value], "departments": [],
                    "password": password}
            agent = await d.create_agent(parse_agent(body, creating=True))
            return {**agent, "password": password}
        return go()

    made = _run(work)
    if made is None:
        typer.echo(f"The inbox: {url}")
        return
    typer.echo(f"First admin created. Sign in at {url}\n  Email:    {made['email']}\n  Password: {made['password']}\n"
               "(shown once: change it in Settings → Agents, or `inboxd agents set-password`)")
