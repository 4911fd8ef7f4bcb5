"""How much memory tables need in the cluster, and how many nodes that makes.

Loaded tables report what they use. For the others a sample is read through the same
readers a load uses (so the in-memory representation is exactly what a load would
build), encoded as the load encodes it, and scaled up:

- Parquet: exact row counts from the files' footers; a few row groups spread over the
  file (up to SAMPLE_ROWS rows) are read.
- CSV and JSON: byte ranges from the head, middle and tail of each sampled object are
  converted; bytes per input byte scale by the objects' sizes (compressed objects by
  the compression ratio seen in their first megabyte).
- Avro: the same three ranges, each cut to whole blocks at the file's sync markers and
  read behind the file's header; scaled by bytes as text is.
- MySQL tables: the first SAMPLE_ROWS rows, scaled to MySQL's row statistics
  (``information_schema.TABLES.TABLE_ROWS``; exact when the table is smaller).

What a load accounts (:meth:`LoadedTable.node_bytes`) is modelled term by term: the
slices' Arrow bytes (SORTED columns by their int32 indices), 16 bytes a row for every
short string column the engine sees as string views, and one copy of every SORTED
dictionary on each node that holds rows. A dictionary's size comes from an estimate of
the column's distinct values in the whole table (:func:`distinct_estimate`).

HeatWave does not publish its formula; the recommended node count here is the smallest
that fits the data spread over the nodes plus a copy of the dictionaries on each, with
10% headroom.
"""

from __future__ import annotations

import io
import math
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lakehouse.catalog.attributes import ExternalSource, FileEntry, parse_engine_attribute
from lakehouse.catalog.model import Table
from lakehouse.cluster.cluster import VIEW_SLOT_BYTES, Cluster, inline_string_fields
from lakehouse.cluster.encoding import apply_sorted_encoding, batch_bytes
from lakehouse.config import MAX_NODES
from lakehouse.errors import LoadError
from lakehouse.formats import LoadWarnings, ReadContext, ReadTarget, format_for
from lakehouse.formats.sources import SourceObject, list_sources
from lakehouse.formats.streams import compression_of
from lakehouse.storage import ObjectInfo, ObjectStore, StoreResolver

SAMPLE_BYTES = 1 << 20  # per byte range
SAMPLE_OBJECTS = 4
SAMPLE_ROWS = 64 * 1024  # Parquet rows, MySQL rows
HEADROOM = 1.10

BASIS_MEASURED = "MEASURED"
BASIS_SAMPLED = "SAMPLED"
BASIS_MYSQL = "MYSQL_SAMPLED"  # rows from MySQL's statistics, sizes from its first rows

# (table, rows wanted) -> (the table's first rows, MySQL's estimate of its row count);
# the SQL layer supplies it (this package does not reach MySQL itself).
MySQLSampler = Callable[[Table, int], tuple[pa.Table, int]]


@dataclass(frozen=True)
class TableEstimate:
    """One table's estimate.

    Attributes:
        memory_bytes: on the cluster's nodes as configured: ``spread_bytes`` plus a
            copy of the dictionaries on every node that gets rows.
        spread_bytes: the rows' bytes, divided among the nodes.
        dictionary_bytes: one copy of the table's SORTED dictionaries.
        basis: MEASURED (loaded), SAMPLED (files) or MYSQL_SAMPLED.
    """

    database: str
    name: str
    rows: int
    columns: int
    varlen_columns: int
    memory_bytes: int
    exact: bool
    spread_bytes: int = 0
    dictionary_bytes: int = 0
    basis: str = BASIS_SAMPLED


def recommended_nodes(total_bytes: int, node_capacity: int, dictionary_bytes: int = 0) -> int:
    """The fewest nodes that hold ``total_bytes`` spread over them plus a copy of
    ``dictionary_bytes`` each, with 10% headroom (at least one; MAX_NODES when even
    the dictionaries alone do not fit a node).

    Example:
        >>> recommended_nodes(3 << 30, 1 << 30), recommended_nodes(3 << 30, 1 << 30, 1 << 29)
        (4, 8)
    """
    room = max(node_capacity, 1) - dictionary_bytes * HEADROOM
    if room <= 0:
        return MAX_NODES
    return max(1, math.ceil(total_bytes * HEADROOM / room))


