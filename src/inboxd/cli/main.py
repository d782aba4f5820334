"""`inboxd`: serve | worker | migrate | tokens | channels | agents | departments | simulator | sandbox | files | backup."""

from __future__ import annotations

from typing import Annotated

import typer

from inboxd.cli import agents, channels, departments, files, sandbox, tokens
from inboxd.cli.backup import backup
from inboxd.cli.common import settings, setup_logging, with_db
from inboxd.cli.simulator import run_simulator

app = typer.Typer(help="inboxd: a self-hosted business messaging inbox server.", no_args_is_help=True)
app.add_typer(tokens.app, name="tokens")
app.add_typer(channels.app, name="channels")
app.add_typer(sandbox.app, name="sandbox")
app.add_typer(files.app, name="files")  # the file store (several machines)
app.add_typer(agents.app, name="agents")
app.add_typer(departments.app, name="departments")
app.command("simulator")(run_simulator)
app.command("backup")(backup)  # the SQLite database, online


@app.command()
def migrate() -> None:
    """Bring the database to the newest schema."""
    cfg = settings()
    setup_logging(cfg.log_level, cfg.log_format)

    async def work(_db):  # type: ignore[no-untyped-def]
        return None

    with_db(work, statement_timeout=False)
    typer.echo(f"database is up to date ({cfg.resolved_database_url.split('://')[0]})")


@app.command()
def worker(
    loops: Annotated[int | None, typer.Option("--loops", min=1, help="Worker loops of each kind (default INBOXD_WORKERS).")] = None,
) -> None:
    """Run delivery and inbound workers only (no HTTP), e.g. on more machines over PostgreSQL."""
    from inboxd.cli.worker import run_worker

    run_worker(loops)


@app.command()
def serve(
    host: Annotated[str | None, typer.Option("--host", help="Default: INBOXD_HOST or 127.0.0.1.")] = None,
    port: Annotated[int | None, typer.Option("--port", help="Default: INBOXD_PORT or 8080.")] = None,
    processes: Annotated[int, typer.Option("--processes", min=1, help="Server processes sharing the port (one core "
                                           "each; needs INBOXD_SIMULATOR=false when > 1).")] = 1,
) -> None:
    """Run the API server (migrates first), with delivery and inbound workers inside."""
    from inboxd.cli.serve import run_server

    run_server(host=host, port=port, processes=processes)
