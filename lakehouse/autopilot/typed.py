"""Schema inference for formats that carry types: Parquet, Avro and NDJSON.

Parquet and Avro columns keep the type their schema declares (Arrow -> MySQL by
:func:`arrow_to_mysql`); the data sizes what the schema cannot: the longest string
(``VARCHAR(n)``) and whether any NULL occurs (Parquet's footer statistics count NULLs
over the whole file, so nullability is exact even when sampling). JSON has no widths:
integers get the smallest type holding the values seen, strings are checked for dates
and times, nested values become ``JSON``. Keys missing from some lines are nullable.

Types the cluster cannot load (binary, nested Parquet/Avro values) are reported and,
under the default policy, declared NOT SECONDARY.
"""

from __future__ import annotations

import io
import json
import os
import tempfile
from dataclasses import replace
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pajson
import pyarrow.parquet as pq

from lakehouse.autopilot.merge import incompatible, merge_files
from lakehouse.autopilot.profile import ColumnProfile, merge, profile_of_type, profile_strings
from lakehouse.autopilot.report import Report
from lakehouse.autopilot.sample import sample_files, text_chunks
from lakehouse.autopilot.schema import Findings
from lakehouse.errors import LoadError
from lakehouse.formats.sources import SourceObject
from lakehouse.formats.streams import compression_of
from lakehouse.types import SqlType

_FSP = {"s": 0, "ms": 3, "us": 6, "ns": 6}


def arrow_to_mysql(t: pa.DataType) -> tuple[SqlType, str | None]:
    """The MySQL type for an Arrow type, and why the cluster cannot load it (or None).

    Example:
        >>> arrow_to_mysql(pa.uint16())[0].sql()
        'smallint unsigned'
    """
    if pa.types.is_dictionary(t):
        return arrow_to_mysql(t.value_type)
    if pa.types.is_boolean(t):
        return SqlType("BOOL"), None
    if pa.types.is_integer(t):
        name = {8: "TINYINT", 16: "SMALLINT", 32: "INT", 64: "BIGINT"}[t.bit_width]
        return SqlType(name, unsigned=pa.types.is_unsigned_integer(t)), None
    if pa.types.is_floating(t):
        return SqlType("DOUBLE" if t.bit_width == 64 else "FLOAT"), None
    if pa.types.is_decimal(t):
        if t.precision > 38:
            return SqlType("DOUBLE"), None
        return SqlType("DECIMAL", precision=t.precision, scale=t.scale), None
    if pa.types.is_date(t):
        return SqlType("DATE"), None
    if pa.types.is_timestamp(t):
        return SqlType("DATETIME", fsp=_FSP[t.unit]), None
    if pa.types.is_time(t):
        return SqlType("TIME", fsp=_FSP[t.unit]), None
    if pa.types.is_string(t) or pa.types.is_large_string(t) or pa.types.is_string_view(t):
        return SqlType("VARCHAR", length=1), None
    if pa.types.is_null(t):
        return SqlType("VARCHAR", length=255), None
    if pa.types.is_binary(t) or pa.types.is_large_binary(t) or pa.types.is_fixed_size_binary(t):
        return SqlType("BLOB"), "binary values cannot be loaded into the cluster"
    return SqlType("JSON"), f"nested values ({t}) cannot be loaded into the cluster"


def _max_len(arr: pa.Array | pa.ChunkedArray) -> int:
    if pa.types.is_dictionary(arr.type):
        arr = arr.cast(arr.type.value_type)
    if not (pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type)):
        return 0
    return int(pc.max(pc.utf8_length(arr)).as_py() or 0)


def _column_profile(
    t: pa.DataType,
    values: pa.ChunkedArray | pa.Array,
    nulls: int,
    count: int,
    mysql_export: bool = False,
) -> ColumnProfile:
    sql, _ = arrow_to_mysql(t)
    if mysql_export:
        # A MySQL export (Aurora/RDS) writes BIGINT UNSIGNED as DECIMAL(20,0) and DATE,
        # TIME as ISO text; without its metadata those are recovered from the data.
        if pa.types.is_decimal(t) and t.precision == 20 and t.scale == 0:
            return profile_of_type(SqlType("BIGINT", unsigned=True), count, nulls)
        if pa.types.is_string(t) or pa.types.is_large_string(t):
            arr = values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values
            text = profile_strings(arr)
            if text.kind in ("date", "time", "datetime") and text.fmt is None:
                return replace(text, count=count, nulls=nulls)
    return profile_of_type(sql, count, nulls, _max_len(values))


