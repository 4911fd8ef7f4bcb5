"""Columns whose values live in the object's path: Hive-style ``name=value/`` folders.

Redshift's ``UNLOAD ... PARTITION BY (col)`` (and Spark, Hive, Athena) write each
partition's rows under ``.../col=value/`` and leave the column out of the files. A table
lists such columns in the dialect's ``partition_columns``; :class:`PartitionedFormat`
reads the files for the other columns with the table's normal reader and adds each
partition column as a constant converted to its declared type (one conversion per
object, then repeated: no per-row work).

``__HIVE_DEFAULT_PARTITION__`` is NULL, as Hive and Redshift write it; other values are
percent-decoded.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from urllib.parse import unquote

import pyarrow as pa

from lakehouse.errors import LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat
from lakehouse.formats.convert import strings_to_array
from lakehouse.storage import ObjectInfo, ObjectStore

HIVE_NULL = "__HIVE_DEFAULT_PARTITION__"


def partition_values(path: str) -> dict[str, str | None]:
    """``name=value`` folders of a key or path, by lower-case name (innermost wins).

    Example:
        >>> partition_values("b/unload/year=2024/region=eu%2Dwest/0000_part_00")
        {'year': '2024', 'region': 'eu-west'}
    """
    out: dict[str, str | None] = {}
    for segment in path.split("/")[:-1]:
        name, sep, value = segment.partition("=")
        if sep and name:
            out[unquote(name).lower()] = None if value == HIVE_NULL else unquote(value)
    return out


class PartitionedFormat(TableFormat):
    """Wraps a reader: file columns from the files, partition columns from the path."""

    def __init__(self, inner: TableFormat, columns: tuple[str, ...]) -> None:
        self.inner = inner
        self.name = inner.name
        self.columns = tuple(c.lower() for c in columns)

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        values = partition_values(obj.path)
        declared = {c.field for c in target.columns}
        for name in self.columns:
            if name not in declared:
                raise LoadError(
                    f"Partition column '{name}' is not a column of {target.table_name}; "
                    "declare it, or remove it from partition_columns"
                )
            if name not in values:
                raise LoadError(
                    f"{obj.url} is not under a '{name}=value/' folder, so partition column "
                    f"'{name}' of {target.table_name} has no value for it"
                )
        file_cols = [c for c in target.columns if c.field not in self.columns]
        inner_target = replace(
            target, columns=tuple(replace(c, position=i) for i, c in enumerate(file_cols))
        )
        constants = {}
        for c in target.loaded_columns:
            if c.field in self.columns:
                raw = pa.array([values[c.field]], pa.string())
                constants[c.field] = strings_to_array(raw, c, ctx, trim=False)[0]
        for batch in self.inner.read(store, obj, inner_target, ctx):
            arrays = [
                pa.repeat(constants[c.field], batch.num_rows)
                if c.field in constants
                else batch.column(c.field)
                for c in target.loaded_columns
            ]
            yield pa.RecordBatch.from_arrays(arrays, schema=target.schema)
