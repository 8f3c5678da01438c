"""Prebuilt Core statements run straight on the DB-API cursor: the few every socket event runs.

SQLAlchemy's execution path (an execution context, the compiled-cache lookup, building the
parameters, wrapping the result) cost about 40 µs per statement here, several times what
SQLite itself took, and a draft autosave runs five statements. A `Prepared` statement is
compiled once per dialect by SQLAlchemy itself and keeps SQLAlchemy's own bind and result
processors (datetimes, JSON, booleans), so it sends and returns what `Connection.execute`
would. It runs on the unit of work's connection, inside its transaction, and a driver error
goes through SQLAlchemy's own handling: wrapped as `sqlalchemy.exc.DBAPIError` (parameters
hidden as the engine says), a dropped connection invalidated.

Only for statements whose every value is given by the caller or the database: one that
needs a Python-side column default or onupdate is refused when it is first compiled.
"""

from __future__ import annotations

import threading
import weakref
from collections import namedtuple
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.sql import ClauseElement


@dataclass(frozen=True)
class _Form:
    """A statement as compiled for one dialect."""

    sql: str
    positional: bool
    # (name in the SQL, the caller's key, value when the caller gives none, bind processor)
    binds: tuple[tuple[str, str, Any, Callable | None], ...]
    row: Any  # a namedtuple class, or None for a statement that returns no rows
    processors: tuple[Callable | None, ...]


class Prepared:
    def __init__(self, statement: ClauseElement) -> None:
        self.statement = statement
        self._forms: weakref.WeakKeyDictionary[Dialect, _Form] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()

    def _form(self, dialect: Dialect) -> _Form:
        form = self._forms.get(dialect)
        if form is None:
            form = self._compile(dialect)
            with self._lock:
                self._forms[dialect] = form
        return form

    def _compile(self, dialect: Dialect) -> _Form:
        compiled = self.statement.compile(dialect=dialect)
        if compiled.insert_prefetch or compiled.update_prefetch:
            raise ValueError("a Prepared statement can't apply Python-side column defaults: "
                             "give every value, or use Connection.execute")
        binds = []
        for bind, name in compiled.bind_names.items():
            if bind.expanding:
                raise ValueError("a Prepared statement can't expand IN lists")
            if bind.callable is not None:
                raise ValueError("a Prepared statement can't call a bind's value function")
            processor = bind.type.dialect_impl(dialect).bind_processor(dialect)
            default = None if bind.required else bind.value
            binds.append((name, bind.key, default, processor))
        if compiled.positional:
            by_name = {b[0]: b for b in binds}
            binds = [by_name[name] for name in compiled.positiontup]
        columns = list(self.statement.exported_columns)
        row = None
        processors: tuple[Callable | None, ...] = ()
        if columns:
            names = [getattr(c, "key", None) or f"c{i}" for i, c in enumerate(columns)]
            row = namedtuple("Row", names, rename=True)  # noqa: PYI024 (attribute access)
            processors = tuple(c.type.dialect_impl(dialect).result_processor(dialect, None)
                               for c in columns)
        return _Form(compiled.string, bool(compiled.positional), tuple(binds), row,
                     processors)

    def _run(self, conn: Connection, params: Mapping[str, Any]) -> tuple[Any, _Form]:
        form = self._form(conn.dialect)
        values = []
        for _name, key, default, processor in form.binds:
            value = params.get(key, default)
            values.append(processor(value) if processor is not None else value)
        arguments: Any = tuple(values) if form.positional else {
            b[0]: v for b, v in zip(form.binds, values, strict=True)}
        cursor = conn.connection.cursor()
        try:
            cursor.execute(form.sql, arguments)
        except Exception as error:
            cursor.close()
            # Wraps, hides the parameters, invalidates a dropped connection; always raises.
            conn._handle_dbapi_exception(error, form.sql, arguments, cursor, None)
            raise
        return cursor, form

    def rows(self, conn: Connection, params: Mapping[str, Any]) -> list[Any]:
        """Every row, each a named tuple with SQLAlchemy's result processing applied."""
        cursor, form = self._run(conn, params)
        try:
            fetched = cursor.fetchall()
        finally:
            cursor.close()
        make, processors = form.row._make, form.processors
        if not any(processors):
            return [make(r) for r in fetched]
        return [make([v if p is None or v is None else p(v)
                      for p, v in zip(processors, r, strict=True)]) for r in fetched]

    def one_or_none(self, conn: Connection, params: Mapping[str, Any]) -> Any:
        found = self.rows(conn, params)
        if len(found) > 1:
            raise ValueError("more than one row")
        return found[0] if found else None

    def run(self, conn: Connection, params: Mapping[str, Any]) -> int:
        """A statement that returns no rows; the number of rows it changed."""
        cursor, _form = self._run(conn, params)
        try:
            return cursor.rowcount
        finally:
            cursor.close()
