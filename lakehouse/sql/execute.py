"""Running plans on DataFusion; the only module that talks to DataFusion for queries.

One long-lived ``SessionContext`` per engine (:class:`QueryContext`) keeps loaded tables
and in-place scans registered under names that identify the exact version of their data
(``t<id>_v<scn>``, ``t<id>_s<digest>``), so repeated queries skip registration and
DataFusion's caches (object stores, Parquet metadata) stay warm; a new version replaces
the old registration. Per-query tables (system tables, sources read whole) get unique
names and are dropped when the query ends. Loaded tables are registered from providers
built once at load time, so nothing is copied. Results stream as Arrow record batches,
normalized to the types a MySQL client can be sent (microsecond timestamps, plain
strings).

DataFusion raises bare exceptions with text; :func:`translate_error` turns them into
MySQL errors in this one place.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from collections.abc import Iterator

import datafusion
import pyarrow as pa
import pyarrow.compute as pc
from datafusion import SessionConfig, SessionContext
from datafusion.object_store import AmazonS3
from datafusion.options import CsvReadOptions

from lakehouse.errors import (
    AmbiguousColumnError,
    DivisionByZeroError,
    LakehouseError,
    NotSupportedError,
    ParseError,
    QueryError,
    SecondaryEngineError,
    UnknownColumnError,
)
from lakehouse.formats.scan import ScanSpec
from lakehouse.sql import json_functions
from lakehouse.sql.plan import QueryPlan, Registration
from lakehouse.sql.result import Result, ResultColumn
from lakehouse.storage import NativeLocation
from lakehouse.types import arrow_to_sql_type


def make_context(target_partitions: int, batch_size: int = 8192) -> SessionContext:
    """A DataFusion context configured for MySQL semantics and for in-place scans."""
    cfg = (
        SessionConfig()
        .with_target_partitions(target_partitions)
        .with_batch_size(batch_size)
        .set("datafusion.sql_parser.parse_float_as_decimal", "true")
        .set("datafusion.sql_parser.enable_ident_normalization", "false")
        # Filters are not evaluated row by row inside the Parquet reader: on TPC-H it
        # costs more than it saves (Q6 twice as slow, Q18 1.7x; over S3 it also
        # multiplies ranged GETs). Row groups and pages are still pruned by the
        # filters' and the joins' (dynamic) bounds.
        .set("datafusion.execution.parquet.pushdown_filters", "false")
        # A hash join whose build side has up to 2M rows (64 MiB) builds one shared
        # table instead of repartitioning both sides by the key: the big probe side
        # (lineitem) is then read without a shuffle.
        .set("datafusion.optimizer.hash_join_single_partition_threshold", str(64 << 20))
        .set("datafusion.optimizer.hash_join_single_partition_threshold_rows", "2000000")
        # A join on one integer key whose build side fills at least 5 % of its key range
        # looks keys up in an array instead of hashing them (DataFusion's default is 15 %).
        # TPC-H Q9's 319 K lineitem rows over 6 M order keys: probing 1.5 M orders took
        # 105 ms of CPU hashed, 43 ms by array. The array holds at most 20 slots per
        # build row, a few times the hash table's size.
        .set("datafusion.execution.perfect_hash_join_min_key_density", "0.05")
        # Without statistics for a condition, DataFusion assumes a filter keeps 20 % of the
        # rows when it sizes join inputs to pick the hash table's side; 10 % picks the
        # filtered side more often. TPC-H Q12, node-local join of orders and lineitem
        # filtered to 0.5 %: the table was built on 375 K orders per group and probed with
        # 7.8 K lineitem rows; now the other way round (66-74 ms -> 50-55 ms). Only Q10's
        # plan changes otherwise (the customer join's sides, no measurable change).
        .set("datafusion.optimizer.default_filter_selectivity", "10")
    )
    ctx = SessionContext(cfg)
    json_functions.register(ctx)
    return ctx


class QueryContext:
    """The engine's shared DataFusion context and what is registered in it."""

    def __init__(self, target_partitions: int) -> None:
        self.target_partitions = target_partitions
        self.ctx = make_context(target_partitions)
        self._lock = threading.Lock()
        self._shared: dict[str, str] = {}  # table prefix (t<id>) -> registered name
        self._stores: dict[str, tuple[tuple[str, str], ...]] = {}
        # Shared names a query is still planning with (pinned by prepare until unpin),
        # and those replaced or forgotten meanwhile, dropped when the last pin goes: a
        # reload finishing while a query plans must not pull its table from under it.
        self._pins: Counter[str] = Counter()
        self._retired: set[str] = set()

    def prepare(self, plan: QueryPlan) -> list[str]:
        """Register what the plan reads and pin its shared names until :meth:`unpin`;
        returns per-query names to drop afterwards."""
        temporary = []
        with self._lock:
            for reg in plan.registrations:
                if reg.shared:
                    self._pins[reg.name] += 1
                    prefix = reg.name.split("_", 1)[0]
                    current = self._shared.get(prefix)
                    if current == reg.name:
                        continue
                    if reg.name in self._retired:
                        self._retired.discard(reg.name)  # still registered: in use again
                    else:
                        register(self.ctx, reg, self._stores)
                    if current is not None:
                        self._retire(current)
                    self._shared[prefix] = reg.name
                else:
                    register(self.ctx, reg, self._stores)
                    temporary.append(reg.name)
        return temporary

    def unpin(self, plan: QueryPlan) -> None:
        """The plan is built (DataFusion holds its tables now): release prepare's pins."""
        with self._lock:
            for reg in plan.registrations:
                if reg.shared:
                    self._pins[reg.name] -= 1
                    if self._pins[reg.name] <= 0:
                        del self._pins[reg.name]
                        if reg.name in self._retired:
                            self._retired.discard(reg.name)
                            self._drop(reg.name)

    def forget_table(self, table_id: int) -> None:
        """Drop a table's shared registration (it was unloaded, reloaded or dropped), so
        the memory of its old version is freed now rather than at the next query."""
        with self._lock:
            for prefix in [
                p for p in self._shared if p == f"t{table_id}" or p.startswith(f"t{table_id}g")
            ]:
                self._retire(self._shared.pop(prefix))

    def _retire(self, name: str) -> None:
        if self._pins[name] > 0:
            self._retired.add(name)
        else:
            del self._pins[name]
            self._drop(name)

    def release(self, names: list[str]) -> None:
        with self._lock:
            for n in names:
                self._drop(n)

    def _drop(self, name: str) -> None:
        try:
            self.ctx.deregister_table(name)
        except Exception:  # already gone
            pass
        for i in range(10_000):
            raw = f"{name}__raw{i}"
            if not self.ctx.table_exist(raw):
                break
            self.ctx.deregister_table(raw)
        if self.ctx.table_exist(f"{name}__raw"):
            self.ctx.deregister_table(f"{name}__raw")


