"""The sync step: a ClickHouse table of the tenant database → a PostgreSQL table of the tenant schema.

Rows stream from ClickHouse in blocks (``query_row_block_stream``, FINAL applied where the engine has
it) into PostgreSQL with ``COPY``, so memory stays at one block whatever the table's size.

``mode: replace`` — one transaction: create a new table shaped like the target (defaults, generated
and identity columns, CHECK and NOT NULL constraints), load it, build the target's primary key,
unique constraints and indexes on it, then drop the old table, rename the new one into place, give
indexes and constraints their old names and recreate the target's triggers, grants, owner and
comment. Readers see the old rows until the commit and the new ones after — never a mix, never an
empty table. Because the load happens before the triggers exist, the swap fires the target's
statement-level INSERT and DELETE triggers once each with a zero-row statement (the gateway's
serving tables use them to invalidate caches). Tables other objects depend on (views, foreign keys
pointing at them, row-level security policies) or partitioned tables cannot be swapped: use upsert.

``mode: upsert`` — one transaction: load into a temporary table, then ``INSERT … ON CONFLICT (key)
DO UPDATE`` only where a value changed. Rows missing from the source stay.

A target that does not exist yet is created from the ClickHouse column types with the key as
primary key (in the tenant schema, created when missing). Columns are matched by name: the source
may not have columns the target lacks, and the target's NOT NULL columns without a default must all
come from the source.
"""

from __future__ import annotations

import hashlib
import re
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import psycopg
from psycopg import sql
from psycopg.types.json import Jsonb

from barista_core.logging import get_logger
from barista_core.naming import tenant_database, tenant_schema
from barista_pipelines.spec import IDENTIFIER, SyncStep

log = get_logger(__name__)

_IDENTIFIER = re.compile(IDENTIFIER)
_INDEX_DEF = re.compile(r"^CREATE (UNIQUE )?INDEX (?:\S+|\"(?:[^\"]|\"\")+\") ON (ONLY )?\S+ USING ", re.ASCII)
_WRAPPER = re.compile(r"^(Nullable|LowCardinality)\((.*)\)$")


class SyncError(RuntimeError):
    """The sync cannot run as specified (missing table, column mismatch, unsupported target)."""


@dataclass(frozen=True, slots=True)
class SyncOutcome:
    source: str
    target: str
    mode: str
    rows: int
    changed: int
    created_target: bool
    seconds: float

    def summary(self) -> dict[str, Any]:
        return {
            "source": self.source,
            "target": self.target,
            "mode": self.mode,
            "rows": self.rows,
            "changed": self.changed,
            "created_target": self.created_target,
            "seconds": round(self.seconds, 2),
        }


@dataclass(frozen=True, slots=True)
class _Column:
    name: str
    ch_type: str


@dataclass(frozen=True, slots=True)
class _Target:
    columns: dict[str, bool]  # insertable column → NOT NULL without default (must be supplied)


def check_identifier(name: str, what: str) -> str:
    if not _IDENTIFIER.match(name):
        raise SyncError(f"{what} {name!r} is not an identifier Barista accepts ({IDENTIFIER})")
    return name


def sync_table(
    step: SyncStep,
    *,
    tenant: str,
    clickhouse: Any,
    postgres: str | psycopg.Connection[Any],
    batch_rows: int = 10_000,
    database: str | None = None,
    schema: str | None = None,
) -> SyncOutcome:
    """Copy ``step.source`` to ``step.target`` for ``tenant`` (``postgres``: a conninfo or an open connection).

    ``database``/``schema`` override the tenant's ClickHouse database / Postgres schema (tests).
    """
    started = time.monotonic()
    database = database or tenant_database(tenant)
    schema = schema or tenant_schema(tenant)
    for value, what in ((step.source, "source"), (step.target, "target"), (schema, "schema"), (database, "database")):
        check_identifier(value, what)
    for column in step.key:
        check_identifier(column, "key column")
    columns, engine = _source_columns(clickhouse, database, step.source)
    missing_key = [k for k in step.key if k not in {c.name for c in columns}]
    if missing_key:
        raise SyncError(f"key columns {missing_key} are not columns of ClickHouse table {database}.{step.source}")
    conn = postgres if isinstance(postgres, psycopg.Connection) else psycopg.connect(postgres)
    try:
        conn.autocommit = True  # so transaction() below is a real transaction (fails if one is open)
        conn.execute("SET TIME ZONE 'UTC'")  # ClickHouse hands out naive UTC datetimes
        with conn.transaction():
            created = _ensure_target(conn, schema, step, columns)
            target = _target_columns(conn, schema, step.target)
            names = _matched_columns(columns, target, schema, step)
            rows = _blocks(clickhouse, database, step.source, names, engine, batch_rows)
            converters = _converters([c for c in columns if c.name in names])
            if step.mode == "replace":
                loaded, changed = _replace(conn, schema, step.target, names, rows, converters), None
            else:
                loaded, changed = _upsert(conn, schema, step, names, rows, converters)
    finally:
        if conn is not postgres:
            conn.close()
    outcome = SyncOutcome(
        source=f"{database}.{step.source}",
        target=f"{schema}.{step.target}",
        mode=step.mode,
        rows=loaded,
        changed=loaded if changed is None else changed,
        created_target=created,
        seconds=time.monotonic() - started,
    )
    log.info("sync done", **outcome.summary())
    return outcome


