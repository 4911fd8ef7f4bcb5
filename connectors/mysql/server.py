"""One backend MySQL/MariaDB server: metadata and fast Arrow reads.

Reads go through connectorx (Rust, straight into Arrow, several connections split by a
numeric key range) with the service account given to ``--mysql``; metadata and small
statements through pymysql. The service password is kept in this object only: it is
never logged, and :class:`MySQLUrl` hides it in every text form.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, unquote, urlparse

import pyarrow as pa

from connectors.mysql.quote import quote_identifier, quote_literal, quote_table

log = logging.getLogger(__name__)

SYSTEM_SCHEMAS = ("information_schema", "performance_schema", "mysql", "sys")


@dataclass(frozen=True)
class ResultColumnInfo:
    """One column definition of a result, as MySQL sent it."""

    name: str
    type: int
    flags: int
    length: int
    decimals: int
    charset: int


@dataclass(frozen=True)
class MySQLUrl:
    """``mysql://user:password@host:port/[database]``."""

    user: str
    password: str
    host: str
    port: int
    database: str | None = None

    @classmethod
    def parse(cls, url: str) -> MySQLUrl:
        p = urlparse(url)
        if p.scheme not in ("mysql", "mariadb"):
            raise ValueError("the MySQL URL must look like mysql://user:password@host:port/")
        if not p.hostname:
            raise ValueError("the MySQL URL names no host")
        return cls(
            user=unquote(p.username or "root"),
            password=unquote(p.password or ""),
            host=p.hostname,
            port=p.port or 3306,
            database=p.path.lstrip("/") or None,
        )

    def with_user(self, user: str, password: str) -> MySQLUrl:
        return MySQLUrl(user, password, self.host, self.port, self.database)

    def connectorx(self, database: str | None = None) -> str:
        db = database or self.database or ""
        return f"mysql://{quote(self.user, safe='')}:{quote(self.password, safe='')}@{self.host}:{self.port}/{quote(db, safe='')}"

    def __str__(self) -> str:
        return f"mysql://{self.user}:***@{self.host}:{self.port}/{self.database or ''}"

    __repr__ = __str__


@dataclass(frozen=True)
class BackendColumn:
    name: str
    column_type: str  # as information_schema.COLUMNS.COLUMN_TYPE shows it
    nullable: bool
    key: str
    default: str | None
    comment: str
    extra: str


@dataclass(frozen=True)
class BackendTable:
    database: str
    name: str
    columns: tuple[BackendColumn, ...]
    primary_key: tuple[str, ...]
    engine: str
    rows_estimate: int
    comment: str
    is_view: bool
    # (column, index name, MySQL's estimate of its distinct values) for the first column
    # of every index
    indexes: tuple[tuple[str, str, int], ...] = ()


