"""The cluster's life: loads and unloads, persistence, recovery, stop/start/delete.

:class:`ClusterManager` is what SQL statements and procedures call. It owns the
:class:`~lakehouse.cluster.cluster.Cluster` (nodes and loaded data) and the storage
layer (:mod:`lakehouse.cluster.snapshot`):

- ``load`` reads a table's files into node slices, swaps them in, then persists the
  slices in the background, pausing while other loads read (``rpd_tables.PERSISTED_SCN``
  catches up with ``SNAPSHOT_SCN`` when done).
- the set of loaded tables is kept in the catalog, so a restarted server recovers them
  from their snapshots (in the background; a query on a recovering table waits for it).
  Without a usable snapshot a table is reloaded from its files.
- ``stop`` refuses new loads, waits for running ones and for recovery, then frees all
  node memory and keeps snapshots (the nodes stay listed as down); ``start`` recovers
  (a no-op on a running cluster); ``delete`` also removes the snapshots, never the
  catalog or the source files.
"""

from __future__ import annotations

import logging
import os
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pyarrow as pa
import pyarrow.fs as pafs

from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.catalog.model import Table
from lakehouse.catalog.store import Catalog
from lakehouse.cluster import snapshot as snap
from lakehouse.cluster.cluster import NODE_DOWN, Cluster, LoadedTable, LoadStatus
from lakehouse.cluster.hugepages import without_huge_pages
from lakehouse.cluster.loader import (
    ProgressCallback,
    arrow_batches,
    load_arrow_table,
    load_lakehouse_table,
    placement_for,
)
from lakehouse.config import MAX_NODES
from lakehouse.errors import LakehouseError, SecondaryEngineError, WrongArgumentsError
from lakehouse.storage import StoreResolver

log = logging.getLogger(__name__)

META_LOADED = "rapid_loaded_tables"
META_INSTANCE = "instance_id"
META_NODES = "rapid_nodes"
META_LOCATIONS = "rapid_snapshot_locations"
RECOVERY_WAIT_SECONDS = 600