# --------------------------------------------------------------------------- parquet
def infer_parquet(
    table: str,
    objects: list[SourceObject],
    sampling: bool,
    report: Report,
    mysql_export: bool = False,
) -> Findings:
    """Columns of Parquet files: declared types, string widths and NULLs from the data.

    ``mysql_export``: the files are an Aurora/RDS export, whose type mapping is undone.

    Raises:
        LoadError: a file is not Parquet, or files have different columns.
    """
    names: list[str] | None = None
    per_file: list[tuple[str, list[ColumnProfile]]] = []
    unsupported: dict[int, str] = {}
    rows = 0
    for src in sample_files(objects, sampling):
        try:
            with src.store.filesystem().open_input_file(src.obj.path) as f:
                pf = pq.ParquetFile(f)
                schema = pf.schema_arrow
                if names is None:
                    names = list(schema.names)
                    for i, fld in enumerate(schema):
                        why = arrow_to_mysql(fld.type)[1]
                        if why:
                            unsupported[i] = why
                elif [n.lower() for n in schema.names] != [n.lower() for n in names]:
                    raise incompatible(
                        table,
                        f"{src.obj.url} has columns {schema.names}, the first file {names}",
                        report,
                    )
                rows += pf.metadata.num_rows
                per_file.append(
                    (src.obj.url, _parquet_profiles(pf, schema, sampling, mysql_export))
                )
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(
                f"Cannot read {src.obj.url} as Parquet: {str(exc).splitlines()[0][:200]}"
            ) from None
    assert names is not None
    labels: list[str | None] = list(names)
    merged = merge_files(table, labels, per_file, report)
    return Findings(
        labels,
        merged,
        {"format": "parquet"},
        [u for u, _ in per_file],
        rows,
        unsupported,
        keep_names=True,
    )


