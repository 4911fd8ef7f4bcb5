"""What databases and tables exist: the catalog's lakehouse tables and, when federating,
the MySQL server's own, in one view.

As in HeatWave, one database may hold both kinds: a lakehouse table created inside a
MySQL database lives in this engine's catalog, while MySQL's tables stay in MySQL. The
catalog also keeps a *shadow* entry for a MySQL table once HeatWave options are set on
it (``SECONDARY_ENGINE=RAPID``, ``NOT SECONDARY`` columns, a load): its id for
``rpd_tables`` and those options, which MySQL itself would reject. The live column list
always comes from MySQL.

MySQL metadata is cached for a few seconds and dropped after any statement that may
change it (DDL passed through), so SHOW TABLES right after CREATE TABLE is exact.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import TYPE_CHECKING

from lakehouse.catalog.model import ENGINE_LAKEHOUSE, Column, Database, Table, key
from lakehouse.catalog.store import SYSTEM_DATABASES, Catalog
from lakehouse.errors import InvalidTypeError, UnknownDatabaseError, UnknownTableError
from lakehouse.types import SqlType

if TYPE_CHECKING:
    from connectors.mysql import BackendTable, MySQLServer

log = logging.getLogger(__name__)

ENGINE_MYSQL = "InnoDB"
MAX_DECIMAL_PRECISION = 38
CACHE_SECONDS = 5.0


def is_mysql_table(table: Table) -> bool:
    """A table that lives in the MySQL server (not a lakehouse table, not a view here)."""
    return table.engine.lower() != ENGINE_LAKEHOUSE and not table.is_view


def backend_type(column_type: str) -> SqlType:
    """A MySQL column type as information_schema shows it, as our type.

    Types we do not model (MariaDB's UUID, INET6 ...) are kept as VARCHAR so queries can
    still read them as text.
    """
    try:
        t = SqlType.parse(column_type)
    except InvalidTypeError:
        return SqlType("VARCHAR", length=255)
    return engine_type(t)


def engine_type(t: SqlType) -> SqlType:
    """A MySQL type as this engine computes with it."""
    if t.name == "DECIMAL" and (t.precision or 0) > MAX_DECIMAL_PRECISION:
        # MySQL allows 65 digits (a view's SUM has more than 38); 38 is what this engine
        # computes with, and a value that needs more is clamped with a warning.
        scale = min(t.scale or 0, 30)
        t = SqlType("DECIMAL", unsigned=t.unsigned, precision=MAX_DECIMAL_PRECISION, scale=scale)
    return t


class Metadata:
    """The merged view of databases and tables (read-only; DDL goes to the catalog or to
    MySQL)."""

    def __init__(self, catalog: Catalog, backend: MySQLServer | None = None) -> None:
        self.catalog = catalog
        self.backend = backend
        self._lock = threading.Lock()
        self._dbs: tuple[float, list[str]] | None = None
        self._tables: dict[str, tuple[float, list[tuple[str, bool]]]] = {}
        self._defs: dict[tuple[str, str], tuple[float, BackendTable | None]] = {}

    # ------------------------------------------------------------------ cache
    def invalidate(self) -> None:
        with self._lock:
            self._dbs = None
            self._tables.clear()
            self._defs.clear()

    def _fresh(self, stamp: float) -> bool:
        return time.monotonic() - stamp < CACHE_SECONDS

    def _backend_databases(self) -> list[str]:
        if self.backend is None:
            return []
        with self._lock:
            if self._dbs is not None and self._fresh(self._dbs[0]):
                return self._dbs[1]
        names = [d for d in self.backend.databases() if key(d) not in SYSTEM_DATABASES]
        with self._lock:
            self._dbs = (time.monotonic(), names)
        return names

    def _backend_tables(self, database: str) -> list[tuple[str, bool]]:
        if self.backend is None:
            return []
        k = key(database)
        with self._lock:
            hit = self._tables.get(k)
            if hit is not None and self._fresh(hit[0]):
                return hit[1]
        real = self._backend_name(database)
        names = self.backend.tables(real) if real is not None else []
        with self._lock:
            self._tables[k] = (time.monotonic(), names)
        return names

    def _backend_name(self, database: str) -> str | None:
        for d in self._backend_databases():
            if key(d) == key(database):
                return d
        return None

    def _backend_table(self, database: str, name: str) -> BackendTable | None:
        if self.backend is None:
            return None
        k = (key(database), key(name))
        with self._lock:
            hit = self._defs.get(k)
            if hit is not None and self._fresh(hit[0]):
                return hit[1]
        real_db = self._backend_name(database)
        real_name = next(
            (t for t, _ in self._backend_tables(database) if key(t) == key(name)), None
        )
        found = self.backend.table(real_db, real_name) if real_db and real_name else None
        with self._lock:
            self._defs[k] = (time.monotonic(), found)
        return found

    # ---------------------------------------------------------------- queries
    def list_databases(self) -> list[Database]:
        ours = {d.key: d for d in self.catalog.list_databases()}
        for name in self._backend_databases():
            ours.setdefault(key(name), Database(name, 0.0))
        return sorted(ours.values(), key=lambda d: d.key)

    def get_database(self, name: str) -> Database | None:
        d = self.catalog.get_database(name)
        if d is not None:
            return d
        real = self._backend_name(name)
        return Database(real, 0.0) if real is not None else None

    def require_database(self, name: str) -> Database:
        d = self.get_database(name)
        if d is None:
            raise UnknownDatabaseError(name)
        return d

    def list_tables(self, database: str) -> list[Table]:
        out: dict[str, Table] = {}
        for t in self.catalog.list_tables(database):
            if not is_mysql_table(t):
                out[key(t.name)] = t
        for name, is_view in self._backend_tables(database):
            if is_view:
                continue  # MySQL views are read through MySQL (pass-through only)
            found = self.get_table(database, name)
            if found is not None:
                out.setdefault(key(name), found)
        return sorted(out.values(), key=lambda t: key(t.name))

    def get_table(self, database: str, name: str) -> Table | None:
        local = self.catalog.get_table(database, name)
        if local is not None and not is_mysql_table(local):
            return local
        remote = self._backend_table(database, name)
        if remote is None:
            return None
        return mysql_table(remote, local)

    def rows_estimate(self, database: str, name: str) -> int:
        """MySQL's estimate of a MySQL table's row count (0 when unknown)."""
        found = self._backend_table(database, name)
        return found.rows_estimate if found is not None else 0

    def index_on(self, database: str, name: str, column: str) -> tuple[bool, int] | None:
        """(is the primary key, MySQL's estimate of distinct values) of an index that
        starts with ``column``, the primary key first; None when no index does."""
        found = self._backend_table(database, name)
        if found is None:
            return None
        best = None
        for col, index, cardinality in found.indexes:
            if key(col) == key(column):
                primary = index.upper() == "PRIMARY"
                if best is None or primary:
                    best = (primary, cardinality)
        return best

    def require_table(self, database: str, name: str) -> Table:
        t = self.get_table(database, name)
        if t is None:
            raise UnknownTableError(database, name)
        return t


def mysql_table(remote: BackendTable, shadow: Table | None) -> Table:
    """A MySQL table as a catalog :class:`Table`, with HeatWave options from its shadow."""
    not_secondary = {c.key for c in shadow.columns if not c.secondary} if shadow else set()
    columns = tuple(
        Column(
            name=c.name,
            type=backend_type(c.column_type),
            nullable=c.nullable,
            comment=c.comment,
            secondary=key(c.name) not in not_secondary and backend_type(c.column_type).is_loadable,
            default=c.default,
        )
        for c in remote.columns
    )
    return Table(
        database=remote.database,
        name=remote.name,
        columns=columns,
        primary_key=remote.primary_key,
        engine=remote.engine or ENGINE_MYSQL,
        secondary_engine=shadow.secondary_engine if shadow else None,
        comment=remote.comment,
        created_at=shadow.created_at if shadow else 0.0,
        id=shadow.id if shadow else 0,
    )
