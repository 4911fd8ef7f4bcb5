"""A client session's own connection to the MySQL server, for everything that is not
for this engine (DML, DDL on MySQL tables, transactions, session variables ...).

MySQL's answers are relayed as they came: a result set keeps MySQL's own column
definitions and text values (:class:`Passthrough`), an OK keeps its affected rows, last
insert id and warning count, an error its number, SQLSTATE and message. The Python API
turns relayed rows into Arrow (:func:`passthrough_to_arrow`); the wire server sends them
on unchanged.
"""

from __future__ import annotations

import datetime as dt
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import pyarrow as pa

from connectors.mysql.packets import BackendError, BackendUnavailable
from lakehouse.errors import LakehouseError
from lakehouse.sql.result import Result, ResultColumn
from lakehouse.types import (
    WIRE_DATE,
    WIRE_DATETIME,
    WIRE_DECIMAL,
    WIRE_DOUBLE,
    WIRE_FLOAT,
    WIRE_INT24,
    WIRE_LONG,
    WIRE_LONGLONG,
    WIRE_NEWDECIMAL,
    WIRE_SHORT,
    WIRE_TIME,
    WIRE_TIMESTAMP,
    WIRE_TINY,
    WIRE_YEAR,
    SqlType,
)

log = logging.getLogger(__name__)

SERVER_STATUS_IN_TRANS = 0x0001
SERVER_STATUS_AUTOCOMMIT = 0x0002
UNSIGNED_FLAG = 0x20
BINARY_FLAG = 0x80
BINARY_CHARSET = 63


@dataclass
class Passthrough:
    """A result set MySQL produced: its column definitions and text rows, as sent."""

    columns: list[Any]  # connectors.mysql.wire.ColumnDef
    rows: Iterator[list[bytes | None]]
    source: Any = None  # the backend Result, for the OK after the rows
    more: list[Any] = field(default_factory=list)

    @property
    def warnings(self) -> int:
        ok = getattr(self.source, "ok", None)
        return int(getattr(ok, "warnings", 0) or 0)


def backend_error(exc: Exception) -> LakehouseError:
    """Any failure talking to MySQL as the error its client should see."""
    return _translate(exc)


def _translate(exc: Exception) -> LakehouseError:
    if isinstance(exc, BackendError):
        return exc
    errno = getattr(exc, "errno", None)
    if isinstance(errno, int):
        return BackendError(
            errno, getattr(exc, "sqlstate", "HY000") or "HY000", getattr(exc, "message", str(exc))
        )
    return BackendUnavailable(2013, "HY000", f"Lost connection to MySQL server: {exc}")


class BackendSession:
    """The MySQL connection that belongs to one client session.

    Args:
        connection: an authenticated ``connectors.mysql.wire.BackendConnection``.
    """

    def __init__(self, connection: Any) -> None:
        self.connection = connection
        self._lock = threading.RLock()
        self._last: Any = None  # the last answer, whose rows the caller may not have read
        # Python API sessions know their credentials and reconnect after a lost
        # connection (on the next statement, never by repeating the one that failed).
        self._relogin: Any = None
        self.database: str | None = None

    @classmethod
    def login(
        cls, host: str, port: int, user: str, password: str, database: str | None
    ) -> BackendSession:
        """Connect with a user's credentials (Python API, service account)."""

        def connect(db: str | None) -> Any:
            from connectors.mysql.wire import BackendConnection

            conn = BackendConnection(host, port)
            try:
                conn.open()
                conn.login(user, password, db)
            except Exception as exc:
                conn.close()
                raise _translate(exc) from None
            return conn

        session = cls(connect(database))
        session._relogin = connect
        session.database = database
        return session

    def _ensure_open(self) -> None:
        if self._relogin is not None and not self.is_open:
            log.info("reconnecting to MySQL")
            self.connection = self._relogin(self.database)
            self._last = None

    @property
    def is_open(self) -> bool:
        return bool(getattr(self.connection, "is_open", False))

    @property
    def in_transaction(self) -> bool:
        return bool(self.connection.status & SERVER_STATUS_IN_TRANS)

    @property
    def thread_id(self) -> int | None:
        """MySQL's connection id of this connection (for KILL)."""
        handshake = getattr(self.connection, "handshake", None)
        return handshake.connection_id if handshake is not None else None

    @property
    def autocommit(self) -> bool:
        return bool(self.connection.status & SERVER_STATUS_AUTOCOMMIT)

    def execute(self, sql: str) -> Result:
        """Run a statement in MySQL; its answer as a :class:`Result` to relay.

        Rows of an earlier answer that were never read are discarded first (the
        Python API may drop a result unread; MySQL would refuse the next command).
        """
        with self._lock:
            try:
                self._ensure_open()
                self._discard_unread()
                res = self.connection.query(sql)
            except Exception as exc:
                raise _translate(exc) from None
            self._last = res
        return self._result(res)

    def _discard_unread(self) -> None:
        last, self._last = self._last, None
        if last is not None and getattr(self.connection, "has_unread", False):
            last.discard()

    def wrap(self, res: Any) -> Result:
        """A further result of the last statement (after the rows of the one before)."""
        return self._result(res)

    def _result(self, res: Any) -> Result:
        if not res.columns:
            ok = res.ok
            out = Result.ok(
                affected_rows=int(ok.affected_rows),
                info=ok.info or "",
                warning_count=int(ok.warnings),
            )
            out.last_insert_id = int(ok.last_insert_id)
            nxt = res.next_result()
            if nxt is not None:
                out.more = [self._result(nxt)]
            return out
        columns = [ResultColumn(c.name, column_type(c)) for c in res.columns]
        passthrough = Passthrough(res.columns, self._rows(res), source=res)
        return Result(columns=columns, passthrough=passthrough)

    def _rows(self, res: Any) -> Iterator[list[bytes | None]]:
        try:
            yield from res.rows()
        except Exception as exc:
            raise _translate(exc) from None

    def rows(self, sql: str) -> list[list[bytes | None]]:
        """All rows of a small internal query (privilege checks, variables)."""
        with self._lock:
            try:
                self._ensure_open()
                self._discard_unread()
                res = self.connection.query(sql)
                rows = list(res.rows()) if res.columns else []
                nxt = res.next_result()
                while nxt is not None:
                    nxt.discard()
                    nxt = nxt.next_result()
                return rows
            except Exception as exc:
                raise _translate(exc) from None

    def describe(self, sql: str) -> list[tuple[str, SqlType]]:
        """Names and types of a SELECT's result (meant for ``LIMIT 0``: rows are dropped)."""
        with self._lock:
            try:
                self._ensure_open()
                self._discard_unread()
                res = self.connection.query(sql)
                columns = [(c.name, column_type(c)) for c in res.columns]
                res.discard()
                return columns
            except Exception as exc:
                raise _translate(exc) from None

    def close(self) -> None:
        try:
            self.connection.close()
        except Exception as exc:  # closing a broken connection is fine
            log.debug("closing backend connection: %s", exc)