# ---- ClickHouse side ---------------------------------------------------------------------------------


def _source_columns(client: Any, database: str, table: str) -> tuple[list[_Column], str]:
    found = client.query(
        "SELECT engine FROM system.tables WHERE database = {d:String} AND name = {t:String}",
        parameters={"d": database, "t": table},
    ).result_rows
    if not found:
        raise SyncError(f"ClickHouse table {database}.{table} does not exist (did a dbt step build it?)")
    rows = client.query(
        "SELECT name, type FROM system.columns WHERE database = {d:String} AND table = {t:String} "
        "AND default_kind NOT IN ('ALIAS', 'EPHEMERAL', 'MATERIALIZED') ORDER BY position",
        parameters={"d": database, "t": table},
    ).result_rows
    return [_Column(name, kind) for name, kind in rows], str(found[0][0])


def _blocks(
    client: Any, database: str, table: str, names: list[str], engine: str, batch_rows: int
) -> Iterable[Sequence[Sequence[Any]]]:
    columns = ", ".join(f"`{n}`" for n in names)
    settings: dict[str, Any] = {"max_block_size": batch_rows}
    if engine != "View" and "MergeTree" in engine and engine != "MergeTree":
        settings["final"] = 1  # ReplacingMergeTree & co: what readers see, not unmerged parts
    with client.query_row_block_stream(f"SELECT {columns} FROM `{database}`.`{table}`", settings=settings) as stream:
        yield from stream


def _converters(columns: list[_Column]) -> list[Callable[[Any], Any]] | None:
    """Per-column value adapters for COPY (None when every value goes as it comes)."""

    def as_json(value: Any) -> Any:
        return None if value is None else Jsonb(value)

    out: list[Callable[[Any], Any]] = []
    needed = False
    for column in columns:
        base = _unwrap(column.ch_type)
        if base.startswith(("Map(", "JSON", "Tuple(", "Object(", "Variant(", "Dynamic")):
            out.append(as_json)
            needed = True
        elif base.startswith(("IPv4", "IPv6")):
            out.append(lambda v: None if v is None else str(v))
            needed = True
        else:
            out.append(lambda v: v)
    return out if needed else None


def _unwrap(ch_type: str) -> str:
    while match := _WRAPPER.match(ch_type):
        ch_type = match.group(2)
    return ch_type


def postgres_type(ch_type: str) -> tuple[str, bool]:
    """The PostgreSQL type for a ClickHouse type, and whether the column is NOT NULL."""
    not_null = True
    kind = ch_type
    while match := _WRAPPER.match(kind):
        if match.group(1) == "Nullable":
            not_null = False
        kind = match.group(2)
    return _pg_base(kind), not_null


def _pg_base(kind: str) -> str:
    simple = {
        "String": "text",
        "UUID": "uuid",
        "Bool": "boolean",
        "Date": "date",
        "Date32": "date",
        "Int8": "smallint",
        "UInt8": "smallint",
        "Int16": "smallint",
        "UInt16": "integer",
        "Int32": "integer",
        "UInt32": "bigint",
        "Int64": "bigint",
        "UInt64": "bigint",
        "Float32": "real",
        "Float64": "double precision",
        "IPv4": "inet",
        "IPv6": "inet",
    }
    if kind in simple:
        return simple[kind]
    if kind.startswith(("FixedString(", "Enum8(", "Enum16(")):
        return "text"
    if kind.startswith(("DateTime(", "DateTime64(")) or kind == "DateTime":
        return "timestamptz"
    if match := re.match(r"^Decimal(?:32|64|128|256)?\((\d+), *(\d+)\)$", kind):
        return f"numeric({match.group(1)}, {match.group(2)})"
    if kind.startswith(("Int128", "UInt128", "Int256", "UInt256")):
        return "numeric"
    if kind.startswith("Array(") and kind.endswith(")"):
        return _pg_base(_unwrap(kind[len("Array(") : -1])) + "[]"
    if kind.startswith(("Map(", "JSON", "Tuple(", "Object(")):
        return "jsonb"
    raise SyncError(f"ClickHouse type {kind} has no PostgreSQL mapping here: cast the column in the model")


