"""Bulk writes for the ingest path, where the ORM's own are slow.

QuerySet.bulk_update builds a CASE WHEN per field and row (about a millisecond of Python per row) and
bulk_create compiles a placeholder per value; Django's client-side parameter binding then quotes every
value in Python. On PostgreSQL one INSERT … SELECT FROM unnest(arrays) or UPDATE … FROM unnest(arrays),
with one array per column bound on the server, costs nearly nothing to build whatever the number of rows.
Elsewhere (SQLite, embedded mode) they fall back to the ORM's methods.
"""

import json
import time

import psycopg
from django.db import connection, models


def server_execute(sql: str, parameters: list) -> psycopg.Cursor:
    """Run one statement on Django's connection (its transaction) with server-side binding: large arrays are
    sent as they are instead of being quoted into the SQL text. Returns the cursor, for fetching."""
    connection.ensure_connection()
    cursor = psycopg.Cursor(connection.connection)
    started = time.monotonic()
    cursor.execute(sql, parameters)
    if connection.queries_logged:  # counted like the ORM's own (DEBUG, assertNumQueries)
        connection.queries_log.append({"sql": sql, "time": f"{time.monotonic() - started:.3f}"})
    return cursor


def rows_insert(
    model: type[models.Model],
    rows: list[models.Model],
    *,
    ignore_conflicts: bool = False,
    update_conflicts: list[str] | None = None,
    unique_fields: list[str] | None = None,
) -> None:
    """Insert these rows (every concrete field, defaults and auto_now applied as save() does) in one
    statement; with `ignore_conflicts`, rows a unique constraint refuses are skipped; with
    `update_conflicts` (and `unique_fields`), those fields of the existing row are updated instead."""
    if not rows:
        return
    if connection.vendor != "postgresql":
        options = {"ignore_conflicts": ignore_conflicts}
        if update_conflicts:
            options = {"update_conflicts": True, "update_fields": update_conflicts, "unique_fields": unique_fields}
        model.objects.bulk_create(rows, **options)
        return
    meta = model._meta
    columns = [f for f in meta.concrete_fields if not getattr(f, "db_returning", False)]  # not serial ids
    arrays, parameters = [], []
    for column in columns:
        arrays.append(_array(column))
        parameters.append([_db_value(column, column.pre_save(row, True)) for row in rows])
    quote = connection.ops.quote_name
    names = ", ".join(quote(c.column) for c in columns)
    selects = ", ".join(_select(c, f"v.c{n}") for n, c in enumerate(columns))
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = (
        f"INSERT INTO {quote(meta.db_table)} ({names}) "
        f"SELECT {selects} FROM unnest({', '.join(arrays)}) AS v({aliases})"
    )
    if update_conflicts:
        target = ", ".join(quote(meta.get_field(name).column) for name in unique_fields)
        updated = [quote(meta.get_field(name).column) for name in update_conflicts]
        sql += f" ON CONFLICT ({target}) DO UPDATE SET " + ", ".join(f"{c} = EXCLUDED.{c}" for c in updated)
    elif ignore_conflicts:
        sql += " ON CONFLICT DO NOTHING"
    server_execute(sql, parameters).close()


def rows_update(model: type[models.Model], rows: list[models.Model], fields: list[str]) -> int:
    """Write `fields` of each of these rows (matched by primary key) in one statement; returns rows updated."""
    if not rows:
        return 0
    if connection.vendor != "postgresql":
        return model.objects.bulk_update(rows, fields)
    meta = model._meta
    columns = [meta.pk, *(meta.get_field(name) for name in fields)]
    quote = connection.ops.quote_name
    arrays = [_array(column) for column in columns]
    parameters = [[_db_value(column, getattr(row, column.attname)) for row in rows] for column in columns]
    assignments = ", ".join(f"{quote(c.column)} = {_select(c, f'v.c{n}')}" for n, c in enumerate(columns) if n)
    aliases = ", ".join(f"c{n}" for n in range(len(columns)))
    sql = (
        f"UPDATE {quote(meta.db_table)} AS t SET {assignments} "
        f"FROM unnest({', '.join(arrays)}) AS v({aliases}) WHERE t.{quote(meta.pk.column)} = v.c0"
    )
    cursor = server_execute(sql, parameters)
    cursor.close()
    return cursor.rowcount


def _array(field: models.Field) -> str:
    # JSON travels as text and is cast per row: psycopg has no array of jsonb to bind a list of dicts to.
    return f"%b::{'text' if isinstance(field, models.JSONField) else field.db_type(connection)}[]"


def _select(field: models.Field, expression: str) -> str:
    return f"{expression}::jsonb" if isinstance(field, models.JSONField) else expression


def _db_value(field: models.Field, value):
    if isinstance(field, models.JSONField):
        return None if value is None else json.dumps(value, cls=field.encoder)
    return value