def estimate_table(
    table: Table, stores: StoreResolver, cluster: Cluster, mysql: MySQLSampler | None = None
) -> TableEstimate:
    """Estimate a table's rows and in-memory size on ``cluster`` without loading it.

    Args:
        table: a lakehouse table, or a MySQL table (then ``mysql`` reads its sample).
        stores: reach the table's files.
        cluster: its node count decides how many dictionary copies there are.
        mysql: reads a MySQL table's first rows and row statistics.

    Raises:
        LoadError: a MySQL table and no way to reach MySQL; the files cannot be read.
    """
    cols = table.loadable_columns()
    varlen = sum(1 for c in cols if c.type.is_varlen)
    loaded = cluster.loaded(table.database, table.name)
    if loaded is not None:
        rows, memory, dicts = loaded.nrows, loaded.size_bytes, loaded.dictionary_bytes
        spread = memory - dicts * sum(1 for s in loaded.slices if s)
        basis = BASIS_MEASURED
    else:
        if table.engine_attribute is None and not table.is_external:
            if mysql is None:
                raise LoadError(
                    f"{table.qualified_name} is a MySQL table and no MySQL server is configured"
                )
            rows, spread, dicts = _mysql(table, mysql)
            basis = BASIS_MYSQL
        else:
            source = parse_engine_attribute(table.engine_attribute)
            objects = list_sources(source, stores, LoadWarnings())
            rows, spread, dicts = _estimate_objects(table, source, objects)
            basis = BASIS_SAMPLED
        memory = spread + dicts * min(len(cluster.nodes), rows)
    exact = basis == BASIS_MEASURED
    return TableEstimate(
        table.database, table.name, rows, len(cols), varlen, memory, exact, spread, dicts, basis
    )


def sample_memory(
    table: Table, schema: pa.Schema, batches: list[pa.RecordBatch], total_rows: float
) -> tuple[int, int]:
    """What a load of ``total_rows`` rows like ``batches`` would account.

    Args:
        table: its SORTED columns are encoded as a load encodes them.
        schema: the batches' schema (the table's Arrow schema).
        batches: sample rows, converted to the table's types.
        total_rows: rows of the whole table.

    Returns:
        (bytes spread over the nodes, bytes of one copy of the SORTED dictionaries).
    """
    batches = [b for b in batches if b.num_rows]
    rows = sum(b.num_rows for b in batches)
    if not rows or total_rows <= 0:
        return 0, 0
    scale = max(total_rows / rows, 1.0)
    _, encoded, dictionaries = apply_sorted_encoding(table, schema, [batches])
    size = sum(batch_bytes(b) for b in encoded[0])
    # The engine's string views of short strings (LoadedTable.node_bytes).
    views = inline_string_fields(table, encoded[0][0].schema, encoded)
    spread = (size + VIEW_SLOT_BYTES * len(views) * rows) * scale
    dicts = 0.0
    for field, dictionary in dictionaries.items():
        if not len(dictionary):
            continue
        column = pa.chunked_array([b.column(field) for b in batches], type=pa.string())
        counts = pc.value_counts(pc.drop_null(column)).field("counts")
        distinct = distinct_estimate(counts.to_pylist(), 1 / scale)
        dicts += dictionary.nbytes * distinct / len(dictionary)
    return int(spread), int(dicts)


def distinct_estimate(counts: list[int], fraction: float) -> float:
    """Distinct values in a whole column, from how often each value occurs in a sample
    of ``fraction`` of its rows (Haas and Stokes' hybrid estimator, 1998).

    Sample frequencies that look uniform (a chi-square test) get the first-order
    jackknife, exact for unique columns and columns whose values all occur in the
    sample; skewed ones Shlosser's estimator, which does best with a few frequent
    values and a long tail of rare ones.

    Example:
        >>> distinct_estimate([1] * 500, 0.5), distinct_estimate([50, 40, 10], 0.1)
        (1000.0, 3.0)
    """
    d = len(counts)
    n = sum(counts)
    f1 = sum(1 for c in counts if c == 1)
    if not d or f1 == 0 or fraction >= 1:
        return float(d)
    q = max(fraction, 1e-9)
    whole = n / q
    mean = n / d
    u = sum((c - mean) ** 2 for c in counts) / mean
    k = max(d - 1, 1)
    # The chi-square quantile at 0.975 (Wilson-Hilferty).
    critical = k * (1 - 2 / (9 * k) + 1.96 * math.sqrt(2 / (9 * k))) ** 3
    if u <= critical:
        estimate = d / (1 - (1 - q) * f1 / n)
    else:
        freq: dict[int, int] = {}
        for c in counts:
            freq[c] = freq.get(c, 0) + 1
        top = sum((1 - q) ** i * f for i, f in freq.items())
        bottom = sum(i * q * (1 - q) ** (i - 1) * f for i, f in freq.items())
        estimate = d + f1 * top / bottom
    return float(min(max(estimate, d), whole))


