"""Plans of queries run again, reused while nothing they were made from has changed.

Dashboards and reports send the same SELECT text over and over; resolving its tables,
the rewrites and the translation to DataFusion SQL take 2-7 ms of Python each time (TPC-H:
83 ms for the 22 queries), the same work with the same answer. A plan is kept here, by
the statement's text, the session's current database and the values of every variable
the session sees, and used again while

- the catalog has not changed since it was made (``Catalog.generation``: any DDL, a view
  redefined, a table renamed), and
- every table it reads is still loaded as the *same* load (the same ``LoadedTable``
  object: a reload, an unload, a cluster restart or a recovery all make a new one).

Only plans that are a pure function of those are kept: every table read is a loaded
lakehouse table (not a MySQL table, whose state changes with its binlog, nor a file
scanned in place, whose listing can change, nor a system table built when the query
is planned), nothing is sent to or fetched from MySQL, nothing is computed first (IN
lists, materialized views: those have per-query names), and no variable or information
function was substituted into the text. Anything else is planned every time, as before.

The cache is emptied whenever a table is loaded or unloaded, so an unloaded table's data
is not held in memory by a plan that names it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from lakehouse.catalog.model import key
from lakehouse.sql.metadata import is_mysql_table

if TYPE_CHECKING:
    from lakehouse.sql.plan import QueryPlan
    from lakehouse.sql.session import Session

SIZE = 256


class PlanCache:
    """The engine's reusable plans (thread-safe; least recently used dropped first)."""

    def __init__(self, size: int = SIZE) -> None:
        self.size = size
        self._lock = threading.Lock()
        # key -> (catalog generation, [(database, name, LoadedTable)], plan)
        self._plans: OrderedDict[tuple[Any, ...], tuple[int, list[Any], QueryPlan]] = OrderedDict()
        self.hits = 0

    def key(self, session: Session, text: str) -> tuple[Any, ...]:
        return (
            text,
            session.database,
            tuple(session.variables.items()),
            session.engine.target_partitions,
        )

    def get(self, session: Session, key: tuple[Any, ...]) -> QueryPlan | None:
        """The plan kept under ``key`` if it is still valid (an invalid one is dropped)."""
        with self._lock:
            entry = self._plans.get(key)
            if entry is None:
                return None
            generation, loaded, plan = entry
            cluster = session.engine.cluster
            if generation != session.engine.catalog.generation or any(
                cluster.loaded(db, name) is not lt for db, name, lt in loaded
            ):
                del self._plans[key]
                return None
            self._plans.move_to_end(key)
            self.hits += 1
            return plan

    def put(self, key: tuple[Any, ...], generation: int, plan: QueryPlan) -> None:
        """Keep ``plan`` (made from the catalog at ``generation``) if it can be reused."""
        loaded = reusable_loads(plan)
        if loaded is None:
            return
        with self._lock:
            self._plans[key] = (generation, loaded, plan)
            self._plans.move_to_end(key)
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def clear(self, *_: Any) -> None:
        with self._lock:
            self._plans.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._plans)


def reusable_loads(plan: QueryPlan) -> list[Any] | None:
    """The loads a plan reads, as (database, name, LoadedTable), when the plan depends on
    nothing else (see the module's notes); otherwise None."""
    if (
        plan.fetch is not None
        or plan.mysql_reads
        or plan.reads_system
        or plan.reads_unloaded
        or plan.not_offloaded
        or not plan.tables
        or any(r.kind != "loaded" for r in plan.registrations)
    ):
        return None
    loaded = {(key(db), key(name)) for db, name, _ in plan.loads}
    if any(is_mysql_table(t) or t.key not in loaded for t in plan.tables):
        return None
    return list(plan.loads)
