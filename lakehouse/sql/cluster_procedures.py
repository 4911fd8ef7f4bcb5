"""Cluster lifecycle as SQL procedures (``lakehouse cluster ...`` calls these).

::

    CALL sys.rapid_cluster_status();
    CALL sys.rapid_cluster_start();          -- or sys.rapid_cluster_start(8): change nodes
    CALL sys.rapid_cluster_stop();           -- free memory, keep persisted data
    CALL sys.rapid_cluster_restart();
    CALL sys.rapid_cluster_delete();         -- also drop persisted data (never the catalog)
    CALL sys.rapid_cluster_estimate(JSON_ARRAY('tpch', 'shop.orders'));

HeatWave manages clusters from its cloud console; these procedures are this project's
equivalent for a local cluster.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pyarrow as pa

from lakehouse.catalog.model import Table
from lakehouse.cluster.estimate import estimate_table, recommended_nodes
from lakehouse.config import MAX_NODES
from lakehouse.errors import UnknownDatabaseError, UnknownTableError, WrongArgumentsError
from lakehouse.sql.metadata import is_mysql_table
from lakehouse.sql.procedures import procedure
from lakehouse.sql.result import Result

if TYPE_CHECKING:
    from lakehouse.sql.session import Session


def status_result(session: Session, message: str) -> Result:
    """One row: whether the cluster runs, its nodes and memory, its tables, and ``message``
    (what the procedure did, for people reading ``lakehouse cluster`` output)."""
    engine = session.engine
    manager = engine.clusters
    cluster = engine.cluster
    states = cluster.states()
    loaded = [s for s in states if s.loaded is not None]
    persisted = [
        s for s in loaded if s.loaded is not None and s.loaded.persisted_scn == s.loaded.scn
    ]
    row = (
        "ON" if manager.running else "OFF",
        len(cluster.nodes),
        cluster.nodes[0].capacity if cluster.nodes else 0,
        cluster.memory_used,
        cluster.memory_total,
        len(loaded),
        len(persisted),
        len(manager.loaded_table_ids()),
        message,
    )
    names = [
        "STATUS",
        "NODES",
        "NODE_MEMORY_BYTES",
        "MEMORY_USED_BYTES",
        "MEMORY_TOTAL_BYTES",
        "TABLES_LOADED",
        "TABLES_PERSISTED",
        "TABLES_TO_RECOVER",
        "MESSAGE",
    ]
    types = [pa.string()] + [pa.int64()] * 7 + [pa.string()]
    return Result.from_rows(names, [row], types)


STOPPED = "The HeatWave cluster is stopped; start it with CALL sys.rapid_cluster_start()"


@procedure("sys.rapid_cluster_status")
def _status(session: Session, args: list[Any]) -> Result:
    running = session.engine.clusters.running
    return status_result(session, "The HeatWave cluster is running" if running else STOPPED)


@procedure("sys.rapid_cluster_start")
def _start(session: Session, args: list[Any]) -> Result:
    nodes = None
    if args and args[0] is not None:
        nodes = _node_count(args[0])
    if not session.engine.clusters.start(nodes=nodes):
        # Not an error: the caller wants a running cluster and has one.
        return status_result(session, "The HeatWave cluster is already running; nothing to do")
    return status_result(session, "The HeatWave cluster started; loaded tables recovered")


@procedure("sys.rapid_cluster_stop")
def _stop(session: Session, args: list[Any]) -> Result:
    session.engine.clusters.stop()
    return status_result(session, STOPPED)


@procedure("sys.rapid_cluster_restart")
def _restart(session: Session, args: list[Any]) -> Result:
    session.engine.clusters.stop()
    session.engine.clusters.start()
    return status_result(session, "The HeatWave cluster restarted; loaded tables recovered")


@procedure("sys.rapid_cluster_delete")
def _delete(session: Session, args: list[Any]) -> Result:
    session.engine.clusters.delete()
    return status_result(
        session,
        "Persisted data deleted and the HeatWave cluster stopped; the catalog is kept. "
        "Start it with CALL sys.rapid_cluster_start() and load tables again",
    )


def _node_count(value: Any) -> int:
    """The argument as a number; ClusterManager.start checks its range."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise WrongArgumentsError(f"Node count must be a number from 1 to {MAX_NODES}") from None


def _targets(session: Session, spec: Any) -> list[Table]:
    catalog = session.engine.metadata
    if spec is None:
        names: list[str] = [d.name for d in catalog.list_databases()]
    elif isinstance(spec, str):
        import json

        try:
            parsed = json.loads(spec)
            names = parsed if isinstance(parsed, list) else [str(parsed)]
        except ValueError:
            names = [p.strip() for p in spec.split(",") if p.strip()]
    elif isinstance(spec, list):
        names = [str(x) for x in spec]
    else:
        raise WrongArgumentsError("Give schemas and tables as JSON_ARRAY('db', 'db.table')")
    tables: list[Table] = []
    for name in names:
        if "." in name:
            db, t = name.split(".", 1)
            table = catalog.get_table(db, t)
            if table is None or table.is_view:
                raise UnknownTableError(db, t)
            tables.append(table)
        else:
            if catalog.get_database(name) is None:
                raise UnknownDatabaseError(name)
            # Lakehouse tables, and the MySQL tables marked for the secondary engine.
            tables.extend(
                t
                for t in catalog.list_tables(name)
                if t.is_external or (is_mysql_table(t) and t.secondary_engine is not None)
            )
    return tables


@procedure("sys.rapid_cluster_estimate")
def _estimate(session: Session, args: list[Any]) -> Result:
    """Per table: rows, columns to load, VARLEN columns, memory on the cluster as it is
    configured and how that was found (BASIS: MEASURED, SAMPLED or MYSQL_SAMPLED); then
    a total row with the nodes recommended for the configured node memory."""
    engine = session.engine
    tables = _targets(session, args[0] if args else None)
    backend = engine.backend

    def sample_mysql(table: Table, limit: int) -> tuple[pa.Table, int]:
        # The first rows (a load reads them through the same connector) and MySQL's
        # row statistics, which ANALYZE TABLE refreshes.
        assert backend is not None
        columns = [c.name for c in table.loadable_columns()]
        sql = backend.select_sql(table.database, table.name, columns, limit=limit)
        data = backend.read_arrow(sql, table.database)
        return data, engine.metadata.rows_estimate(table.database, table.name)

    rows: list[tuple[Any, ...]] = []
    total = spread = dictionaries = 0
    for t in tables:
        e = estimate_table(
            t, engine.stores, engine.cluster, sample_mysql if backend is not None else None
        )
        total += e.memory_bytes
        spread += e.spread_bytes
        dictionaries += e.dictionary_bytes
        rows.append(
            (
                e.database,
                e.name,
                e.rows,
                e.columns,
                e.varlen_columns,
                e.memory_bytes,
                e.basis,
                None,
            )
        )
    capacity = engine.cluster.nodes[0].capacity if engine.cluster.nodes else 1
    rows.append(
        (
            None,
            "(total)",
            sum(r[2] for r in rows),
            None,
            None,
            total,
            None,
            recommended_nodes(spread, capacity, dictionaries),
        )
    )
    names = [
        "SCHEMA_NAME",
        "TABLE_NAME",
        "ROWS",
        "COLUMNS_TO_LOAD",
        "VARLEN_COLUMNS",
        "ESTIMATED_MEMORY_BYTES",
        "BASIS",
        "RECOMMENDED_NODES",
    ]
    types = [
        pa.string(),
        pa.string(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.int64(),
        pa.string(),
        pa.int64(),
    ]
    return Result.from_rows(names, rows, types)
