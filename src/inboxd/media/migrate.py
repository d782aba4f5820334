"""Copy one file store into another (`inboxd files migrate --to s3://…`) and prove the copy: every
blob is streamed across, read back from the target and hashed; its hash must be its name. Blobs
the target already holds are verified the same way and not copied again, so an interrupted
migration is simply run again. Finally every file the database refers to must be in the target."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import sqlalchemy as sa

from inboxd.media.filestore import FileStore, hash_of
from inboxd.store.db import Database
from inboxd.store.tables import files


@dataclass
class MigrationReport:
    copied: int = 0
    already_there: int = 0
    bytes_copied: int = 0
    corrupt_in_source: list[str] = field(default_factory=list)  # bytes that do not hash to their name
    mismatched_in_target: list[str] = field(default_factory=list)  # read back with another hash
    missing_referenced: list[str] = field(default_factory=list)  # in the database, in neither store

    @property
    def ok(self) -> bool:
        return not (self.corrupt_in_source or self.mismatched_in_target or self.missing_referenced)


async def migrate_store(
    source: FileStore, target: FileStore, *, db: Database | None, progress: Callable[[str], None]
) -> MigrationReport:
    report = MigrationReport()
    names = [sha async for sha in source.blobs()]
    total = len(names)
    for number, sha in enumerate(names, start=1):
        if await target.exists(sha):
            report.already_there += 1
            what = "already there"
        else:
            actual = await hash_of(source, sha)  # checked first, so nothing corrupt lands in the target
            if actual != sha:
                report.corrupt_in_source.append(sha)
                progress(f"[{number}/{total}] {sha}: CORRUPT in the source (its bytes hash to {actual})")
                continue
            chunks = source.read(sha)
            try:
                blob = await target.put_stream(chunks, max_size=None)
            finally:
                await chunks.aclose()
            if blob.sha256 != sha:  # changed while being copied
                report.corrupt_in_source.append(sha)
                progress(f"[{number}/{total}] {sha}: CORRUPT in the source (its bytes hash to {blob.sha256})")
                continue
            report.copied += 1
            report.bytes_copied += blob.size
            what = f"copied ({blob.size} bytes)"
        if await hash_of(target, sha) != sha:
            report.mismatched_in_target.append(sha)
            progress(f"[{number}/{total}] {sha}: MISMATCH read back from the target")
            continue
        progress(f"[{number}/{total}] {sha}: {what}, verified")
    if db is not None:
        async with db.read() as conn:
            referenced = sorted(set((await conn.execute(sa.select(files.c.sha256).distinct())).scalars()))
        for sha in referenced:
            if not await target.exists(sha):
                report.missing_referenced.append(sha)
                progress(f"{sha}: referenced by the database but not in the target")
    return report