# ---- PostgreSQL side -----------------------------------------------------------------------------------


def _table_oid(conn: psycopg.Connection[Any], schema: str, table: str) -> int | None:
    row = conn.execute(
        "SELECT c.oid, c.relkind FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s",
        (schema, table),
    ).fetchone()
    if row is None:
        return None
    if row[1] not in ("r", "p"):
        raise SyncError(f"{schema}.{table} exists but is not a table (relkind {row[1]!r})")
    return int(row[0])


def _ensure_target(conn: psycopg.Connection[Any], schema: str, step: SyncStep, columns: list[_Column]) -> bool:
    if _table_oid(conn, schema, step.target) is not None:
        return False
    definitions = []
    for column in columns:
        pg_type, not_null = postgres_type(column.ch_type)
        definitions.append(
            sql.SQL("{} {}{}").format(
                sql.Identifier(column.name), sql.SQL(pg_type), sql.SQL(" NOT NULL" if not_null else "")
            )
        )
    definitions.append(sql.SQL("PRIMARY KEY ({})").format(sql.SQL(", ").join(map(sql.Identifier, step.key))))
    conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(schema)))
    conn.execute(
        sql.SQL("CREATE TABLE {}.{} ({})").format(
            sql.Identifier(schema), sql.Identifier(step.target), sql.SQL(", ").join(definitions)
        )
    )
    log.info("sync created target table", schema=schema, table=step.target)
    return True


def _target_columns(conn: psycopg.Connection[Any], schema: str, table: str) -> _Target:
    rows = conn.execute(
        "SELECT a.attname, a.attnotnull AND NOT a.atthasdef AND a.attidentity = '' "
        "FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE n.nspname = %s AND c.relname = %s AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = '' "
        "ORDER BY a.attnum",
        (schema, table),
    ).fetchall()
    return _Target(columns={name: bool(required) for name, required in rows})


def _matched_columns(columns: list[_Column], target: _Target, schema: str, step: SyncStep) -> list[str]:
    source_names = [c.name for c in columns]
    extra = [n for n in source_names if n not in target.columns]
    if extra:
        raise SyncError(
            f"columns of {step.source} missing in {schema}.{step.target} (or generated there): {', '.join(extra)}"
        )
    required = [n for n, needed in target.columns.items() if needed and n not in source_names]
    if required:
        raise SyncError(f"{schema}.{step.target} needs NOT NULL columns {step.source} lacks: {', '.join(required)}")
    return source_names


def _copy(
    conn: psycopg.Connection[Any],
    table: sql.Composable,
    names: list[str],
    blocks: Iterable[Sequence[Sequence[Any]]],
    converters: list[Callable[[Any], Any]] | None,
) -> int:
    statement = sql.SQL("COPY {} ({}) FROM STDIN").format(table, sql.SQL(", ").join(map(sql.Identifier, names)))
    count = 0
    with conn.cursor() as cur, cur.copy(statement) as copy:
        for block in blocks:
            for row in block:
                copy.write_row(row if converters is None else [f(v) for f, v in zip(converters, row, strict=True)])
            count += len(block)
    return count


def _short_name(*parts: str) -> str:
    return "_barista_" + hashlib.sha256("\x00".join(parts).encode()).hexdigest()[:16]


