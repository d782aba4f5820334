"""`inboxd files migrate --to s3://…`: move a file store (README, "Several machines")."""

from __future__ import annotations

import asyncio
from typing import Annotated

import typer

from inboxd.cli.common import settings, setup_logging
from inboxd.media.filestore import open_file_store
from inboxd.media.migrate import migrate_store
from inboxd.store.db import Database
from inboxd.store.migrate import migrate

app = typer.Typer(help="The file store.", no_args_is_help=True)


@app.command("migrate")
def migrate_files(
    to: Annotated[str, typer.Option("--to", help="The target store: s3://bucket/prefix or file:///path.")],
    source: Annotated[
        str | None, typer.Option("--from", help="The source store (default: the configured one, INBOXD_FILES_URL or the local directory).")
    ] = None,
) -> None:
    """Copy every file of a store into another, verify every hash read back from the target, and
    check that every file the database refers to is there. Progress on stderr; exit 1 on any problem.
    Safe to run again (what is there already is verified, not copied). Then set INBOXD_FILES_URL."""
    cfg = settings()
    setup_logging("warning")

    async def run() -> bool:
        origin, target = open_file_store(cfg, source), open_file_store(cfg, to)
        db = Database.from_settings(cfg)
        try:
            await migrate(db)
            typer.echo(f"copying {origin.describe()} -> {target.describe()}", err=True)
            report = await migrate_store(origin, target, db=db, progress=lambda line: typer.echo(line, err=True))
        finally:
            await origin.aclose()
            await target.aclose()
            await db.dispose()
        typer.echo(
            f"{report.copied} copied ({report.bytes_copied} bytes), {report.already_there} already there, "
            f"{len(report.corrupt_in_source)} corrupt in the source, {len(report.mismatched_in_target)} mismatched "
            f"in the target, {len(report.missing_referenced)} referenced but missing"
        )
        return report.ok

    if not asyncio.run(run()):
        raise typer.Exit(1)
