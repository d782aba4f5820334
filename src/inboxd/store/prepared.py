"""Statements of the hot write paths, compiled once and run as the driver's `executemany`.

SQLAlchemy Core spends ~10 µs per execution on a cached statement (the cache key, the execution
context, result setup) and more per row of an executemany (`construct_params`, the bind
processors through its per-row machinery) — at a group commit's dozens of rows the largest part
of accepting a message (docs/benchmarks.md, issue 14). A `Prepared` statement is a SQLAlchemy
statement compiled once per dialect and set of columns; each execution hands the driver the SQL
text and plain tuples (`exec_driver_sql`: the same connection, transaction, error wrapping and
statement timeout as every other statement). One definition serves SQLite and PostgreSQL: the
compiler writes each dialect's paramstyle, and the columns' own bind processors (the JSON
columns' serialiser, JSONB on PostgreSQL) convert the values, as SQLAlchemy would.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Dialect
from sqlalchemy.ext.asyncio import AsyncConnection

_Compiled = tuple[str, tuple[str, ...], tuple[tuple[int, Callable[[Any], Any]], ...]]


class Prepared:
    """`statement` (an INSERT, or an UPDATE/DELETE with named `bindparam`s) for executemany of
    rows given as dicts. An INSERT takes the columns of the rows' keys (every row the same keys);
    a column whose value would come from a Python-side default is an error at compile time, not
    a silent NULL."""

    def __init__(self, statement: sa.Executable) -> None:
        self.statement = statement
        self._compiled: dict[tuple[str, tuple[str, ...]], _Compiled] = {}

    def _compile(self, dialect: Dialect, keys: tuple[str, ...]) -> _Compiled:
        compiled = self.statement.compile(dialect=dialect, column_keys=list(keys))  # type: ignore[attr-defined]
        names = tuple(compiled.positiontup or ())
        if not names and compiled.binds:
            raise TypeError(f"{dialect.name}: a Prepared statement needs a positional paramstyle")
        unknown = set(names) - set(keys)
        if unknown:
            raise ValueError(f"the statement needs parameters the rows do not give: {sorted(unknown)}")
        processors = []
        for i, name in enumerate(names):
            processor = compiled.binds[name].type._cached_bind_processor(dialect)
            if processor is not None:
                processors.append((i, processor))
        entry = (compiled.string, names, tuple(processors))
        self._compiled[(dialect.name, keys)] = entry
        return entry

    async def executemany(self, conn: AsyncConnection, rows: Sequence[dict[str, Any]]) -> None:
        """Run the statement once per row, in one driver call."""
        if not rows:
            return
        keys = tuple(rows[0])
        dialect = conn.dialect
        entry = self._compiled.get((dialect.name, keys))
        if entry is None:
            entry = self._compile(dialect, keys)
        sql, names, processors = entry
        params: list[tuple[Any, ...]] = []
        for row in rows:
            values = [row[name] for name in names]
            for i, process in processors:
                values[i] = process(values[i])
            params.append(tuple(values))
        await conn.exec_driver_sql(sql, params)
