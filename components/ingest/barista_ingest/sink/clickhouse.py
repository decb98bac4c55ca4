"""ClickHouse destination: columnar inserts into the tenant's events table, idempotent by event id.

The table (created by versioned migrations in the tenant's database)::

    tenant, event_id, event_type, occurred_at DateTime64(3, 'UTC'), received_at, user_id, session_id,
    device_id, properties String (JSON text), context String (JSON text), inserted_at,
    props JSON ALIAS CAST(properties, 'JSON')          -- query properties as props.order_id

ENGINE ReplacingMergeTree, PARTITION BY toYYYYMM(occurred_at), ORDER BY (tenant, event_type,
occurred_at, event_id), TTL from the Sink. Three layers keep an event from showing up twice:

1. a retried insert of the same batch carries the same ``insert_deduplication_token`` (a hash of its
   message ids), and ClickHouse drops the repeat (``non_replicated_deduplication_window``);
2. a batch holding *redelivered* messages (a previous sinker may have written them and died before
   acking) first looks up which of its event ids are already in the table and leaves those out;
3. ReplacingMergeTree collapses anything that still slips through (two sinkers racing) on merge,
   and ``SELECT … FINAL`` hides it before that.

Two ways in, the same rows: the columnar insert (events decoded in Python, sent in ClickHouse's
Native format) and, on chdb, a JSON insert of whole messages as the publisher wrote them
(``INSERT … SELECT … FROM file(…, JSONEachRow)``: ClickHouse parses the JSON in C++, keeps
``properties`` / ``context`` as their JSON text, and the sinker never decodes an event). The JSON
insert takes first deliveries of Barista's own messages only (see the sinker); anything redelivered,
split or filtered goes through the columnar insert with its id checks.
"""

from __future__ import annotations

import asyncio
import os
import re
import tempfile
from collections.abc import Sequence
from typing import Any, NamedTuple

import orjson
from clickhouse_connect.driver.exceptions import (
    ClickHouseError,
    DatabaseError,
    DataError,
    OperationalError,
    ProgrammingError,
)

from barista_core.events import decode_events, parse_timestamp_ms
from barista_core.events.table import EVENT_COLUMN_NAMES, EVENT_COLUMN_TYPES, EVENT_COLUMNS, ensure_events_table
from barista_core.logging import get_logger
from barista_ingest import metrics
from barista_ingest.sink.model import Batch, WriteError

log = get_logger(__name__)

#: Server error codes that mean "this data cannot be inserted" (retrying the same rows is pointless).
_DATA_ERROR_CODES = {6, 26, 27, 32, 38, 41, 53, 69, 70, 72, 117, 131, 173, 395}
_CODE = re.compile(r"Code: (\d+)")
#: The canonical event as the JSON insert reads it (id, type and occurred_at may not be missing).
_JSON_STRUCTURE = (
    "id Nullable(String), type Nullable(String), occurred_at Nullable(DateTime64(3, 'UTC')), "
    "received_at DateTime64(3, 'UTC'), user_id String, session_id String, device_id String, "
    "properties String, context String"
)
#: Both inserts: a batch spans months; and no ReplacingMergeTree pass over each inserted block — the sinker
#: already keeps one row per event id in a batch (it would find nothing to replace; ~15% of an insert's CPU)
INSERT_SETTINGS = {"max_partitions_per_insert_block": 1000, "optimize_on_insert": 0}
_JSON_SETTINGS = {
    "input_format_json_read_objects_as_strings": 1,  # properties / context: their JSON text
    "input_format_skip_unknown_fields": 1,
    "date_time_input_format": "'best_effort'",  # 2026-11-28T10:00:00.123Z
    **INSERT_SETTINGS,
}


class RawEvents(NamedTuple):
    """A whole message's JSON array of canonical events, handed over undecoded (the JSON insert)."""

    body: bytes
    count: int


