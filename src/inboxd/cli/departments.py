"""`inboxd departments create | list` (docs/chats.md)."""

from __future__ import annotations

from typing import Annotated, Any

import orjson
import typer

from inboxd.agents.requests import parse_department
from inboxd.agents.service import Directory
from inboxd.cli.common import with_services
from inboxd.domain.agents import Assignment

app = typer.Typer(help="Departments: groups of agents, and how their waiting chats find one.", no_args_is_help=True)


def _run(work: Any) -> Any:
    return with_services(lambda services: work(Directory(services.db, services.events)))


@app.command("create")
def create(
    department_id: Annotated[str, typer.Option("--id", help="A slug, e.g. customer_service (Texter's departmentId).")],
    name: Annotated[str, typer.Option("--name")],
    assignment: Annotated[
        Assignment, typer.Option("--assignment", help="manual: its people pick chats; round_robin: inboxd hands them out.")
    ] = Assignment.MANUAL,
) -> None:
    """Create a department (add agents with `agents create/update --department`)."""
    body = {"id": department_id, "name": name, "assignment": assignment.value}
    department = _run(lambda d: d.create_department(parse_department(body, creating=True)))
    typer.echo(f"created department {department['id']} ({department['assignment']})")


@app.command("list")
def list_(as_json: Annotated[bool, typer.Option("--json", help="Print a JSON array of Department objects.")] = False) -> None:
    """List departments with their assignment and members."""
    departments = _run(lambda d: d.list_departments())
    if as_json:
        typer.echo(orjson.dumps(departments, option=orjson.OPT_INDENT_2).decode())
        return
    if not departments:
        typer.echo("no departments")
        return
    typer.echo(f"{'ID':<24}  {'NAME':<24}  {'ASSIGNMENT':<11}  MEMBERS")
    for d in departments:
        typer.echo(f"{d['id']:<24}  {d['name'][:24]:<24}  {d['assignment']:<11}  {len(d['members'])}")