def _replace(
    conn: psycopg.Connection[Any],
    schema: str,
    table: str,
    names: list[str],
    blocks: Iterable[Sequence[Sequence[Any]]],
    converters: list[Callable[[Any], Any]] | None,
) -> int:
    oid = _table_oid(conn, schema, table)
    assert oid is not None
    _refuse_unswappable(conn, oid, schema, table)
    qualified = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(table))
    new_name = _short_name(schema, table, "new")
    new = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(new_name))
    conn.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(new))
    conn.execute(
        sql.SQL(
            "CREATE TABLE {} (LIKE {} INCLUDING DEFAULTS INCLUDING GENERATED INCLUDING IDENTITY "
            "INCLUDING CONSTRAINTS INCLUDING STORAGE INCLUDING COMMENTS INCLUDING COMPRESSION)"
        ).format(new, qualified)
    )
    loaded = _copy(conn, new, names, blocks, converters)

    # what the old table has beyond its shape: keys, indexes, triggers, grants, owner, comment
    constraints = conn.execute(
        "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s AND contype IN ('p', 'u', 'x', 'f') ORDER BY contype = 'f', conname",
        (oid,),
    ).fetchall()
    indexes = conn.execute(
        "SELECT c.relname, pg_get_indexdef(i.indexrelid) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid "
        "WHERE i.indrelid = %s AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid "
        "AND k.conrelid = i.indrelid) ORDER BY c.relname",
        (oid,),
    ).fetchall()
    triggers = conn.execute(
        "SELECT pg_get_triggerdef(oid) FROM pg_trigger WHERE tgrelid = %s AND NOT tgisinternal ORDER BY tgname",
        (oid,),
    ).fetchall()
    owner, comment, current = conn.execute(
        "SELECT pg_get_userbyid(relowner), obj_description(oid, 'pg_class'), current_user FROM pg_class WHERE oid = %s",
        (oid,),
    ).fetchone() or (None, None, None)
    grants = conn.execute(
        "SELECT CASE WHEN a.grantee = 0 THEN NULL ELSE pg_get_userbyid(a.grantee) END, a.privilege_type, "
        "a.is_grantable FROM pg_class c, aclexplode(c.relacl) a WHERE c.oid = %s AND a.grantee <> c.relowner",
        (oid,),
    ).fetchall()

    renames: list[tuple[str, str, str]] = []  # (kind, temporary, original)
    for position, (name, definition) in enumerate(constraints):
        temporary = _short_name(schema, table, "constraint", str(position))
        conn.execute(
            sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(new, sql.Identifier(temporary), sql.SQL(definition))
        )
        renames.append(("constraint", temporary, name))
    for position, (name, definition) in enumerate(indexes):
        temporary = _short_name(schema, table, "index", str(position))
        match = _INDEX_DEF.match(definition)
        if match is None:
            raise SyncError(f"cannot recreate index {name} of {schema}.{table}: unexpected definition {definition!r}")
        rest = definition[match.end() :]
        conn.execute(
            sql.SQL("CREATE {}INDEX {} ON {} USING {}").format(
                sql.SQL(match.group(1) or ""), sql.Identifier(temporary), new, sql.SQL(rest)
            )
        )
        renames.append(("index", temporary, name))

    # the swap: from here until commit the target is locked (the expensive work is done)
    try:
        conn.execute(sql.SQL("DROP TABLE {}").format(qualified))
    except psycopg.errors.DependentObjectsStillExist as exc:
        raise SyncError(
            f"cannot replace {schema}.{table}: other objects depend on it ({exc.diag.message_detail or exc}); "
            "use mode: upsert"
        ) from None
    conn.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(new, sql.Identifier(table)))
    for kind, temporary, original in renames:
        if kind == "constraint":
            conn.execute(
                sql.SQL("ALTER TABLE {} RENAME CONSTRAINT {} TO {}").format(
                    qualified, sql.Identifier(temporary), sql.Identifier(original)
                )
            )
        else:
            conn.execute(
                sql.SQL("ALTER INDEX {}.{} RENAME TO {}").format(
                    sql.Identifier(schema), sql.Identifier(temporary), sql.Identifier(original)
                )
            )
    for (definition,) in triggers:
        conn.execute(sql.SQL(definition))  # type: ignore[arg-type]  # pg_get_triggerdef: names the target
    if owner is not None and owner != current:
        conn.execute(sql.SQL("ALTER TABLE {} OWNER TO {}").format(qualified, sql.Identifier(owner)))
    for grantee, privilege, grantable in grants:
        conn.execute(
            sql.SQL("GRANT {} ON {} TO {}{}").format(
                sql.SQL(privilege),
                qualified,
                sql.SQL("PUBLIC") if grantee is None else sql.Identifier(grantee),
                sql.SQL(" WITH GRANT OPTION" if grantable else ""),
            )
        )
    if comment is not None:
        conn.execute(sql.SQL("COMMENT ON TABLE {} IS {}").format(qualified, sql.Literal(comment)))
    _fire_statement_triggers(conn, qualified, names)
    return loaded


