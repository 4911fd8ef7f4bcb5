"""The lines ``EXPLAIN FORMAT=TREE`` prints above DataFusion's plan: where the query runs
and, for each table, where its rows come from - node slices and their placement for a
loaded table, the objects of an in-place scan, the exact SQL sent to MySQL for a live read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lakehouse.sql.plan import QueryPlan

if TYPE_CHECKING:
    from lakehouse.sql.engine import Engine

MAX_SQL_CHARS = 4000


def describe_tables(plan: QueryPlan, engine: Engine, offloaded: bool) -> list[str]:
    """One header line for the query, then a line (or two) per table read."""
    cluster = engine.cluster
    lines = []
    if offloaded:
        lines.append(f"-> Secondary engine RAPID ({len(cluster.nodes)} nodes)")
    for j in plan.colocated:
        on = " AND ".join(f"{a} = {b}" for a, b in j.keys)
        within = (
            f"; {', '.join(j.with_tables)} joined within each group first, with their filters"
            if j.with_tables
            else ""
        )
        lines.append(
            f"-> node-local join of {j.left} and {j.right} on their placement keys ({on}): "
            f"{len(cluster.nodes)} nodes in {j.groups} groups, no repartitioning{within}"
        )
    for reg in plan.registrations:
        table = reg.table
        if table is None:
            continue
        name = table.qualified_name
        if reg.kind == "loaded":
            loaded = cluster.loaded(table.database, table.name)
            if loaded is None:
                continue
            keys = ", ".join(loaded.placement_keys)
            used = sum(1 for s in loaded.slices if any(b.num_rows for b in s))
            lines.append(
                f"-> {name}: loaded, {loaded.nrows} rows in {used} of {len(loaded.slices)} "
                f"node slices, placement {loaded.placement_kind}" + (f" ({keys})" if keys else "")
            )
        elif reg.kind == "scan" and reg.scan is not None:
            n = len(reg.scan.locations)
            lines.append(
                f"-> {name}: not loaded, scanned in place ({reg.scan.format}, "
                f"{n} object{'s' if n != 1 else ''})"
            )
        elif reg.kind == "memory":
            lines.append(f"-> {name}: not loaded, read from its files for this query")
        elif reg.kind == "mysql" and reg.mysql is not None:
            read = reg.mysql
            how = (
                f"{read.partitions} connections split by primary key"
                if read.partitions > 1
                else "1 connection"
            )
            extra = f", dynamic filter: {read.dynamic}" if read.dynamic else ""
            rows = f", {read.rows} rows" if read.rows is not None else ""
            lines.append(f"-> {read.label}: read live from MySQL ({how}{extra}{rows})")
            sql = read.sql or read.base_sql()
            if len(sql) > MAX_SQL_CHARS:
                sql = sql[:MAX_SQL_CHARS] + f"... ({len(sql)} characters)"
            lines.append(f"     MySQL: {sql}")
    return lines