def _mysql(table: Table, mysql: MySQLSampler) -> tuple[int, int, int]:
    from lakehouse.cluster.loader import conform_arrow

    data, stats_rows = mysql(table, SAMPLE_ROWS)
    sample = conform_arrow(data, table, f"MySQL table {table.qualified_name}")
    # Fewer rows than asked for: that is the whole table.
    rows = sample.num_rows if sample.num_rows < SAMPLE_ROWS else max(stats_rows, SAMPLE_ROWS)
    spread, dicts = sample_memory(table, sample.schema, sample.to_batches(), rows)
    return rows, spread, dicts


def _estimate_objects(
    table: Table, source: ExternalSource, objects: list[SourceObject]
) -> tuple[int, int, int]:
    """(rows, bytes spread over the nodes, one copy of the dictionaries)."""
    if not objects:
        return 0, 0, 0
    target = ReadTarget.for_table(table, source.dialect)
    step = max(1, len(objects) // SAMPLE_OBJECTS)
    sampled = objects[::step][:SAMPLE_OBJECTS]
    fmt = source.dialect.format
    if fmt == "parquet":
        rows, batches = _parquet(target, objects, sampled)
    else:
        sample = _avro if fmt == "avro" else _text
        in_bytes, batches = sample(target, sampled)
        got = sum(b.num_rows for b in batches)
        total_in = sum(o.obj.size for o in objects)
        rows = round(got * total_in / in_bytes) if in_bytes else 0
    spread, dicts = sample_memory(table, target.schema, batches, rows)
    return rows, spread, dicts


def _parquet(
    target: ReadTarget, objects: list[SourceObject], sampled: list[SourceObject]
) -> tuple[int, list[pa.RecordBatch]]:
    """Exact rows from every footer; row groups spread over the sampled files."""
    total_rows = 0
    metas: dict[int, pq.FileMetaData] = {}
    for o in objects:
        with o.store.filesystem().open_input_file(o.obj.path) as f:
            meta = pq.ParquetFile(f).metadata
        total_rows += meta.num_rows
        metas[id(o)] = meta
    budget = max(1, SAMPLE_ROWS // len(sampled))
    reader = format_for(target.dialect)
    batches: list[pa.RecordBatch] = []
    for o in sampled:
        meta = metas[id(o)]
        ctx = ReadContext(o.obj.url, False, LoadWarnings())
        # The parts a load's workers would read (about a row group each).
        parts = reader.splits(o.store, o.obj, max(meta.num_row_groups, 1), target)
        if parts == [None]:  # read whole (partitioned files): its first rows
            got = 0
            for batch in reader.read(o.store, o.obj, target, ctx):
                batches.append(batch)
                got += batch.num_rows
                if got >= budget:
                    break
            continue
        for i in _spread_parts(len(parts), meta.num_rows / len(parts), budget):
            batches.extend(reader.read_split(o.store, o.obj, parts[i], target, ctx))
    return total_rows, batches


def _spread_parts(parts: int, rows_each: float, budget: int) -> list[int]:
    """Parts of a file evenly spaced over it, together about ``budget`` rows.

    Example:
        >>> _spread_parts(20, 10_000, 65_536)
        [1, 4, 7, 10, 12, 15, 18]
    """
    if not parts or rows_each <= 0:
        return []
    k = min(parts, max(1, math.ceil(budget / rows_each)))
    return sorted({min(parts - 1, int((i + 0.5) * parts / k)) for i in range(k)})


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


def _text(target: ReadTarget, sampled: list[SourceObject]) -> tuple[float, list[pa.RecordBatch]]:
    """(input bytes the sample stands for, its rows) of CSV or JSON objects."""
    in_bytes = 0.0
    out: list[pa.RecordBatch] = []
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
            out.extend(
                format_for(sample_target.dialect).read(_SampleStore(chunk), obj, sample_target, ctx)
            )
            in_bytes += len(chunk) / ratio
    return in_bytes, out


def _avro(target: ReadTarget, sampled: list[SourceObject]) -> tuple[float, list[pa.RecordBatch]]:
    """(input bytes the sample stands for, its rows) of Avro objects: whole blocks from
    the head, middle and tail of each, behind its header, read by the Avro reader."""
    in_bytes = 0.0
    out: list[pa.RecordBatch] = []
    reader = format_for(target.dialect)
    for o in sampled:
        data, covered = _avro_sample(o.store, o.obj)
        # Not a file:// URL: the reader fetches the sample from the store, not the file.
        obj = ObjectInfo("sample:" + o.obj.url, o.obj.path, len(data))
        ctx = ReadContext(o.obj.url, False, LoadWarnings())
        out.extend(reader.read(_SampleStore(data), obj, target, ctx))
        in_bytes += covered
    return in_bytes, out


def _avro_sample(store: ObjectStore, obj: ObjectInfo) -> tuple[bytes, int]:
    """A small Avro file of some of ``obj``'s blocks, and the bytes of ``obj`` it covers.

    An Avro container is a header, then blocks that each end with the header's 16-byte
    sync marker; so whole blocks can be cut from any byte range by finding the marker.
    """
    if obj.size <= 3 * SAMPLE_BYTES:
        with store.open(obj) as f:
            data = f.read()
        return data, len(data)
    with store.filesystem().open_input_file(obj.path) as f:
        head = f.read(SAMPLE_BYTES)
        header = _avro_header(head)
        if header is None:
            raise LoadError(f"Cannot read {obj.url} as Avro: no Avro header in its first MiB")
        start, sync = header
        blocks = [_avro_blocks(head, start, sync)]
        if not blocks[0]:
            # A first block bigger than a range: that one block, whole.
            count = _zigzag(head, start)
            size = _zigzag(head, count[1]) if count else None
            if size is None:
                raise LoadError(f"Cannot read {obj.url} as Avro: a bad block header")
            f.seek(start)
            blocks[0] = _avro_blocks(f.read(size[1] - start + size[0] + 16), 0, sync)
        for offset in (obj.size // 2, obj.size - SAMPLE_BYTES):
            f.seek(offset)
            chunk = f.read(SAMPLE_BYTES)
            found = chunk.find(sync)
            if found >= 0:
                blocks.append(_avro_blocks(chunk, found + 16, sync))
    covered = sum(len(b) for b in blocks)
    return head[:start] + b"".join(blocks), start + covered


def _avro_header(data: bytes) -> tuple[int, bytes] | None:
    """(where the first block starts, the sync marker) of an Avro container's header."""
    if not data.startswith(b"Obj\x01"):
        return None
    pos = 4
    while True:  # the metadata map: blocks of (key, value) pairs, ended by count 0
        got = _zigzag(data, pos)
        if got is None:
            return None
        count, pos = got
        if count == 0:
            break
        if count < 0:  # a negative count is followed by the block's byte size
            skipped = _zigzag(data, pos)
            if skipped is None:
                return None
            count, pos = -count, skipped[1]
        for _ in range(2 * count):
            length = _zigzag(data, pos)
            if length is None:
                return None
            pos = length[1] + length[0]
    if pos + 16 > len(data):
        return None
    return pos + 16, data[pos : pos + 16]


def _avro_blocks(data: bytes, pos: int, sync: bytes) -> bytes:
    """The complete blocks of ``data`` from ``pos`` on (each checked by its sync)."""
    start = pos
    while True:
        count = _zigzag(data, pos)
        size = _zigzag(data, count[1]) if count else None
        if size is None:
            break
        end = size[1] + size[0] + 16
        if size[0] < 0 or end > len(data) or data[end - 16 : end] != sync:
            break
        pos = end
    return data[start:pos]


def _zigzag(data: bytes, pos: int) -> tuple[int, int] | None:
    """An Avro long (zig-zag varint) at ``pos``, and the position after it."""
    acc = shift = 0
    while pos < len(data) and shift < 64:
        b = data[pos]
        pos += 1
        acc |= (b & 0x7F) << shift
        if not b & 0x80:
            return (acc >> 1) ^ -(acc & 1), pos
        shift += 7
    return None


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
