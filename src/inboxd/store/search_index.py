"""The substring index of Search Chats' `search` (names and phones; migration 0015_perf).

`search` matches a term anywhere in a chat's title, display name or contact id (`LIKE
'%term%'`), which no B-tree index serves: without this every chat was read, twice (the page and
the total) — p50 97 ms at 1 M chats against 19 ms at 10 k (docs/benchmarks.md). A trigram index
serves a substring:

- SQLite: an FTS5 table with the trigram tokenizer, `chats_search` (title, display_name,
  contact_id), kept by triggers on `chats`. Its rowids come from `chat_search_rowids` (an
  INTEGER PRIMARY KEY per chat id) rather than from `chats`' own rowid, which VACUUM may
  renumber. A term of 3 characters or more finds its candidate chats through the index; the
  search's own `LIKE` conditions then decide, so what matches is exactly what matched before
  (the index only narrows). A 2-character term (the API takes 2) has no trigram and scans.
- PostgreSQL: `pg_trgm` GIN indexes on lower(title), lower(display_name) and contact_id, which
  its planner uses for the same `LIKE` conditions by itself. When the extension cannot be
  created (no privilege, not installed), the migration leaves them out and a search scans.

Neither object is described in `store.tables` (SQLAlchemy models neither an FTS5 table nor an
operator-class index): `not_search_index` keeps them out of the schema comparison.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

FTS_TABLE = "chats_search"
ROWIDS_TABLE = "chat_search_rowids"
PG_INDEXES = ("ix_chats_search_title", "ix_chats_search_display_name", "ix_chats_search_contact_id")
MIN_TERM = 3  # a trigram index knows nothing shorter

rowids = sa.table(ROWIDS_TABLE, sa.column("id", sa.Integer), sa.column("chat_id", sa.String))

_SQLITE_TRIGGERS = (
    f"""CREATE TRIGGER chats_search_insert AFTER INSERT ON chats BEGIN
        INSERT INTO {ROWIDS_TABLE}(chat_id) VALUES (new.id);
        INSERT INTO {FTS_TABLE}(rowid, title, display_name, contact_id)
            VALUES (last_insert_rowid(), new.title, new.display_name, new.contact_id);
    END""",
    f"""CREATE TRIGGER chats_search_update AFTER UPDATE OF title, display_name, contact_id ON chats
        WHEN old.title IS NOT new.title OR old.display_name IS NOT new.display_name
             OR old.contact_id IS NOT new.contact_id
    BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = (SELECT id FROM {ROWIDS_TABLE} WHERE chat_id = old.id);
        INSERT INTO {FTS_TABLE}(rowid, title, display_name, contact_id)
            SELECT id, new.title, new.display_name, new.contact_id FROM {ROWIDS_TABLE} WHERE chat_id = new.id;
    END""",
    f"""CREATE TRIGGER chats_search_delete AFTER DELETE ON chats BEGIN
        DELETE FROM {FTS_TABLE} WHERE rowid = (SELECT id FROM {ROWIDS_TABLE} WHERE chat_id = old.id);
        DELETE FROM {ROWIDS_TABLE} WHERE chat_id = old.id;
    END""",
)


def sqlite_create() -> list[str]:
    return [
        f"CREATE TABLE {ROWIDS_TABLE} (id INTEGER PRIMARY KEY, chat_id VARCHAR(24) NOT NULL UNIQUE)",
        f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5(title, display_name, contact_id, tokenize='trigram')",
        *_SQLITE_TRIGGERS,
        f"INSERT INTO {ROWIDS_TABLE}(chat_id) SELECT id FROM chats ORDER BY id",
        f"""INSERT INTO {FTS_TABLE}(rowid, title, display_name, contact_id)
            SELECT r.id, c.title, c.display_name, c.contact_id FROM {ROWIDS_TABLE} r JOIN chats c ON c.id = r.chat_id""",
    ]


def sqlite_drop() -> list[str]:
    return [
        "DROP TRIGGER IF EXISTS chats_search_insert",
        "DROP TRIGGER IF EXISTS chats_search_update",
        "DROP TRIGGER IF EXISTS chats_search_delete",
        f"DROP TABLE IF EXISTS {FTS_TABLE}",
        f"DROP TABLE IF EXISTS {ROWIDS_TABLE}",
    ]


def postgres_create(trgm_schema: str) -> list[str]:
    ops = f'"{trgm_schema}".gin_trgm_ops'
    return [
        f"CREATE INDEX IF NOT EXISTS ix_chats_search_title ON chats USING gin (lower(title) {ops})",
        f"CREATE INDEX IF NOT EXISTS ix_chats_search_display_name ON chats USING gin (lower(display_name) {ops})",
        f"CREATE INDEX IF NOT EXISTS ix_chats_search_contact_id ON chats USING gin (contact_id {ops})",
    ]


def postgres_drop() -> list[str]:
    return [f"DROP INDEX IF EXISTS {name}" for name in PG_INDEXES]


def fts_phrase(text: str) -> str:
    return '"' + text.replace('"', '""') + '"'


def sqlite_candidates(names: str, phones: list[str]) -> sa.ColumnElement[bool] | None:
    """The chats whose names contain `names` or whose contact id contains one of `phones`,
    through the FTS5 index; None when a needle is too short for it (the caller then scans)."""
    if len(names) < MIN_TERM or any(len(p) < MIN_TERM for p in phones):
        return None
    query = " OR ".join([f"{{title display_name}} : {fts_phrase(names)}", *(f"contact_id : {fts_phrase(p)}" for p in phones)])
    fts = sa.text(f"SELECT rowid FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH :fts_query").bindparams(fts_query=query)
    from inboxd.store.tables import chats

    return chats.c.id.in_(sa.select(rowids.c.chat_id).where(rowids.c.id.in_(fts)))


def not_search_index(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Alembic's `include_object`: everything but this index's objects (SQLite's FTS5 table and
    its shadow tables, the rowid table; PostgreSQL's trigram indexes)."""
    if type_ == "table" and name is not None and (name == ROWIDS_TABLE or name.startswith(FTS_TABLE)):
        return False
    return not (type_ == "index" and name in PG_INDEXES)
