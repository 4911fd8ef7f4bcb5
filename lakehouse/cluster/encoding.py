"""Column encodings of loaded data (HeatWave's ``RAPID_COLUMN=ENCODING=...``).

``VARLEN`` (the default for strings) keeps values as they are. ``SORTED`` replaces a
string column by indices into one dictionary of its distinct values in sorted order,
shared by every node and batch of the table: good for GROUP BY and ORDER BY on columns
with few distinct values, costly for high-cardinality ones. The dictionary is counted
once per node as dictionary memory (``rpd_columns.DICT_SIZE_BYTES``).
"""

from __future__ import annotations

import pyarrow as pa
import pyarrow.compute as pc

from lakehouse.catalog.model import ENCODING_SORTED, Table


def sorted_columns(table: Table) -> list[str]:
    """Fields of the table's string columns declared ``ENCODING=SORTED``."""
    return [
        c.key
        for c in table.loadable_columns()
        if c.type.is_string and c.rapid.encoding == ENCODING_SORTED
    ]


def apply_sorted_encoding(
    table: Table, schema: pa.Schema, slices: list[list[pa.RecordBatch]]
) -> tuple[pa.Schema, list[list[pa.RecordBatch]], dict[str, pa.Array]]:
    """Dictionary-encode the SORTED columns of every slice with one sorted dictionary.

    Returns the new schema, the new slices and the dictionary of each encoded field.
    """
    fields = sorted_columns(table)
    if not fields:
        return schema, slices, {}
    dictionaries: dict[str, pa.Array] = {}
    for f in fields:
        chunks = [b.column(f) for s in slices for b in s]
        if not chunks:
            dictionaries[f] = pa.array([], pa.string())
            continue
        distinct = pc.drop_null(pc.unique(pa.chunked_array(chunks, type=pa.string())))
        dictionaries[f] = pc.take(distinct, pc.sort_indices(distinct))
    new_fields = []
    for fld in schema:
        if fld.name in dictionaries:
            new_fields.append(pa.field(fld.name, pa.dictionary(pa.int32(), pa.string())))
        else:
            new_fields.append(fld)
    new_schema = pa.schema(new_fields)
    out = []
    for s in slices:
        new_slice = []
        for b in s:
            arrays = []
            for fld in schema:
                arr = b.column(fld.name)
                if fld.name in dictionaries:
                    d = dictionaries[fld.name]
                    idx = pc.index_in(arr, value_set=d).cast(pa.int32())
                    arr = pa.DictionaryArray.from_arrays(idx, d)
                arrays.append(arr)
            new_slice.append(pa.RecordBatch.from_arrays(arrays, schema=new_schema))
        out.append(new_slice)
    return new_schema, out, dictionaries


def batch_bytes(batch: pa.RecordBatch) -> int:
    """Memory of a batch, counting dictionary-encoded columns by their indices only
    (dictionaries are shared and accounted separately)."""
    total = 0
    for arr in batch.columns:
        if pa.types.is_dictionary(arr.type):
            total += arr.indices.nbytes
        else:
            total += arr.nbytes
    return total