class MySQLServer:
    """The federated backend, reached with the service account.

    Args:
        url: ``mysql://user:password@host:port/``.
        connect_timeout: seconds to wait for a connection.
    """

    def __init__(self, url: str | MySQLUrl, connect_timeout: float = 5.0) -> None:
        self.url = url if isinstance(url, MySQLUrl) else MySQLUrl.parse(url)
        self.connect_timeout = connect_timeout
        self._pool: list[Any] = []
        self._lock = threading.Lock()

    # ------------------------------------------------------------ connections
    def connect(
        self, user: str | None = None, password: str | None = None, database: str | None = None
    ) -> Any:
        """A new pymysql connection (service account unless a user is given)."""
        import pymysql

        return pymysql.connect(
            host=self.url.host,
            port=self.url.port,
            user=user if user is not None else self.url.user,
            password=password if user is not None else self.url.password,
            database=database,
            autocommit=True,
            connect_timeout=self.connect_timeout,
            charset="utf8mb4",
        )

    @contextmanager
    def service(self) -> Iterator[Any]:
        """A pooled service-account connection; broken ones are discarded."""
        with self._lock:
            conn = self._pool.pop() if self._pool else None
        if conn is None:
            conn = self.connect()
        ok = False
        try:
            yield conn
            ok = True
        finally:
            if ok and conn.open:
                with self._lock:
                    self._pool.append(conn)
            else:
                try:
                    conn.close()
                except Exception:  # already broken
                    pass

    def query(self, sql: str, args: tuple[Any, ...] | None = None) -> list[tuple[Any, ...]]:
        with self.service() as conn, conn.cursor() as cur:
            cur.execute(sql, args)
            return list(cur.fetchall())

    def describe(self, sql: str) -> list[ResultColumnInfo]:
        """The result columns of a SELECT run with the service account (meant for
        ``LIMIT 0``: its rows are dropped)."""
        with self.service() as conn, conn.cursor() as cur:
            cur.execute(sql)
            cur.fetchall()
            fields = (
                cur._result.fields if cur._result is not None else []
            )  # pymysql's own definitions
            return [
                ResultColumnInfo(f.name, f.type_code, f.flags, f.length, f.scale, f.charsetnr)
                for f in fields
            ]

    def execute(self, sql: str) -> None:
        """Run a statement that returns no rows (KILL ...) with the service account."""
        with self.service() as conn, conn.cursor() as cur:
            cur.execute(sql)

    def ping(self) -> bool:
        try:
            self.query("SELECT 1")
            return True
        except Exception:  # any failure means "down"
            return False

    # ------------------------------------------------------------- metadata
    def databases(self) -> list[str]:
        return [
            r[0]
            for r in self.query(
                "SELECT SCHEMA_NAME FROM information_schema.SCHEMATA ORDER BY SCHEMA_NAME"
            )
        ]

    def tables(self, database: str) -> list[tuple[str, bool]]:
        """(name, is_view) of every table in a database."""
        rows = self.query(
            "SELECT TABLE_NAME, TABLE_TYPE FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s ORDER BY TABLE_NAME",
            (database,),
        )
        return [(r[0], r[1] == "VIEW") for r in rows]

    def table(self, database: str, name: str) -> BackendTable | None:
        """A table's definition, or None when it does not exist."""
        info = self.query(
            "SELECT TABLE_SCHEMA, TABLE_NAME, ENGINE, TABLE_ROWS, TABLE_COMMENT, TABLE_TYPE "
            "FROM information_schema.TABLES WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s",
            (database, name),
        )
        if not info:
            return None
        schema, tname, engine, rows, comment, ttype = info[0]
        cols = self.query(
            "SELECT COLUMN_NAME, COLUMN_TYPE, IS_NULLABLE, COLUMN_KEY, COLUMN_DEFAULT, COLUMN_COMMENT, EXTRA "
            "FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s ORDER BY ORDINAL_POSITION",
            (schema, tname),
        )
        pk = self.query(
            "SELECT COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE TABLE_SCHEMA = %s AND "
            "TABLE_NAME = %s AND CONSTRAINT_NAME = 'PRIMARY' ORDER BY ORDINAL_POSITION",
            (schema, tname),
        )
        indexes = self.query(
            "SELECT COLUMN_NAME, INDEX_NAME, CARDINALITY FROM information_schema.STATISTICS "
            "WHERE TABLE_SCHEMA = %s AND TABLE_NAME = %s AND SEQ_IN_INDEX = 1",
            (schema, tname),
        )
        return BackendTable(
            database=schema,
            name=tname,
            columns=tuple(
                BackendColumn(c[0], c[1], c[2] == "YES", c[3] or "", c[4], c[5] or "", c[6] or "")
                for c in cols
            ),
            primary_key=tuple(r[0] for r in pk),
            engine=engine or "",
            rows_estimate=int(rows or 0),
            comment=comment or "",
            is_view=ttype == "VIEW",
            indexes=tuple((r[0], r[1], int(r[2] or 0)) for r in indexes),
        )

    def binlog_position(self) -> tuple[str, int] | None:
        """(file, position) of the binary log now, or None when binlogs are off."""
        try:
            rows = self.query("SHOW MASTER STATUS")
        except Exception:  # no privilege / binlog off
            return None
        return (rows[0][0], int(rows[0][1])) if rows else None

    def explain(self, sql: str) -> list[dict[str, Any]]:
        """MySQL's plan for a SELECT as rows of its tabular EXPLAIN (column name ->
        value; MySQL and MariaDB differ in some columns)."""
        with self.service() as conn, conn.cursor() as cur:
            cur.execute("EXPLAIN " + sql)
            names = [d[0].lower() for d in cur.description or ()]
            return [dict(zip(names, row, strict=True)) for row in cur.fetchall()]

    def query_cost(self, sql: str, database: str | None = None) -> float | None:
        """MySQL's own cost estimate for a query (EXPLAIN FORMAT=JSON), if it gives one."""
        import json

        try:
            with self.service() as conn, conn.cursor() as cur:
                if database:
                    cur.execute(f"USE {quote_identifier(database)}")
                cur.execute("EXPLAIN FORMAT=JSON " + sql)
                doc = json.loads(cur.fetchone()[0])
        except Exception:  # unexplainable: no estimate
            return None
        block = doc.get("query_block", {})
        cost = block.get("cost_info", {}).get("query_cost") or block.get("cost")
        try:
            return float(cost) if cost is not None else _cost_from_rows(block)
        except (TypeError, ValueError):
            return None

    # ----------------------------------------------------------------- reads
    def read_arrow(
        self,
        sql: str,
        database: str | None = None,
        partition_on: str | None = None,
        partitions: int = 1,
    ) -> pa.Table:
        """Run a SELECT and return its rows as Arrow, via connectorx.

        Args:
            sql: the SELECT (already quoted safely).
            database: default database for unqualified names.
            partition_on: a numeric column to split the read on (several connections).
            partitions: how many ranges/connections.
        """
        import connectorx as cx

        kwargs: dict[str, Any] = {"return_type": "arrow"}
        if partition_on and partitions > 1:
            kwargs.update(partition_on=partition_on, partition_num=partitions)
        started = time.perf_counter()
        table = cx.read_sql(self.url.connectorx(database), sql, **kwargs)
        log.debug("read %d rows from MySQL in %.3fs", table.num_rows, time.perf_counter() - started)
        return table

    def select_sql(
        self,
        database: str,
        table: str,
        columns: list[str],
        where: list[str] | None = None,
        order_by: str | None = None,
        limit: int | None = None,
    ) -> str:
        """``SELECT cols FROM db.t [WHERE ...] [ORDER BY ...] [LIMIT n]``, quoted."""
        cols = ", ".join(quote_identifier(c) for c in columns) or "1"
        sql = f"SELECT {cols} FROM {quote_table(database, table)}"
        if where:
            sql += " WHERE " + " AND ".join(f"({w})" for w in where)
        if order_by:
            sql += " ORDER BY " + order_by
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        return sql


