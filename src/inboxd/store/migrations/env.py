"""Alembic environment: runs on the connection `store.migrate` hands over in `config.attributes`."""

from alembic import context

from inboxd.store.search_index import not_search_index
from inboxd.store.tables import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    compare_type=True,
    include_object=not_search_index,  # objects SQLAlchemy cannot describe (store/search_index.py)
)
with context.begin_transaction():
    context.run_migrations()
