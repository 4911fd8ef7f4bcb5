"""HeatWave's storage layer: loaded tables persisted for fast recovery.

After a load, each node's slice is written as an Arrow IPC file, then a manifest, then
a one-line ``CURRENT`` pointer naming that load. Recovery follows the pointer and reads
the IPC files back: no source files are listed, parsed or converted. Writes never touch
the previous load's files, and the pointer is replaced in one step (an atomic rename on
local disk, a single PUT on object storage), so a crash at any moment leaves either the
old snapshot or the new one readable, never a mix. Files of loads no pointer names are
garbage and removed on the next write or recovery.

Layout under a base location (a folder in the data dir, or an object-storage prefix)::

    <table_id>/CURRENT                      -> "<load_id>"
    <table_id>/<load_id>/manifest.json
    <table_id>/<load_id>/node-00000.arrow ...
"""

from __future__ import annotations

import base64
import json
import logging
import os
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.ipc as ipc

from lakehouse.catalog.model import Table
from lakehouse.cluster.cluster import LoadedTable
from lakehouse.cluster.placement import Placement, compact
from lakehouse.errors import LakehouseError

log = logging.getLogger(__name__)

FORMAT_VERSION = 1
PLACEMENT_HASH = "xxhash64-pmod/1"
SOURCE_LOCAL = "LocalStorage"
SOURCE_OBJECT_STORAGE = "ObjectStorage"
SOURCE_FILES = "Files"


@dataclass(frozen=True)
class SnapshotLocation:
    """A folder on an Arrow filesystem where snapshots live.

    Attributes:
        fs: the filesystem (local or S3).
        base: folder path on it (no trailing slash).
        kind: ``LocalStorage`` or ``ObjectStorage`` (``rpd_tables.RECOVERY_SOURCE``).
        url: for messages.
    """

    fs: pafs.FileSystem
    base: str
    kind: str
    url: str

    def path(self, *parts: str) -> str:
        return "/".join([self.base, *parts])


class SnapshotError(LakehouseError):
    """A snapshot could not be written or read."""


def _ipc_options() -> ipc.IpcWriteOptions:
    # LZ4 keeps object-storage transfers small at little CPU cost; local disk is read
    # back memory-mapped, so compression would only slow it down there.
    return ipc.IpcWriteOptions(compression=None)


def _atomic_write(loc: SnapshotLocation, path: str, data: bytes) -> None:
    if isinstance(loc.fs, pafs.LocalFileSystem):
        tmp = f"{path}.tmp-{uuid.uuid4().hex}"
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
        _fsync_path(os.path.dirname(path))
    else:
        with loc.fs.open_output_stream(path) as out:
            out.write(data)


def _fsync_path(path: str) -> None:
    """Make a local file, or a directory's entries, durable."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _read_bytes(loc: SnapshotLocation, path: str) -> bytes | None:
    try:
        with loc.fs.open_input_stream(path, compression=None) as f:
            return f.read()
    except FileNotFoundError:
        return None
    except OSError as exc:
        if "not found" in str(exc).lower() or "does not exist" in str(exc).lower():
            return None
        raise


def table_fingerprint(table: Table) -> str:
    """What must be unchanged for a snapshot to still describe the table's data."""
    parts = {
        "columns": [
            (c.key, c.type.sql_ddl(), c.secondary, c.rapid.encoding, c.rapid.placement_key)
            for c in table.columns
        ],
        "pk": [p.lower() for p in table.primary_key],
        "attr": table.engine_attribute,
    }
    return json.dumps(parts, sort_keys=True)


def write_snapshot(
    loc: SnapshotLocation,
    loaded: LoadedTable,
    count_put: Callable[[int], None] | None = None,
    proceed: Callable[[], bool] | None = None,
) -> str | None:
    """Persist a loaded table; returns the load id now named by CURRENT.

    Args:
        proceed: called before each batch is written; may wait (persistence yields to
            loads) and returns False when the snapshot is no longer wanted, in which case
            what was written is removed and None returned (CURRENT is never touched).
    """
    table = loaded.table
    load_id = f"{int(time.time() * 1000):013d}-{uuid.uuid4().hex[:8]}"
    folder = loc.path(str(table.id), load_id)
    loc.fs.create_dir(folder, recursive=True)
    files = []
    opts = (
        _ipc_options()
        if isinstance(loc.fs, pafs.LocalFileSystem)
        else ipc.IpcWriteOptions(compression="lz4")
    )
    wanted = True
    for node, batches in enumerate(loaded.slices):
        name = f"node-{node:05d}.arrow"
        with (
            loc.fs.open_output_stream(f"{folder}/{name}") as out,
            ipc.new_file(out, loaded.schema, options=opts) as w,
        ):
            for b in batches:
                wanted = proceed is None or proceed()
                if not wanted:
                    break
                w.write_batch(b)
        if not wanted:
            loc.fs.delete_dir(folder)
            return None
        if isinstance(loc.fs, pafs.LocalFileSystem):
            # Durable before the manifest that names it is written.
            _fsync_path(f"{folder}/{name}")
        files.append({"node": node, "file": name, "rows": sum(b.num_rows for b in batches)})
        if count_put is not None:
            count_put(node)
    manifest = {
        "format": FORMAT_VERSION,
        "table": table.to_dict(),
        "fingerprint": table_fingerprint(table),
        "schema": base64.b64encode(loaded.schema.serialize().to_pybytes()).decode(),
        # "hash" marks slices placed by the order-preserving hash (older snapshots may
        # hold rows on other nodes than their key's; they still answer, unco-located).
        "placement": {
            "kind": loaded.placement_kind,
            "keys": list(loaded.placement_keys),
            "hash": PLACEMENT_HASH,
        },
        "nodes": len(loaded.slices),
        "files": files,
        "load_start": loaded.load_start,
        "load_end": loaded.load_end,
        "created": time.time(),
    }
    _atomic_write(loc, f"{folder}/manifest.json", json.dumps(manifest).encode())
    _atomic_write(loc, loc.path(str(table.id), "CURRENT"), load_id.encode())
    collect_garbage(loc, table.id, keep=load_id)
    return load_id