def register(
    ctx: SessionContext,
    reg: Registration,
    stores: dict[str, tuple[tuple[str, str], ...]] | None = None,
) -> None:
    """Make one table of a plan visible in the query's context under ``reg.name``."""
    if reg.provider is not None:
        ctx.register_table(reg.name, reg.provider)
    elif reg.arrow is not None:
        batches = reg.arrow.to_batches(max_chunksize=64 * 1024) or [
            pa.RecordBatch.from_pylist([], schema=reg.arrow.schema)
        ]
        ctx.register_record_batches(reg.name, [batches])
    elif reg.scan is not None:
        _register_scan(ctx, reg.name, reg.scan, {} if stores is None else stores)


def _register_object_store(
    ctx: SessionContext, loc: NativeLocation, done: dict[str, tuple[tuple[str, str], ...]]
) -> None:
    """Register the S3 store of a bucket once, again only if its settings changed."""
    if loc.kind != "s3" or done.get(loc.bucket) == loc.options:
        return
    opts = dict(loc.options)
    store = AmazonS3(
        bucket_name=loc.bucket,
        region=opts.get("region"),
        access_key_id=opts.get("access_key_id"),
        secret_access_key=opts.get("secret_access_key"),
        session_token=opts.get("session_token"),
        endpoint=opts.get("endpoint"),
        allow_http=opts.get("allow_http") == "true",
    )
    ctx.register_object_store("s3://", store, loc.bucket)
    done[loc.bucket] = loc.options


