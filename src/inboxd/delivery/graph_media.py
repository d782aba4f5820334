"""Graph media ids for the files inboxd sends: uploaded once per account and file hash, reused
until shortly before Meta forgets them (uploaded media lives 30 days)."""

from __future__ import annotations

import sqlalchemy as sa

from inboxd.channels.whatsapp.graph import GraphClient
from inboxd.domain.clock import now_ms
from inboxd.media.filestore import FileStore
from inboxd.store.accounts import ChannelAccount
from inboxd.store.db import Database
from inboxd.store.tables import files, graph_media
from inboxd.store.upsert import insert_for

KEEP_MS = 29 * 24 * 3600 * 1000  # a day less than Meta keeps an uploaded file


class MissingFile(Exception):
    """The file to send is not in the file store (deleted or never stored)."""


async def media_id_for(
    db: Database, graph: GraphClient, store: FileStore, account: ChannelAccount, file_id: str
) -> str:
    now = now_ms()
    async with db.read() as conn:
        row = (await conn.execute(sa.select(files).where(files.c.id == file_id))).mappings().first()
        if row is None:
            raise MissingFile(f"file {file_id} does not exist")
        cached = (
            await conn.execute(
                sa.select(graph_media.c.media_id).where(
                    graph_media.c.channel_account_id == account.id,
                    graph_media.c.sha256 == row["sha256"],
                    graph_media.c.expires_at > now,
                )
            )
        ).scalar()
    if cached:
        return str(cached)
    if not await store.exists(row["sha256"]):
        raise MissingFile(f"the bytes of file {file_id} are missing from the file store")
    chunks = store.read(row["sha256"])  # streamed to Graph: a 100 MB document never sits in memory
    try:
        media_id = await graph.upload_media(
            account, chunks, row["size"], row["content_type"], row["filename"] or "file"
        )
    finally:
        await chunks.aclose()
    async with db.write() as conn:
        stmt = insert_for(conn, graph_media).values(
            channel_account_id=account.id, sha256=row["sha256"], media_id=media_id, expires_at=now + KEEP_MS
        )
        await conn.execute(
            stmt.on_conflict_do_update(
                index_elements=["channel_account_id", "sha256"],
                set_={"media_id": stmt.excluded.media_id, "expires_at": stmt.excluded.expires_at},
            )
        )
    return media_id


async def forget_media_id(db: Database, account: ChannelAccount, file_id: str) -> None:
    """Meta no longer knows the id we cached for this file (131053): upload again next time."""
    async with db.write() as conn:
        sha = sa.select(files.c.sha256).where(files.c.id == file_id).scalar_subquery()
        await conn.execute(
            graph_media.delete().where(graph_media.c.channel_account_id == account.id, graph_media.c.sha256 == sha)
        )