def _sql_string(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


def is_chdb(client: Any) -> bool:
    """Whether ``client`` is clickhouse-connect's in-process chdb client (``file()`` reads local files)."""
    return type(client).__name__ == "ChdbClient"


def event_columns(tenant: str, events: Sequence[dict[str, Any]]) -> list[list[Any]]:
    """The insert's columns (tenant, ids, types, times as epoch ms, JSON as bytes) in EVENT_COLUMNS order.

    Raises KeyError/TypeError/ValueError/AttributeError for a malformed event.
    """
    dumps = orjson.dumps
    parse = parse_timestamp_ms
    received: dict[str, int] = {}  # one value per request: parse each once
    for e in events:
        value = e.get("received_at")
        if value and value not in received:
            received[value] = parse(value)
    return [
        [tenant] * len(events),
        [str(e["id"]) for e in events],
        [str(e["type"]) for e in events],
        [parse(e["occurred_at"]) for e in events],
        [received.get(e.get("received_at"), 0) for e in events],
        [e.get("user_id") or "" for e in events],
        [e.get("session_id") or "" for e in events],
        [e.get("device_id") or "" for e in events],
        [dumps(e.get("properties") or {}) for e in events],
        _contexts(events),
    ]


def _contexts(events: Sequence[dict[str, Any]]) -> list[bytes]:
    """The context column: consecutive events usually share a context (same app), encoded once."""
    out: list[bytes] = []
    last: Any = None
    encoded = b"{}"
    for e in events:
        context = e.get("context") or {}
        if context != last:
            last, encoded = context, orjson.dumps(context)
        out.append(encoded)
    return out


def concat_columns(chunks: Sequence[list[list[Any]]]) -> list[list[Any]]:
    if len(chunks) == 1:
        return chunks[0]
    out: list[list[Any]] = [[] for _ in EVENT_COLUMNS]
    for chunk in chunks:
        for column, values in zip(out, chunk, strict=True):
            column.extend(values)
    return out


def keep_rows(columns: list[list[Any]], keep: Sequence[bool]) -> list[list[Any]]:
    return [[v for v, k in zip(column, keep, strict=True) if k] for column in columns]


class ClickHouseWriter:
    destination = "clickhouse"

    def __init__(self, client: Any, *, database: str, table: str = "events", tenant: str, ttl_days: int = 365,
                 sink: str = "", json_inserts: bool | None = None) -> None:  # fmt: skip
        self.client = client
        self.database = database
        self.table = table
        self.tenant = tenant
        self.ttl_days = ttl_days
        self.sink = sink or table
        self.qualified = f"`{database}`.`{table}`"
        #: Insert whole messages as JSON (chdb only: ClickHouse reads them from a local file).
        self.json_inserts = is_chdb(client) if json_inserts is None else json_inserts
        self._json_select = (
            f"INSERT INTO {self.qualified} ({', '.join(EVENT_COLUMN_NAMES)}) "
            f"SELECT {_sql_string(tenant)}, assumeNotNull(id), assumeNotNull(type), assumeNotNull(occurred_at), "
            "received_at, user_id, session_id, device_id, properties, context "
            "FROM file({path}, 'JSONEachRow', " + _sql_string(_JSON_STRUCTURE) + ") "
            "WHERE throwIf(id IS NULL OR type IS NULL OR occurred_at IS NULL, "
            "'malformed event: id, type or occurred_at is missing') = 0 "
            "LIMIT 1 BY id "  # a client retry can put one event in two messages of a batch
            "SETTINGS " + ", ".join(f"{k} = {v}" for k, v in _JSON_SETTINGS.items())
        )

    async def prepare(self) -> None:
        await asyncio.to_thread(self._prepare)

    def _prepare(self) -> None:
        applied = ensure_events_table(self.client, self.database, self.table, self.ttl_days)
        if applied:
            log.info("clickhouse migrations applied", table=self.qualified, versions=applied)
        self._apply_ttl()

    def _apply_ttl(self) -> None:
        """Keep the table's TTL equal to the Sink's (it may change after the table was created)."""
        rows = self.client.query(
            "SELECT engine_full FROM system.tables WHERE database = {d:String} AND name = {t:String}",
            parameters={"d": self.database, "t": self.table},
        ).result_rows
        wanted = f"toIntervalDay({int(self.ttl_days)})"
        if rows and wanted not in rows[0][0]:
            self.client.command(
                f"ALTER TABLE {self.qualified} MODIFY TTL toDateTime(occurred_at) + INTERVAL {int(self.ttl_days)} DAY",
                settings={"materialize_ttl_after_modify": 0},
            )
            log.info("table TTL changed", table=self.qualified, ttl_days=self.ttl_days)

    def encode(self, events: list[dict[str, Any]], body: bytes | None) -> list[list[Any]]:
        return event_columns(self.tenant, events)

    def encode_raw(self, body: bytes, count: int) -> RawEvents | None:
        return RawEvents(body, count) if self.json_inserts else None

    async def write(self, batch: Batch) -> None:
        payloads = batch.payloads
        if all(type(p) is RawEvents for p in payloads) and not batch.redelivered:
            await self._insert_json(payloads, batch.token)
            return
        await self._insert_columns(batch, [self._columns(p) for p in payloads])

    def _columns(self, payload: Any) -> list[list[Any]]:
        if type(payload) is not RawEvents:
            return payload  # type: ignore[no-any-return]
        try:  # a message taken as JSON shares a batch with one that needs the columnar insert
            return event_columns(self.tenant, decode_events(payload.body))
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise WriteError(f"invalid_data: malformed event: {type(exc).__name__}: {exc}", retryable=False,
                             split=True) from exc  # fmt: skip

    async def _insert_json(self, payloads: list[RawEvents], token: str) -> None:
        """One ``INSERT … SELECT … FROM file(…, JSONEachRow)`` of the messages' JSON, spliced into one array."""
        handle, path = tempfile.mkstemp(prefix="barista-sink-", suffix=".json")
        try:
            with os.fdopen(handle, "wb") as out:
                out.write(b"[")
                for index, payload in enumerate(payloads):
                    if index:
                        out.write(b",")
                    out.write(memoryview(payload.body)[1:-1])
                out.write(b"]")
            sql = self._json_select.replace("{path}", _sql_string(path), 1)
            sql += f", insert_deduplication_token = {_sql_string(token)}"
            await self._run_insert(self.client.command, sql)
        finally:
            os.unlink(path)

    async def _run_insert(self, call: Any, *args: Any, **kwargs: Any) -> None:
        try:
            await asyncio.to_thread(call, *args, **kwargs)
        except (ProgrammingError, DataError, TypeError, ValueError) as exc:
            raise WriteError(f"invalid_data: {_first_line(exc)}", retryable=False, split=True) from exc
        except OperationalError as exc:
            raise WriteError(f"clickhouse_unavailable: {_first_line(exc)}", retryable=True) from exc
        except DatabaseError as exc:
            match = _CODE.search(str(exc))
            if match and int(match.group(1)) in _DATA_ERROR_CODES:
                raise WriteError(f"invalid_data: {_first_line(exc)}", retryable=False, split=True) from exc
            raise WriteError(f"clickhouse_error: {_first_line(exc)}", retryable=True) from exc
        except ClickHouseError as exc:
            raise WriteError(f"clickhouse_error: {_first_line(exc)}", retryable=True) from exc

    async def _insert_columns(self, batch: Batch, chunks: list[list[list[Any]]]) -> None:
        columns = concat_columns(chunks)
        ids = columns[1]
        if batch.redelivered:
            present = await self._existing(columns)
            if present:
                columns = keep_rows(columns, [i not in present for i in columns[1]])
                ids = columns[1]
                if not ids:
                    return
        if len(set(ids)) != len(ids):  # a client retry can put one event in two messages of a batch
            seen: set[str] = set()
            columns = keep_rows(columns, [not (i in seen or seen.add(i)) for i in ids])  # type: ignore[func-returns-value]
        settings = {"insert_deduplication_token": batch.token, **INSERT_SETTINGS}
        await self._run_insert(
            self.client.insert,
            self.qualified,
            columns,
            column_names=EVENT_COLUMN_NAMES,
            column_type_names=EVENT_COLUMN_TYPES,
            column_oriented=True,
            settings=settings,
        )

    async def _existing(self, columns: list[list[Any]]) -> set[str]:
        """The event ids of ``columns`` already in the table (for redelivered messages)."""
        ids, types, times = columns[1], sorted(set(columns[2])), columns[3]
        try:
            result = await asyncio.to_thread(
                self.client.query,
                f"SELECT event_id FROM {self.qualified} WHERE tenant = {{tenant:String}} "
                "AND event_type IN {types:Array(String)} "
                "AND occurred_at BETWEEN fromUnixTimestamp64Milli({lo:Int64}, 'UTC') "
                "AND fromUnixTimestamp64Milli({hi:Int64}, 'UTC') AND event_id IN {ids:Array(String)}",
                parameters={"tenant": self.tenant, "types": types, "lo": min(times), "hi": max(times), "ids": ids},
            )
        except ClickHouseError as exc:
            raise WriteError(f"clickhouse_unavailable: {_first_line(exc)}", retryable=True) from exc
        present = {row[0] for row in result.result_rows}
        if present:
            metrics.SINK_EVENTS_SKIPPED.labels(self.sink).inc(len(present))
            log.info("skipping redelivered events already written", events=len(present), table=self.qualified)
        return present

    async def close(self) -> None:
        return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip() or type(exc).__name__
    return text.splitlines()[0][:300]
