"""Parquet files (including Aurora snapshot exports), read by row group with projection."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakehouse.errors import LoadError
from lakehouse.formats.base import ReadContext, ReadTarget, TableFormat, TargetColumn
from lakehouse.formats.convert import cast_to_column, dictionary_as_column
from lakehouse.storage import ObjectInfo, ObjectStore


def match_columns(file_names: list[str], target: ReadTarget, url: str) -> dict[str, str]:
    """Map each loaded column's field to the file's column of the same name, ignoring case.

    Raises:
        LoadError: a declared column is not in the file.
    """
    by_key = {n.lower(): n for n in file_names}
    out = {}
    for c in target.loaded_columns:
        name = by_key.get(c.field)
        if name is None:
            raise LoadError(
                f"Lakehouse load failed: column '{c.name}' of {target.table_name} is not in "
                f"{url} (it has: {', '.join(file_names[:20])})"
            )
        out[c.field] = name
    return out


class ParquetFormat(TableFormat):
    """Parquet, matched to the table by column name (case-insensitive)."""

    name = "parquet"

    def read(
        self, store: ObjectStore, obj: ObjectInfo, target: ReadTarget, ctx: ReadContext
    ) -> Iterator[pa.RecordBatch]:
        return self.read_split(store, obj, None, target, ctx)

    def splits(
        self, store: ObjectStore, obj: ObjectInfo, want: int, target: ReadTarget
    ) -> list[Any]:
        """Runs of consecutive row groups with about the same number of rows each, as
        ``(first row group, row groups, first row)``."""
        if want <= 1:
            return [None]
        try:
            with store.filesystem().open_input_file(obj.path) as handle:
                meta = pq.ParquetFile(handle).metadata
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url} as Parquet: {_short(exc)}") from None
        groups = meta.num_row_groups
        if groups <= 1:
            return [None]
        rows = [meta.row_group(i).num_rows for i in range(groups)]
        per = max(1, -(-sum(rows) // min(want, groups)))
        out: list[Any] = []
        first, first_row, count, acc = 0, 0, 0, 0
        for i, n in enumerate(rows):
            count += 1
            acc += n
            if acc >= per or i == groups - 1:
                out.append((first, count, first_row))
                first, first_row, count = i + 1, first_row + acc, 0
                acc = 0
        return out

    def read_split(
        self,
        store: ObjectStore,
        obj: ObjectInfo,
        split: Any,
        target: ReadTarget,
        ctx: ReadContext,
    ) -> Iterator[pa.RecordBatch]:
        ctx.unit = "row"
        fs = store.filesystem()
        # Remote objects: the column chunks of each row group are fetched ahead, in
        # coalesced concurrent requests. A local file is read as it is decoded: ahead it
        # would only be copied into fresh memory first (TPC-H lineitem: 200 MB of page
        # faults fewer, 5-10 % quicker).
        remote = not isinstance(fs, pafs.LocalFileSystem)
        try:
            handle = fs.open_input_file(obj.path)
            pf = pq.ParquetFile(handle, pre_buffer=remote)
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url} as Parquet: {_short(exc)}") from None
        try:
            mapping = match_columns(pf.schema_arrow.names, target, obj.url)
            coded = _dictionary_strings(pf, target, mapping)
            if coded:
                pf = pq.ParquetFile(
                    handle, metadata=pf.metadata, read_dictionary=coded, pre_buffer=remote
                )
            position = 1
            row_groups = None
            if split is not None:
                first, count, first_row = split
                row_groups = list(range(first, first + count))
                position = first_row + 1
            for batch in pf.iter_batches(
                batch_size=max(ctx.batch_rows, 1024),
                row_groups=row_groups,
                columns=list(dict.fromkeys(mapping.values())),
                use_threads=True,
            ):
                ctx.first_position = position
                arrays = [
                    _column(batch.column(mapping[c.field]), c, ctx) for c in target.loaded_columns
                ]
                position += batch.num_rows
                if any(pa.types.is_dictionary(a.type) for a in arrays):
                    yield pa.RecordBatch.from_arrays(arrays, names=target.schema.names)
                else:
                    yield pa.RecordBatch.from_arrays(arrays, schema=target.schema)
        except (OSError, pa.ArrowException) as exc:
            raise LoadError(f"Cannot read {obj.url} as Parquet: {_short(exc)}") from None
        finally:
            handle.close()


def _column(arr: pa.Array, col: TargetColumn, ctx: ReadContext) -> pa.Array:
    if ctx.keep_dictionaries:
        coded = dictionary_as_column(arr, col)
        if coded is not None:
            return coded
    return cast_to_column(arr, col, ctx)


# A string column whose chunks hold under this many bytes a value (uncompressed) is
# dictionary-coded throughout: a handful of distinct values, an index of a bit or two each.
DICTIONARY_BYTES_PER_VALUE = 2.0


def _dictionary_strings(
    pf: pq.ParquetFile, target: ReadTarget, mapping: dict[str, str]
) -> list[str]:
    """File columns of declared strings with a handful of distinct values, to be read as
    dictionaries: Arrow then builds each distinct value once instead of every row's
    string (as views, when the file's own Arrow schema asks for them), and the
    conversion to the column expands them in one pass. TPC-H lineitem's four flag and
    mode columns: its Parquet load took a fifth less CPU (2.6-3.1 s -> 2.0-2.1 s)."""
    meta = pf.metadata
    wanted = {mapping[c.field] for c in target.loaded_columns if c.type.is_string}
    leaves = leaf_columns(meta)
    out = []
    for name in sorted(wanted):
        j = leaves.get(name)  # a top-level leaf column (not nested)
        arrow_type = pf.schema_arrow.field(name).type
        if j is None or not (pa.types.is_string(arrow_type) or pa.types.is_string_view(arrow_type)):
            continue
        chunks = [meta.row_group(g).column(j) for g in range(meta.num_row_groups)]
        values = sum(c.num_values for c in chunks)
        size = sum(c.total_uncompressed_size for c in chunks)
        if (
            values
            and all(c.has_dictionary_page for c in chunks)
            and size < DICTIONARY_BYTES_PER_VALUE * values
        ):
            out.append(name)
    return out


def leaf_columns(meta: pq.FileMetaData) -> dict[str, int]:
    """A Parquet file's leaf columns by path -> their index in the row groups' column
    chunks (a top-level column's path is its name)."""
    return {meta.schema.column(j).path: j for j in range(meta.num_columns)}


def _short(exc: BaseException) -> str:
    text = str(exc).strip()
    return (text.splitlines()[0] if text else type(exc).__name__)[:300]
