"""Newline-delimited JSON.

HeatWave loads each JSON line into the table's single JSON column. When the table has
several columns instead, each line's keys are matched to column names (ignoring case),
which is what users of other engines expect; missing keys are NULL.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.json as pajson

from lakehouse.errors import DataConversionError, LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat
from lakehouse.formats.convert import cast_to_column, check_not_null
from lakehouse.formats.streams import compression_of, open_decompressed
from lakehouse.storage import ObjectInfo, ObjectStore

BLOCK_SIZE = 16 << 20


class JsonFormat(TableFormat):
    """Newline-delimited JSON (``.json``, ``.jsonl``, ``.ndjson``), optionally compressed."""

    name = "json"

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        loaded = target.loaded_columns
        codec = compression_of(obj, target.dialect.compression)
        if len(target.columns) == 1 and loaded and loaded[0].type.name == "JSON":
            yield from self._read_documents(store, obj, codec, target, ctx)
        else:
            yield from self._read_fields(store, obj, codec, target, ctx)

    def _read_documents(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        codec: str | None,
        target: ReadTarget,
        ctx: ReadContext,
    ) -> Iterator[pa.RecordBatch]:
        # Each line is one value: read lines as one text column, no quoting, no splitting.
        col = target.loaded_columns[0]
        stream = open_decompressed(store, obj, codec)
        try:
            reader = pacsv.open_csv(
                stream,
                pacsv.ReadOptions(column_names=["doc"], block_size=BLOCK_SIZE),
                pacsv.ParseOptions(delimiter="\x01", quote_char=False, escape_char=False),
                pacsv.ConvertOptions(column_types={"doc": pa.string()}, strings_can_be_null=False),
            )
            position = 1
            for batch in reader:
                ctx.first_position = position
                docs = pc.utf8_trim_whitespace(batch.column(0))
                not_object = pc.invert(pc.or_(pc.starts_with(docs, "{"), pc.starts_with(docs, "[")))
                if pc.any(not_object).as_py():
                    first = pc.index(not_object, True).as_py()
                    msg = f"line {position + first} of {obj.url} is not a JSON document"
                    if ctx.strict:
                        raise DataConversionError(f"Lakehouse load failed: {msg}")
                    ctx.warnings.add(3140, msg.capitalize(), pc.sum(not_object).as_py())
                    docs = pc.if_else(not_object, pa.scalar(None, pa.string()), docs)
                position += batch.num_rows
                yield pa.RecordBatch.from_arrays(
                    [check_not_null(docs, col, ctx)], schema=target.schema
                )
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url} as JSON lines: {_short(exc)}") from None
        finally:
            stream.close()

    def _read_fields(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        codec: str | None,
        target: ReadTarget,
        ctx: ReadContext,
    ) -> Iterator[pa.RecordBatch]:
        stream = open_decompressed(store, obj, codec)
        try:
            table = pajson.read_json(
                stream,
                read_options=pajson.ReadOptions(block_size=BLOCK_SIZE),
                parse_options=pajson.ParseOptions(newlines_in_values=False),
            )
        except (OSError, pa.ArrowException) as exc:
            raise DataConversionError(
                f"Lakehouse load failed: cannot parse {obj.url} as JSON lines: {_short(exc)}"
            ) from None
        finally:
            stream.close()
        ctx.unit = "line"
        by_key = {n.lower(): n for n in table.column_names}
        position = 1
        for batch in table.to_batches(max_chunksize=128 * 1024):
            ctx.first_position = position
            arrays = []
            for c in target.loaded_columns:
                name = by_key.get(c.field)
                if name is None:
                    arr = pa.nulls(batch.num_rows, c.arrow_type)
                    arrays.append(check_not_null(arr, c, ctx))
                    continue
                arr = batch.column(name)
                if (
                    pa.types.is_struct(arr.type) or pa.types.is_list(arr.type)
                ) and c.type.is_string:
                    # Nested values go into JSON/text columns as JSON text. This is the
                    # one per-value Python step, and only for nested values.
                    arr = pa.array(
                        [
                            None if v is None else json.dumps(v, default=str)
                            for v in arr.to_pylist()
                        ],
                        pa.string(),
                    )
                arrays.append(cast_to_column(arr, c, ctx))
            position += batch.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=target.schema)


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
