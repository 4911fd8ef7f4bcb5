"""Avro object container files (uncompressed, deflate, snappy), read by DataFusion's
Rust Avro reader into Arrow. Nested types are not supported, as in HeatWave."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator

import pyarrow as pa

from lakehouse.errors import LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat
from lakehouse.formats.convert import cast_to_column
from lakehouse.formats.parquet import match_columns
from lakehouse.storage import ObjectInfo, ObjectStore


def read_avro_table(path: str) -> pa.Table:
    """Decode a local Avro file into an Arrow table."""
    import datafusion

    ctx = datafusion.SessionContext()
    return ctx.read_avro(path).to_arrow_table()


class AvroFormat(TableFormat):
    name = "avro"

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        ctx.unit = "record"
        local = obj.path if obj.url.startswith("file://") else None
        tmp = None
        try:
            if local is None:
                # DataFusion reads paths; fetch the object to a private temp file first.
                fd, tmp = tempfile.mkstemp(suffix=".avro", prefix="lakehouse-")
                with os.fdopen(fd, "wb") as out, store.open(obj) as src:
                    while chunk := src.read(8 << 20):
                        out.write(chunk)
                local = tmp
            try:
                table = read_avro_table(local)
            except Exception as exc:  # DataFusion raises bare Exception for bad input
                raise LoadError(
                    f"Cannot read {obj.url} as Avro: {str(exc).splitlines()[0][:300]}"
                ) from None
        finally:
            if tmp:
                os.unlink(tmp)
        for c in table.schema:
            if pa.types.is_nested(c.type):
                raise LoadError(
                    f"Avro field '{c.name}' in {obj.url} has a nested type, which is not supported"
                )
        mapping = match_columns(table.column_names, target, obj.url)
        position = 1
        for batch in table.to_batches(max_chunksize=128 * 1024):
            ctx.first_position = position
            arrays = [
                cast_to_column(batch.column(mapping[c.field]), c, ctx)
                for c in target.loaded_columns
            ]
            position += batch.num_rows
            yield pa.RecordBatch.from_arrays(arrays, schema=target.schema)
