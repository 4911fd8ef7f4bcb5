"""Plans of queries run again, reused while nothing they were made from has changed.

Dashboards and reports send the same SELECT text over and over; resolving its tables,
the rewrites and the translation to DataFusion SQL take 2-7 ms of Python each time (TPC-H:
83 ms for the 22 queries), the same work with the same answer. A plan is kept here, by
the statement's text, the session's current database and the values of every variable
the session sees, and used again while

- the catalog has not changed since it was made (``Catalog.generation``: any DDL, a view
  redefined, a table renamed), and
- every table it reads is still loaded as the *same* load (the same ``LoadedTable``
  object: a reload, an unload, a cluster restart or a recovery all make a new one), and
- every table it scans in place still lists the same objects in the same versions (they
  are listed again, one request per object as planning makes, all the plan's tables at
  once: objects read from local copies named by their version are the same content when
  the copies are the same; other files have their scan planned again and compared. The
  plan is reused, the objects' state is not). The listing runs while the kept plan is
  already started (DataFusion plans and begins it); its rows are read only once the
  objects are known unchanged, else it is dropped unread and the query planned again.
  TPC-H over S3 (SeaweedFS, HEADs of 0.5-2 ms): Python's share of a query besides
  DataFusion's work 5-6 -> 3-4 ms; on AWS, where a HEAD takes tens of ms, more.

Only plans that depend on nothing else are kept: no MySQL table (its state changes with
its binlog), no system table (built when the query is planned), nothing sent to or
fetched from MySQL, nothing computed first (IN lists, materialized views: those have
per-query names), no variable or information function substituted into the text.
Anything else is planned every time, as before.

The cache is emptied whenever a table is loaded or unloaded, so an unloaded table's data
is not held in memory by a plan that names it.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from lakehouse.catalog.attributes import parse_engine_attribute
from lakehouse.catalog.model import Table, key
from lakehouse.formats.scan import ScanSpec, scan_unchanged
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
        self._plans: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.hits = 0

    def key(self, session: Session, text: str) -> tuple[Any, ...]:
        return (text, session.database, tuple(session.variables.items()))

    def get_pending(
        self, session: Session, key: tuple[Any, ...]
    ) -> tuple[QueryPlan, Future[bool] | None] | None:
        """The plan kept under ``key`` if what it read is still in place, and, when it
        scans objects in place, the check that they are unchanged, started (it lists the
        objects: over S3 a HEAD each, 0.5-2 ms here and tens on AWS). The caller may
        start the plan meanwhile but uses none of its rows unless the check says True,
        then calls :meth:`confirm`; on False it calls :meth:`drop` and plans again. The
        check raises what listing the objects raises (an object gone)."""
        with self._lock:
            entry = self._plans.get(key)
        if entry is None:
            return None
        if not entry.valid(session):
            self.drop(key, entry.plan)
            return None
        pending = None
        if entry.scans:
            pending = _pool("plan-check").submit(entry.scans_unchanged, session)
        with self._lock:
            if key in self._plans:
                self._plans.move_to_end(key)
            if pending is None:
                self.hits += 1
        return entry.plan, pending

    def confirm(self) -> None:
        """A plan from :meth:`get_pending` was used: its check said unchanged."""
        with self._lock:
            self.hits += 1

    def drop(self, key: tuple[Any, ...], plan: QueryPlan) -> None:
        """Forget the plan kept under ``key`` if it is still ``plan``."""
        with self._lock:
            entry = self._plans.get(key)
            if entry is not None and entry.plan is plan:
                del self._plans[key]

    def put(self, key: tuple[Any, ...], generation: int, plan: QueryPlan) -> None:
        """Keep ``plan`` (made from the catalog at ``generation``) if it can be reused."""
        entry = _Entry.of(plan, generation)
        if entry is None:
            return
        with self._lock:
            self._plans[key] = entry
            self._plans.move_to_end(key)
            while len(self._plans) > self.size:
                self._plans.popitem(last=False)

    def clear(self, *_: Any) -> None:
        with self._lock:
            self._plans.clear()

    def __len__(self) -> int:
        with self._lock:
            return len(self._plans)


@dataclass
class _Entry:
    plan: QueryPlan
    generation: int  # of the catalog the plan was made from
    loads: list[tuple[str, str, Any]]  # (database, name, LoadedTable) read
    scans: list[tuple[Table, ScanSpec]]  # (table, scan) scanned in place

    @classmethod
    def of(cls, plan: QueryPlan, generation: int) -> _Entry | None:
        """The entry for a plan that depends on nothing but the catalog, its loads and
        its scans' objects (see the module's notes); None for any other."""
        if (
            plan.fetch is not None
            or plan.mysql_reads
            or plan.reads_system
            or plan.not_offloaded
            or not plan.tables
            or any(r.kind not in ("loaded", "scan") for r in plan.registrations)
        ):
            return None
        scans = []
        for r in plan.registrations:
            if r.kind == "scan":
                if r.table is None or r.scan is None:
                    return None
                scans.append((r.table, r.scan))
        read = {(key(db), key(name)) for db, name, _ in plan.loads}
        read |= {t.key for t, _ in scans}
        if any(is_mysql_table(t) or t.key not in read for t in plan.tables):
            return None
        return cls(plan, generation, list(plan.loads), scans)

    def valid(self, session: Session) -> bool:
        engine = session.engine
        if self.generation != engine.catalog.generation:
            return False
        cluster = engine.cluster
        if any(cluster.loaded(db, name) is not lt for db, name, lt in self.loads):
            return False
        for table, _ in self.scans:
            engine.clusters.wait_recovered(table)
            if cluster.loaded(table.database, table.name) is not None:
                return False  # loaded since: read the load
        return True

    def scans_unchanged(self, session: Session) -> bool:
        """Whether every object scanned in place is still the one the plan was made for."""
        engine = session.engine

        def unchanged(item: tuple[Table, ScanSpec]) -> bool:
            table, scan = item
            source = parse_engine_attribute(table.engine_attribute)
            return scan_unchanged(table, source, engine.stores, scan)

        # The objects are listed again, as planning would, every table at once (S3: a
        # HEAD each, waited for together; TPC-H Q5 and Q8 over S3: 8.8 -> 3.3 ms a query).
        # The first object here, the others at the same time on the objects' pool.
        if len(self.scans) == 1:
            return unchanged(self.scans[0])
        rest = [_pool("object-check").submit(unchanged, item) for item in self.scans[1:]]
        first = unchanged(self.scans[0])
        return all([first] + [f.result() for f in rest])


_POOLS: dict[str, ThreadPoolExecutor] = {}
_POOL_LOCK = threading.Lock()


def _pool(name: str) -> ThreadPoolExecutor:
    """The plans' checks run on one pool and the objects' listings they wait for on
    another, so a check never waits for a thread its own kind holds."""
    with _POOL_LOCK:
        if name not in _POOLS:
            _POOLS[name] = ThreadPoolExecutor(8, thread_name_prefix=name)
        return _POOLS[name]