class ClusterManager:
    """Loads, persistence, recovery and lifecycle of the simulated HeatWave cluster.

    Args:
        catalog: where table definitions and the loaded-table set live.
        stores: object stores (sources, and snapshot storage for S3 tables).
        nodes: node count.
        node_capacity: bytes per node.
        data_dir: local snapshot location (None: no local persistence).
        snapshot_storage: ``auto`` (object storage for S3 tables, else data dir),
            ``local`` (always the data dir) or ``off``.
        node_capacity_for: bytes per node for a node count, when the node memory is
            derived from the machine; None when it was set explicitly (a node then
            keeps its size whatever the node count, as a HeatWave node shape does).
    """

    def __init__(
        self,
        catalog: Catalog,
        stores: StoreResolver,
        nodes: int,
        node_capacity: int,
        data_dir: Path | None,
        snapshot_storage: str = "auto",
        node_capacity_for: Callable[[int], int] | None = None,
    ) -> None:
        self.catalog = catalog
        self.stores = stores
        self.node_capacity = node_capacity
        self._capacity_for = node_capacity_for
        self.data_dir = data_dir
        self.snapshot_storage = snapshot_storage if data_dir is not None else "off"
        stored_nodes = catalog.get_meta(META_NODES)
        self.cluster = Cluster(nodes, node_capacity)
        self.running = True
        self._persist_pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="persist")
        # Snapshots are written while no load is reading: a bulk load of many tables is
        # not slowed by the persistence of the ones before (it costs as much CPU and
        # fresh memory as the reading; measured: .tbl SF1 from S3 9.7 s -> 7.5 s).
        self._loads_running = 0
        self._loads_done = threading.Condition()
        # Loads between their running check and their swap-in: stop waits for them, so
        # no load finishes into a stopped cluster.
        self._loads_admitted = 0
        # One stop/start/delete at a time.
        self._lifecycle = threading.Lock()
        self._recovery: dict[tuple[str, str], threading.Event] = {}
        self._lock = threading.RLock()
        self.scn = 1
        # Called with a table id whenever its loaded data changes or goes away.
        self.listeners: list[Callable[[int], None]] = []
        # Reads a MySQL table for a load: (Arrow rows, binlog position); set by the engine.
        self.mysql_reader: Callable[[Table], tuple[pa.Table, tuple[str, int] | None]] | None = None
        if catalog.get_meta(META_INSTANCE) is None:
            catalog.set_meta(META_INSTANCE, uuid.uuid4().hex[:12])
        if stored_nodes != nodes:
            catalog.set_meta(META_NODES, nodes)

    # ------------------------------------------------------------- locations
    def _local_location(self) -> snap.SnapshotLocation | None:
        if self.data_dir is None:
            return None
        base = (self.data_dir / "rapid").resolve()
        base.mkdir(parents=True, exist_ok=True)
        return snap.SnapshotLocation(
            pafs.LocalFileSystem(), str(base), snap.SOURCE_LOCAL, str(base)
        )

    def location_for(self, table: Table) -> snap.SnapshotLocation | None:
        """Where a table's snapshot goes: beside its S3 data, or the data dir."""
        if self.snapshot_storage == "off":
            return None
        if self.snapshot_storage == "auto" and table.engine_attribute:
            try:
                entry = parse_engine_attribute(table.engine_attribute).files[0]
            except LakehouseError:
                entry = None
            if (
                entry is not None
                and not entry.par
                and not (entry.uri or "").startswith(("file:", "http"))
            ):
                bucket = entry.bucket or (entry.uri or "").split("://", 1)[-1].split("/", 1)[0]
                store = self.stores.store_for(entry)
                instance = self.catalog.get_meta(META_INSTANCE)
                base = f"{bucket}/.lakehouse-rapid/{instance}"
                return snap.SnapshotLocation(
                    store.filesystem(), base, snap.SOURCE_OBJECT_STORAGE, f"s3://{base}"
                )
        return self._local_location()

    # ------------------------------------------------------------------ load
    def next_scn(self) -> int:
        with self._lock:
            self.scn += 1
            return self.scn

    def load(self, table: Table, progress: ProgressCallback | None = None) -> LoadedTable:
        """SECONDARY_LOAD: read, swap in, persist in the background.

        Raises:
            SecondaryEngineError: the cluster is stopped.
            LoadError, ObjectStoreError: reading failed; the previous state is kept.
        """
        with self._admitted():
            state = self.cluster.begin_load(table)

            def on_progress(done: int, total: int) -> None:
                state.progress = 100.0 * done / max(total, 1)
                if progress is not None:
                    progress(done, total)

            try:
                with self.loading():
                    loaded = self._read(table, on_progress)
            except BaseException:
                self.cluster.fail_load(table)
                raise
            loaded.scn = self.next_scn()
            self.cluster.finish_load(table, loaded)
            self._changed(table)
            self._remember(table, True)
            self._persist_later(table, loaded)
        return loaded

    @contextmanager
    def _admitted(self) -> Iterator[None]:
        """A load from its running check to its swap-in (see :meth:`stop`)."""
        with self._loads_done:
            self.require_running()
            self._loads_admitted += 1
        try:
            yield
        finally:
            with self._loads_done:
                self._loads_admitted -= 1
                self._loads_done.notify_all()

    @contextmanager
    def loading(self) -> Iterator[None]:
        """A load is reading: snapshots wait, huge pages are off (see hugepages)."""
        with self._loads_done:
            self._loads_running += 1
        try:
            with without_huge_pages():
                yield
        finally:
            with self._loads_done:
                self._loads_running -= 1
                self._loads_done.notify_all()

    def _read(self, table: Table, progress: ProgressCallback | None) -> LoadedTable:
        """A table's rows in node slices: from its files, or from MySQL."""
        if table.engine_attribute is None and not table.is_external:
            if self.mysql_reader is None:
                raise SecondaryEngineError(
                    f"{table.qualified_name} is a MySQL table and no MySQL server is configured"
                )
            data, position = self.mysql_reader(table)
            rows, batches = data.num_rows, arrow_batches(data)
            del data  # let go batch by batch as the rows are placed
            loaded = load_arrow_table(
                table, batches, rows, self.cluster, f"MySQL table {table.qualified_name}", progress
            )
            loaded.mysql_position = position
            return loaded
        source = parse_engine_attribute(table.engine_attribute)
        return load_lakehouse_table(table, source, self.stores, self.cluster, progress)

    def unload(self, table: Table) -> bool:
        """SECONDARY_UNLOAD: free memory and forget the snapshot."""
        was = self.cluster.unload(table)
        self._changed(table)
        self._remember(table, False)
        self._drop_snapshot(table)
        return was

    def forget(self, table: Table) -> None:
        """DROP TABLE: as unload, and drop the table's state."""
        self.cluster.forget(table)
        self._changed(table)
        self._remember(table, False)
        self._drop_snapshot(table)

    def _changed(self, table: Table) -> None:
        for listener in self.listeners:
            listener(table.id)

    def _persist_later(self, table: Table, loaded: LoadedTable) -> None:
        loc = self.location_for(table)
        if loc is None:
            return

        def current() -> bool:
            return self.cluster.state(table).loaded is loaded

        def proceed() -> bool:
            # Yield to loads (their reading is what users wait for), and give up if the
            # table was replaced or unloaded meanwhile.
            with self._loads_done:
                self._loads_done.wait_for(lambda: self._loads_running == 0)
            return current()

        def unloaded_meanwhile() -> bool:
            # An unload removes the table's snapshots as the writer may still be writing
            # (its folder vanishes under it, or its CURRENT lands after the removal):
            # what was written is not wanted, and is removed again.
            if self.cluster.state(table).loaded is not None:
                return False
            self._drop_snapshot(table)
            return True

        def persist() -> None:
            _background_priority()
            if not proceed():
                return
            try:
                if snap.write_snapshot(loc, loaded, self._count_put, proceed) is None:
                    return
            except Exception as exc:  # storage trouble must never break the server
                if not current():
                    unloaded_meanwhile()
                    return  # replaced or unloaded while written: nothing was wanted
                fallback = self._local_location()
                if fallback is None or loc.kind == snap.SOURCE_LOCAL:
                    log.warning("could not persist %s: %s", table.qualified_name, exc)
                    return
                log.warning(
                    "could not persist %s to %s (%s); using the data dir",
                    table.qualified_name,
                    loc.url,
                    exc,
                )
                if snap.write_snapshot(fallback, loaded, self._count_put, proceed) is None:
                    return
            if unloaded_meanwhile():
                return
            loaded.persisted_scn = loaded.scn

        self._persist_pool.submit(persist)

    def flush(self, timeout: float = 300) -> None:
        """Wait until snapshots queued so far are written (tests, shutdown)."""
        self._persist_pool.submit(lambda: None).result(timeout=timeout)

    def _count_put(self, node: int) -> None:
        if node < len(self.cluster.nodes):
            self.cluster.nodes[node].objstore_puts += 1

    def _count_get(self, node: int) -> None:
        if node < len(self.cluster.nodes):
            self.cluster.nodes[node].objstore_gets += 1

    def _drop_snapshot(self, table: Table) -> None:
        locations = [self.location_for(table), self._local_location()]
        seen: set[str] = set()
        for loc in locations:
            if loc is not None and loc.url not in seen:
                seen.add(loc.url)
                try:
                    snap.delete_snapshot(loc, table.id)
                except OSError as exc:
                    log.warning("could not delete snapshot of %s: %s", table.qualified_name, exc)

    def _record_location(self, table: Table, kind: str) -> None:
        """Remember where a table's snapshot went, so recovery looks there first."""
        with self._lock:
            where = dict(self.catalog.get_meta(META_LOCATIONS) or {})
            if where.get(str(table.id)) != kind:
                where[str(table.id)] = kind
                self.catalog.set_meta(META_LOCATIONS, where)

    def _recorded_location(self, table: Table) -> str | None:
        return (self.catalog.get_meta(META_LOCATIONS) or {}).get(str(table.id))

    def _remember(self, table: Table, loaded: bool) -> None:
        with self._lock:
            ids = set(self.catalog.get_meta(META_LOADED) or [])
            if loaded:
                ids.add(table.id)
            else:
                ids.discard(table.id)
            self.catalog.set_meta(META_LOADED, sorted(ids))

    # -------------------------------------------------------------- recovery
    def loaded_table_ids(self) -> list[int]:
        return list(self.catalog.get_meta(META_LOADED) or [])

    def _tables_by_id(self) -> dict[int, Table]:
        return {
            t.id: t
            for db in self.catalog.list_databases()
            for t in self.catalog.list_tables(db.name)
        }

    def recover_all(self, background: bool = True) -> None:
        """Bring back every table that was loaded, from snapshots (else from files)."""
        tables = self._tables_by_id()
        todo = [tables[i] for i in self.loaded_table_ids() if i in tables]
        for t in todo:
            with self._lock:
                self._recovery[t.key] = threading.Event()
            st = self.cluster.state(t)
            st.status = LoadStatus.INRECOVERY
        if background:
            threading.Thread(
                target=self._recover, args=(todo,), name="recovery", daemon=True
            ).start()
        else:
            self._recover(todo)

    def _recover(self, tables: list[Table]) -> None:
        for t in tables:
            st = self.cluster.state(t)
            started = time.time()
            st.recovery_start = started
            try:
                with without_huge_pages():
                    loaded = self._recover_one(t)
                if loaded is not None:
                    loaded.scn = loaded.persisted_scn = self.next_scn()
                    self.cluster.finish_load(t, loaded)
                else:
                    st.status = LoadStatus.RECOVERYFAILED
            except Exception as exc:  # one bad table must not stop the others
                log.warning("recovery of %s failed: %s", t.qualified_name, exc)
                self.cluster.fail_load(t)
                st.status = LoadStatus.RECOVERYFAILED
            finally:
                st.recovery_end = time.time()
                with self._lock:
                    ev = self._recovery.pop(t.key, None)
                if ev is not None:
                    ev.set()

    def _recover_one(self, table: Table) -> LoadedTable | None:
        placement = placement_for(table, len(self.cluster.nodes))
        recorded = self._recorded_location(table)
        candidates = [self.location_for(table), self._local_location()]
        if recorded == snap.SOURCE_LOCAL:
            # Written to the data dir: do not go knocking on object storage first.
            candidates = [self._local_location()]
        for loc in candidates:
            if loc is None:
                continue
            try:
                loaded = snap.read_snapshot(loc, table, placement, count_get=self._count_get)
            except Exception as exc:  # unreadable snapshot: try the next place
                log.warning(
                    "snapshot of %s at %s unreadable: %s", table.qualified_name, loc.url, exc
                )
                continue
            if loaded is not None:
                self.cluster.check_capacity(table.qualified_name, loaded.node_bytes(), None)
                return loaded
        # No snapshot: reload from the sources (files, or MySQL), as HeatWave does.
        loaded = self._read(table, None)
        loaded.recovery_source = snap.SOURCE_FILES if table.is_external else "MySQL"
        self._persist_later(table, loaded)
        return loaded

    def wait_recovered(self, table: Table, timeout: float = RECOVERY_WAIT_SECONDS) -> None:
        """Block a query until its table has finished recovering."""
        with self._lock:
            ev = self._recovery.get(table.key)
        if ev is not None and not ev.wait(timeout):
            raise SecondaryEngineError(
                f"Table {table.qualified_name} is still being recovered; try again"
            )

    # ------------------------------------------------------------- lifecycle
    def require_running(self) -> None:
        if not self.running:
            raise SecondaryEngineError(
                "Secondary engine operation failed. The HeatWave cluster is stopped; "
                "start it with CALL sys.rapid_cluster_start() or `lakehouse cluster start`"
            )

    def stop(self) -> None:
        """Free every node's memory; snapshots and the loaded-table set are kept.

        New loads are refused at once; loads already running and a recovery in progress
        are waited for (and persisted), so none of them finishes into a stopped cluster.
        """
        with self._lifecycle:
            self._stop()

    def _stop(self) -> None:
        with self._loads_done:
            self.running = False
            self._loads_done.wait_for(lambda: self._loads_admitted == 0)
        with self._lock:
            recovering = list(self._recovery.values())
        for ev in recovering:
            ev.wait()
        self.flush()
        for st in self.cluster.states():
            if st.loaded is not None:
                table = st.loaded.table
                self.cluster.unload(table)
                self._changed(table)
        for node in self.cluster.nodes:
            node.status = NODE_DOWN

    def start(self, nodes: int | None = None, background: bool = False) -> bool:
        """Start, recovering the loaded tables; the node count may change when stopped.

        Args:
            nodes: the new node count (None: as before).
            background: recover in a background thread (a query on a table waits for it).

        Returns:
            False when the cluster was already running (nothing was done).

        Raises:
            WrongArgumentsError: ``nodes`` is not from 1 to 512.
            SecondaryEngineError: a different node count while the cluster runs.
        """
        if nodes is not None and not 1 <= nodes <= MAX_NODES:
            raise WrongArgumentsError(f"Node count must be from 1 to {MAX_NODES}, not {nodes}")
        with self._lifecycle:
            current = len(self.cluster.nodes)
            if self.running:
                if nodes is not None and nodes != current:
                    raise SecondaryEngineError(
                        f"The HeatWave cluster is running with {current} nodes; the node "
                        "count can change only while the cluster is stopped: run CALL "
                        f"sys.rapid_cluster_stop(), then CALL sys.rapid_cluster_start({nodes})"
                    )
                # Recovering again would read every snapshot while the loaded copies
                # still hold their memory (and could mark healthy tables failed).
                return False
            n = nodes or current
            if n != current and self._capacity_for is not None:
                self.node_capacity = self._capacity_for(n)
            self.cluster = Cluster(n, self.node_capacity)
            self.catalog.set_meta(META_NODES, n)
            self.running = True
            self.recover_all(background=background)
            return True

    def delete(self) -> None:
        """Stop and remove all persisted data; the catalog and sources are untouched."""
        tables = self._tables_by_id()
        with self._lifecycle:
            self._stop()
            for tid in self.loaded_table_ids():
                t = tables.get(tid)
                if t is not None:
                    self._drop_snapshot(t)
            self.catalog.set_meta(META_LOADED, [])

    def close(self) -> None:
        self._persist_pool.shutdown(wait=True)


def _background_priority() -> None:
    """Lower the calling thread's CPU priority (Linux: threads have their own nice
    value): snapshots are written behind loads and queries, never ahead of them."""
    try:
        os.setpriority(os.PRIO_PROCESS, threading.get_native_id(), 10)
    except (AttributeError, OSError):  # not Linux, or not allowed: same priority
        pass