def _parquet_profiles(
    pf: pq.ParquetFile, schema: pa.Schema, sampling: bool, mysql_export: bool
) -> list[ColumnProfile]:
    md = pf.metadata
    groups = list(range(md.num_row_groups))
    if sampling and len(groups) > 3:
        groups = sorted({0, len(groups) // 2, len(groups) - 1})
    data = pf.read_row_groups(groups, use_threads=True) if groups else schema.empty_table()
    exact = _null_counts(pf)
    out = []
    for i, fld in enumerate(schema):
        col = data.column(i)
        nulls = (
            exact.get(fld.name, col.null_count)
            if len(groups) < md.num_row_groups
            else col.null_count
        )
        out.append(_column_profile(fld.type, col, nulls, md.num_rows - nulls, mysql_export))
    return out


def _null_counts(pf: pq.ParquetFile) -> dict[str, int]:
    """NULLs per top-level column over the whole file, from footer statistics."""
    md = pf.metadata
    out: dict[str, int] = {}
    for rg in range(md.num_row_groups):
        group = md.row_group(rg)
        for j in range(group.num_columns):
            col = group.column(j)
            stats = col.statistics
            if stats is None or not stats.has_null_count or "." in col.path_in_schema:
                continue
            out[col.path_in_schema] = out.get(col.path_in_schema, 0) + stats.null_count
    return out


# --------------------------------------------------------------------------- avro
def infer_avro(table: str, objects: list[SourceObject], sampling: bool, report: Report) -> Findings:
    """Columns of Avro files (read whole: Avro cannot be entered in the middle).

    Raises:
        LoadError: a file is not Avro, or files have different columns.
    """
    from lakehouse.formats.avro import read_avro_table

    names: list[str] | None = None
    per_file: list[tuple[str, list[ColumnProfile]]] = []
    unsupported: dict[int, str] = {}
    rows = 0
    for src in sample_files(objects, sampling):
        data = _read_local(src, read_avro_table)
        if names is None:
            names = list(data.column_names)
            unsupported = {
                i: w for i, f in enumerate(data.schema) if (w := arrow_to_mysql(f.type)[1])
            }
        elif [n.lower() for n in data.column_names] != [n.lower() for n in names]:
            raise incompatible(
                table,
                f"{src.obj.url} has fields {data.column_names}, the first file {names}",
                report,
            )
        rows += data.num_rows
        per_file.append(
            (
                src.obj.url,
                [
                    _column_profile(
                        f.type,
                        data.column(i),
                        data.column(i).null_count,
                        data.num_rows - data.column(i).null_count,
                    )
                    for i, f in enumerate(data.schema)
                ],
            )
        )
    assert names is not None
    labels: list[str | None] = list(names)
    merged = merge_files(table, labels, per_file, report)
    return Findings(
        labels,
        merged,
        {"format": "avro"},
        [u for u, _ in per_file],
        rows,
        unsupported,
        keep_names=True,
    )


def _read_local(src: SourceObject, reader: Any) -> pa.Table:
    if src.obj.url.startswith("file://"):
        path, tmp = src.obj.path, None
    else:
        fd, tmp = tempfile.mkstemp(suffix=".avro", prefix="lakehouse-infer-")
        with os.fdopen(fd, "wb") as out, src.store.open(src.obj) as f:
            while chunk := f.read(8 << 20):
                out.write(chunk)
        path = tmp
    try:
        table: pa.Table = reader(path)
        return table
    except Exception as exc:  # DataFusion raises bare Exception for bad input
        raise LoadError(
            f"Cannot read {src.obj.url} as Avro: {str(exc).splitlines()[0][:200]}"
        ) from None
    finally:
        if tmp:
            os.unlink(tmp)


# --------------------------------------------------------------------------- json
def infer_json(
    table: str, objects: list[SourceObject], given: dict[str, Any], sampling: bool, report: Report
) -> Findings:
    """Columns of newline-delimited JSON: one per key seen, in order of appearance."""
    compression = str(given.get("compression", "auto")).lower()
    order: list[str] = []
    per_file_named: list[tuple[str, dict[str, ColumnProfile], int]] = []
    rows = 0
    for src in sample_files(objects, sampling):
        found: dict[str, ColumnProfile] = {}
        file_rows = 0
        for chunk in text_chunks(src, compression_of(src.obj, compression), sampling):
            data = chunk.data
            if chunk.cut:
                data = data[data.find(b"\n") + 1 :]
            parsed = _read_json_lines(data)
            file_rows += parsed.num_rows
            for name in parsed.column_names:
                if name not in order:
                    order.append(name)
                p = _json_profile(parsed.column(name))
                found[name] = merge(found[name], p) if name in found else p
        rows += file_rows
        per_file_named.append((src.obj.url, found, file_rows))
    per_file = []
    for url, found, n in per_file_named:
        aligned = []
        for name in order:
            p = found.get(name, ColumnProfile("null", nulls=n))
            missing = n - p.count - p.nulls
            aligned.append(p if missing <= 0 else merge(p, ColumnProfile("null", nulls=missing)))
        per_file.append((url, aligned))
    labels: list[str | None] = list(order)
    merged = merge_files(table, labels, per_file, report)
    dialect = {"format": "json", **{k: v for k, v in given.items() if k != "format"}}
    return Findings(labels, merged, dialect, [u for u, _ in per_file], rows, keep_names=True)


def _read_json_lines(data: bytes) -> pa.Table:
    """Arrow's JSON reader, with strings kept as strings; a tiny-sample fallback through
    Python's json for lines whose types disagree (Arrow refuses those)."""
    if not data.strip():
        return pa.table({})
    try:
        first = pajson.read_json(io.BytesIO(data))
        stamps = [f.name for f in first.schema if pa.types.is_timestamp(f.type)]
        if not stamps:
            return first
        schema = pa.schema(
            [pa.field(f.name, pa.string()) if f.name in stamps else f for f in first.schema]
        )
        return pajson.read_json(
            io.BytesIO(data), parse_options=pajson.ParseOptions(explicit_schema=schema)
        )
    except pa.ArrowInvalid:
        try:
            rows = [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
        except ValueError as exc:
            raise LoadError(f"Not newline-delimited JSON: {exc}") from None
        if not all(isinstance(r, dict) for r in rows):
            raise LoadError("Not newline-delimited JSON objects") from None
        keys = list(dict.fromkeys(k for r in rows for k in r))
        return pa.table(
            {
                k: pa.array(
                    [
                        None
                        if r.get(k) is None
                        else (r[k] if isinstance(r[k], str) else json.dumps(r[k]))
                        for r in rows
                    ],
                    pa.string(),
                )
                for k in keys
            }
        )


def _json_profile(col: pa.ChunkedArray) -> ColumnProfile:
    arr = col.combine_chunks()
    t = arr.type
    nulls = arr.null_count
    count = len(arr) - nulls
    if pa.types.is_null(t):
        return ColumnProfile("null", nulls=nulls)
    if pa.types.is_integer(t):
        mm = pc.min_max(arr).as_py()
        width = max(len(str(mm["min"] or 0)), len(str(mm["max"] or 0)))
        return ColumnProfile("int", count, nulls, width, min_int=mm["min"], max_int=mm["max"])
    if pa.types.is_floating(t):
        return ColumnProfile("double", count, nulls, 24)
    if pa.types.is_boolean(t):
        return profile_of_type(SqlType("BOOL"), count, nulls)
    if pa.types.is_string(t):
        p = profile_strings(arr)
        if p.kind in ("int", "decimal", "double"):
            p = ColumnProfile("string", p.count, p.nulls, p.max_len)
        return p
    return ColumnProfile("json", count, nulls, 0)
