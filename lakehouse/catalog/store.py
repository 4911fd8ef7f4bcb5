"""Where the catalog is persisted: a SQLite file in the data dir.

SQLite gives us atomic, durable statements for free: every DDL is one transaction, so a
crash mid-statement leaves the catalog as it was before the statement or after it, never
in between. An in-memory copy answers lookups; it is refreshed after each commit.

Only one server may own a data dir at a time; :class:`SqliteCatalog` takes an exclusive
``flock`` on ``<data_dir>/.lock`` and fails clearly when another process holds it.
"""

from __future__ import annotations

import abc
import fcntl
import json
import os
import sqlite3
import threading
from pathlib import Path
from typing import IO, Any

from lakehouse.catalog.model import Database, Table, key
from lakehouse.errors import (
    BadTableError,
    CatalogCorruptError,
    DatabaseDropError,
    DatabaseExistsError,
    InvalidNameError,
    LakehouseError,
    TableExistsError,
    UnknownDatabaseError,
    UnknownTableError,
)

SCHEMA_VERSION = 1

# Databases the server answers itself; users cannot create or drop them.
SYSTEM_DATABASES = ("information_schema", "performance_schema", "mysql", "sys")


class Catalog(abc.ABC):
    """Databases and table definitions.

    ``generation`` counts committed changes: whatever was worked out from the catalog
    (a query's plan) is still right while it has not moved.
    """

    generation = 0

    @abc.abstractmethod
    def list_databases(self) -> list[Database]: ...

    @abc.abstractmethod
    def get_database(self, name: str) -> Database | None: ...

    @abc.abstractmethod
    def create_database(self, name: str, if_not_exists: bool = False) -> bool:
        """Create a database; returns False when it existed and ``if_not_exists``."""

    @abc.abstractmethod
    def drop_database(self, name: str, if_exists: bool = False) -> list[Table]:
        """Drop a database and its tables; returns the tables dropped."""

    @abc.abstractmethod
    def list_tables(self, database: str) -> list[Table]: ...

    @abc.abstractmethod
    def get_table(self, database: str, name: str) -> Table | None: ...

    @abc.abstractmethod
    def create_table(self, table: Table, if_not_exists: bool = False) -> Table | None:
        """Add a table; returns it with its id, or None when it existed and ``if_not_exists``."""

    @abc.abstractmethod
    def replace_table(self, table: Table) -> Table:
        """Store a changed definition of an existing table (ALTER TABLE)."""

    @abc.abstractmethod
    def drop_table(self, database: str, name: str, if_exists: bool = False) -> Table | None: ...

    @abc.abstractmethod
    def rename_table(self, table: Table, database: str, name: str) -> Table:
        """Move a table to a new database and/or name, keeping its id."""

    @abc.abstractmethod
    def get_meta(self, name: str) -> Any: ...

    @abc.abstractmethod
    def set_meta(self, name: str, value: Any) -> None: ...

    def require_database(self, name: str) -> Database:
        db = self.get_database(name)
        if db is None:
            raise UnknownDatabaseError(name)
        return db

    def require_table(self, database: str, name: str) -> Table:
        t = self.get_table(database, name)
        if t is None:
            raise UnknownTableError(database, name)
        return t

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release files and locks."""


class SqliteCatalog(Catalog):
    """The catalog in ``<data_dir>/catalog.sqlite3``; ``data_dir=None`` keeps it in memory.

    Example:
        >>> cat = SqliteCatalog(None)
        >>> cat.create_database("lh")
        True
    """

    def __init__(self, data_dir: Path | None) -> None:
        self._lock = threading.RLock()
        self._lock_file: IO[str] | None = None
        if data_dir is None:
            path = ":memory:"
        else:
            data_dir.mkdir(parents=True, exist_ok=True)
            self._lock_file = _take_dir_lock(data_dir)
            path = str(data_dir / "catalog.sqlite3")
        try:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute(
                "PRAGMA journal_mode=WAL" if data_dir else "PRAGMA journal_mode=MEMORY"
            )
            self._db.execute("PRAGMA synchronous=FULL")
            self._init_schema()
            self._load()
        except sqlite3.DatabaseError as exc:
            raise CatalogCorruptError(f"cannot read the catalog at {path}: {exc}") from exc

    # ----------------------------------------------------------------- setup
    def _init_schema(self) -> None:
        with self._tx() as cur:
            cur.execute("CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT)")
            cur.execute(
                "CREATE TABLE IF NOT EXISTS databases "
                "(key TEXT PRIMARY KEY, name TEXT NOT NULL, created_at REAL NOT NULL)"
            )
            cur.execute(
                "CREATE TABLE IF NOT EXISTS tables (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                "db_key TEXT NOT NULL, key TEXT NOT NULL, definition TEXT NOT NULL, "
                "UNIQUE (db_key, key))"
            )
            row = cur.execute("SELECT value FROM meta WHERE name='schema_version'").fetchone()
            if row is None:
                cur.execute(
                    "INSERT INTO meta VALUES ('schema_version', ?)", (json.dumps(SCHEMA_VERSION),)
                )
            elif json.loads(row[0]) > SCHEMA_VERSION:
                raise CatalogCorruptError(
                    "the catalog was written by a newer version of lakehouse; upgrade to read it"
                )

    def _load(self) -> None:
        dbs = {
            k: Database(name, created)
            for k, name, created in self._db.execute("SELECT key, name, created_at FROM databases")
        }
        tables: dict[tuple[str, str], Table] = {}
        for tid, definition in self._db.execute("SELECT id, definition FROM tables"):
            t = Table.from_dict(json.loads(definition)).with_changes(id=tid)
            tables[t.key] = t
        meta = {n: json.loads(v) for n, v in self._db.execute("SELECT name, value FROM meta")}
        self._dbs, self._tables, self._meta = dbs, tables, meta
        self.generation += 1  # after the new copy is in place: plans made from it are new

    class _Tx:
        def __init__(self, outer: SqliteCatalog) -> None:
            self.outer = outer

        def __enter__(self) -> sqlite3.Cursor:
            self.outer._lock.acquire()
            cur = self.outer._db.cursor()
            cur.execute("BEGIN IMMEDIATE")
            self.cur = cur
            return cur

        def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
            try:
                if exc_type is None:
                    self.cur.execute("COMMIT")
                else:
                    self.cur.execute("ROLLBACK")
            finally:
                self.outer._lock.release()

    def _tx(self) -> SqliteCatalog._Tx:
        return SqliteCatalog._Tx(self)

    # ------------------------------------------------------------- databases
    def list_databases(self) -> list[Database]:
        with self._lock:
            return sorted(self._dbs.values(), key=lambda d: d.key)

    def get_database(self, name: str) -> Database | None:
        with self._lock:
            return self._dbs.get(key(name))

    def create_database(self, name: str, if_not_exists: bool = False) -> bool:
        _check_name(name, "database")
        with self._lock:
            if key(name) in SYSTEM_DATABASES or key(name) in self._dbs:
                if if_not_exists:
                    return False
                raise DatabaseExistsError(name)
            db = Database(name)
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO databases VALUES (?, ?, ?)", (db.key, db.name, db.created_at)
                )
            self._load()
            return True

    def drop_database(self, name: str, if_exists: bool = False) -> list[Table]:
        with self._lock:
            k = key(name)
            if k in SYSTEM_DATABASES:
                raise LakehouseError(f"Access denied: '{name}' is a system database")
            if k not in self._dbs:
                if if_exists:
                    return []
                raise DatabaseDropError(name)
            dropped = [t for t in self._tables.values() if t.key[0] == k]
            with self._tx() as cur:
                cur.execute("DELETE FROM tables WHERE db_key = ?", (k,))
                cur.execute("DELETE FROM databases WHERE key = ?", (k,))
            self._load()
            return dropped

    # ---------------------------------------------------------------- tables
    def list_tables(self, database: str) -> list[Table]:
        with self._lock:
            k = key(database)
            return sorted((t for t in self._tables.values() if t.key[0] == k), key=lambda t: t.key)

    def get_table(self, database: str, name: str) -> Table | None:
        with self._lock:
            return self._tables.get((key(database), key(name)))

    def create_table(self, table: Table, if_not_exists: bool = False) -> Table | None:
        _check_name(table.name, "table")
        with self._lock:
            db = self.require_database(table.database)
            table = table.with_changes(database=db.name)
            if table.key in self._tables:
                if if_not_exists:
                    return None
                raise TableExistsError(table.name)
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO tables (db_key, key, definition) VALUES (?, ?, ?)",
                    (table.key[0], table.key[1], json.dumps(table.to_dict())),
                )
            self._load()
            return self._tables[table.key]

    def replace_table(self, table: Table) -> Table:
        with self._lock:
            if table.key not in self._tables:
                raise UnknownTableError(table.database, table.name)
            with self._tx() as cur:
                cur.execute(
                    "UPDATE tables SET definition = ? WHERE db_key = ? AND key = ?",
                    (json.dumps(table.to_dict()), table.key[0], table.key[1]),
                )
            self._load()
            return self._tables[table.key]

    def drop_table(self, database: str, name: str, if_exists: bool = False) -> Table | None:
        with self._lock:
            k = (key(database), key(name))
            t = self._tables.get(k)
            if t is None:
                if if_exists:
                    return None
                raise BadTableError(database, name)
            with self._tx() as cur:
                cur.execute("DELETE FROM tables WHERE db_key = ? AND key = ?", k)
            self._load()
            return t

    def rename_table(self, table: Table, database: str, name: str) -> Table:
        _check_name(name, "table")
        with self._lock:
            db = self.require_database(database)
            new = table.with_changes(database=db.name, name=name)
            if new.key in self._tables and new.key != table.key:
                raise TableExistsError(name)
            with self._tx() as cur:
                cur.execute(
                    "UPDATE tables SET db_key = ?, key = ?, definition = ? WHERE db_key = ? AND key = ?",
                    (new.key[0], new.key[1], json.dumps(new.to_dict()), table.key[0], table.key[1]),
                )
            self._load()
            return self._tables[new.key]

    # ------------------------------------------------------------------ meta
    def get_meta(self, name: str) -> Any:
        with self._lock:
            return self._meta.get(name)

    def set_meta(self, name: str, value: Any) -> None:
        with self._lock:
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO meta VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value=excluded.value",
                    (name, json.dumps(value)),
                )
            self._meta[name] = value
            self.generation += 1

    def close(self) -> None:
        with self._lock:
            self._db.close()
            if self._lock_file is not None:
                fcntl.flock(self._lock_file, fcntl.LOCK_UN)
                self._lock_file.close()
                self._lock_file = None


def _take_dir_lock(data_dir: Path) -> IO[str]:
    f = open(data_dir / ".lock", "a+")  # noqa: SIM115 - held for the catalog's lifetime
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.close()
        raise LakehouseError(
            f"the data dir {data_dir} is in use by another lakehouse process; "
            "stop it or choose another --data-dir"
        ) from None
    f.seek(0)
    f.truncate()
    f.write(str(os.getpid()))
    f.flush()
    return f


def _check_name(name: str, what: str) -> None:
    bad = not name or len(name) > 64 or name != name.rstrip()
    if bad or any(ch in name for ch in "/\\\0"):
        raise InvalidNameError(f"Incorrect {what} name '{name}'")
