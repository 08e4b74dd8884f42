"""Bulk loading for the importer's big tables, faster than model instances and bulk_create.

PostgreSQL loads with COPY (ids drawn from the sequence beforehand); SQLite takes multi-row
INSERT ... RETURNING. Values are converted by their model fields, as Django would save them.
"""

from __future__ import annotations

import json

from django.db import connection


def chunks(items: list, size: int):
    for start in range(0, len(items), size):
        yield items[start : start + size]


def insert_rows(
    model, columns: list[str], rows: list[tuple], returning: bool = False, encoded=frozenset()
) -> list[int]:
    """Bulk INSERTs for the big tables: model instances would cost more than the SQL.

    Values are converted by their model field (UUIDs, dates) as Django would save them; JSON columns
    are encoded here unless listed in `encoded` (already JSON text). With `returning`, the new ids
    come back in row order. PostgreSQL loads with COPY (ids drawn from the sequence beforehand),
    several times faster than INSERT there; SQLite takes multi-row INSERT ... RETURNING.
    A raw backend cursor is used so DEBUG query logging does not format megabytes of SQL.
    """
    if not rows:
        return []
    fields = [model._meta.get_field(c) for c in columns]  # a foreign key by its column name too (rule_id)
    rows = _converted(fields, columns, rows, encoded)
    connection.ensure_connection()
    if connection.vendor == "postgresql":
        cursor = connection.create_cursor()
        try:
            return _copy_rows(cursor, model, columns, rows, returning)
        finally:
            cursor.close()
    return _insert_rows(model, columns, rows, returning)


def _converted(fields, columns, rows, encoded) -> list:
    converters = []
    for i, f in enumerate(fields):
        kind = f.get_internal_type()
        if kind == "JSONField" and columns[i] not in encoded:
            converters.append((i, _json_text))
        elif kind in ("UUIDField", "DateField", "DateTimeField"):
            converters.append((i, _memoised(lambda value, f=f: f.get_db_prep_save(value, connection))))
    if not converters:
        return rows
    rows = [list(row) for row in rows]
    for row in rows:
        for i, convert in converters:
            row[i] = convert(row[i])
    return rows


def _memoised(convert):
    """Dates and timestamps repeat (every row of an import has the same `now`): convert each once."""
    seen = {}

    def cached(value):
        if value not in seen:
            seen[value] = convert(value)
        return seen[value]

    return cached


def _insert_rows(model, columns, rows, returning) -> list[int]:
    """SQLite: multi-row INSERTs on the driver's own cursor, with its `?` placeholders.

    Django's cursor wrapper rewrites `%s` to `?` with a regular expression on every statement,
    which on 30,000-parameter statements costs more than the INSERT itself.
    """
    quote = connection.ops.quote_name
    head = f"INSERT INTO {quote(model._meta.db_table)} ({', '.join(quote(c) for c in columns)}) VALUES "
    per_row = "(" + ", ".join(["?"] * len(columns)) + ")"
    tail = f" RETURNING {quote(model._meta.pk.column)}" if returning else ""
    batch = max(1, min(2000, _max_params() // len(columns)))
    ids: list[int] = []
    raw = connection.connection.cursor()
    try:
        for chunk in chunks(rows, batch):
            raw.execute(head + ", ".join([per_row] * len(chunk)) + tail, [v for row in chunk for v in row])
            if returning:
                ids.extend(row[0] for row in raw.fetchall())
    finally:
        raw.close()
    return ids


def _copy_rows(cursor, model, columns, rows, returning) -> list[int]:
    quote = connection.ops.quote_name
    table, pk = model._meta.db_table, model._meta.pk.column
    ids: list[int] = []
    if returning:
        cursor.execute(
            "SELECT nextval(pg_get_serial_sequence(%s, %s)) FROM generate_series(1, %s)", [table, pk, len(rows)]
        )
        ids = [row[0] for row in cursor.fetchall()]
        columns = [pk, *columns]
        rows = [(new_id, *row) for new_id, row in zip(ids, rows, strict=True)]
    with cursor.copy(f"COPY {quote(table)} ({', '.join(quote(c) for c in columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
    return ids


def _max_params() -> int:
    if connection.vendor == "sqlite":
        import sqlite3

        return 32766 if sqlite3.sqlite_version_info >= (3, 32) else 999
    return 65535


def _json_text(value) -> str:
    return json.dumps(value, default=str)
