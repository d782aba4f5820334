"""File records (the bytes live in the file store, by SHA-256) and public share links."""

from __future__ import annotations

import hashlib

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from inboxd.domain.ids import new_id
from inboxd.store.tables import file_shares, files


async def add_file(
    conn: AsyncConnection, *, sha256: str, size: int, content_type: str, filename: str | None, source: str, now: int
) -> str:
    file_id = new_id()
    await conn.execute(
        files.insert().values(
            id=file_id,
            sha256=sha256,
            size=size,
            content_type=content_type,
            filename=filename,
            source=source,
            created_at=now,
        )
    )
    return file_id


async def get_file(conn: AsyncConnection, file_id: str) -> sa.RowMapping | None:
    return (await conn.execute(sa.select(files).where(files.c.id == file_id))).mappings().first()


def hash_share_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


async def add_share(conn: AsyncConnection, file_id: str, token: str, expires_at: int | None, now: int) -> None:
    await conn.execute(
        file_shares.insert().values(
            id=new_id(), file_id=file_id, token_hash=hash_share_token(token), expires_at=expires_at, created_at=now
        )
    )


async def shared_file(conn: AsyncConnection, file_id: str, token: str, now: int) -> sa.RowMapping | None:
    """The file behind a public link, if the token is right for this file and not expired."""
    query = (
        sa.select(files, file_shares.c.expires_at.label("share_expires_at"))
        .join(file_shares, file_shares.c.file_id == files.c.id)
        .where(
            files.c.id == file_id,
            file_shares.c.token_hash == hash_share_token(token),
            sa.or_(file_shares.c.expires_at.is_(None), file_shares.c.expires_at > now),
        )
    )
    return (await conn.execute(query)).mappings().first()