def _register_scan(
    ctx: SessionContext, name: str, scan: ScanSpec, done: dict[str, tuple[tuple[str, str], ...]]
) -> None:
    """Register the files of an in-place scan and a view with the table's field names."""
    for loc in scan.locations:
        _register_object_store(ctx, loc, done)
    parts = []
    if scan.format == "csv":
        assert scan.csv is not None
        raw = f"{name}__raw"
        options = CsvReadOptions(
            has_header=scan.csv.has_header,
            delimiter=scan.csv.delimiter,
            quote=scan.csv.quote,
            escape=scan.csv.escape,
            schema=scan.file_schema,
            file_extension="",
            file_compression_type=scan.csv.compression,
        )
        ctx.register_csv(raw, [loc.url for loc in scan.locations], options=options)
        parts.append(raw)
    else:
        for i, loc in enumerate(scan.locations):
            raw = f"{name}__raw{i}"
            ctx.register_parquet(raw, loc.url, schema=scan.file_schema, file_extension="")
            parts.append(raw)
    cols = ", ".join(f'"{src}" AS "{field}"' for field, src in scan.columns.items())
    union = " UNION ALL ".join(f'SELECT {cols} FROM "{p}"' for p in parts)
    ctx.register_view(name, ctx.sql(union))


def _normal_type(t: pa.DataType) -> pa.DataType:
    if pa.types.is_boolean(t):
        return pa.int64()  # MySQL's comparisons and logical operators yield integers
    if pa.types.is_timestamp(t):
        return pa.timestamp("us") if t.unit in ("ns", "us") or t.tz else t
    if pa.types.is_string_view(t) or pa.types.is_large_string(t):
        return pa.string()
    if pa.types.is_binary_view(t) or pa.types.is_large_binary(t):
        return pa.binary()
    if pa.types.is_dictionary(t):
        return _normal_type(t.value_type)
    if pa.types.is_date64(t):
        return pa.date32()
    if pa.types.is_time(t):
        return pa.time64("us")
    if pa.types.is_float16(t):
        return pa.float32()
    if pa.types.is_interval(t) or pa.types.is_duration(t) or pa.types.is_nested(t):
        return pa.string()
    return t


