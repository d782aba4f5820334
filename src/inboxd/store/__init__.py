"""Tables, queries and migrations (SQLAlchemy 2 Core; SQLite and PostgreSQL)."""