def in_list(column: str, values: list[Any]) -> str:
    """``col IN (v1, v2 ...)`` with every value quoted."""
    return f"{quote_identifier(column)} IN ({', '.join(quote_literal(v) for v in values)})"


# MySQL's cost model charges about 0.1 per row evaluated (``row_evaluate_cost``).
ROW_EVALUATE_COST = 0.1


def _cost_from_rows(block: dict[str, Any]) -> float | None:
    """A cost in MySQL's units from a plan that gives only row estimates (MariaDB before
    11.0): each table access costs the rows it reads once per row of the tables joined
    before it, as in MySQL's nested-loop cost model."""
    accesses: list[tuple[float, float]] = []

    def walk(node: Any) -> None:
        if isinstance(node, dict):
            table = node.get("table")
            if isinstance(table, dict) and "rows" in table:
                rows = float(table.get("rows") or 0)
                accesses.append((rows, float(table.get("filtered", 100.0)) / 100.0))
            for k, v in node.items():
                if k != "table":
                    walk(v)
                elif isinstance(v, dict):
                    walk({kk: vv for kk, vv in v.items() if kk not in ("rows", "filtered")})
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(block)
    if not accesses:
        return None
    cost, prefix = 0.0, 1.0
    for rows, filtered in accesses:
        cost += prefix * rows * ROW_EVALUATE_COST
        prefix *= max(rows * filtered, 1.0)
    return cost