def _normalize(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    arrays = []
    for arr, f in zip(batch.columns, schema, strict=True):
        if arr.type.equals(f.type):
            arrays.append(arr)
        elif pa.types.is_timestamp(arr.type) and arr.type.tz:
            arrays.append(pc.cast(arr.cast(pa.timestamp(arr.type.unit)), f.type, safe=False))
        elif pa.types.is_dictionary(arr.type):
            arrays.append(arr.dictionary_decode().cast(f.type, safe=False))
        elif f.type == pa.string() and (
            pa.types.is_interval(arr.type)
            or pa.types.is_duration(arr.type)
            or pa.types.is_nested(arr.type)
        ):
            arrays.append(
                pa.array([None if v is None else str(v) for v in arr.to_pylist()], pa.string())
            )
        else:
            arrays.append(arr.cast(f.type, safe=False))
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def run_plan(plan: QueryPlan, contexts: QueryContext) -> Result:
    """Plan and start a query; batches are produced as the caller iterates.

    Raises:
        LakehouseError: planning failed (unknown column, unsupported function ...).
    """
    temporary = contexts.prepare(plan)
    try:
        if plan.fetch is not None:
            temporary += plan.fetch(contexts, False)
        df = plan.dataframe
        if df is None:
            df = contexts.ctx.sql(plan.sql)
            if plan.fetch is None and all(r.shared for r in plan.registrations):
                # Run again from the plan cache, the same text gives the same logical
                # plan over the same tables (names that stay registered while the plan
                # is valid): kept, DataFusion skips parsing and analysing it (~1 ms).
                plan.dataframe = df
        df_schema = df.schema()
        stream = df.execute_stream()
    except Exception as exc:  # DataFusion raises bare Exception subclasses
        contexts.release(temporary)
        raise translate_error(exc) from None
    finally:
        contexts.unpin(plan)
    fields = []
    columns = []
    for f in df_schema:
        display = plan.names.get(f.name) or plan.column_names.get(f.name) or f.name
        nf = pa.field(display, _normal_type(f.type))
        fields.append(nf)
        # A column read straight from a table keeps its declared type (VARCHAR(20),
        # YEAR, TIMESTAMP, DATETIME(3)...); computed columns get the type of their values.
        declared = plan.declared_types.get(f.name) if f.name not in plan.names else None
        if declared is not None and declared.to_arrow().equals(nf.type):
            columns.append(ResultColumn(display, declared))
        else:
            columns.append(ResultColumn(display, arrow_to_sql_type(nf.type)))
    # Field names may repeat (SELECT a, a); Arrow schemas allow it.
    schema = pa.schema(fields)

    def batches() -> Iterator[pa.RecordBatch]:
        try:
            for b in stream:
                rb = b.to_pyarrow()
                if rb.num_rows:
                    yield _normalize(rb, schema)
        except LakehouseError:
            raise
        except Exception as exc:
            raise translate_error(exc) from None
        finally:
            contexts.release(temporary)

    # Unread, the query stops when the result (and with it the stream) is dropped.
    return Result(
        columns=columns,
        batches=batches(),
        schema=schema,
        discard=lambda: contexts.release(temporary),
    )


def explain_plan(plan: QueryPlan, contexts: QueryContext, analyze: bool = False) -> str:
    """DataFusion's physical plan (``EXPLAIN FORMAT=TREE``)."""
    temporary = contexts.prepare(plan)
    try:
        if plan.fetch is not None:
            temporary += plan.fetch(contexts, not analyze)
        df = contexts.ctx.sql(("EXPLAIN ANALYZE " if analyze else "EXPLAIN ") + plan.sql)
        table = df.to_arrow_table()
    except Exception as exc:
        raise translate_error(exc) from None
    finally:
        contexts.unpin(plan)
        contexts.release(temporary)
    rows = table.to_pylist()
    plans = [
        r.get("plan") for r in rows if r.get("plan_type") in ("physical_plan", "Plan with Metrics")
    ]
    return "\n".join(p for p in plans if p) or "\n".join(str(r.get("plan")) for r in rows)


_NO_FIELD = re.compile(r'No field named (?:[^\s."]+\.)?"?([^\s"]+?)"?\.?\s')
_AMBIGUOUS = re.compile(r"Ambiguous reference to unqualified field \"?([^\" ]+)\"?")
_NO_FUNCTION = re.compile(r"Invalid function '([^']+)'")


def translate_error(exc: BaseException) -> LakehouseError:
    """A DataFusion/Arrow error as the MySQL error a client should see."""
    if isinstance(exc, LakehouseError):
        return exc
    text = str(exc)
    raised = json_functions.error_from_text(text)
    if raised is not None:
        return raised
    first = text.strip().splitlines()[0] if text.strip() else type(exc).__name__
    m = _NO_FIELD.search(text)
    if m:
        return UnknownColumnError(m.group(1))
    m = _AMBIGUOUS.search(text)
    if m:
        return AmbiguousColumnError(f"Column '{m.group(1)}' in field list is ambiguous")
    m = _NO_FUNCTION.search(text)
    if m:
        err = NotSupportedError(f"FUNCTION {m.group(1)} does not exist")
        err.mysql_errno = 1305
        return err
    if "ParserError" in text or "SQL error" in text:
        return ParseError(f"You have an error in your SQL syntax: {_clean(first)}")
    if "Divide by zero" in text:
        return DivisionByZeroError("Division by 0")
    if "not implemented" in text.lower() or "Unsupported" in text:
        return NotSupportedError(
            f"This query uses a feature that is not supported: {_clean(first)}"
        )
    if "Resources exhausted" in text:
        return SecondaryEngineError(f"Out of memory while running the query: {_clean(first)}")
    if isinstance(exc, pa.ArrowInvalid) or "Cast error" in text or "Arrow error" in text:
        return QueryError(f"Cannot convert a value while running the query: {_clean(first)}")
    return QueryError(_clean(first))


def _clean(text: str) -> str:
    for prefix in (
        "DataFusion error: ",
        "Error during planning: ",
        "Execution error: ",
        "Schema error: ",
        "Arrow error: ",
        "External error: ",
    ):
        text = text.replace(prefix, "")
    # Engine-internal table names mean nothing to users.
    text = re.sub(r"\bt\d+(?:_[a-z0-9]+)?\.", "", text)
    return text[:500]


__all__ = ["datafusion", "explain_plan", "run_plan", "translate_error"]