def _refuse_unswappable(conn: psycopg.Connection[Any], oid: int, schema: str, table: str) -> None:
    row = conn.execute(
        "SELECT c.relkind = 'p' OR EXISTS (SELECT 1 FROM pg_inherits WHERE inhrelid = c.oid OR inhparent = c.oid), "
        "(SELECT string_agg(conname || ' on ' || conrelid::regclass::text, ', ') FROM pg_constraint "
        " WHERE confrelid = c.oid AND contype = 'f' AND conrelid <> c.oid), "
        "c.relrowsecurity OR EXISTS (SELECT 1 FROM pg_policy WHERE polrelid = c.oid) "
        "FROM pg_class c WHERE c.oid = %s",
        (oid,),
    ).fetchone()
    assert row is not None
    partitioned, referenced_by, secured = row
    if partitioned:
        raise SyncError(f"cannot replace {schema}.{table}: partitioned or inherited tables are not swapped; use upsert")
    if referenced_by:
        raise SyncError(f"cannot replace {schema}.{table}: foreign keys point at it ({referenced_by}); use upsert")
    if secured:
        raise SyncError(f"cannot replace {schema}.{table}: it has row-level security policies; use upsert")


def _fire_statement_triggers(conn: psycopg.Connection[Any], table: sql.Composable, names: list[str]) -> None:
    """Zero-row INSERT and DELETE: statement-level triggers fire once each, no row changes."""
    column = sql.Identifier(names[0])
    conn.execute(sql.SQL("INSERT INTO {} ({}) SELECT {} FROM {} WHERE false").format(table, column, column, table))
    conn.execute(sql.SQL("DELETE FROM {} WHERE false").format(table))


def _upsert(
    conn: psycopg.Connection[Any],
    schema: str,
    step: SyncStep,
    names: list[str],
    blocks: Iterable[Sequence[Sequence[Any]]],
    converters: list[Callable[[Any], Any]] | None,
) -> tuple[int, int]:
    oid = _table_oid(conn, schema, step.target)
    assert oid is not None
    matching = conn.execute(
        "SELECT 1 FROM pg_index i WHERE i.indrelid = %s AND i.indisunique AND i.indpred IS NULL "
        "AND (SELECT array_agg(a.attname::text ORDER BY a.attname) FROM pg_attribute a "
        "     WHERE a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey)) = %s::text[] "
        "AND i.indnkeyatts = cardinality(%s::text[])",
        (oid, sorted(step.key), step.key),
    ).fetchone()
    if matching is None:
        raise SyncError(
            f"upsert into {schema}.{step.target} needs a primary key or unique index on exactly ({', '.join(step.key)})"
        )
    qualified = sql.SQL("{}.{}").format(sql.Identifier(schema), sql.Identifier(step.target))
    staging = sql.Identifier(_short_name(schema, step.target, "upsert"))
    columns = sql.SQL(", ").join(map(sql.Identifier, names))
    conn.execute(
        sql.SQL("CREATE TEMPORARY TABLE {} ON COMMIT DROP AS SELECT {} FROM {} WITH NO DATA").format(
            staging, columns, qualified
        )
    )
    loaded = _copy(conn, staging, names, blocks, converters)
    key = sql.SQL(", ").join(map(sql.Identifier, step.key))
    duplicates = conn.execute(
        sql.SQL("SELECT {}, count(*) FROM {} GROUP BY {} HAVING count(*) > 1 LIMIT 5").format(key, staging, key)
    ).fetchall()
    if duplicates:
        shown = "; ".join(", ".join(map(str, row[:-1])) + f" (x{row[-1]})" for row in duplicates)
        raise SyncError(f"{step.source} has several rows per key ({', '.join(step.key)}): {shown}")
    others = [n for n in names if n not in step.key]
    if others:
        action = sql.SQL("DO UPDATE SET {} WHERE ({}) IS DISTINCT FROM ({})").format(
            sql.SQL(", ").join(sql.SQL("{0} = EXCLUDED.{0}").format(sql.Identifier(n)) for n in others),
            sql.SQL(", ").join(sql.SQL("t.{}").format(sql.Identifier(n)) for n in others),
            sql.SQL(", ").join(sql.SQL("EXCLUDED.{}").format(sql.Identifier(n)) for n in others),
        )
    else:
        action = sql.SQL("DO NOTHING")
    with conn.cursor() as cur:
        cur.execute(
            sql.SQL("INSERT INTO {} AS t ({}) SELECT {} FROM {} ON CONFLICT ({}) {}").format(
                qualified, columns, columns, staging, key, action
            )
        )
        changed = cur.rowcount
    return loaded, changed
