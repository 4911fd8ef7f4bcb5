"""How much memory tables need in the cluster, and how many nodes that makes.

Loaded tables report what they use. For the others a sample is read through the same
readers a load uses (so the in-memory representation is exactly what a load would
build) and scaled up:

- Parquet: exact row counts from the files' footers; bytes per row from the first row
  group converted to the table's types.
- CSV and JSON: byte ranges from the head, middle and tail of each sampled object are
  converted; bytes per input byte scale by the objects' sizes (compressed objects by
  the compression ratio seen in their first megabyte).
- Avro: read whole (there is no cheap way into the middle of an Avro file).

HeatWave does not publish its formula; the recommended node count here is the total
estimate divided by one node's capacity, rounded up, with 10% headroom.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakehouse.catalog.attributes import ExternalSource, FileEntry, parse_engine_attribute
from lakehouse.catalog.model import Table
from lakehouse.cluster.cluster import VIEW_SLOT_BYTES, Cluster, inline_string_fields
from lakehouse.cluster.encoding import apply_sorted_encoding, batch_bytes
from lakehouse.formats import LoadWarnings, ReadContext, ReadTarget, format_for
from lakehouse.formats.sources import SourceObject, list_sources
from lakehouse.formats.streams import compression_of
from lakehouse.storage import ObjectInfo, ObjectStore, StoreResolver

SAMPLE_BYTES = 1 << 20  # per byte range
SAMPLE_OBJECTS = 4
HEADROOM = 1.10


@dataclass(frozen=True)
class TableEstimate:
    """One table's estimate (``exact`` when it is loaded and measured)."""

    database: str
    name: str
    rows: int
    columns: int
    varlen_columns: int
    memory_bytes: int
    exact: bool


def recommended_nodes(total_bytes: int, node_capacity: int) -> int:
    """Nodes needed for ``total_bytes`` with 10% headroom (at least one)."""
    return max(1, math.ceil(total_bytes * HEADROOM / max(node_capacity, 1)))


def estimate_table(table: Table, stores: StoreResolver, cluster: Cluster) -> TableEstimate:
    """Estimate a table's rows and in-memory size without loading it."""
    cols = table.loadable_columns()
    varlen = sum(1 for c in cols if c.type.is_varlen)
    loaded = cluster.loaded(table.database, table.name)
    if loaded is not None:
        return TableEstimate(
            table.database, table.name, loaded.nrows, len(cols), varlen, loaded.size_bytes, True
        )
    source = parse_engine_attribute(table.engine_attribute)
    objects = list_sources(source, stores, LoadWarnings())
    rows, size = _estimate_objects(table, source, objects)
    return TableEstimate(table.database, table.name, rows, len(cols), varlen, size, False)


def _estimate_objects(
    table: Table, source: ExternalSource, objects: list[SourceObject]
) -> tuple[int, int]:
    if not objects:
        return 0, 0
    target = ReadTarget.for_table(table, source.dialect)
    fmt = source.dialect.format
    if fmt == "parquet":
        return _parquet(table, target, objects)
    if fmt == "avro":
        return _read_whole(table, target, objects)
    return _text(table, target, objects)


def _arrow_bytes(
    table: Table, target: ReadTarget, batches: list[pa.RecordBatch]
) -> tuple[int, int]:
    """Rows and in-memory bytes of sample batches, with the table's encodings applied."""
    batches = [b for b in batches if b.num_rows]
    if not batches:
        return 0, 0
    # SORTED dictionaries are small and shared; only their indices scale with rows.
    _, encoded, _ = apply_sorted_encoding(table, target.schema, [batches])
    rows = sum(b.num_rows for b in batches)
    size = sum(batch_bytes(b) for b in encoded[0])
    # The engine's string views of short strings (LoadedTable.node_bytes).
    views = inline_string_fields(table, encoded[0][0].schema, encoded)
    return rows, size + VIEW_SLOT_BYTES * len(views) * rows


def _parquet(table: Table, target: ReadTarget, objects: list[SourceObject]) -> tuple[int, int]:
    total_rows = 0
    for o in objects:
        with o.store.filesystem().open_input_file(o.obj.path) as f:
            total_rows += pq.ParquetFile(f).metadata.num_rows
    first = objects[0]
    sample: list[pa.RecordBatch] = []
    ctx = ReadContext(first.obj.url, False, LoadWarnings())
    for batch in format_for(target.dialect).read(first.store, first.obj, target, ctx):
        sample.append(batch)
        if sum(b.num_rows for b in sample) >= 100_000:
            break
    rows, size = _arrow_bytes(table, target, sample)
    per_row = size / rows if rows else 0
    return total_rows, int(per_row * total_rows)


