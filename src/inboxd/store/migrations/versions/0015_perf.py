"""Search Chats' substring index: SQLite FTS5 trigram, PostgreSQL pg_trgm (store/search_index.py).

Revision ID: 0015_perf
Revises: 0012_sessions
"""

import logging

import sqlalchemy as sa
from alembic import op

from inboxd.store import search_index

revision = "0015_perf"
down_revision = "0012_sessions"
branch_labels = None
depends_on = None

log = logging.getLogger(__name__)


def _trgm_schema(bind: sa.Connection) -> str | None:
    """The schema of pg_trgm, created (in `public`) when missing and allowed; None otherwise."""
    find = sa.text("SELECT n.nspname FROM pg_extension e JOIN pg_namespace n ON n.oid = e.extnamespace "
                   "WHERE e.extname = 'pg_trgm'")
    schema = bind.execute(find).scalar()
    if schema is not None:
        return schema
    try:
        with bind.begin_nested():
            bind.execute(sa.text("CREATE EXTENSION IF NOT EXISTS pg_trgm SCHEMA public"))
    except sa.exc.DBAPIError as exc:
        log.warning("pg_trgm is not available (%s): Search Chats' `search` will scan the chats",
                    str(exc.orig).splitlines()[0])
        return None
    return bind.execute(find).scalar()


def upgrade() -> None:
    bind = op.get_bind()
    if bind.dialect.name == "sqlite":
        for statement in search_index.sqlite_create():
            op.execute(statement)
        return
    schema = _trgm_schema(bind)
    if schema is not None:
        for statement in search_index.postgres_create(schema):
            op.execute(statement)


def downgrade() -> None:
    bind = op.get_bind()
    statements = search_index.sqlite_drop() if bind.dialect.name == "sqlite" else search_index.postgres_drop()
    for statement in statements:
        op.execute(statement)