def collect_garbage(loc: SnapshotLocation, table_id: int, keep: str | None) -> None:
    """Remove load folders of a table that CURRENT does not name, and pointer files a
    crash left half-written."""
    base = loc.path(str(table_id))
    try:
        infos = loc.fs.get_file_info(pafs.FileSelector(base, allow_not_found=True))
    except OSError:
        return
    for info in infos:
        try:
            if info.type == pafs.FileType.Directory and info.base_name != keep:
                loc.fs.delete_dir(info.path)
            elif info.type == pafs.FileType.File and ".tmp-" in info.base_name:
                # A pointer write cut short by a crash (snapshots of a table are written
                # one at a time, so none is in progress now).
                loc.fs.delete_file(info.path)
        except OSError:
            log.warning("could not remove old snapshot %s", info.path)


def delete_snapshot(loc: SnapshotLocation, table_id: int) -> None:
    """Forget a table's snapshot: the pointer first, then the data."""
    try:
        loc.fs.delete_file(loc.path(str(table_id), "CURRENT"))
    except (FileNotFoundError, OSError):
        pass
    try:
        loc.fs.delete_dir(loc.path(str(table_id)))
    except (FileNotFoundError, OSError):
        pass


def read_snapshot(
    loc: SnapshotLocation,
    table: Table,
    placement: Placement,
    count_get: Callable[[int], None] | None = None,
) -> LoadedTable | None:
    """A table's persisted data, re-sliced if the node count changed; None when there is
    no usable snapshot (none written, table changed since, unreadable).
    """
    pointer = _read_bytes(loc, loc.path(str(table.id), "CURRENT"))
    if not pointer:
        return None
    load_id = pointer.decode().strip()
    folder = loc.path(str(table.id), load_id)
    raw = _read_bytes(loc, f"{folder}/manifest.json")
    if raw is None:
        return None
    manifest = json.loads(raw)
    if manifest.get("format") != FORMAT_VERSION or manifest.get("fingerprint") != table_fingerprint(
        table
    ):
        return None
    schema = pa.ipc.read_schema(pa.py_buffer(base64.b64decode(manifest["schema"])))
    local = isinstance(loc.fs, pafs.LocalFileSystem)
    slices: list[list[pa.RecordBatch]] = [[] for _ in range(manifest["nodes"])]
    for entry in manifest["files"]:
        path = f"{folder}/{entry['file']}"
        source = pa.memory_map(path) if local else loc.fs.open_input_file(path)
        reader = ipc.open_file(source)
        slices[entry["node"]] = [reader.get_batch(i) for i in range(reader.num_record_batches)]
        if count_get is not None:
            count_get(entry["node"])
    if len(slices) != placement.nodes:
        slices = _replace(slices, placement, schema)
    dictionaries = {}
    for f in schema:
        if pa.types.is_dictionary(f.type):
            first = next((b.column(f.name) for s in slices for b in s if b.num_rows), None)
            dictionaries[f.name] = (
                first.dictionary if first is not None else pa.array([], pa.string())
            )
    return LoadedTable(
        dictionaries=dictionaries,
        table=table,
        schema=schema,
        slices=slices,
        placement_kind=manifest["placement"]["kind"],
        placement_keys=tuple(manifest["placement"]["keys"]),
        placement_exact=manifest["placement"].get("hash") == PLACEMENT_HASH,
        load_start=manifest.get("load_start", 0.0),
        load_end=manifest.get("load_end", 0.0),
        recovery_source=loc.kind,
    )


def _replace(
    slices: list[list[pa.RecordBatch]], placement: Placement, schema: pa.Schema
) -> list[list[pa.RecordBatch]]:
    """Re-slice persisted rows for a different node count (no parsing, just placement)."""
    out: list[list[pa.RecordBatch]] = [[] for _ in range(placement.nodes)]
    placed = 0
    for s in slices:
        for b in s:
            for node, piece in placement.split(b, placed):
                out[node].append(piece)
            placed += b.num_rows
    # Each node's pieces are cut from sorted copies of the persisted batches: merged,
    # a node owns its rows instead of views into the sorted copies.
    return [compact(pieces, schema) for pieces in out]