# --------------------------------------------------------------------------- types
_INT_NAMES = {
    WIRE_TINY: "TINYINT",
    WIRE_SHORT: "SMALLINT",
    WIRE_INT24: "MEDIUMINT",
    WIRE_LONG: "INT",
    WIRE_LONGLONG: "BIGINT",
}


def column_type(c: Any) -> SqlType:
    """Our type for a MySQL column definition (type code, flags, length, decimals)."""
    t = c.type
    unsigned = bool(c.flags & UNSIGNED_FLAG)
    if t in _INT_NAMES:
        return SqlType(_INT_NAMES[t], unsigned=unsigned)
    if t in (WIRE_NEWDECIMAL, WIRE_DECIMAL):
        scale = int(c.decimals)
        digits = int(c.length) - (1 if scale else 0) - (0 if unsigned else 1)
        return SqlType("DECIMAL", precision=max(1, min(65, digits)), scale=scale, unsigned=unsigned)
    if t == WIRE_FLOAT:
        return SqlType("FLOAT")
    if t == WIRE_DOUBLE:
        return SqlType("DOUBLE")
    if t == WIRE_DATE:
        return SqlType("DATE")
    if t == WIRE_TIME:
        return SqlType("TIME", fsp=min(int(c.decimals), 6) if c.decimals < 31 else 0)
    if t in (WIRE_DATETIME, WIRE_TIMESTAMP):
        return SqlType(
            "DATETIME" if t == WIRE_DATETIME else "TIMESTAMP",
            fsp=min(int(c.decimals), 6) if c.decimals < 31 else 0,
        )
    if t == WIRE_YEAR:
        return SqlType("YEAR")
    if c.charset == BINARY_CHARSET:
        return SqlType("BLOB")
    return SqlType("VARCHAR", length=max(1, int(c.length) // 4))


def _parse(c: Any, value: bytes) -> Any:
    t = column_type(c)
    text = value.decode("utf-8", errors="replace") if c.charset != BINARY_CHARSET else None
    if t.is_integer or t.name == "YEAR":
        return int(value)
    if t.name == "DECIMAL":
        return Decimal(value.decode())
    if t.name in ("FLOAT", "DOUBLE"):
        return float(value)
    if t.name == "DATE":
        return None if value.startswith(b"0000") else dt.date.fromisoformat(value.decode())
    if t.name in ("DATETIME", "TIMESTAMP"):
        return None if value.startswith(b"0000") else dt.datetime.fromisoformat(value.decode())
    if t.name == "TIME":
        return value.decode()
    return value if text is None else text


def _arrow_type(t: SqlType) -> pa.DataType:
    if t.name == "TIME":
        return pa.string()  # MySQL TIME spans -838..838 hours: keep its text
    return t.to_arrow()


def passthrough_to_arrow(p: Passthrough) -> pa.Table:
    """Relayed MySQL rows as an Arrow table (the Python API's view of them)."""
    types = [column_type(c) for c in p.columns]
    values: list[list[Any]] = [[] for _ in p.columns]
    for row in p.rows:
        for i, v in enumerate(row):
            values[i].append(None if v is None else _parse(p.columns[i], v))
    arrays = [pa.array(v, type=_arrow_type(t)) for v, t in zip(values, types, strict=True)]
    return pa.Table.from_arrays(arrays, names=[c.name for c in p.columns])