def _read_whole(table: Table, target: ReadTarget, objects: list[SourceObject]) -> tuple[int, int]:
    rows = size = 0
    for o in objects:
        ctx = ReadContext(o.obj.url, False, LoadWarnings())
        r, s = _arrow_bytes(
            table, target, list(format_for(target.dialect).read(o.store, o.obj, target, ctx))
        )
        rows += r
        size += s
    return rows, size


class _SampleStore(ObjectStore):
    """Serves in-memory sample bytes through the normal readers."""

    def __init__(self, data: bytes) -> None:
        self.data = data

    def list_objects(self, entry: FileEntry) -> list[ObjectInfo]:
        return []

    def open(self, obj: ObjectInfo) -> pa.NativeFile:
        return pa.BufferReader(self.data)

    def filesystem(self) -> pafs.FileSystem:
        raise NotImplementedError("samples are read sequentially")


def _ranges(store: ObjectStore, obj: ObjectInfo, compressed: bool) -> list[bytes]:
    """Head, middle and tail samples of whole lines (head only when compressed)."""
    if compressed or obj.size <= 3 * SAMPLE_BYTES:
        with store.open(obj) as f:
            return [f.read(SAMPLE_BYTES if compressed else obj.size)]
    out = []
    with store.filesystem().open_input_file(obj.path) as f:
        for offset in (0, obj.size // 2, obj.size - SAMPLE_BYTES):
            f.seek(offset)
            chunk = f.read(SAMPLE_BYTES)
            if offset:
                cut = chunk.find(b"\n")
                chunk = chunk[cut + 1 :] if cut >= 0 else b""
            out.append(chunk)
    return out


def _text(table: Table, target: ReadTarget, objects: list[SourceObject]) -> tuple[int, int]:
    step = max(1, len(objects) // SAMPLE_OBJECTS)
    sampled = objects[::step][:SAMPLE_OBJECTS]
    in_bytes = 0.0
    out_rows = out_size = 0
    for o in sampled:
        codec = compression_of(o.obj, target.dialect.compression)
        ratio = 1.0
        chunks = _ranges(o.store, o.obj, codec is not None)
        if codec is not None:
            raw = chunks[0]
            data = _decompress_prefix(raw, codec)
            ratio = len(data) / max(len(raw), 1)
            chunks = [data]
        for i, chunk in enumerate(chunks):
            # Drop a partial last line; skip header rows only in the head sample.
            end = chunk.rfind(b"\n")
            chunk = chunk[: end + 1] if end >= 0 else chunk
            if not chunk:
                continue
            sample_target = target if i == 0 else _without_header(target)
            if codec is not None:
                sample_target = _uncompressed(sample_target)
            obj = ObjectInfo(
                o.obj.url, o.obj.path.rsplit(".", 1)[0] if codec else o.obj.path, len(chunk)
            )
            ctx = ReadContext(o.obj.url, False, LoadWarnings())
            batches = list(
                format_for(sample_target.dialect).read(_SampleStore(chunk), obj, sample_target, ctx)
            )
            r, s = _arrow_bytes(table, target, batches)
            out_rows += r
            out_size += s
            in_bytes += len(chunk) / ratio
    total_in = sum(o.obj.size for o in objects)
    scale = total_in / in_bytes if in_bytes else 0
    return int(out_rows * scale), int(out_size * scale)


def _uncompressed(target: ReadTarget) -> ReadTarget:
    from dataclasses import replace

    return replace(target, dialect=replace(target.dialect, compression="none"))


def _without_header(target: ReadTarget) -> ReadTarget:
    from dataclasses import replace

    return replace(target, dialect=replace(target.dialect, has_header=False, skip_rows=0))


def _decompress_prefix(data: bytes, codec: str) -> bytes:
    """Decompress as much of a truncated compressed stream as possible."""
    import bz2
    import zlib

    try:
        if codec == "gzip":
            return zlib.decompressobj(16 + zlib.MAX_WBITS).decompress(data)
        if codec == "bz2":
            return bz2.BZ2Decompressor().decompress(data)
        if codec == "zstd":
            out = io.BytesIO()
            stream = pa.CompressedInputStream(pa.BufferReader(data), "zstd")
            try:
                while chunk := stream.read(1 << 16):
                    out.write(chunk)
            except (OSError, pa.ArrowException):
                pass
            return out.getvalue()
    except (OSError, ValueError, EOFError):
        pass
    return data
